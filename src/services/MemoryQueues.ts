import { Config, Effect, Layer, Schedule } from "effect"
import { DegradedReadOnly, NamespaceOverloaded, QueueOverloaded } from "../domain/DeepMemoryErrors.js"
import { MemoryService } from "./MemoryService.js"
import { makeTaskQueue } from "./TaskQueue.js"

/**
 * The durable update and forget queues of deep-memory, their background workers, and the backlog
 * thresholds that answer 503 with `retry-after` (the signal clients back off on).
 */
export class MemoryQueues extends Effect.Service<MemoryQueues>()("deep-memory/MemoryQueues", {
  effect: Effect.gen(function*() {
    const maxAttempts = yield* Config.integer("UPDATE_MAX_ATTEMPTS").pipe(Config.withDefault(5))
    const backoff = {
      baseMs: yield* Config.integer("UPDATE_RETRY_BASE_MS").pipe(Config.withDefault(2_000)),
      capMs: yield* Config.integer("UPDATE_RETRY_CAP_MS").pipe(Config.withDefault(300_000))
    }
    const update = yield* makeTaskQueue("update", { maxAttempts, backoff })
    const forget = yield* makeTaskQueue("forget", { maxAttempts, backoff })
    const thresholds = {
      readOnly: yield* Config.integer("UPDATE_BACKLOG_READ_ONLY_PENDING").pipe(Config.withDefault(100_000)),
      reject: yield* Config.integer("UPDATE_BACKLOG_REJECT_PENDING").pipe(Config.withDefault(20_000)),
      namespace: yield* Config.integer("UPDATE_NAMESPACE_REJECT_PENDING").pipe(Config.withDefault(5_000)),
      retryAfterSeconds: yield* Config.integer("UPDATE_BACKLOG_RETRY_AFTER_SECONDS").pipe(Config.withDefault(30))
    }

    /** Refuses new writes when the backlog is past a threshold, from the most to the least severe. */
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
      })

    return { update, forget, admit } as const
  })
}) {}

/** Workers that drain both queues in the background for as long as the program runs. */
export const MemoryQueueWorkersLive = Layer.scopedDiscard(
  Effect.gen(function*() {
    const queues = yield* MemoryQueues
    const memory = yield* MemoryService
    const concurrency = yield* Config.integer("UPDATE_CONCURRENCY").pipe(Config.withDefault(2))
    const perNamespaceLimit = yield* Config.integer("NAMESPACE_UPDATE_CONCURRENCY").pipe(Config.withDefault(1))
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
    const interval = yield* Config.integer("EXPIRED_GC_INTERVAL_MS").pipe(Config.withDefault(3_600_000))
    const sweep = memory.gcExpired().pipe(
      Effect.tap((r) => r.memories > 0 ? Effect.logInfo("expired memories deleted", r) : Effect.void),
      Effect.catchAll((e) => Effect.logWarning("expired-memory sweep failed", e))
    )
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(interval)))
  })
)
