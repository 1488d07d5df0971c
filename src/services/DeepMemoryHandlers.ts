import { randomUUID } from "node:crypto"
import { HttpApiBuilder, HttpApiError, HttpApp, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Layer, Option, Stream } from "effect"
import { CurrentMemoryPrincipal, DeepMemoryApi, MemoryAuthentication, type MemoryRole } from "../domain/DeepMemoryApi.js"
import * as E from "../domain/DeepMemoryErrors.js"
import { Embedder } from "./Embedder.js"
import { GraphStore } from "./GraphStore.js"
import { presentedKey } from "./HttpAuth.js"
import { MemoryKeys, permits } from "./MemoryKeys.js"
import { integerAtLeast } from "./ConfigValues.js"
import { MemoryAudit } from "./MemoryAudit.js"
import { MemoryQueues } from "./MemoryQueues.js"
import { contextOf, MemoryService } from "./MemoryService.js"
import { type RateClass, RateLimiter } from "./RateLimiter.js"
import { renderPrometheus } from "./Prometheus.js"
import { VectorStore } from "./VectorStore.js"

/**
 * Checks role and namespace allowlist (403 `forbidden` / `forbidden_namespace`), then the caller's
 * rate limit for the class of request (429 `rate_limited`).
 */
const authorize = (needed: MemoryRole, namespace: string | undefined, rateClass?: RateClass) =>
  Effect.gen(function*() {
    const principal = yield* CurrentMemoryPrincipal
    const ns = namespace ?? "default"
    if (!permits({ ...principal, namespaces: null }, needed, ns)) {
      return yield* new E.Forbidden({ message: `this key's role (${principal.role}) may not do this (needs ${needed})` })
    }
    if (!permits(principal, needed, ns)) {
      return yield* new E.ForbiddenNamespace({ message: `this key may not use namespace ${ns}`, namespace: ns })
    }
    if (rateClass !== undefined) yield* Effect.flatMap(RateLimiter, (limiter) => limiter.check(principal.keyId, rateClass))
    return { principal, namespace: ns }
  })

/** Store and embedder faults become 503s naming the store; nothing internal reaches the client. */
const contractErrors = <A, R>(effect: Effect.Effect<A, any, R>): Effect.Effect<A, E.DeepMemoryError, R> =>
  Effect.catchAll(effect, (error: any) => {
    if (error instanceof E.InvalidRequest || error instanceof E.Forbidden || error instanceof E.ForbiddenNamespace ||
      error instanceof E.Unauthorized || error instanceof E.NotFound || error instanceof E.PayloadTooLarge ||
      error instanceof E.QueueOverloaded || error instanceof E.NamespaceOverloaded || error instanceof E.DegradedReadOnly ||
      error instanceof E.RateLimited || error instanceof E.StoreUnavailable || error instanceof E.InvalidJson)
    {
      return Effect.fail(error)
    }
    const op: string = error?.op ?? error?.cause?.op ?? "unknown"
    const store = error?._tag === "TaskQueueError" ? "queue"
      : /graph/i.test(op) || error?.cause?._tag === "GraphError" ? "graph"
      : /embed/i.test(op) ? "embedder"
      : "vectors"
    return Effect.logError("request failed", error).pipe(
      Effect.zipRight(Effect.fail(new E.StoreUnavailable({ message: `the ${store} store failed; try again`, store })))
    )
  })

export const MemoryAuthenticationLive = Layer.effect(
  MemoryAuthentication,
  Effect.gen(function*() {
    const keys = yield* MemoryKeys
    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const presented = presentedKey(request.headers)
      return yield* Option.match(keys.authenticate(presented), {
        onNone: () => Effect.fail(new E.Unauthorized({ message: presented === undefined ? "missing API key" : "invalid API key" })),
        onSome: Effect.succeed
      })
    })
  })
)

const SystemLive = HttpApiBuilder.group(DeepMemoryApi, "system", (handlers) =>
  Effect.gen(function*() {
    const vectors = yield* VectorStore
    const graph = yield* GraphStore
    return handlers
      .handle("health", () => Effect.succeed({ ok: true, service: "deep-memory" }))
      .handle("ready", () =>
        Effect.gen(function*() {
          const check = (e: Effect.Effect<void, unknown>) =>
            e.pipe(Effect.timeout("2 seconds"), Effect.as("ok"), Effect.orElseSucceed(() => "unreachable"))
          const [v, g] = yield* Effect.all([check(vectors.ping), check(graph.ping)], { concurrency: 2 })
          const body = { ok: v === "ok" && g === "ok", checks: { [`vectors:${vectors.name}`]: v, [`graph:${graph.name}`]: g } }
          return body.ok ? body : yield* Effect.fail(body)
        }))
  }))

/**
 * `NAMESPACE_RETRIEVE_CONCURRENCY` (0 = no limit): at most that many retrievals of one namespace run
 * at once; the next waits up to `NAMESPACE_RETRIEVE_WAIT_MS` (5 s) for a slot, then is answered 503
 * `namespace_overloaded` with `retry-after: 1`, so one busy tenant cannot take every core.
 */
const namespaceRetrieveLimit = Effect.gen(function*() {
  const limit = yield* integerAtLeast("NAMESPACE_RETRIEVE_CONCURRENCY", 0, 0)
  const waitMs = yield* integerAtLeast("NAMESPACE_RETRIEVE_WAIT_MS", 5_000, 0)
  const slots = new Map<string, Effect.Semaphore>()
  return (namespace: string) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | E.NamespaceOverloaded, R> => {
    if (limit === 0) return effect
    let semaphore = slots.get(namespace)
    if (semaphore === undefined) slots.set(namespace, semaphore = Effect.unsafeMakeSemaphore(limit))
    const sem = semaphore
    const take = sem.take(1).pipe(
      Effect.timeoutFail({
        duration: waitMs,
        onTimeout: () => new E.NamespaceOverloaded({ message: `namespace ${namespace} has ${limit} retrievals running`, retryAfterSeconds: 1 })
      })
    )
    // The wait stays interruptible (and timed); once a slot is held it is always given back.
    return Effect.uninterruptibleMask((restore) =>
      restore(take).pipe(Effect.zipRight(restore(effect).pipe(Effect.ensuring(sem.release(1)))))
    )
  }
})

const MemoryLive = HttpApiBuilder.group(DeepMemoryApi, "memory", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* MemoryService
    const queues = yield* MemoryQueues
    const audit = yield* MemoryAudit
    const record = (action: string, namespace: string, detail: Record<string, unknown>) =>
      Effect.flatMap(CurrentMemoryPrincipal, (p) =>
        audit.record({ action, tenant_id: null, namespace, key_id: p.keyId, outcome: "ok", detail }))
    const vectors = yield* VectorStore
    const retrieveSlots = yield* namespaceRetrieveLimit
    return handlers
      .handle("retrieve", ({ payload }) =>
        Effect.gen(function*() {
          const { namespace } = yield* authorize("read", payload.namespace, "retrieve")
          const scoped = payload.session_ids ?? (payload.scope_to_session === true && payload.session_id ? [payload.session_id] : undefined)
          const items = yield* retrieveSlots(namespace)(memory.retrieve({
            namespace,
            query: payload.user_input,
            sessionIds: scoped,
            limit: payload.max_memories ?? 10,
            explain: payload.explain === true
          }))
          const entities = [...new Set(items.flatMap((i) => i.memory.payload.entities))].slice(0, 20)
          const topics = [...new Set(items.flatMap((i) => i.memory.payload.topics))].slice(0, 20)
          return {
            entities,
            topics,
            memories: items.map((i) => ({
              id: i.memory.id,
              content: i.memory.payload.content,
              importance: i.memory.payload.importance,
              relevance: Math.round(i.relevance * 1000) / 1000,
              semantic_score: Math.round(i.parts.dense * 1000) / 1000,
              ...(i.parts.graph > 0 ? { relation_score: Math.round(i.parts.graph * 1000) / 1000 } : {}),
              sources: i.sources,
              kind: i.memory.payload.kind,
              session_id: i.memory.sessionId,
              memory_key: i.memory.payload.memory_key,
              locator: i.memory.payload.locator,
              created_at: i.memory.createdAtMs,
              ...(payload.explain === true ? { explain: i.parts } : {})
            })),
            context: contextOf(items)
          }
        }).pipe(contractErrors))
      .handle("update", ({ payload }) =>
        Effect.gen(function*() {
          const { namespace } = yield* authorize("write", payload.namespace, "update")
          const skip = yield* queues.screen(namespace, payload.session_id)
          if (skip !== null) {
            yield* record("update", namespace, { session_id: payload.session_id, messages: payload.messages.length, status: "skipped", error: skip })
            return { status: "skipped" as const, memories_added: 0, memories_filtered: 0, error: skip }
          }
          const { delayMs } = yield* queues.admit(namespace)
          if (payload.async !== false) {
            // Durable before answering: the task row is committed when enqueue returns.
            const { taskId } = yield* queues.update.enqueue({
              namespace,
              sessionId: payload.session_id,
              kind: "update",
              payload: { messages: payload.messages },
              coalesceKey: `${namespace}/${payload.session_id}`,
              delayMs
            })
            yield* record("update", namespace, { session_id: payload.session_id, messages: payload.messages.length, status: "queued", task_id: taskId })
            return { status: "queued" as const, memories_added: 0, memories_filtered: 0, task_id: taskId }
          }
          const outcome = yield* memory.update(namespace, payload.session_id, payload.messages)
          yield* record("update", namespace, {
            session_id: payload.session_id, messages: payload.messages.length, status: "processed", memories_added: outcome.memoriesAdded
          })
          const max = payload.max_memory_ids ?? 200
          return {
            status: "processed" as const,
            memories_added: outcome.memoriesAdded,
            memories_filtered: outcome.memoriesFiltered,
            ...(payload.return_memory_ids === true
              ? { memory_ids: outcome.memoryIds.slice(0, max), memory_ids_truncated: outcome.memoryIds.length > max }
              : {})
          }
        }).pipe(contractErrors))
      .handle("inspect", ({ payload }) =>
        Effect.gen(function*() {
          const { namespace } = yield* authorize("read", payload.namespace)
          const { memories, terms, total } = yield* memory.inspect(namespace, payload.session_id, payload.limit ?? 100)
          return {
            namespace,
            session_id: payload.session_id,
            totals: { memories: total },
            topics: terms.topics.map((t) => ({ name: t.name, frequency: t.frequency })),
            entities: terms.entities.map((t) => ({ name: t.name, frequency: t.frequency })),
            memories: memories.map((m) => ({
              id: m.id,
              importance: m.payload.importance,
              created_at: m.createdAtMs,
              topics: m.payload.topics,
              entities: m.payload.entities,
              kind: m.payload.kind,
              locator: m.payload.locator,
              ...(payload.include_content === true ? { content: m.payload.content } : {})
            }))
          }
        }).pipe(contractErrors))
      .handle("forget", ({ payload }) =>
        Effect.gen(function*() {
          const { namespace } = yield* authorize("admin", payload.namespace, "forget")
          if ((payload.memory_ids === undefined || payload.memory_ids.length === 0) && payload.session_id === undefined) {
            return yield* new E.InvalidRequest({ message: "memory_ids or session_id is required", details: ["memory_ids", "session_id"] })
          }
          const requestId = randomUUID()
          if (payload.memory_ids !== undefined && payload.memory_ids.length > 0) {
            const found = yield* vectors.get(namespace, payload.memory_ids).pipe(contractErrors)
            if (found.length < new Set(payload.memory_ids).size) {
              const known = new Set(found.map((m) => m.id))
              return yield* new E.InvalidRequest({
                message: "some memory_ids do not exist in this namespace",
                details: payload.memory_ids.filter((id) => !known.has(id)).slice(0, 20)
              })
            }
          }
          const target = { ids: payload.memory_ids, sessionId: payload.session_id }
          if (payload.async === true && payload.dry_run !== true) {
            const key = payload.session_id ?? `ids:${payload.memory_ids!.length}`
            const { taskId } = yield* queues.forget.enqueue({
              namespace,
              sessionId: payload.session_id ?? "",
              kind: "forget",
              payload: { memory_ids: payload.memory_ids ?? null, session_id: payload.session_id ?? null }
            })
            yield* record("forget", namespace, { session_id: payload.session_id ?? null, memory_ids: payload.memory_ids?.length ?? 0, status: "queued", task_id: taskId })
            return { status: "queued" as const, namespace, request_id: requestId, key, task_id: taskId }
          }
          if (payload.dry_run === true) {
            const { ids } = yield* memory.forget(namespace, target, true)
            return { status: "dry_run" as const, namespace, request_id: requestId, would_delete: ids.length, memory_ids: ids }
          }
          const cancelled = payload.session_id === undefined ? 0 : yield* queues.update.cancelSession(namespace, payload.session_id)
          const { counts, ids } = yield* memory.forget(namespace, target, false)
          yield* record("forget", namespace, { session_id: payload.session_id ?? null, deleted: ids.length, queued_tasks: cancelled })
          return {
            status: "processed" as const,
            namespace,
            request_id: requestId,
            deleted: ids.length,
            memory_ids: ids,
            ...(counts === undefined ? {} : { results: { ...counts, queued_tasks: cancelled } })
          }
        }).pipe(contractErrors))
  }))

/**
 * Queue administration. A key limited to some namespaces must name one (`?namespace=`); only a key
 * on every namespace sees the whole queue.
 */
const queueScope = (namespace: string | undefined) =>
  Effect.gen(function*() {
    const principal = yield* CurrentMemoryPrincipal
    if (namespace !== undefined) return (yield* authorize("admin", namespace, "queue_admin")).namespace
    if (principal.namespaces !== null) {
      return yield* new E.ForbiddenNamespace({ message: "this key must name its namespace (?namespace=)", namespace: "*" })
    }
    yield* authorize("admin", undefined, "queue_admin")
    return undefined
  })

const QueueLive = HttpApiBuilder.group(DeepMemoryApi, "queue", (handlers) =>
  Effect.gen(function*() {
    const queues = yield* MemoryQueues
    const group = (q: typeof queues.update) => ({
      stats: (ns: string | undefined) => Effect.flatMap(queueScope(ns), (scope) => q.stats(scope)).pipe(contractErrors),
      failed: (ns: string | undefined, limit: number | undefined) =>
        Effect.flatMap(queueScope(ns), (scope) => q.listFailed({ ...(scope === undefined ? {} : { namespace: scope }), limit: limit ?? 100 })).pipe(
          Effect.map((items) => ({ items: items.map(({ id, ...rest }) => ({ task_id: id, ...rest })) })),
          contractErrors
        ),
      exportFailed: (ns: string | undefined) =>
        Effect.flatMap(queueScope(ns), (scope) =>
          Stream.runCollect(q.exportFailed(scope === undefined ? {} : { namespace: scope })).pipe(
            Effect.map((lines) => [...lines].join(""))
          )).pipe(contractErrors),
      retry: (ns: string | undefined, taskIds: ReadonlyArray<string> | undefined) =>
        Effect.flatMap(queueScope(ns), (scope) =>
          q.retryFailed({ ...(scope === undefined ? {} : { namespace: scope }), ...(taskIds === undefined ? {} : { taskIds }) })).pipe(
          Effect.map((retried) => ({ retried })),
          contractErrors
        )
    })
    const update = group(queues.update)
    const forget = group(queues.forget)
    return handlers
      .handle("updateStats", ({ urlParams }) => update.stats(urlParams.namespace))
      .handle("updateFailed", ({ urlParams }) => update.failed(urlParams.namespace, urlParams.limit))
      .handle("updateExport", ({ urlParams }) => update.exportFailed(urlParams.namespace))
      .handle("updateRetry", ({ payload }) => update.retry(payload.namespace, payload.task_ids))
      .handle("forgetStats", ({ urlParams }) => forget.stats(urlParams.namespace))
      .handle("forgetFailed", ({ urlParams }) => forget.failed(urlParams.namespace, urlParams.limit))
      .handle("forgetExport", ({ urlParams }) => forget.exportFailed(urlParams.namespace))
      .handle("forgetRetry", ({ payload }) => forget.retry(payload.namespace, payload.task_ids))
  }))

const AdminLive = HttpApiBuilder.group(DeepMemoryApi, "admin", (handlers) =>
  Effect.gen(function*() {
    const vectors = yield* VectorStore
    const graph = yield* GraphStore
    const embedder = yield* Embedder
    const queues = yield* MemoryQueues
    const memory = yield* MemoryService
    const audit = yield* MemoryAudit
    return handlers
      .handle("details", () =>
        Effect.gen(function*() {
          yield* authorize("admin", undefined)
          const status = (e: Effect.Effect<void, unknown>) =>
            e.pipe(Effect.timeout("2 seconds"), Effect.as("ok"), Effect.orElseSucceed(() => "unreachable"))
          const [v, g] = yield* Effect.all([status(vectors.ping), status(graph.ping)], { concurrency: 2 })
          return {
            ok: v === "ok" && g === "ok",
            stores: { vectors: { backend: vectors.name, status: v }, graph: { backend: graph.name, status: g } },
            embedder: embedder.id,
            queue: yield* queues.update.stats()
          }
        }).pipe(contractErrors))
      .handle("metrics", () => authorize("admin", undefined).pipe(Effect.zipRight(renderPrometheus), contractErrors))
      .handle("gcExpired", () =>
        Effect.gen(function*() {
          const principal = yield* CurrentMemoryPrincipal
          yield* authorize("admin", undefined)
          if (principal.namespaces !== null) {
            return yield* new E.ForbiddenNamespace({ message: "the expired-memory sweep covers every namespace: it needs a key on all of them", namespace: "*" })
          }
          const removed = yield* memory.gcExpired()
          yield* audit.record({ action: "gc_expired", tenant_id: null, namespace: "*", key_id: principal.keyId, outcome: "ok", detail: removed })
          return removed
        }).pipe(contractErrors))
  }))

export const DeepMemoryHandlersLive = Layer.mergeAll(SystemLive, MemoryLive, QueueLive, AdminLive).pipe(
  Layer.provide(MemoryAuthenticationLive)
)

const formatIssues = (e: HttpApiError.HttpApiDecodeError) =>
  e.issues.filter((i) => !i.message.startsWith("Expected undefined"))
    .map((i) => `${i.path.length === 0 ? "request" : i.path.map(String).join(".")}: ${i.message}`)

/** Every failure as one of the contract's JSON errors, with `retry-after` on overload answers. */
export const toDeepMemoryError = (cause: Cause.Cause<unknown>): Effect.Effect<never, E.DeepMemoryError, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
    const error = Cause.squash(cause)
    const retryAfter = E.retryAfterOf(error)
    if (retryAfter !== undefined) {
      yield* HttpApp.appendPreResponseHandler((_req, res) =>
        Effect.succeed(HttpServerResponse.setHeader(res, "retry-after", String(Math.ceil(retryAfter))))
      )
    }
    if (error instanceof E.InvalidJson || error instanceof E.InvalidRequest || error instanceof E.Unauthorized ||
      error instanceof E.Forbidden || error instanceof E.ForbiddenNamespace || error instanceof E.NotFound ||
      error instanceof E.PayloadTooLarge || error instanceof E.RateLimited || error instanceof E.NamespaceOverloaded ||
      error instanceof E.QueueOverloaded || error instanceof E.DegradedReadOnly || error instanceof E.StoreUnavailable ||
      error instanceof E.InternalError)
    {
      return yield* Effect.fail(error)
    }
    if (error instanceof HttpApiError.HttpApiDecodeError) {
      const details = formatIssues(error)
      return yield* new E.InvalidRequest({ message: details[0] ?? "the request did not match the contract", details })
    }
    if (HttpServerError.isServerError(error)) {
      if (error._tag === "RouteNotFound") {
        const request = yield* HttpServerRequest.HttpServerRequest
        return yield* new E.NotFound({ message: `no route for ${request.method} ${(request.url.split("?")[0] ?? "/").slice(0, 200)}` })
      }
      if (error._tag === "RequestError" && error.reason === "Decode") {
        if (error.cause instanceof Error && error.cause.message === "maxBytes exceeded") {
          return yield* new E.PayloadTooLarge({ message: "request body is too large", limitBytes: MAX_BODY_BYTES })
        }
        return yield* new E.InvalidJson({ message: "request body is not valid JSON" })
      }
    }
    yield* Effect.logError("unhandled failure", cause)
    return yield* new E.InternalError({ message: "internal error" })
  })

export const MAX_BODY_BYTES = 8 * 1024 * 1024
