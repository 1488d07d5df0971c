import { HttpApiError, HttpServerError, HttpServerRequest, Multipart } from "@effect/platform"
import { Cause, Effect } from "effect"
import * as E from "../domain/Errors.js"

const formatIssues = (e: HttpApiError.HttpApiDecodeError) => {
  const parts = e.issues.filter((i) => !i.message.startsWith("Expected undefined")).map((i) => {
    const where = i.path.length === 0 ? "request" : i.path.map(String).join(".")
    return `${where}: ${i.message}`
  })
  return parts.length === 0 ? "the request did not match the expected schema" : parts.slice(0, 5).join("; ")
}

const isTooLarge = (cause: unknown) =>
  cause instanceof Error && cause.message === "maxBytes exceeded"

/**
 * Turns every failure into one of the contract's JSON errors: schema failures and unparsable
 * bodies into `invalid_request`, unknown routes into `not_found`, size limits into
 * `payload_too_large`, and anything unexpected into a bare `internal_error` (logged with its cause,
 * never sent to the client).
 */
export const toApiError = (cause: Cause.Cause<unknown>): Effect.Effect<never, E.ApiError, HttpServerRequest.HttpServerRequest> =>
  Effect.gen(function*() {
    if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause as Cause.Cause<never>)
    const error = Cause.squash(cause)
    if (E.isApiError(error)) return yield* Effect.fail(error)
    if (error instanceof HttpApiError.HttpApiDecodeError) {
      return yield* new E.InvalidRequest({ message: formatIssues(error) })
    }
    if (HttpServerError.isServerError(error)) {
      if (error._tag === "RouteNotFound") {
        const request = yield* HttpServerRequest.HttpServerRequest
        const path = request.url.split("?")[0] ?? "/"
        return yield* new E.NotFound({ message: `no route for ${request.method} ${path.slice(0, 200)}` })
      }
      if (error._tag === "RequestError" && error.reason === "Decode") {
        if (isTooLarge(error.cause)) return yield* new E.PayloadTooLarge({ message: "request body is too large" })
        return yield* new E.InvalidRequest({ message: "request body could not be parsed (expected JSON)" })
      }
    }
    if (error instanceof SyntaxError) {
      return yield* new E.InvalidRequest({ message: "request body is not valid JSON" })
    }
    if (error instanceof Multipart.MultipartError) {
      switch (error.reason) {
        case "BodyTooLarge":
        case "FileTooLarge":
        case "FieldTooLarge":
          return yield* new E.PayloadTooLarge({ message: `multipart ${error.reason}` })
        case "TooManyParts":
        case "Parse":
          return yield* new E.InvalidRequest({ message: `malformed multipart body (${error.reason})` })
      }
    }
    yield* Effect.logError("unhandled failure", cause)
    return yield* new E.InternalError({ message: "internal error" })
  })
