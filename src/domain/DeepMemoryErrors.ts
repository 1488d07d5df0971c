import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * deep-memory's wire errors. Clients match overload by the `error` code strings, so each code is
 * its own class; extra fields (`details`, `limitBytes`, `retryAfterSeconds`) ride along where the
 * contract has them.
 */
const wire = <Self extends { readonly message: string }, C extends string, F extends Schema.Struct.Fields>(
  cls: Schema.Schema<Self, any, never> & (new(props: any) => Self),
  code: C,
  status: number,
  extra: F
) =>
  Schema.transform(
    Schema.Struct({
      error: Schema.Literal(code),
      message: Schema.optionalWith(Schema.String, { default: () => code }),
      ...extra
    }),
    Schema.typeSchema(cls),
    {
      strict: false,
      decode: (w) => {
        const { error: _, ...rest } = w as unknown as { readonly error: string }
        return new cls(rest)
      },
      // Error fields such as `message` are not own enumerable properties: copy the declared ones.
      encode: (e) => {
        const source = e as unknown as Record<string, unknown>
        const out: Record<string, unknown> = { error: code, message: source.message }
        for (const key of Object.keys(extra)) if (source[key] !== undefined) out[key] = source[key]
        return out as any
      }
    }
  ).annotations(HttpApiSchema.annotations({ status }))

export class InvalidJson extends Schema.TaggedError<InvalidJson>()("InvalidJson", { message: Schema.String }) {}
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  message: Schema.String,
  details: Schema.optional(Schema.Array(Schema.String))
}) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }) {}
export class ForbiddenNamespace extends Schema.TaggedError<ForbiddenNamespace>()("ForbiddenNamespace", {
  message: Schema.String,
  namespace: Schema.String
}) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  message: Schema.String,
  limitBytes: Schema.Number
}) {}
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}
export class NamespaceOverloaded extends Schema.TaggedError<NamespaceOverloaded>()("NamespaceOverloaded", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}
export class QueueOverloaded extends Schema.TaggedError<QueueOverloaded>()("QueueOverloaded", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}
export class DegradedReadOnly extends Schema.TaggedError<DegradedReadOnly>()("DegradedReadOnly", {
  message: Schema.String,
  retryAfterSeconds: Schema.Number
}) {}
export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()("StoreUnavailable", {
  message: Schema.String,
  store: Schema.String
}) {}
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", { message: Schema.String }) {}

const RetryAfter = { retryAfterSeconds: Schema.Number }

export const InvalidJsonWire = wire(InvalidJson, "invalid_json", 400, {})
export const InvalidRequestWire = wire(InvalidRequest, "invalid_request", 400, {
  details: Schema.optional(Schema.Array(Schema.String))
})
export const UnauthorizedWire = wire(Unauthorized, "unauthorized", 401, {})
export const ForbiddenWire = wire(Forbidden, "forbidden", 403, {})
export const ForbiddenNamespaceWire = wire(ForbiddenNamespace, "forbidden_namespace", 403, { namespace: Schema.String })
export const NotFoundWire = wire(NotFound, "not_found", 404, {})
export const PayloadTooLargeWire = wire(PayloadTooLarge, "payload_too_large", 413, { limitBytes: Schema.Number })
export const RateLimitedWire = wire(RateLimited, "rate_limited", 429, RetryAfter)
export const NamespaceOverloadedWire = wire(NamespaceOverloaded, "namespace_overloaded", 503, RetryAfter)
export const QueueOverloadedWire = wire(QueueOverloaded, "queue_overloaded", 503, RetryAfter)
export const DegradedReadOnlyWire = wire(DegradedReadOnly, "degraded_read_only", 503, RetryAfter)
export const StoreUnavailableWire = wire(StoreUnavailable, "store_unavailable", 503, { store: Schema.String })
export const InternalErrorWire = wire(InternalError, "internal_error", 500, {})

export type DeepMemoryError =
  | InvalidJson
  | InvalidRequest
  | Unauthorized
  | Forbidden
  | ForbiddenNamespace
  | NotFound
  | PayloadTooLarge
  | RateLimited
  | NamespaceOverloaded
  | QueueOverloaded
  | DegradedReadOnly
  | StoreUnavailable
  | InternalError

/** Errors that tell a client to come back later; they carry `retry-after`. */
export const retryAfterOf = (e: unknown): number | undefined =>
  e instanceof RateLimited || e instanceof NamespaceOverloaded || e instanceof QueueOverloaded ||
    e instanceof DegradedReadOnly
    ? e.retryAfterSeconds
    : undefined
