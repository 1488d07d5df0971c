import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * Errors that cross HTTP. On the wire every error is `{"error":"<code>","message":…}` (the contract
 * existing clients read); inside the program each is a yieldable tagged error. `wire` ties the two
 * together so the server encodes and the derived client decodes the same shape.
 */
const wire = <Self extends { readonly message: string }, C extends string>(
  cls: Schema.Schema<Self, any, never> & (new(props: { readonly message: string }) => Self),
  code: C,
  status: number
) =>
  Schema.transform(
    Schema.Struct({
      error: Schema.Literal(code),
      message: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
    }),
    Schema.typeSchema(cls),
    {
      strict: false,
      decode: (w) => new cls({ message: w.message ?? code }),
      encode: (e) => ({ error: code, message: e.message })
    }
  ).annotations(HttpApiSchema.annotations({ status }))

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", { message: Schema.String }) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", { message: Schema.String }) {}
export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", { message: Schema.String }) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", { message: Schema.String }) {}
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", { message: Schema.String }) {}
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", { message: Schema.String }) {}
export class LeaseLost extends Schema.TaggedError<LeaseLost>()("LeaseLost", { message: Schema.String }) {}
export class RangeNotSatisfiable extends Schema.TaggedError<RangeNotSatisfiable>()("RangeNotSatisfiable", {
  message: Schema.String
}) {}
export class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()("ServiceUnavailable", {
  message: Schema.String
}) {}
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", { message: Schema.String }) {}

export const UnauthorizedWire = wire(Unauthorized, "unauthorized", 401)
export const ForbiddenWire = wire(Forbidden, "forbidden", 403)
export const InvalidRequestWire = wire(InvalidRequest, "invalid_request", 400)
export const NotFoundWire = wire(NotFound, "not_found", 404)
export const PayloadTooLargeWire = wire(PayloadTooLarge, "payload_too_large", 413)
export const ConflictWire = wire(Conflict, "conflict", 409)
export const LeaseLostWire = wire(LeaseLost, "lease_lost", 409)
export const RangeNotSatisfiableWire = wire(RangeNotSatisfiable, "range_not_satisfiable", 416)
export const ServiceUnavailableWire = wire(ServiceUnavailable, "service_unavailable", 503)
export const InternalErrorWire = wire(InternalError, "internal_error", 500)

export type ApiError =
  | Unauthorized
  | Forbidden
  | InvalidRequest
  | NotFound
  | PayloadTooLarge
  | Conflict
  | LeaseLost
  | RangeNotSatisfiable
  | ServiceUnavailable
  | InternalError

export const isApiError = (u: unknown): u is ApiError =>
  u instanceof Unauthorized || u instanceof Forbidden || u instanceof InvalidRequest || u instanceof NotFound ||
  u instanceof PayloadTooLarge || u instanceof Conflict || u instanceof LeaseLost ||
  u instanceof RangeNotSatisfiable || u instanceof ServiceUnavailable || u instanceof InternalError
