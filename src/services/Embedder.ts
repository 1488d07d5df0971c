import type { HttpClient } from "@effect/platform"
import { Config, ConfigError, Context, Duration, Effect, Either, Layer, Option, Redacted } from "effect"
import { EmbedderError, type EmbedderShape } from "./embedder/core.js"
import { HASH_EMBEDDER_VERSION, hashEmbed } from "./embedder/hashing.js"
import { DEFAULT_OPENAI_BASE_URL, makeOpenAiCompatible, type OpenAiCompatibleOptions } from "./embedder/openai.js"
import { makeTransformers, type TransformersOptions } from "./embedder/transformers.js"

export { EmbedderError, type EmbedderErrorReason, type EmbedderShape, type EmbedPurpose } from "./embedder/core.js"
export type { OpenAiCompatibleOptions } from "./embedder/openai.js"
export type { FeatureExtractor, FeatureExtractorLoader, TransformersOptions } from "./embedder/transformers.js"

/** Turns texts into vectors; the implementation is chosen by `EMBEDDING_MODEL` (see `embedderLayerFromConfig`). */
export class Embedder extends Context.Tag("Embedder")<Embedder, EmbedderShape>() {}

export const DEFAULT_VECTOR_DIMS = 384

// ------------------------------------------------------------------------------------------------
// built-in

export const makeBuiltin = (dimensions: number = DEFAULT_VECTOR_DIMS): EmbedderShape => ({
  id: `${HASH_EMBEDDER_VERSION}:${dimensions}`,
  dimensions,
  // The same function for queries and documents: a symmetric space needs no query prefix.
  embed: Effect.fn("Embedder.embed")(function*(texts, _purpose) {
    yield* Effect.annotateCurrentSpan({ "embedder.texts": texts.length })
    return texts.map((text) => hashEmbed(text, dimensions))
  })
})

export const layerBuiltin = (dimensions: number = DEFAULT_VECTOR_DIMS): Layer.Layer<Embedder> =>
  Layer.succeed(Embedder, makeBuiltin(dimensions))

export const layerOpenAiCompatible = (
  options: OpenAiCompatibleOptions
): Layer.Layer<Embedder, EmbedderError, HttpClient.HttpClient> => Layer.effect(Embedder, makeOpenAiCompatible(options))

export const layerTransformers = (options: TransformersOptions): Layer.Layer<Embedder, EmbedderError> =>
  Layer.scoped(Embedder, makeTransformers(options))

// ------------------------------------------------------------------------------------------------
// configuration

export type EmbedderSelection =
  | { readonly kind: "builtin"; readonly dimensions: number }
  | ({ readonly kind: "openai" } & OpenAiCompatibleOptions)
  | ({ readonly kind: "transformers" } & TransformersOptions)

const positiveInt = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.mapOrFail((value) => {
      const raw = Option.getOrUndefined(value)?.trim()
      if (raw === undefined || raw === "") return Either.right(Option.none<number>())
      const n = Number(raw)
      return Number.isSafeInteger(n) && n >= 1
        ? Either.right(Option.some(n))
        : Either.left(ConfigError.InvalidData([name], `${name}: expected a positive integer, got "${raw.slice(0, 20)}"`))
    })
  )

const optionalString = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.flatMap((s) => (s.trim() === "" ? Option.none() : Option.some(s.trim()))))
  )

const EmbedderConfig = Config.all({
  model: optionalString("EMBEDDING_MODEL"),
  baseUrl: optionalString("EMBEDDING_BASE_URL"),
  apiKey: Config.option(Config.redacted("EMBEDDING_API_KEY")).pipe(Config.map(Option.filter((k) => Redacted.value(k).trim() !== ""))),
  timeoutMs: positiveInt("EMBEDDING_TIMEOUT_MS"),
  batchSize: positiveInt("EMBEDDING_BATCH"),
  dimensions: positiveInt("VECTOR_DIMS")
})

const configError = (message: string) => new EmbedderError({ reason: "config", message })

/**
 * `EMBEDDING_MODEL` unset or `builtin` → built-in (with `VECTOR_DIMS`, default 384);
 * `openai:<model>`, or any model together with `EMBEDDING_BASE_URL` → OpenAI-compatible HTTP;
 * anything else → transformers.js (hub id or local directory).
 */
export const embedderSelectionFromConfig: Effect.Effect<EmbedderSelection, EmbedderError> = Effect.gen(function*() {
  const config = yield* EmbedderConfig.pipe(
    Effect.mapError((error) => configError(`invalid embedder configuration: ${String(error).slice(0, 300)}`))
  )
  const timeout = Duration.millis(Option.getOrElse(config.timeoutMs, () => 30_000))
  const batchSize = Option.getOrElse(config.batchSize, () => 64)
  const model = Option.getOrUndefined(config.model)

  if (model === undefined || model.toLowerCase() === "builtin") {
    if (model === undefined && Option.isSome(config.baseUrl)) {
      return yield* configError("EMBEDDING_BASE_URL is set but EMBEDDING_MODEL is not: name the served model")
    }
    return { kind: "builtin", dimensions: Option.getOrElse(config.dimensions, () => DEFAULT_VECTOR_DIMS) }
  }
  if (model.startsWith("openai:") || Option.isSome(config.baseUrl)) {
    const name = model.startsWith("openai:") ? model.slice("openai:".length) : model
    if (name === "") return yield* configError("EMBEDDING_MODEL=openai:<model> needs a model name")
    const baseUrl = Option.getOrElse(config.baseUrl, () => DEFAULT_OPENAI_BASE_URL)
    if (!URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
      return yield* configError("EMBEDDING_BASE_URL must be an http(s) URL")
    }
    const apiKey: Option.Option<Redacted.Redacted<string>> = config.apiKey
    return { kind: "openai", baseUrl, model: name, apiKey, dimensions: config.dimensions, timeout, batchSize }
  }
  return { kind: "transformers", model, batchSize, dimensions: config.dimensions }
})

export const layerFromSelection = (
  selection: EmbedderSelection
): Layer.Layer<Embedder, EmbedderError, HttpClient.HttpClient> => {
  switch (selection.kind) {
    case "builtin":
      return layerBuiltin(selection.dimensions)
    case "openai":
      return layerOpenAiCompatible(selection)
    case "transformers":
      return layerTransformers(selection)
  }
}

/** The embedder chosen by the environment; the HTTP client is only used by the OpenAI-compatible one. */
export const embedderLayerFromConfig: Layer.Layer<Embedder, EmbedderError, HttpClient.HttpClient> = Layer.unwrapEffect(
  Effect.map(embedderSelectionFromConfig, layerFromSelection)
)
