import { HttpClient, HttpClientRequest } from "@effect/platform"
import { Data, Duration, Effect, Option, Redacted, Schedule, Schema } from "effect"
import { EmbedderError, type EmbedderShape, l2Normalize, safeEndpoint } from "./core.js"

export interface OpenAiCompatibleOptions {
  /** Origin (and optional path prefix) of the server; `/v1/embeddings` is appended unless it ends in `/v1`. */
  readonly baseUrl: string
  readonly model: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** Known dimensions; when absent, one probe request at start-up learns them. */
  readonly dimensions: Option.Option<number>
  readonly timeout: Duration.DurationInput
  readonly batchSize: number
  readonly retry?: {
    readonly baseDelay: Duration.DurationInput
    readonly maxDelay: Duration.DurationInput
    readonly maxRetries: number
  }
}

export const DEFAULT_OPENAI_BASE_URL = "https://api.openai.com"

const DEFAULT_RETRY = { baseDelay: "250 millis", maxDelay: "10 seconds", maxRetries: 5 } as const
const MAX_RETRY_AFTER = Duration.seconds(30)

export const embeddingsUrl = (baseUrl: string): string => {
  const trimmed = baseUrl.replace(/\/+$/, "")
  return /\/v1$/.test(trimmed) ? `${trimmed}/embeddings` : `${trimmed}/v1/embeddings`
}

/** 429, 5xx and connection failures: worth another try after a pause. */
class Transient extends Data.TaggedError("Transient")<{
  readonly message: string
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

const EmbeddingsResponse = Schema.Struct({
  data: Schema.Array(
    Schema.Struct({
      index: Schema.Int.pipe(Schema.nonNegative()),
      embedding: Schema.Array(Schema.Number)
    })
  )
})
const decodeResponse = Schema.decodeUnknownEither(EmbeddingsResponse)

const ErrorBody = Schema.Struct({
  error: Schema.Union(Schema.String, Schema.Struct({ message: Schema.String }))
})
const decodeErrorBody = Schema.decodeUnknownOption(Schema.parseJson(ErrorBody))

const parseRetryAfter = (value: string | undefined): Option.Option<Duration.Duration> => {
  if (value === undefined) return Option.none()
  const seconds = Number(value)
  if (Number.isFinite(seconds) && seconds >= 0) return Option.some(Duration.min(Duration.seconds(seconds), MAX_RETRY_AFTER))
  const date = Date.parse(value)
  if (Number.isNaN(date)) return Option.none()
  return Option.some(Duration.min(Duration.millis(Math.max(0, date - Date.now())), MAX_RETRY_AFTER))
}

export const makeOpenAiCompatible = (options: OpenAiCompatibleOptions) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const url = embeddingsUrl(options.baseUrl)
    const where = safeEndpoint(url)
    const retry = options.retry ?? DEFAULT_RETRY
    const secret = Option.map(options.apiKey, Redacted.value)

    // Servers sometimes echo the key (or part of it) in their error text.
    const scrub = (text: string): string => {
      let out = text.slice(0, 300)
      if (Option.isSome(secret) && secret.value.length > 0) out = out.split(secret.value).join("[redacted]")
      return out.replace(/\b(sk-|Bearer\s+)[A-Za-z0-9_\-*.]{4,}/g, "$1[redacted]")
    }

    const fail = (reason: EmbedderError["reason"], message: string) =>
      new EmbedderError({ reason, message: `embedding endpoint ${where} (model ${options.model}): ${message}` })

    const schedule = Schedule.exponential(retry.baseDelay, 2).pipe(
      Schedule.jittered,
      Schedule.union(Schedule.spaced(retry.maxDelay)),
      Schedule.intersect(Schedule.recurs(retry.maxRetries)),
      Schedule.intersect(Schedule.identity<Transient | EmbedderError>()),
      Schedule.modifyDelay(([, error], delay) =>
        error._tag === "Transient" && Option.isSome(error.retryAfter) ? Duration.max(delay, error.retryAfter.value) : delay
      )
    )

    const request = (texts: ReadonlyArray<string>) => {
      const base = HttpClientRequest.post(url).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyUnsafeJson({ model: options.model, input: texts })
      )
      return Option.match(options.apiKey, {
        onNone: () => base,
        onSome: (key) => HttpClientRequest.bearerToken(base, key)
      })
    }

    const attempt = (texts: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const response = yield* client.execute(request(texts)).pipe(
          Effect.mapError((error) =>
            new Transient({ message: `request failed (${error.reason})`, retryAfter: Option.none() })
          )
        )
        const status = response.status
        if (status === 429 || status >= 500) {
          yield* response.text.pipe(Effect.ignore)
          return yield* new Transient({
            message: `HTTP ${status}`,
            retryAfter: parseRetryAfter(response.headers["retry-after"])
          })
        }
        if (status < 200 || status >= 300) {
          const text = yield* response.text.pipe(Effect.orElseSucceed(() => ""))
          const detail = Option.match(decodeErrorBody(text), {
            onNone: () => "",
            onSome: (body) => `: ${scrub(typeof body.error === "string" ? body.error : body.error.message)}`
          })
          const reason = status === 401 || status === 403 || status === 404 ? "config" : "bad_response"
          return yield* fail(reason, `HTTP ${status}${detail}`)
        }
        const json = yield* response.json.pipe(Effect.mapError(() => fail("bad_response", "body is not JSON")))
        return yield* decodeResponse(json).pipe(
          Effect.mapError(() => fail("bad_response", "body is not {data: [{index, embedding}]}"))
        )
      }).pipe(
        Effect.timeoutFail({
          duration: options.timeout,
          onTimeout: () => fail("timeout", `no answer within ${Duration.format(options.timeout)}`)
        })
      )

    const callBatch = (texts: ReadonlyArray<string>, expectedDims: Option.Option<number>) =>
      attempt(texts).pipe(
        Effect.retry({ schedule, while: (error) => error._tag === "Transient" }),
        Effect.catchTag("Transient", (error) => Effect.fail(fail("unavailable", `${error.message}, retries exhausted`))),
        Effect.flatMap((body) => {
          if (body.data.length !== texts.length) {
            return Effect.fail(fail("bad_response", `expected ${texts.length} embeddings, got ${body.data.length}`))
          }
          const vectors = new Array<Float32Array | undefined>(texts.length)
          const dims = Option.getOrElse(expectedDims, () => body.data[0]?.embedding.length ?? 0)
          for (const item of body.data) {
            if (item.index >= texts.length || vectors[item.index] !== undefined) {
              return Effect.fail(fail("bad_response", `unexpected or repeated index ${item.index}`))
            }
            if (item.embedding.length !== dims || dims === 0) {
              return Effect.fail(fail("bad_response", `embedding of ${item.embedding.length} dimensions, expected ${dims}`))
            }
            const vector = Float32Array.from(item.embedding)
            if (!vector.every(Number.isFinite)) return Effect.fail(fail("bad_response", "embedding is not finite"))
            vectors[item.index] = l2Normalize(vector)
          }
          return Effect.succeed(vectors as Array<Float32Array>)
        })
      )

    const dimensions = yield* Option.match(options.dimensions, {
      onSome: Effect.succeed,
      onNone: () => callBatch(["dimension probe"], Option.none()).pipe(Effect.map((vectors) => vectors[0]!.length))
    })

    const batches = (texts: ReadonlyArray<string>): Array<ReadonlyArray<string>> => {
      const out: Array<ReadonlyArray<string>> = []
      for (let i = 0; i < texts.length; i += options.batchSize) out.push(texts.slice(i, i + options.batchSize))
      return out
    }

    const embed: EmbedderShape["embed"] = Effect.fn("Embedder.embed")(function*(texts, _purpose) {
      yield* Effect.annotateCurrentSpan({ "embedder.texts": texts.length, "embedder.model": options.model })
      if (texts.length === 0) return []
      const results = yield* Effect.forEach(batches(texts), (batch) => callBatch(batch, Option.some(dimensions)))
      return results.flat()
    })

    return { id: `openai:${options.model}:${dimensions}`, dimensions, embed } satisfies EmbedderShape
  })
