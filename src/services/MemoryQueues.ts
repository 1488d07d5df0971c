import { createHash } from "node:crypto"
import { Config, Effect, Layer, Schedule } from "effect"
import { integerAtLeast, numberAtLeast } from "./ConfigValues.js"
import { DegradedReadOnly, NamespaceOverloaded, QueueOverloaded } from "../domain/DeepMemoryErrors.js"
import { MemoryService } from "./MemoryService.js"
import { makeTaskQueue } from "./TaskQueue.js"

/**
 * The durable update and forget queues of deep-memory, their background workers, and the backlog
 * thresholds that answer 503 with `retry-after` (the signal clients back off on).
 */
export class MemoryQueues extends Effect.Service<MemoryQueues>()("deep-memory/MemoryQueues", {
  effect: Effect.gen(function*() {
    const maxAttempts = yield* integerAtLeast("UPDATE_MAX_ATTEMPTS", 5, 1)
    const backoff = {
      baseMs: yield* integerAtLeast("UPDATE_RETRY_BASE_MS", 2_000, 1),
      capMs: yield* integerAtLeast("UPDATE_RETRY_CAP_MS", 300_000, 1)
    }
    const update = yield* makeTaskQueue("update", { maxAttempts, backoff })
    const forget = yield* makeTaskQueue("forget", { maxAttempts, backoff })
    const thresholds = {
      readOnly: yield* integerAtLeast("UPDATE_BACKLOG_READ_ONLY_PENDING", 100_000, 1),
      reject: yield* integerAtLeast("UPDATE_BACKLOG_REJECT_PENDING", 20_000, 1),
      namespace: yield* integerAtLeast("UPDATE_NAMESPACE_REJECT_PENDING", 5_000, 1),
      retryAfterSeconds: yield* integerAtLeast("UPDATE_BACKLOG_RETRY_AFTER_SECONDS", 30, 1)
    }

    const delay = {
      pending: yield* integerAtLeast("UPDATE_BACKLOG_DELAY_PENDING", 0, 0),
      ms: (yield* integerAtLeast("UPDATE_BACKLOG_DELAY_SECONDS", 0, 0)) * 1000
    }
    const disabled = new Set(
      (yield* Config.string("UPDATE_DISABLED_NAMESPACES").pipe(Config.withDefault(""))).split(",").map((s) => s.trim()).filter((s) => s !== "")
    )
    const minIntervalMs = yield* integerAtLeast("UPDATE_MIN_INTERVAL_MS", 0, 0)
    const sampleRate = yield* numberAtLeast("UPDATE_SAMPLE_RATE", 1, 0).pipe(
      Config.validate({ message: "UPDATE_SAMPLE_RATE must be between 0 and 1", validation: (r) => r <= 1 })
    )
    const lastAccepted = new Map<string, number>()

    /**
     * Updates deliberately not taken (answered `200 skipped`): a namespace in
     * `UPDATE_DISABLED_NAMESPACES`; a session outside the `UPDATE_SAMPLE_RATE` sample (chosen by a
     * hash of namespace and session, so a session is always in or always out); a session updated
     * again within `UPDATE_MIN_INTERVAL_MS` (`throttled`: send it again later).
     */
    const screen = (namespace: string, sessionId: string) =>
      Effect.sync((): "namespace_write_disabled" | "sampled_out" | "throttled" | null => {
        if (disabled.has(namespace)) return "namespace_write_disabled"
        if (sampleRate < 1) {
          const h = createHash("sha256").update(`${namespace}\u0000${sessionId}`).digest().readUInt32BE(0) / 2 ** 32
          if (h >= sampleRate) return "sampled_out"
        }
        if (minIntervalMs > 0) {
          const key = `${namespace}\u0000${sessionId}`
          const now = Date.now()
          const last = lastAccepted.get(key)
          if (last !== undefined && now - last < minIntervalMs) return "throttled"
          lastAccepted.delete(key)
          lastAccepted.set(key, now)
          // Oldest first: forget sessions beyond the newest 100,000.
          if (lastAccepted.size > 100_000) lastAccepted.delete(lastAccepted.keys().next().value!)
        }
        return null
      })

    /**
     * Refuses new writes when the backlog is past a threshold, from the most to the least severe;
     * past `UPDATE_BACKLOG_DELAY_PENDING` an accepted task waits `UPDATE_BACKLOG_DELAY_SECONDS`.
     */
    const admit = (namespace: string) =>
      Effect.gen(function*() {
        const total = yield* update.depth()
        const retryAfterSeconds = thresholds.retryAfterSeconds
        if (total >= thresholds.readOnly) {
          return yield* new DegradedReadOnly({ message: `update backlog is ${total} tasks: writes are paused`, retryAfterSeconds })
        }
        if (total >= thresholds.reject) {
          return yield* new QueueOverloaded({ message: `update backlog is ${total} tasks`, retryAfterSeconds })
        }
        const own = yield* update.depth(namespace)
        if (own >= thresholds.namespace) {
          return yield* new NamespaceOverloaded({ message: `namespace ${namespace} has ${own} pending updates`, retryAfterSeconds })
        }
        return { delayMs: delay.pending > 0 && total >= delay.pending ? delay.ms : 0 }
      })

    return { update, forget, admit, screen } as const
  })
}) {}

/** Workers that drain both queues in the background for as long as the program runs. */
export const MemoryQueueWorkersLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const queues = yield* MemoryQueues
    const memory = yield* MemoryService
    const concurrency = yield* integerAtLeast("UPDATE_CONCURRENCY", 2, 0)
    const perNamespaceLimit = yield* integerAtLeast("NAMESPACE_UPDATE_CONCURRENCY", 1, 1)
    const safely = (what: string) => <A, E, R>(e: Effect.Effect<A, E, R>) =>
      e.pipe(
        Effect.asVoid,
        Effect.tapError((error) => Effect.logWarning(`${what} task failed`, error)),
        Effect.mapError(() => ({ safeMessage: `${what} failed; see the server log` }))
      )
    // UPDATE_CONCURRENCY=0 runs no update workers here (an API-only node; another process drains).
    if (concurrency > 0) yield* Effect.forkScoped(queues.update.runWorkers({
      concurrency,
      perNamespaceLimit,
      pollInterval: "200 millis",
      handler: (task) => {
        const payload = task.payload as { readonly messages?: ReadonlyArray<unknown> }
        return memory.update(task.namespace, task.sessionId, payload.messages ?? []).pipe(safely("update"))
      }
    }))
    yield* Effect.forkScoped(queues.forget.runWorkers({
      concurrency: 1,
      pollInterval: "500 millis",
      handler: (task) => {
        const payload = task.payload as { readonly memory_ids?: ReadonlyArray<string>; readonly session_id?: string }
        return memory.forget(task.namespace, { ids: payload.memory_ids, sessionId: payload.session_id }, false).pipe(safely("forget"))
      }
    }))
  })
)

/** Expired (ephemeral) memories are deleted every `EXPIRED_GC_INTERVAL_MS` (default one hour). */
export const ExpiredMemoryGcLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const memory = yield* MemoryService
    const interval = yield* integerAtLeast("EXPIRED_GC_INTERVAL_MS", 3_600_000, 1000)
    const sweep = memory.gcExpired().pipe(
      Effect.tap((r) => r.memories > 0 ? Effect.logInfo("expired memories deleted", r) : Effect.void),
      Effect.catchAll((e) => Effect.logWarning("expired-memory sweep failed", e))
    )
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(interval)))
  })
)
