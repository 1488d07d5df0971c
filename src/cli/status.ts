import { Command, Options } from "@effect/cli"
import { Config, Console, Duration, Effect, Either, Option, Schema } from "effect"
import { MemoryReady } from "../domain/DeepMemoryApi.js"
import { ExtractStatus } from "../domain/Ids.js"
import { ReadyResponse } from "../domain/RustfsApi.js"
import { connection, makeRustfs } from "./client.js"
import { CliError, describeCause, describeError, usage } from "./errors.js"
import { table } from "./format.js"
import {
  describeMemoryError,
  makeDeepMemory,
  memoryConnection,
  type MemoryOptionValues,
  memoryOptions
} from "./memoryClient.js"

export const DEFAULT_WORKER_HEALTH_URL = "http://127.0.0.1:8097"

/** A role that accepts the connection but never answers must not hang the command. */
const PROBE_TIMEOUT = Duration.seconds(5)

const isRustfsReady = Schema.is(ReadyResponse)
const isMemoryReady = Schema.is(MemoryReady)

interface RoleRow {
  readonly role: string
  readonly url: string
  readonly healthy: boolean
  readonly health_error: string | null
  readonly ready: boolean
  readonly checks: Record<string, string>
  readonly error: string | null
}

type Counts = Record<string, number>

/** Counts next to a role: `null` with the reason when they could not be read (no admin key, role down). */
interface Counted {
  readonly counts: Counts | null
  readonly counts_error: string | null
}

const probe = <A, E, R>(call: Effect.Effect<A, E, R>) =>
  Effect.either(Effect.timeoutFail(call, {
    duration: PROBE_TIMEOUT,
    onTimeout: () => new CliError({ message: `no answer in ${Duration.format(PROBE_TIMEOUT)}`, exitCode: 1 })
  }))

const counted = <E>(result: Either.Either<Counts, E>, describe: (e: E) => string): Counted =>
  Either.match(result, {
    onRight: (counts) => ({ counts, counts_error: null }),
    onLeft: (e) => ({ counts: null, counts_error: describe(e) })
  })

/**
 * The readiness of a role whose `/readyz` answers 503 with the same body as the 200 (which checks
 * failed); anything else (down, refused, timed out) becomes `error`.
 */
const readinessOf = <E>(
  ready: Either.Either<{ readonly ok: boolean; readonly checks: Record<string, string> }, E>,
  isBody: (e: unknown) => e is { readonly ok: boolean; readonly checks: Record<string, string> },
  problem: (e: E) => string
) =>
  Either.match(ready, {
    onRight: (r) => ({ ready: r.ok, checks: r.checks, error: null }),
    onLeft: (e) =>
      isBody(e) ? { ready: false, checks: e.checks, error: null } : { ready: false, checks: {}, error: problem(e) }
  })

/** The fields every HttpApi role's row shares: health and readiness, each with what went wrong. */
const apiRoleRow = <E>(
  role: string,
  url: string,
  health: Either.Either<{ readonly ok: boolean }, E>,
  ready: Either.Either<{ readonly ok: boolean; readonly checks: Record<string, string> }, E>,
  isBody: (e: unknown) => e is { readonly ok: boolean; readonly checks: Record<string, string> },
  problem: (e: E) => string
) => ({
  role,
  url,
  healthy: Either.isRight(health) && health.right.ok,
  health_error: Either.isLeft(health) ? problem(health.left) : null,
  ...readinessOf(ready, isBody, problem)
})

/** `/health`, `/readyz` and, with the admin key, the extraction counts by status summed over tenants. */
const rustfsStatus = Effect.gen(function*() {
  const conn = yield* connection
  const rustfs = yield* makeRustfs(conn)
  const problem = (e: unknown) => describeError(e, conn.url).message
  const [health, ready, usage] = yield* Effect.all([
    probe(rustfs.api.system.health()),
    probe(rustfs.api.system.ready()),
    probe(rustfs.api.admin.usage())
  ], { concurrency: "unbounded" })
  const extraction = counted(
    Either.map(usage, (u) => {
      const sums: Counts = Object.fromEntries(ExtractStatus.literals.map((s) => [s, 0]))
      for (const t of u.tenants) for (const [s, n] of Object.entries(t.by_status)) sums[s] = (sums[s] ?? 0) + n
      return sums
    }),
    problem
  )
  return {
    ...apiRoleRow("rustfs", conn.url, health, ready, isRustfsReady, problem),
    extraction: extraction.counts,
    extraction_error: extraction.counts_error
  } satisfies RoleRow & Record<string, unknown>
})

const memoryStatus = (options: Omit<MemoryOptionValues, "namespace">) =>
  Effect.gen(function*() {
    const conn = yield* memoryConnection({ ...options, namespace: Option.none() })
    const { api } = yield* makeDeepMemory(conn)
    const problem = (e: unknown) => describeMemoryError(e, conn.url).message
    const [health, ready, stats] = yield* Effect.all([
      probe(api.system.health()),
      probe(api.system.ready()),
      probe(api.queue.updateStats({ urlParams: {} }))
    ], { concurrency: "unbounded" })
    const queue = counted(
      Either.map(stats, (s) => ({ pending: s.pending, delayed: s.delayed, running: s.running, failed: s.failed })),
      problem
    )
    return {
      ...apiRoleRow("deep-memory", conn.url, health, ready, isMemoryReady, problem),
      update_queue: queue.counts,
      update_queue_error: queue.counts_error
    } satisfies RoleRow & Record<string, unknown>
  })

const workerProblem = (url: string) => (e: unknown): string => {
  if (e instanceof CliError) return e.message
  const code = (e as { cause?: { code?: unknown } } | null)?.cause?.code
  return code === "ECONNREFUSED"
    ? `cannot reach rustfs-worker at ${url}: connection refused (is rustfs-worker running? set --worker-url or WORKER_HEALTH_URL)`
    : `request to rustfs-worker at ${url} failed: ${describeCause(e)}`
}

/** The worker's health port is not an HttpApi (it has no client to derive): its bodies, as read here. */
const WorkerReadyBody = Schema.Struct({
  ok: Schema.Boolean,
  error: Schema.optional(Schema.String),
  service: Schema.optional(Schema.String),
  message: Schema.optional(Schema.String)
})
const WorkerHealthBody = Schema.Struct({
  in_flight: Schema.Number,
  counts: Schema.Struct({
    indexed: Schema.Number,
    skipped: Schema.Number,
    failed: Schema.Number,
    released: Schema.Number,
    abandoned: Schema.Number
  }),
  lag_ms: Schema.NullOr(Schema.Number)
})
const decodeReady = Schema.decodeUnknownOption(WorkerReadyBody)
const decodeHealth = Schema.decodeUnknownOption(WorkerHealthBody)

/** GET `url`: the status and the JSON body (`null` when it is not JSON). */
const getJson = (url: string) =>
  Effect.tryPromise({
    try: async (signal) => {
      const res = await fetch(url, { signal, headers: { accept: "application/json" } })
      const body: unknown = await res.json().catch(() => null)
      return { status: res.status, body }
    },
    catch: (e) => e
  })

/** `/readyz` (503 with `auth_failed` while a key is refused) and the work counts of `/health`. */
const workerStatus = (baseUrl: string) =>
  Effect.gen(function*() {
    const problem = workerProblem(baseUrl)
    const [health, ready] = yield* Effect.all([
      probe(getJson(`${baseUrl}/health`)),
      probe(getJson(`${baseUrl}/readyz`))
    ], { concurrency: "unbounded" })
    const unexpected = (path: string, status: number) => `unexpected_response: HTTP ${status} from GET ${baseUrl}${path}`
    const readiness = Either.match(ready, {
      onLeft: (e) => ({ ready: false, checks: {}, error: problem(e) }),
      onRight: ({ body, status }) =>
        Option.match(decodeReady(body), {
          onNone: () => ({ ready: false, checks: {}, error: unexpected("/readyz", status) }),
          onSome: (r) =>
            status === 200 && r.ok
              ? { ready: true, checks: { keys: "ok" }, error: null }
              : { ready: false, checks: { keys: [r.error ?? "not ready", r.service, r.message].filter(Boolean).join(": ") }, error: null }
        })
    })
    const state = Either.flatMap(Either.mapLeft(health, problem), ({ body, status }) =>
      status === 200
        ? Option.match(decodeHealth(body), { onNone: () => Either.left(unexpected("/health", status)), onSome: Either.right })
        : Either.left(unexpected("/health", status)))
    const work = counted(Either.map(state, (s): Counts => ({ in_flight: s.in_flight, ...s.counts })), (reason) => reason)
    return {
      role: "rustfs-worker",
      url: baseUrl,
      healthy: Either.isRight(state),
      health_error: Either.isLeft(state) ? state.left : null,
      ...readiness,
      work: work.counts,
      work_error: work.counts_error,
      lag_ms: Either.isRight(state) ? state.right.lag_ms : null
    } satisfies RoleRow & Record<string, unknown>
  })

/** The reason is the row's own when the role is down; repeating it here would only add noise. */
const countsLine = (row: RoleRow, counts: Counts | null, error: string | null) =>
  counts !== null
    ? Object.entries(counts).map(([k, v]) => `${k.replace("_", " ")} ${v}`).join(", ")
    : !row.healthy && row.error !== null
    ? `unavailable (${row.role} is down)`
    : `unavailable: ${error ?? "unknown"}`

const workerUrl = Options.text("worker-url").pipe(
  Options.withFallbackConfig(Config.string("WORKER_HEALTH_URL").pipe(Config.withDefault(DEFAULT_WORKER_HEALTH_URL))),
  Options.withDescription(`rustfs-worker health URL (env WORKER_HEALTH_URL, default ${DEFAULT_WORKER_HEALTH_URL})`)
)

const validUrl = (option: string, url: string) =>
  Effect.gen(function*() {
    const trimmed = url.trim().replace(/\/+$/, "")
    const parsed = URL.canParse(trimmed) ? new URL(trimmed) : undefined
    if (parsed?.protocol !== "http:" && parsed?.protocol !== "https:") {
      return yield* usage(`${option} must be an absolute http(s) URL, got ${JSON.stringify(url)}`)
    }
    return trimmed
  })

/**
 * Health and readiness of the three roles of the stack — RustFS, deep-memory and rustfs-worker —
 * plus the extraction counts by status (RustFS, admin key), the update-queue depth (deep-memory) and
 * the worker's counts. All three roles are expected: one that does not answer is a "down" row and
 * makes the exit code 1. Counts that cannot be read (e.g. a non-admin key) are reported but do not
 * change the exit code. `--json`: one JSON object per role, counts included in the role's object.
 */
const status = Command.make("status", {
  memoryUrl: memoryOptions.memoryUrl,
  memoryApiKey: memoryOptions.memoryApiKey,
  workerUrl
}, (o) =>
  Effect.gen(function*() {
    const { json } = yield* connection
    const worker = yield* validUrl("--worker-url", o.workerUrl)
    const [rustfs, memory, rustfsWorker] = yield* Effect.all([
      rustfsStatus,
      memoryStatus(o),
      workerStatus(worker)
    ], { concurrency: "unbounded" })
    const rows: ReadonlyArray<RoleRow> = [rustfs, memory, rustfsWorker]
    if (json) {
      for (const r of rows) yield* Console.log(JSON.stringify(r))
    } else {
      const describeChecks = (r: RoleRow) =>
        r.error ?? (Object.entries(r.checks).map(([k, v]) => `${k} ${v}`).join(", ") || "-")
      yield* Console.log([
        ...table(
          ["ROLE", "URL", "HEALTH", "READY", "CHECKS"],
          rows.map((r) => [r.role, r.url, r.healthy ? "ok" : "down", r.ready ? "ready" : "not ready", describeChecks(r)])
        ),
        "",
        `extraction    ${countsLine(rustfs, rustfs.extraction, rustfs.extraction_error)}`,
        `update queue  ${countsLine(memory, memory.update_queue, memory.update_queue_error)}`,
        `worker        ${countsLine(rustfsWorker, rustfsWorker.work, rustfsWorker.work_error)}`
      ].join("\n"))
      for (const r of rows) if (r.health_error !== null && r.error === null) yield* Console.error(`${r.role}: ${r.health_error}`)
    }
    const notReady = rows.filter((r) => !r.ready).map((r) => r.role)
    if (notReady.length > 0) {
      return yield* new CliError({ message: `not ready: ${notReady.join(", ")}`, exitCode: 1 })
    }
  })).pipe(Command.withDescription("Health and readiness of RustFS, deep-memory and rustfs-worker, with extraction and queue counts"))

export { status as statusCommand }
