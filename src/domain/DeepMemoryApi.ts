import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema } from "@effect/platform"
import { Context, Schema } from "effect"
import * as E from "./DeepMemoryErrors.js"

/**
 * The deep-memory contract existing OpenClaw gateways and workers speak (paths, fields, codes),
 * plus the extras of this implementation (`session_ids`, `explain`, `kind`, `locator`), which old
 * clients simply do not send or read.
 */

export const MemoryRole = Schema.Literal("read", "write", "admin")
export type MemoryRole = typeof MemoryRole.Type

export interface MemoryPrincipal {
  readonly keyId: string | null
  readonly role: MemoryRole
  /** `null`: every namespace. */
  readonly namespaces: ReadonlyArray<string> | null
}
export class CurrentMemoryPrincipal
  extends Context.Tag("deep-memory/CurrentPrincipal")<CurrentMemoryPrincipal, MemoryPrincipal>()
{}

export class MemoryAuthentication extends HttpApiMiddleware.Tag<MemoryAuthentication>()("deep-memory/Authentication", {
  failure: E.UnauthorizedWire,
  provides: CurrentMemoryPrincipal
}) {}

export const Namespace = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._:-]{1,128}$/, { message: () => "namespace must be 1-128 characters of A-Z a-z 0-9 . _ : -" })
)
const SessionId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512))
const boundedInt = (min: number, max: number, name: string) =>
  Schema.Int.pipe(Schema.between(min, max, { message: () => `${name} must be an integer between ${min} and ${max}` }))

// ------------------------------------------------------------------------------------ retrieve

export const RetrieveRequest = Schema.Struct({
  namespace: Schema.optional(Namespace),
  user_input: Schema.String.pipe(Schema.maxLength(32_768)),
  session_id: Schema.optional(Schema.NullOr(SessionId)),
  session_ids: Schema.optional(Schema.Array(SessionId).pipe(Schema.maxItems(1000))),
  /** Restrict results to the given sessions (`session_id` alone only names the conversation). */
  scope_to_session: Schema.optional(Schema.Boolean),
  max_memories: Schema.optional(boundedInt(1, 100, "max_memories")),
  explain: Schema.optional(Schema.Boolean)
})
export type RetrieveRequest = typeof RetrieveRequest.Type

export const ScoreParts = Schema.Struct({
  dense: Schema.Number,
  lexical: Schema.Number,
  graph: Schema.Number,
  importance: Schema.Number,
  recency: Schema.Number,
  fused: Schema.Number
})

export const RetrievedMemory = Schema.Struct({
  id: Schema.String,
  content: Schema.String,
  importance: Schema.Number,
  relevance: Schema.Number,
  semantic_score: Schema.optional(Schema.Number),
  relation_score: Schema.optional(Schema.Number),
  sources: Schema.Array(Schema.Literal("qdrant", "neo4j")),
  kind: Schema.optional(Schema.String),
  session_id: Schema.optional(Schema.String),
  memory_key: Schema.optional(Schema.String),
  locator: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))),
  created_at: Schema.optional(Schema.Number),
  explain: Schema.optional(ScoreParts)
})
export type RetrievedMemory = typeof RetrievedMemory.Type

export const RetrieveResponse = Schema.Struct({
  entities: Schema.Array(Schema.String),
  topics: Schema.Array(Schema.String),
  memories: Schema.Array(RetrievedMemory),
  context: Schema.String
})

// ------------------------------------------------------------------------------------ update

export const UpdateRequest = Schema.Struct({
  namespace: Schema.optional(Namespace),
  session_id: SessionId,
  messages: Schema.Array(Schema.Unknown).pipe(Schema.maxItems(10_000)),
  async: Schema.optional(Schema.Boolean),
  return_memory_ids: Schema.optional(Schema.Boolean),
  max_memory_ids: Schema.optional(boundedInt(1, 1000, "max_memory_ids"))
})
export type UpdateRequest = typeof UpdateRequest.Type

export const UpdateResponse = Schema.Struct({
  status: Schema.Literal("queued", "processed", "skipped"),
  memories_added: Schema.Number,
  memories_filtered: Schema.Number,
  memory_ids: Schema.optional(Schema.Array(Schema.String)),
  memory_ids_truncated: Schema.optional(Schema.Boolean),
  error: Schema.optional(Schema.Literal("namespace_write_disabled", "sampled_out", "throttled")),
  task_id: Schema.optional(Schema.String)
})

// ------------------------------------------------------------------------------------ inspect

export const InspectRequest = Schema.Struct({
  namespace: Schema.optional(Namespace),
  session_id: SessionId,
  limit: Schema.optional(boundedInt(1, 1000, "limit")),
  include_content: Schema.optional(Schema.Boolean)
})

const Frequency = Schema.Struct({ name: Schema.String, frequency: Schema.Number })

export const InspectResponse = Schema.Struct({
  namespace: Schema.String,
  session_id: Schema.String,
  totals: Schema.Struct({ memories: Schema.Number }),
  topics: Schema.Array(Frequency),
  entities: Schema.Array(Frequency),
  memories: Schema.Array(Schema.Struct({
    id: Schema.String,
    importance: Schema.optional(Schema.Number),
    created_at: Schema.optional(Schema.Number),
    content: Schema.optional(Schema.String),
    topics: Schema.optional(Schema.Array(Schema.String)),
    entities: Schema.optional(Schema.Array(Schema.String)),
    kind: Schema.optional(Schema.String),
    locator: Schema.optional(Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })))
  })),
  summary: Schema.optional(Schema.String)
})

// ------------------------------------------------------------------------------------ forget

export const ForgetRequest = Schema.Struct({
  namespace: Schema.optional(Namespace),
  memory_ids: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(128))).pipe(Schema.maxItems(10_000))),
  session_id: Schema.optional(SessionId),
  dry_run: Schema.optional(Schema.Boolean),
  async: Schema.optional(Schema.Boolean)
})
export type ForgetRequest = typeof ForgetRequest.Type

export const ForgetRemoved = Schema.Struct({
  memories: Schema.Number,
  vectors: Schema.Number,
  graph_nodes: Schema.Number,
  graph_edges: Schema.Number,
  lexical_entries: Schema.Number,
  cache_entries: Schema.Number,
  queued_tasks: Schema.Number
})

export const ForgetResponse = Schema.Struct({
  status: Schema.Literal("dry_run", "queued", "processed"),
  namespace: Schema.String,
  request_id: Schema.String,
  key: Schema.optional(Schema.String),
  task_id: Schema.optional(Schema.String),
  deleted: Schema.optional(Schema.Number),
  would_delete: Schema.optional(Schema.Number),
  memory_ids: Schema.optional(Schema.Array(Schema.String)),
  results: Schema.optional(ForgetRemoved)
})

// ------------------------------------------------------------------------------------ queues

export const QueueStats = Schema.Struct({
  pending: Schema.Number,
  delayed: Schema.Number,
  running: Schema.Number,
  failed: Schema.Number,
  done_last_hour: Schema.Number,
  oldest_pending_age_ms: Schema.NullOr(Schema.Number),
  by_namespace: Schema.Record({ key: Schema.String, value: Schema.Struct({ pending: Schema.Number, failed: Schema.Number }) })
})

export const FailedTask = Schema.Struct({
  task_id: Schema.String,
  namespace: Schema.String,
  session_id: Schema.NullOr(Schema.String),
  kind: Schema.String,
  attempts: Schema.Number,
  last_error: Schema.NullOr(Schema.String),
  failed_at_ms: Schema.NullOr(Schema.Number),
  message_count: Schema.optional(Schema.Number)
})

export const QueueQuery = Schema.Struct({
  namespace: Schema.optional(Namespace),
  limit: Schema.optional(Schema.compose(Schema.NumberFromString, boundedInt(1, 1000, "limit")))
})

export const RetryRequest = Schema.Struct({
  namespace: Schema.optional(Namespace),
  task_ids: Schema.optional(Schema.Array(Schema.String).pipe(Schema.maxItems(10_000)))
})

const FailedList = Schema.Struct({ items: Schema.Array(FailedTask) })
const Ndjson = HttpApiSchema.Text({ contentType: "application/x-ndjson" })
const Retried = Schema.Struct({ retried: Schema.Number })

export class MemoryGroup extends HttpApiGroup.make("memory")
  .add(HttpApiEndpoint.post("retrieve", "/retrieve_context").setPayload(RetrieveRequest).addSuccess(RetrieveResponse))
  .add(HttpApiEndpoint.post("update", "/update_memory_index").setPayload(UpdateRequest).addSuccess(UpdateResponse))
  .add(HttpApiEndpoint.post("inspect", "/session/inspect").setPayload(InspectRequest).addSuccess(InspectResponse))
  .add(HttpApiEndpoint.post("forget", "/forget").setPayload(ForgetRequest).addSuccess(ForgetResponse))
  .middleware(MemoryAuthentication)
{}

export class QueueGroup extends HttpApiGroup.make("queue")
  .add(HttpApiEndpoint.get("updateStats", "/queue/stats").setUrlParams(QueueQuery).addSuccess(QueueStats))
  .add(HttpApiEndpoint.get("updateFailed", "/queue/failed").setUrlParams(QueueQuery).addSuccess(FailedList))
  .add(HttpApiEndpoint.get("updateExport", "/queue/failed/export").setUrlParams(QueueQuery).addSuccess(Ndjson))
  .add(HttpApiEndpoint.post("updateRetry", "/queue/failed/retry").setPayload(RetryRequest).addSuccess(Retried))
  .add(HttpApiEndpoint.get("forgetStats", "/queue/forget/stats").setUrlParams(QueueQuery).addSuccess(QueueStats))
  .add(HttpApiEndpoint.get("forgetFailed", "/queue/forget/failed").setUrlParams(QueueQuery).addSuccess(FailedList))
  .add(HttpApiEndpoint.get("forgetExport", "/queue/forget/failed/export").setUrlParams(QueueQuery).addSuccess(Ndjson))
  .add(HttpApiEndpoint.post("forgetRetry", "/queue/forget/failed/retry").setPayload(RetryRequest).addSuccess(Retried))
  .middleware(MemoryAuthentication)
{}

export const MemoryHealth = Schema.Struct({ ok: Schema.Boolean, service: Schema.String })
export const MemoryReady = Schema.Struct({
  ok: Schema.Boolean,
  checks: Schema.Record({ key: Schema.String, value: Schema.String })
})

export class MemorySystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(MemoryHealth))
  .add(
    HttpApiEndpoint.get("ready", "/readyz")
      .addSuccess(MemoryReady)
      .addError(MemoryReady.annotations(HttpApiSchema.annotations({ status: 503 })))
  )
{}

/** `POST /admin/gc-expired`: what the sweep of expired (ephemeral) memories removed, over every namespace. */
export const GcExpiredResponse = Schema.Struct({
  memories: Schema.Number,
  namespaces: Schema.Number,
  graph_nodes: Schema.Number,
  graph_edges: Schema.Number
})

export class MemoryAdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.get("details", "/health/details").addSuccess(
      Schema.Struct({
        ok: Schema.Boolean,
        stores: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
        embedder: Schema.String,
        queue: QueueStats
      })
    )
  )
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(HttpApiSchema.Text()))
  .add(HttpApiEndpoint.post("gcExpired", "/admin/gc-expired").addSuccess(GcExpiredResponse))
  .middleware(MemoryAuthentication)
{}

export class DeepMemoryApi extends HttpApi.make("deep-memory")
  .add(MemorySystemGroup)
  .add(MemoryGroup)
  .add(QueueGroup)
  .add(MemoryAdminGroup)
  .addError(E.InvalidJsonWire)
  .addError(E.InvalidRequestWire)
  .addError(E.UnauthorizedWire)
  .addError(E.ForbiddenWire)
  .addError(E.ForbiddenNamespaceWire)
  .addError(E.NotFoundWire)
  .addError(E.PayloadTooLargeWire)
  .addError(E.RateLimitedWire)
  .addError(E.NamespaceOverloadedWire)
  .addError(E.QueueOverloadedWire)
  .addError(E.DegradedReadOnlyWire)
  .addError(E.StoreUnavailableWire)
  .addError(E.InternalErrorWire)
{}
