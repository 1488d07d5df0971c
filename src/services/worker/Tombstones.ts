import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Metric, Option } from "effect"
import { callPeer, MemoryClient, RustfsClient } from "./Clients.js"
import { DOCUMENT_SESSION_PREFIX } from "./Ingest.js"
import { WorkerConfig } from "./WorkerConfig.js"
import { tombstonesForgotten, WorkerState } from "./WorkerState.js"

/**
 * Where the tombstone feed was read up to: every tombstone before `sinceMs` is forgotten, and so
 * are those at exactly `sinceMs` listed in `doneAtSince` (the feed is ordered by time, then id).
 */
export interface TombstoneCursor {
  readonly sinceMs: number
  readonly doneAtSince: ReadonlyArray<string>
}

const EMPTY: TombstoneCursor = { sinceMs: 0, doneAtSince: [] }

export const readCursor = (file: string) =>
  Effect.try({
    try: () => {
      const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { tombstones?: { since_ms?: unknown; done_at_since?: unknown } }
      const t = raw.tombstones ?? {}
      const sinceMs = typeof t.since_ms === "number" && Number.isSafeInteger(t.since_ms) && t.since_ms >= 0 ? t.since_ms : 0
      const done = Array.isArray(t.done_at_since) ? t.done_at_since.filter((x): x is string => typeof x === "string") : []
      return { sinceMs, doneAtSince: done } satisfies TombstoneCursor
    },
    catch: (e) => e
  }).pipe(
    Effect.catchAll((e) =>
      (e as NodeJS.ErrnoException)?.code === "ENOENT"
        ? Effect.succeed(EMPTY)
        : Effect.logWarning("worker state unreadable; reading tombstones from the start (forgetting is idempotent)", { file, error: String(e) }).pipe(Effect.as(EMPTY))
    )
  )

/** Written to a temporary file, flushed, then renamed over the old one: a crash leaves one or the other. */
export const writeCursor = (file: string, cursor: TombstoneCursor) =>
  Effect.sync(() => {
    fs.mkdirSync(path.dirname(file), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    const fd = fs.openSync(tmp, "w", 0o600)
    try {
      fs.writeSync(fd, JSON.stringify({ version: 1, tombstones: { since_ms: cursor.sinceMs, done_at_since: cursor.doneAtSince } }) + "\n")
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, file)
  })

/**
 * One pass over the tombstone feed: forgets `rustfs:file:<id>` in the file's namespace for each new
 * tombstone and moves the cursor past it only after deep-memory confirmed. Returns how many were
 * forgotten; stops at the first failure (the next pass starts there again).
 */
export const forgetTombstones = Effect.gen(function*() {
  const config = yield* WorkerConfig
  const rustfs = yield* RustfsClient
  const memory = yield* MemoryClient
  const state = yield* WorkerState
  let cursor = yield* readCursor(config.statePath)
  let forgotten = 0
  let page: string | undefined
  const tenant = Option.getOrUndefined(config.rustfsTenantId)
  do {
    const feed = yield* callPeer("rustfs", config.timeoutMs, rustfs.files.tombstoned({
      urlParams: { since_ms: cursor.sinceMs, limit: 100, ...(page === undefined ? {} : { cursor: page }), ...(tenant === undefined ? {} : { tenant_id: tenant }) }
    }))
    for (const t of feed.items) {
      if (t.deleted_at_ms < cursor.sinceMs || (t.deleted_at_ms === cursor.sinceMs && cursor.doneAtSince.includes(t.file_id))) continue
      const namespace = Option.getOrElse(config.namespace, () => t.tenant_id)
      yield* callPeer("deep-memory", config.timeoutMs, memory.memory.forget({
        payload: { namespace, session_id: `${DOCUMENT_SESSION_PREFIX}${t.file_id}`, async: false }
      }))
      cursor = t.deleted_at_ms === cursor.sinceMs
        ? { sinceMs: cursor.sinceMs, doneAtSince: [...cursor.doneAtSince, t.file_id] }
        : { sinceMs: t.deleted_at_ms, doneAtSince: [t.file_id] }
      yield* writeCursor(config.statePath, cursor)
      forgotten++
      yield* Metric.increment(tombstonesForgotten)
      yield* Effect.logInfo("tombstoned file forgotten", { file_id: t.file_id, namespace })
    }
    page = feed.next_cursor ?? undefined
  } while (page !== undefined)
  yield* state.update((s) => ({ ...s, tombstoneSinceMs: cursor.sinceMs }))
  return forgotten
})
