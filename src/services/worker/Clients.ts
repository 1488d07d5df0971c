import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Data, Effect, Option, Redacted } from "effect"
import { DeepMemoryApi } from "../../domain/DeepMemoryApi.js"
import { RustfsApi } from "../../domain/RustfsApi.js"
import { WorkerConfig } from "./WorkerConfig.js"

const withKey = (key: Option.Option<Redacted.Redacted<string>>) => (client: HttpClient.HttpClient) =>
  Option.match(key, {
    onNone: () => client,
    onSome: (k) => HttpClient.mapRequest(client, HttpClientRequest.setHeader("x-api-key", Redacted.value(k)))
  })

/** The RustFS client derived from its `HttpApi`, with the worker's key. */
export class RustfsClient extends Effect.Service<RustfsClient>()("rustfs-worker/RustfsClient", {
  effect: Effect.gen(function*() {
    const config = yield* WorkerConfig
    return yield* HttpApiClient.make(RustfsApi, { baseUrl: config.rustfsBaseUrl, transformClient: withKey(config.rustfsApiKey) })
  })
}) {}

/** The deep-memory client derived from its `HttpApi`, with the worker's key (time limits: `callPeer`). */
export class MemoryClient extends Effect.Service<MemoryClient>()("rustfs-worker/MemoryClient", {
  effect: Effect.gen(function*() {
    const config = yield* WorkerConfig
    return yield* HttpApiClient.make(DeepMemoryApi, {
      baseUrl: config.memoryBaseUrl,
      transformClient: withKey(config.memoryApiKey)
    })
  })
}) {}

/**
 * How a call to a peer service failed, as the worker acts on it: back off and retry (`Busy`: 503/429,
 * with the server's `retry-after`; `Unreachable`: transport errors and time-outs), stop claiming
 * (`AuthFailed`: 401/403), give the file up (`Rejected`: the peer refused this input), or abandon the
 * file without writing anything more (`LeaseLost`).
 */
export class Busy extends Data.TaggedError("Busy")<{ readonly service: string; readonly retryAfterMs: number; readonly message: string }> {}
export class Unreachable extends Data.TaggedError("Unreachable")<{ readonly service: string; readonly message: string }> {}
export class AuthFailed extends Data.TaggedError("AuthFailed")<{ readonly service: string; readonly message: string }> {}
export class Rejected extends Data.TaggedError("Rejected")<{ readonly service: string; readonly message: string }> {}
export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly fileId: string }> {}
export type PeerError = Busy | Unreachable | AuthFailed | Rejected

const messageOf = (e: unknown) =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" ? e.message : String(e)

/** Maps a failed call (decoded wire error, transport error or time-out) onto what the worker does about it. */
export const classify = (service: string) => (error: unknown): PeerError => {
  const tag = typeof error === "object" && error !== null && "_tag" in error ? String(error._tag) : ""
  const message = messageOf(error).slice(0, 500)
  switch (tag) {
    case "QueueOverloaded":
    case "NamespaceOverloaded":
    case "DegradedReadOnly":
    case "RateLimited": {
      const seconds = (error as { retryAfterSeconds?: unknown }).retryAfterSeconds
      return new Busy({ service, message, retryAfterMs: typeof seconds === "number" && seconds > 0 ? seconds * 1000 : 0 })
    }
    case "StoreUnavailable":
    case "InternalError":
    case "ServiceUnavailable":
      return new Busy({ service, message, retryAfterMs: 0 })
    case "Unauthorized":
    case "Forbidden":
    case "ForbiddenNamespace":
      return new AuthFailed({ service, message })
    case "RequestError":
    case "ResponseError":
    case "TimeoutException":
      return new Unreachable({ service, message })
    default:
      return new Rejected({ service, message: tag === "" ? message : `${tag}: ${message}` })
  }
}

/**
 * One call to a peer, bounded by `timeoutMs`, its failure classified. A RustFS `lease_lost` answer
 * about `fileId` becomes `LeaseLost`: the caller stops working on that file.
 */
export const callPeer = <A, E, R>(
  service: "rustfs" | "deep-memory",
  timeoutMs: number,
  effect: Effect.Effect<A, E, R>,
  fileId?: string
): Effect.Effect<A, PeerError | LeaseLost, R> =>
  effect.pipe(
    Effect.timeout(timeoutMs),
    Effect.mapError((e: unknown): PeerError | LeaseLost =>
      fileId !== undefined && typeof e === "object" && e !== null && "_tag" in e && e._tag === "LeaseLost"
        ? new LeaseLost({ fileId })
        : classify(service)(e)
    )
  )
