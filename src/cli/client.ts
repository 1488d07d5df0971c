import { HttpApiClient, HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Data, Effect, FiberRef, Option, Redacted, Stream } from "effect"
import type { FileId, TenantId } from "../domain/Ids.js"
import { RustfsApi } from "../domain/RustfsApi.js"
import { describeError, usage } from "./errors.js"
import { root } from "./root.js"

export interface Connection {
  readonly url: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly tenant: Option.Option<TenantId>
  readonly json: boolean
}

/** The global options of the parent command, validated. */
export const connection = Effect.gen(function*() {
  const { apiKey, json, tenant, url } = yield* root
  const trimmed = url.trim().replace(/\/+$/, "")
  let parsed: URL
  try {
    parsed = new URL(trimmed)
  } catch {
    return yield* usage(`--url must be an absolute http(s) URL, got ${JSON.stringify(url)}`)
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return yield* usage(`--url must be an http(s) URL, got ${JSON.stringify(url)}`)
  }
  return { url: trimmed, apiKey, tenant, json } satisfies Connection
})

/**
 * Called with the number of multipart body bytes the socket has taken, for uploads made in the
 * current fiber. A FiberRef rather than a client per file: one derived client serves every upload.
 */
export const uploadBytesSink = FiberRef.unsafeMake<((bytes: number) => void) | undefined>(undefined)

/**
 * The derived client accepts a `FormData` payload for the multipart upload endpoint and sets it as
 * the request body. It is serialised here instead (`new Response(formData)`, which streams
 * file-backed blobs from disk), as a byte stream that counts what the socket pulls: the progress
 * bar. Run with the undici client, which pulls a stream body as the socket drains; the node:http
 * client of this @effect/platform-node does not wait for `drain` between single-chunk writes and
 * would buffer a large file in memory.
 */
const streamFormData = HttpClient.mapRequestEffect((request) => {
  const form = request.body
  if (form._tag !== "FormData") return Effect.succeed(request)
  return Effect.map(FiberRef.get(uploadBytesSink), (report) => {
    const encoded = new Response(form.formData)
    const bytes = Stream.fromReadableStream<Uint8Array, unknown>({
      evaluate: () => encoded.body!,
      onError: (cause) => cause
    })
    const body = report === undefined ? bytes : Stream.map(bytes, (chunk) => {
      report(chunk.byteLength)
      return chunk
    })
    return HttpClientRequest.bodyStream(request, body, {
      contentType: encoded.headers.get("content-type") ?? undefined
    })
  })
})

const authenticate = (apiKey: Option.Option<Redacted.Redacted<string>>) => (client: HttpClient.HttpClient) =>
  Option.match(apiKey, {
    onNone: () => client,
    onSome: (key) => HttpClient.mapRequest(client, HttpClientRequest.setHeader("x-api-key", Redacted.value(key)))
  })

/** A 2xx download, handed over before the derived client would buffer it (see `downloadResponse`). */
class StreamingBody extends Data.TaggedError("StreamingBody")<{ readonly response: HttpClientResponse.HttpClientResponse }> {}

export const makeRustfs = (conn: Connection) =>
  Effect.gen(function*() {
    const api = yield* HttpApiClient.make(RustfsApi, {
      baseUrl: conn.url,
      transformClient: (client) => streamFormData(authenticate(conn.apiKey)(client))
    })
    const base = authenticate(conn.apiKey)(yield* HttpClient.HttpClient)
    /**
     * The download endpoints' success schema is `Uint8Array`, so the derived client reads the
     * whole body into memory before returning (this @effect/platform has no streaming success
     * or URL builder). Here the same derived endpoint builds and sends the request, and decodes
     * error responses into the contract's errors, but a successful response leaves the client as
     * a failure carrying the unread response, so callers can stream its body to disk.
     */
    const download = yield* HttpApiClient.endpoint(RustfsApi, {
      group: "files",
      endpoint: "download",
      baseUrl: conn.url,
      httpClient: HttpClient.transformResponse(base, (effect) =>
        Effect.flatMap(effect, (response) =>
          response.status >= 200 && response.status < 300
            ? Effect.fail(new StreamingBody({ response }))
            : Effect.succeed(response)))
    })
    const downloadResponse = (id: FileId) =>
      download({ path: { id }, urlParams: tenantParam(conn) }).pipe(
        Effect.flatMap(() => Effect.dieMessage("download: the response body was buffered")),
        Effect.catchTag("StreamingBody", ({ response }) => Effect.succeed(response))
      )
    return { api, downloadResponse, conn } as const
  })

export type Rustfs = Effect.Effect.Success<ReturnType<typeof makeRustfs>>

/** `{ tenant_id }` when `--tenant` was given (the server ignores it when auth is on). */
export const tenantParam = (conn: Connection): { readonly tenant_id?: TenantId } =>
  Option.match(conn.tenant, { onNone: () => ({}), onSome: (tenant_id) => ({ tenant_id }) })

/**
 * Runs `f` with a client for the global connection; any failure of the call becomes a one-line
 * `CliError` (contract error code and message, or a connection hint naming the URL).
 */
export const withRustfs = <A, E, R>(f: (rustfs: Rustfs) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const conn = yield* connection
    const rustfs = yield* makeRustfs(conn)
    return yield* f(rustfs).pipe(Effect.mapError((e) => describeError(e, conn.url)))
  })
