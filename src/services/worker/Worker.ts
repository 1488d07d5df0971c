import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Layer, Metric, Option, Schedule } from "effect"
import { renderPrometheus } from "../Prometheus.js"
import { callPeer, type LeaseLost, MemoryClient, type PeerError, RustfsClient } from "./Clients.js"
import { processFile } from "./Ingest.js"
import { forgetTombstones } from "./Tombstones.js"
import { WorkerConfig } from "./WorkerConfig.js"
import { claimsTotal, WorkerState } from "./WorkerState.js"

/**
 * One round: if a key was refused, first check that it works again (and stay idle if not); then
 * claim up to `WORKER_CONCURRENCY` files and process them concurrently. Returns how many files were
 * claimed, so the loop polls again at once after a full batch.
 */
export const claimRound = Effect.gen(function*() {
  const config = yield* WorkerConfig
  const state = yield* WorkerState
  const rustfs = yield* RustfsClient
  const memory = yield* MemoryClient
  const problem = (yield* state.get).authProblem
  if (problem !== null) {
    // A cheap authenticated call to the service that refused us: still refused → no claims.
    const probe: Effect.Effect<unknown, PeerError | LeaseLost> = problem.service === "rustfs"
      ? callPeer("rustfs", config.timeoutMs, rustfs.files.pending({ urlParams: tenantParam(config) }))
      : callPeer("deep-memory", config.timeoutMs, memory.memory.inspect({
        payload: { ...namespaceParam(config), session_id: "rustfs:worker:auth-probe", limit: 1 }
      }))
    const ok = yield* probe.pipe(Effect.as(true), Effect.catchAll((e) => Effect.succeed(e._tag !== "AuthFailed")))
    if (!ok) return 0
    yield* state.authOk
    yield* Effect.logInfo("credentials accepted again; claiming resumes", { service: problem.service })
  }
  const claimed = yield* callPeer("rustfs", config.timeoutMs, rustfs.files.claim({
    payload: { ...tenantParam(config), limit: Math.min(config.concurrency, config.pendingLimit), lease_ms: config.leaseMs }
  })).pipe(
    Effect.catchAll((e: PeerError | { readonly _tag: "LeaseLost" }) =>
      e._tag === "AuthFailed"
        ? state.authFailed("rustfs", e.message).pipe(
          Effect.zipRight(Effect.logError("RustFS refused the worker's key: claiming stops until it is accepted", { error: e.message })),
          Effect.as(null)
        )
        : Effect.logWarning("claim failed", { error: "message" in e ? e.message : e._tag }).pipe(Effect.as(null))
    )
  )
  if (claimed === null || claimed.items.length === 0) return 0
  yield* Metric.incrementBy(claimsTotal, claimed.items.length)
  yield* state.update((s) => ({ ...s, lastClaimAtMs: Date.now(), inFlight: s.inFlight + claimed.items.length }))
  yield* Effect.forEach(claimed.items, (file) =>
    processFile(file).pipe(Effect.ensuring(state.update((s) => ({ ...s, inFlight: s.inFlight - 1 })))), {
    concurrency: config.concurrency,
    discard: true
  })
  return claimed.items.length
})

const tenantParam = (config: WorkerConfig["Type"]) =>
  Option.match(config.rustfsTenantId, { onNone: () => ({}), onSome: (tenant_id) => ({ tenant_id }) })
const namespaceParam = (config: WorkerConfig["Type"]) =>
  Option.match(config.namespace, { onNone: () => ({}), onSome: (namespace) => ({ namespace }) })

/**
 * The worker's loops, running until interrupted: claim rounds (polling every
 * `RUSTFS_POLL_INTERVAL_MS` when idle, at once after a full batch, and slower while a key is refused)
 * and tombstone passes. SIGTERM interrupts them: a file in flight is released back to `pending` at
 * once (or, if RustFS cannot be reached, left to its lease); nothing half-written is marked final.
 */
export const WorkerLoopsLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    const state = yield* WorkerState
    const poll = Duration.millis(config.pollIntervalMs)
    const round = claimRound.pipe(
      Effect.flatMap((n) =>
        n >= Math.min(config.concurrency, config.pendingLimit)
          ? Effect.void
          : Effect.flatMap(state.get, (s) => Effect.sleep(s.authProblem === null ? poll : Duration.times(poll, 4)))
      ),
      Effect.catchAllCause((cause) => Effect.logError("claim round failed", cause).pipe(Effect.zipRight(Effect.sleep(poll))))
    )
    yield* Effect.forkScoped(Effect.forever(round))
    const tombstones = forgetTombstones.pipe(
      Effect.catchAll((e) =>
        e._tag === "AuthFailed"
          ? state.authFailed(e.service === "rustfs" ? "rustfs" : "deep-memory", e.message).pipe(
            Effect.zipRight(Effect.logError("a key was refused while forgetting tombstoned files (forget needs an admin key on the namespace)", { error: e.message })),
            Effect.as(0)
          )
          : Effect.logWarning("tombstone pass failed; retrying later", { error: e.message }).pipe(Effect.as(0))
      ),
      Effect.catchAllCause((cause) => Effect.logError("tombstone pass failed", cause).pipe(Effect.as(0)))
    )
    yield* Effect.forkScoped(Effect.repeat(tombstones, Schedule.spaced(poll)))
    yield* Effect.logInfo("rustfs-worker started", {
      rustfs: config.rustfsBaseUrl,
      deep_memory: config.memoryBaseUrl,
      concurrency: config.concurrency,
      namespace: Option.getOrElse(config.namespace, () => "(each file's tenant)")
    })
  })
)

/**
 * `/health` (state as JSON), `/readyz` (503 while a key is refused) and `/metrics` (Prometheus) on
 * `WORKER_HEALTH_HOST:WORKER_HEALTH_PORT`.
 */
export const workerHealthRoutes = HttpRouter.empty.pipe(
  HttpRouter.get("/health", Effect.gen(function*() {
    const s = yield* (yield* WorkerState).get
    const now = Date.now()
    return yield* HttpServerResponse.json({
      ok: s.authProblem === null,
      in_flight: s.inFlight,
      counts: s.counts,
      auth_problem: s.authProblem === null ? null : { service: s.authProblem.service, message: s.authProblem.message, since_ms: s.authProblem.sinceMs },
      backoff_until_ms: s.backoffUntilMs,
      last_claim_at_ms: s.lastClaimAtMs,
      last_finished_at_ms: s.lastFinishedAtMs,
      lag_ms: s.lastFinishedAtMs === null ? null : now - s.lastFinishedAtMs,
      tombstones_since_ms: s.tombstoneSinceMs,
      uptime_ms: now - s.startedAtMs
    })
  })),
  HttpRouter.get("/readyz", Effect.gen(function*() {
    const s = yield* (yield* WorkerState).get
    return s.authProblem === null
      ? HttpServerResponse.unsafeJson({ ok: true })
      : HttpServerResponse.unsafeJson({ ok: false, error: "auth_failed", service: s.authProblem.service, message: s.authProblem.message }, { status: 503 })
  })),
  HttpRouter.get("/metrics", Effect.map(renderPrometheus, (text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4" })))
)

export const WorkerHealthLive = HttpServer.serve(workerHealthRoutes)
