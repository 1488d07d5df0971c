import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Options } from "@effect/cli"
import { Config, Effect, Option, Redacted, Schema } from "effect"
import { DeepMemoryApi, Namespace } from "../domain/DeepMemoryApi.js"
import * as E from "../domain/DeepMemoryErrors.js"
import { CliError, describeCallFailure, describeCause, failure, usage } from "./errors.js"
import { root, secretFromEnv } from "./root.js"

export const DEFAULT_DEEP_MEMORY_URL = "http://127.0.0.1:8088"
export const DEFAULT_NAMESPACE = "default"

const nonEmpty = <A>(config: Config.Config<A>, text: (a: A) => string) =>
  config.pipe(Config.option, Config.map(Option.filter((v) => text(v).trim() !== "")))

/**
 * Connection options of every `memory …` and `queue …` command. They sit on the leaf commands
 * (not the root), so they may be given anywhere after the subcommand name.
 */
export const memoryOptions = {
  memoryUrl: Options.text("memory-url").pipe(
    Options.withFallbackConfig(Config.string("DEEP_MEMORY_BASE_URL").pipe(Config.withDefault(DEFAULT_DEEP_MEMORY_URL))),
    Options.withDescription(`deep-memory base URL (env DEEP_MEMORY_BASE_URL, default ${DEFAULT_DEEP_MEMORY_URL})`)
  ),
  memoryApiKey: Options.redacted("memory-api-key").pipe(
    Options.map(Option.some),
    Options.withFallbackConfig(secretFromEnv(["DEEP_MEMORY_API_KEY"], (keys) => keys.memory.admin)),
    Options.withDescription(
      "deep-memory API key sent as x-api-key (env DEEP_MEMORY_API_KEY; when unset, the admin key in " +
        "$OPENCLAW_DATA_DIR/stack-keys.json, default ./data, written by `npm start`)"
    )
  ),
  namespace: Options.text("namespace").pipe(
    Options.map(Option.some),
    Options.withFallbackConfig(nonEmpty(Config.string("DEEP_MEMORY_NAMESPACE"), (s) => s)),
    Options.withDescription(`memory namespace (env DEEP_MEMORY_NAMESPACE, default ${DEFAULT_NAMESPACE})`)
  )
}

export interface MemoryOptionValues {
  readonly memoryUrl: string
  readonly memoryApiKey: Option.Option<Redacted.Redacted<string>>
  readonly namespace: Option.Option<string>
}

export interface MemoryConnection {
  readonly url: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  /** `None` when neither `--namespace` nor `DEEP_MEMORY_NAMESPACE` was given. */
  readonly namespaceGiven: Option.Option<string>
  readonly namespace: string
  readonly json: boolean
}

const isNamespace = Schema.is(Namespace)

/** The connection options validated, plus the root's `--json`. */
export const memoryConnection = (options: MemoryOptionValues) =>
  Effect.gen(function*() {
    const { json } = yield* root
    const trimmed = options.memoryUrl.trim().replace(/\/+$/, "")
    let parsed: URL
    try {
      parsed = new URL(trimmed)
    } catch {
      return yield* usage(`--memory-url must be an absolute http(s) URL, got ${JSON.stringify(options.memoryUrl)}`)
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      return yield* usage(`--memory-url must be an http(s) URL, got ${JSON.stringify(options.memoryUrl)}`)
    }
    const namespaceGiven = Option.map(options.namespace, (n) => n.trim())
    if (Option.isSome(namespaceGiven) && !isNamespace(namespaceGiven.value)) {
      return yield* usage(`--namespace must be 1-128 characters of A-Z a-z 0-9 . _ : -, got ${JSON.stringify(namespaceGiven.value)}`)
    }
    return {
      url: trimmed,
      apiKey: options.memoryApiKey,
      namespaceGiven,
      namespace: Option.getOrElse(namespaceGiven, () => DEFAULT_NAMESPACE),
      json
    } satisfies MemoryConnection
  })

export const makeDeepMemory = (conn: MemoryConnection) =>
  Effect.gen(function*() {
    const api = yield* HttpApiClient.make(DeepMemoryApi, {
      baseUrl: conn.url,
      transformClient: (client) =>
        Option.match(conn.apiKey, {
          onNone: () => client,
          onSome: (key) => HttpClient.mapRequest(client, HttpClientRequest.setHeader("x-api-key", Redacted.value(key)))
        })
    })
    return { api, conn } as const
  })

export type DeepMemory = Effect.Effect.Success<ReturnType<typeof makeDeepMemory>>

// ---------------------------------------------------------------------------------------------
// errors

const MemoryErrorWire = Schema.Union(
  E.InvalidJsonWire,
  E.InvalidRequestWire,
  E.UnauthorizedWire,
  E.ForbiddenWire,
  E.ForbiddenNamespaceWire,
  E.NotFoundWire,
  E.PayloadTooLargeWire,
  E.RateLimitedWire,
  E.NamespaceOverloadedWire,
  E.QueueOverloadedWire,
  E.DegradedReadOnlyWire,
  E.StoreUnavailableWire,
  E.InternalErrorWire
)
const encodeMemoryError = Schema.encodeOption(MemoryErrorWire)

const memoryErrorClasses = [
  E.InvalidJson,
  E.InvalidRequest,
  E.Unauthorized,
  E.Forbidden,
  E.ForbiddenNamespace,
  E.NotFound,
  E.PayloadTooLarge,
  E.RateLimited,
  E.NamespaceOverloaded,
  E.QueueOverloaded,
  E.DegradedReadOnly,
  E.StoreUnavailable,
  E.InternalError
] as const

export const isDeepMemoryError = (error: unknown): error is E.DeepMemoryError =>
  memoryErrorClasses.some((cls) => error instanceof cls)

/** The wire code (`unauthorized`, `queue_overloaded`, …) of a decoded contract error. */
export const memoryWireCode = (error: E.DeepMemoryError): string =>
  Option.match(encodeMemoryError(error), { onNone: () => error._tag, onSome: (w) => w.error })


/** One line for any failure of a call to deep-memory; `baseUrl` names the server in connection hints. */
export const describeMemoryError = (error: unknown, baseUrl: string): CliError => {
  if (error instanceof CliError) return error
  if (isDeepMemoryError(error)) {
    let message = `${memoryWireCode(error)}: ${error.message}`
    if (error instanceof E.InvalidRequest && error.details !== undefined && error.details.length > 0) {
      message += ` (${error.details.slice(0, 5).join(", ")})`
    }
    if (error instanceof E.ForbiddenNamespace) message += ` (namespace ${error.namespace})`
    const retry = E.retryAfterOf(error)
    if (retry !== undefined) message += ` (retry after ${retry}s)`
    return failure(message)
  }
  return describeCallFailure(error, {
    service: "deep-memory",
    baseUrl,
    urlOption: "--memory-url",
    urlEnv: "DEEP_MEMORY_BASE_URL"
  }) ?? failure(describeCause(error))
}

/**
 * Runs `f` with a deep-memory client for the command's connection options; any failure becomes a
 * one-line `CliError` (wire code and message, or a connection hint naming the URL).
 */
export const withDeepMemory = <A, E, R>(options: MemoryOptionValues, f: (dm: DeepMemory) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const conn = yield* memoryConnection(options)
    const dm = yield* makeDeepMemory(conn)
    return yield* f(dm).pipe(Effect.mapError((e) => describeMemoryError(e, conn.url)))
  })
