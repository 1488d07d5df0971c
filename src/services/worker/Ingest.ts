import { Deferred, Duration, Effect, Either, Fiber, Metric, Schedule } from "effect"
import type { ClaimedFile } from "../../domain/Files.js"
import type { FileId } from "../../domain/Ids.js"
import {
  AuthFailed,
  Busy,
  callPeer,
  LeaseLost,
  MemoryClient,
  type PeerError,
  Rejected,
  RustfsClient,
  Unreachable
} from "./Clients.js"
import { type DocumentChunk, type ExtractedDocument, Extractor } from "./Extractor.js"
import { WorkerConfig, type WorkerSettings } from "./WorkerConfig.js"
import { backoffsTotal, chunksWritten, fileSeconds, WorkerState } from "./WorkerState.js"

export const DOCUMENT_SESSION_PREFIX = "rustfs:file:"

/** deep-memory accepts 8 MiB bodies and 10,000 messages: files are sent in batches well below both. */
const BATCH_CHARS = 2_000_000
const BATCH_CHUNKS = 500

/** The final word on one file. */
export type Outcome =
  | { readonly status: "indexed"; readonly memories: number }
  | { readonly status: "skipped" | "failed"; readonly reason: string }
  | { readonly status: "released"; readonly reason: string }
  | { readonly status: "abandoned"; readonly reason: string }

/**
 * Exponential back-off with jitter for a busy or unreachable deep-memory: the delay doubles from
 * `backoffBaseMs` up to `backoffMaxMs`, is never shorter than the server's `retry-after`, and the
 * retries stop after `retryBudgetMs` (the file is then released for later, never failed).
 */
export const overloadSchedule = (s: Pick<WorkerSettings, "backoffBaseMs" | "backoffMaxMs" | "retryBudgetMs">) =>
  Schedule.exponential(Duration.millis(s.backoffBaseMs)).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.identity<PeerError>()),
    Schedule.modifyDelay(([, error], delay) => {
      const capped = Math.min(Duration.toMillis(delay), s.backoffMaxMs)
      const asked = error._tag === "Busy" ? Math.min(error.retryAfterMs, s.retryBudgetMs) : 0
      return Duration.millis(Math.max(capped, asked))
    }),
    Schedule.whileInput((e: PeerError) => e._tag === "Busy" || e._tag === "Unreachable"),
    Schedule.upTo(Duration.millis(s.retryBudgetMs))
  )

/** A chunk as a transcript message: a JSON locator line deep-memory's analyzer reads, then the text. */
export const chunkMessage = (chunk: DocumentChunk) => ({
  role: "user",
  content: Object.keys(chunk.locator).length === 0 ? chunk.text : `${JSON.stringify(chunk.locator)}\n${chunk.text}`
})

const batches = <A extends { readonly content: string }>(items: ReadonlyArray<A>): Array<Array<A>> => {
  const out: Array<Array<A>> = []
  let current: Array<A> = []
  let chars = 0
  for (const item of items) {
    if (current.length > 0 && (current.length >= BATCH_CHUNKS || chars + item.content.length > BATCH_CHARS)) {
      out.push(current)
      current = []
      chars = 0
    }
    current.push(item)
    chars += item.content.length
  }
  if (current.length > 0) out.push(current)
  return out
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)

/** The `classification` annotation: from the uploader's `openclaw_ingest` hints when present. */
const classificationOf = (file: ClaimedFile, docType: string) => {
  const ingest = isRecord(file.annotations) && isRecord(file.annotations.openclaw_ingest) ? file.annotations.openclaw_ingest : {}
  const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v.trim().slice(0, 200) : null)
  const tags = Array.isArray(ingest.tags) ? ingest.tags.filter((t): t is string => typeof t === "string").slice(0, 50) : []
  return { kind: text(ingest.kind) ?? docType, hint: text(ingest.hint), tags }
}

/**
 * Processes one claimed file: download (capped), extract, write the chunks to deep-memory under
 * `rustfs:file:<id>` (backing off while it is busy), merge the annotations and set the final status —
 * all while the lease is renewed on a schedule. If RustFS says the lease is lost, work on the file
 * stops and nothing more is written for it.
 */
export const processFile = (file: ClaimedFile) =>
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    const state = yield* WorkerState
    const started = Date.now()
    const lost = yield* Deferred.make<void>()
    const renewEvery = Math.max(1_000, Math.floor(config.leaseMs / 3))

    const rustfs = yield* RustfsClient
    const renew = callPeer("rustfs", config.timeoutMs, rustfs.files.renewLease({
      path: { id: file.file_id as FileId },
      payload: { tenant_id: file.tenant_id, lease_token: file.lease_token, lease_ms: config.leaseMs }
    }), file.file_id)
    // A renewal that fails for another reason (RustFS briefly down) is retried at the next tick; the
    // lease is a third of its length ahead, so two misses in a row still leave time.
    const renewal = renew.pipe(
      Effect.catchTag("LeaseLost", () => Deferred.succeed(lost, undefined)),
      Effect.catchAll((e) => Effect.logWarning("lease renewal failed; retrying at the next tick", { file_id: file.file_id, error: e.message })),
      Effect.repeat(Schedule.spaced(Duration.millis(renewEvery))),
      Effect.delay(Duration.millis(renewEvery))
    )
    const renewer = yield* Effect.fork(renewal)
    const work = ingest(file).pipe(
      Effect.raceFirst(Deferred.await(lost).pipe(Effect.zipRight(Effect.fail(new LeaseLost({ fileId: file.file_id })))))
    )
    // Shutdown (SIGTERM) interrupts the work: the file is handed back at once rather than left to its
    // lease, so another worker can take it immediately. Best effort, bounded: if RustFS does not
    // answer in time, the lease still expires.
    const release = callPeer("rustfs", Math.min(config.timeoutMs, 5_000), rustfs.files.extractStatus({
      path: { id: file.file_id as FileId },
      payload: { tenant_id: file.tenant_id, status: "pending", error: "released at worker shutdown", lease_token: file.lease_token, retry_after_ms: 0 }
    }), file.file_id).pipe(
      Effect.zipRight(state.finished("released")),
      Effect.zipRight(Effect.logInfo("file released at shutdown", { file_id: file.file_id })),
      Effect.catchAll((e) => Effect.logWarning("could not release the file at shutdown; its lease will expire", { file_id: file.file_id, error: e.message }))
    )
    const outcome = yield* work.pipe(
      Effect.onInterrupt(() => release),
      Effect.catchTag("LeaseLost", () => Effect.succeed<Outcome>({ status: "abandoned", reason: "the lease was lost" })),
      // RustFS failed us mid-file (down, or our key refused): nothing final can be written, so the
      // file is left to its lease, which expires and lets it be claimed again.
      Effect.catchAll((e) =>
        (e._tag === "AuthFailed" ? state.authFailed("rustfs", e.message) : Effect.void).pipe(
          Effect.as<Outcome>({ status: "abandoned", reason: `rustfs: ${e.message}` })
        )
      ),
      Effect.ensuring(Fiber.interrupt(renewer))
    )
    yield* state.finished(outcome.status)
    yield* Metric.update(fileSeconds, (Date.now() - started) / 1000)
    yield* Effect.logInfo("file finished", {
      file_id: file.file_id,
      tenant_id: file.tenant_id,
      status: outcome.status,
      ...("reason" in outcome ? { reason: outcome.reason } : { memories: outcome.memories }),
      ms: Date.now() - started
    })
    return outcome
  }).pipe(Effect.annotateLogs({ file_id: file.file_id }), Effect.withSpan("rustfs-worker.processFile"))

const ingest = (file: ClaimedFile) =>
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    const rustfs = yield* RustfsClient
    const extractor = yield* Extractor
    const namespace = config.namespace._tag === "Some" ? config.namespace.value : file.tenant_id
    const sessionId = `${DOCUMENT_SESSION_PREFIX}${file.file_id}`
    const onRustfs = <A, E, R>(e: Effect.Effect<A, E, R>) => callPeer("rustfs", config.timeoutMs, e, file.file_id)

    const finish = (outcome: Outcome & { readonly status: "indexed" | "skipped" | "failed" }, extraction: Record<string, unknown>, memory: Record<string, unknown> | null, semantics: Record<string, unknown> | null) =>
      Effect.gen(function*() {
        const annotations: Record<string, unknown> = {
          schema_version: 1,
          classification: classificationOf(file, String(extraction.doc_type_guess ?? "unknown")),
          extraction: {
            status: outcome.status,
            attempt: file.extract_attempt,
            ...extraction,
            ...(outcome.status === "indexed" ? {} : { last_error: outcome.reason })
          },
          ...(memory === null ? {} : { deep_memory: memory }),
          ...(semantics === null ? {} : { semantics })
        }
        yield* onRustfs(rustfs.files.annotations({
          path: { id: file.file_id as FileId },
          payload: { tenant_id: file.tenant_id, annotations, mode: "merge", lease_token: file.lease_token, source: "rustfs-worker" }
        }))
        yield* onRustfs(rustfs.files.extractStatus({
          path: { id: file.file_id as FileId },
          payload: {
            tenant_id: file.tenant_id,
            status: outcome.status,
            error: outcome.status === "indexed" ? null : outcome.reason.slice(0, 4096),
            lease_token: file.lease_token
          }
        }))
        return outcome as Outcome
      })

    const noDocument = (reason: string, status: "skipped" | "failed", extractor = "none") =>
      finish({ status, reason }, { extractor, warnings: [], doc_type_guess: "unknown", language_guess: "unknown", segments: { count: 0 }, stats: { bytes: file.size, chars: 0, segments: 0, truncated: false } }, null, null)

    if (file.size > config.maxDownloadBytes) {
      return yield* noDocument(`file is ${file.size} bytes, over the download cap of ${config.maxDownloadBytes} (RUSTFS_MAX_DOWNLOAD_BYTES)`, "skipped")
    }
    const bytes = yield* onRustfs(rustfs.files.download({ path: { id: file.file_id as FileId }, urlParams: { tenant_id: file.tenant_id } }))
    if (bytes.byteLength > config.maxDownloadBytes) {
      return yield* noDocument(`file is ${bytes.byteLength} bytes, over the download cap of ${config.maxDownloadBytes} (RUSTFS_MAX_DOWNLOAD_BYTES)`, "skipped")
    }
    const extracted = yield* extractor.extract(bytes, { filename: file.filename, declaredMime: file.mime }, {
      maxChars: config.chunkMaxChars,
      overlapChars: config.chunkOverlapChars
    }).pipe(Effect.either)
    if (Either.isLeft(extracted)) {
      // Our extraction machinery failed, not the file: give it back for later.
      yield* Effect.logError("extraction could not run", { error: extracted.left.message })
      yield* onRustfs(rustfs.files.extractStatus({
        path: { id: file.file_id as FileId },
        payload: { tenant_id: file.tenant_id, status: "pending", error: `extraction could not run: ${extracted.left.message}`.slice(0, 4096), lease_token: file.lease_token, retry_after_ms: config.backoffBaseMs }
      }))
      return { status: "released", reason: extracted.left.message } satisfies Outcome
    }
    const result = extracted.right
    if (result._tag === "NoText") {
      return yield* noDocument(`${result.kind}: ${result.reason}`, result.kind === "corrupt" ? "failed" : "skipped", result.extractor)
    }
    const doc = result.document
    const extraction = extractionAnnotation(doc)
    const written = yield* writeMemory(namespace, sessionId, doc).pipe(Effect.either)
    if (Either.isLeft(written)) {
      const e = written.left
      if (e._tag === "Rejected") return yield* finish({ status: "failed", reason: `deep-memory refused the text: ${e.message}` }, extraction, null, null)
      if (e._tag === "Skipped") return yield* finish({ status: "skipped", reason: `deep-memory skipped the text (${e.reason})` }, extraction, null, null)
      // Busy past the retry budget, unreachable, or our key refused: give the file back for later.
      const retryAfterMs = e._tag === "Busy" ? Math.max(e.retryAfterMs, config.backoffMaxMs) : config.backoffMaxMs
      yield* onRustfs(rustfs.files.extractStatus({
        path: { id: file.file_id as FileId },
        payload: { tenant_id: file.tenant_id, status: "pending", error: `deep-memory: ${e.message}`.slice(0, 4096), lease_token: file.lease_token, retry_after_ms: retryAfterMs }
      }))
      if (e._tag === "AuthFailed") yield* Effect.flatMap(WorkerState, (s) => s.authFailed("deep-memory", e.message))
      return { status: "released", reason: e.message } satisfies Outcome
    }
    const memory = {
      session_id: sessionId,
      namespace,
      ...(written.right.memoryIds === undefined ? {} : { memory_ids: written.right.memoryIds, memory_ids_truncated: written.right.truncated })
    }
    const semantics = written.right.processed && config.inspectEnabled ? yield* inspect(namespace, sessionId) : null
    return yield* finish({ status: "indexed", memories: written.right.added }, extraction, memory, semantics)
  })

const extractionAnnotation = (doc: ExtractedDocument) => ({
  extractor: doc.extractor,
  warnings: doc.warnings.slice(0, 20),
  doc_type_guess: doc.docType,
  language_guess: doc.language,
  segments: { count: doc.stats.segments },
  stats: doc.stats
})

class Skipped {
  readonly _tag = "Skipped"
  constructor(readonly reason: string) {}
}

/**
 * Sends the chunks in batches; each batch is retried on `overloadSchedule` while deep-memory is busy.
 * deep-memory processes a session incrementally (a chunk it has seen is not stored twice), so a batch
 * resent after a crash or by another worker adds nothing twice.
 */
const writeMemory = (namespace: string, sessionId: string, doc: ExtractedDocument) =>
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    const memory = yield* MemoryClient
    const messages = doc.chunks.map(chunkMessage)
    let added = 0
    let processed = true
    const ids: Array<string> = []
    let truncated = false
    for (const batch of batches(messages)) {
      const send = callPeer("deep-memory", config.timeoutMs, memory.memory.update({
        payload: {
          namespace,
          session_id: sessionId,
          messages: batch,
          async: config.async,
          ...(config.returnMemoryIds && !config.async ? { return_memory_ids: true, max_memory_ids: Math.min(config.maxReturnMemoryIds, 1000) } : {})
        }
      })).pipe(
        // deep-memory calls carry no lease: this cannot happen, and the type says so
        Effect.catchTag("LeaseLost", (e) => Effect.die(e)),
        // `throttled` (UPDATE_MIN_INTERVAL_MS) means "later", like a 503 without retry-after
        Effect.filterOrFail(
          (a) => !(a.status === "skipped" && a.error === "throttled"),
          () => new Busy({ service: "deep-memory", retryAfterMs: 0, message: "deep-memory throttled this session" })
        ),
        Effect.tapError((e) =>
          e._tag === "Busy" || e._tag === "Unreachable"
            ? Metric.increment(backoffsTotal).pipe(Effect.zipRight(Effect.logInfo("deep-memory busy; backing off", { reason: e.message })))
            : Effect.void
        )
      )
      const answer = yield* Effect.retry(send, overloadSchedule(config))
      if (answer.status === "skipped") return yield* Effect.fail(new Skipped(answer.error ?? "skipped"))
      yield* Metric.incrementBy(chunksWritten, batch.length)
      added += answer.memories_added
      if (answer.status !== "processed") processed = false
      if (answer.memory_ids !== undefined) ids.push(...answer.memory_ids)
      if (answer.memory_ids_truncated === true) truncated = true
    }
    const keep = ids.slice(0, config.maxReturnMemoryIds)
    return {
      added,
      processed,
      memoryIds: config.returnMemoryIds && processed ? keep : undefined,
      truncated: truncated || ids.length > keep.length
    }
  })

/** `semantics` from deep-memory's view of the session (only once it was really written). */
const inspect = (namespace: string, sessionId: string) =>
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    const memory = yield* MemoryClient
    const r = yield* callPeer("deep-memory", config.timeoutMs, memory.memory.inspect({
      payload: { namespace, session_id: sessionId, limit: Math.min(config.inspectLimit, 1000), include_content: config.inspectIncludeContent }
    }))
    return {
      topics: r.topics.map((t) => t.name).slice(0, 20),
      entities: r.entities.map((e) => e.name).slice(0, 20),
      ...(r.summary === undefined ? {} : { summary: r.summary }),
      updated_at_ms: Date.now(),
      source: "deep-memory"
    }
  }).pipe(
    // The file is indexed either way: semantics are a courtesy.
    Effect.catchAll((e) => Effect.logWarning("inspect failed; semantics left out", { error: e.message }).pipe(Effect.as(null)))
  )

export { AuthFailed, Busy, Rejected, Unreachable }
