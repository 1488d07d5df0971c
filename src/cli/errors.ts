import { HttpClientError } from "@effect/platform"
import { Data, Option, ParseResult, Schema } from "effect"
import * as E from "../domain/Errors.js"

/** What the CLI prints as `error: <message>` before exiting with `exitCode`. */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string; readonly exitCode: number }> {}

export const failure = (message: string) => new CliError({ message, exitCode: 1 })
export const usage = (message: string) => new CliError({ message, exitCode: 2 })

/** The contract's own error encoding, used to print the wire code of a decoded error. */
const ApiErrorWire = Schema.Union(
  E.UnauthorizedWire,
  E.ForbiddenWire,
  E.InvalidRequestWire,
  E.NotFoundWire,
  E.PayloadTooLargeWire,
  E.ConflictWire,
  E.LeaseLostWire,
  E.RangeNotSatisfiableWire,
  E.ServiceUnavailableWire,
  E.InternalErrorWire
)
const encodeApiError = Schema.encodeOption(ApiErrorWire)
export const decodeApiError = Schema.decodeUnknownOption(ApiErrorWire)

export const wireCode = (error: E.ApiError): string =>
  Option.match(encodeApiError(error), { onNone: () => error._tag, onSome: (w) => w.error })

const causeCode = (cause: unknown): string | undefined => {
  for (let c: any = cause, depth = 0; c !== undefined && c !== null && depth < 5; depth++) {
    if (typeof c.code === "string") return c.code
    if (Array.isArray(c.errors) && typeof c.errors[0]?.code === "string") return c.errors[0].code
    c = c.cause
  }
  return undefined
}

const transportHints: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host name lookup failed",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  EPIPE: "connection closed while sending"
}

/** True when nothing answers at the URL: retrying other files is pointless. */
export const isUnreachable = (error: unknown): boolean =>
  HttpClientError.isHttpClientError(error) && error._tag === "RequestError" && error.reason === "Transport" &&
  ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH"].includes(causeCode(error.cause) ?? "")

/** The server a command talks to, as named in connection hints. */
export interface ServerTarget {
  readonly service: string
  readonly baseUrl: string
  readonly urlOption: string
  readonly urlEnv: string
}

/**
 * One line for a transport, status or schema failure of a call to any of our servers; `undefined`
 * for anything else (contract errors are described by their caller).
 */
export const describeCallFailure = (error: unknown, target: ServerTarget): CliError | undefined => {
  if (HttpClientError.isHttpClientError(error)) {
    if (error._tag === "RequestError") {
      if (error.reason === "InvalidUrl") return usage(`invalid ${target.urlOption} ${JSON.stringify(target.baseUrl)}`)
      if (error.reason === "Encode") return failure(`could not send the request: ${describeCause(error.cause)}`)
      const code = causeCode(error.cause)
      const what = (code !== undefined ? transportHints[code] : undefined) ?? describeCause(error.cause)
      return isUnreachable(error)
        ? failure(
          `cannot reach ${target.service} at ${target.baseUrl}: ${what} ` +
            `(is ${target.service} running? set ${target.urlOption} or ${target.urlEnv})`
        )
        : failure(`request to ${target.service} at ${target.baseUrl} failed: ${what}`)
    }
    const status = error.response.status
    return status >= 200 && status < 300
      ? failure(`reading the response of ${error.methodAndUrl}: ${describeCause(error.cause)}`)
      : failure(`unexpected_response: HTTP ${status} from ${error.methodAndUrl}`)
  }
  if (ParseResult.isParseError(error)) {
    // Either a request the contract rejects before sending, or an answer that does not match it.
    const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
    const where = issue === undefined || issue.path.length === 0 ? "" : `${issue.path.join(".")}: `
    return failure(`invalid: ${where}${issue === undefined ? firstLine(error.message) : firstLine(issue.message)}`)
  }
  return undefined
}

/** One line for any failure of a call to RustFS; `baseUrl` names the server in connection hints. */
export const describeError = (error: unknown, baseUrl: string): CliError => {
  if (error instanceof CliError) return error
  if (E.isApiError(error)) return failure(`${wireCode(error)}: ${error.message}`)
  return describeCallFailure(error, { service: "RustFS", baseUrl, urlOption: "--url", urlEnv: "RUSTFS_BASE_URL" }) ??
    failure(describeCause(error))
}

export const describeCause = (cause: unknown): string => {
  if (cause instanceof Error) return firstLine(cause.message) || cause.name
  if (typeof cause === "object" && cause !== null && "message" in cause) return firstLine(String(cause.message))
  return firstLine(String(cause))
}

const firstLine = (s: string) => {
  const line = s.split("\n", 1)[0]!.trim()
  return line.length > 300 ? line.slice(0, 300) + "…" : line
}
