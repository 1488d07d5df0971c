import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Option } from "effect"
import { EmbedderError, type EmbedderShape, l2Normalize } from "./core.js"

/** What the embedder needs from a transformers.js `feature-extraction` pipeline. */
export interface FeatureExtractor {
  (texts: Array<string>, options: { readonly pooling: "mean"; readonly normalize: true }): Promise<{
    readonly data: ArrayLike<number>
    readonly dims: ReadonlyArray<number>
  }>
  readonly dispose?: () => Promise<unknown>
}

export type FeatureExtractorLoader = (
  model: string,
  options: { readonly localFilesOnly: boolean }
) => Promise<FeatureExtractor>

export interface TransformersOptions {
  /** A hub id (`Xenova/all-MiniLM-L6-v2`) or a directory holding `config.json`, tokenizer files and `onnx/`. */
  readonly model: string
  readonly batchSize: number
  /** Expected dimensions; checked against the model's output at start-up. */
  readonly dimensions: Option.Option<number>
  /** Tests pass their own; the default imports `@huggingface/transformers` only when called. */
  readonly loader?: FeatureExtractorLoader
}

// A variable specifier keeps bundlers and tsc from resolving the package: it is an optional
// dependency, and onnxruntime must not load unless this embedder is chosen.
const TRANSFORMERS_PACKAGE = "@huggingface/transformers"

export const importTransformersLoader: FeatureExtractorLoader = async (model, options) => {
  const transformers = (await import(TRANSFORMERS_PACKAGE)) as {
    readonly pipeline: (task: string, model: string, options: Record<string, unknown>) => Promise<FeatureExtractor>
    readonly env: { allowRemoteModels: boolean; allowLocalModels: boolean; localModelPath: string }
  }
  if (options.localFilesOnly) {
    // A directory is resolved as `localModelPath + model`: point the root at the parent.
    transformers.env.allowLocalModels = true
    transformers.env.localModelPath = path.dirname(model) + path.sep
    return transformers.pipeline("feature-extraction", path.basename(model), { local_files_only: true, dtype: "fp32" })
  }
  return transformers.pipeline("feature-extraction", model, {})
}

/** Absolute or explicitly relative paths, or an existing directory, are local models; anything else a hub id. */
export const isLocalModel = (model: string): boolean =>
  path.isAbsolute(model) || model.startsWith("./") || model.startsWith("../") || fs.existsSync(model)

const describe = (cause: unknown): string => {
  const text = cause instanceof Error ? cause.message : String(cause)
  return text.split("\n")[0]!.slice(0, 300)
}

export const makeTransformers = (options: TransformersOptions) =>
  Effect.gen(function*() {
    const local = isLocalModel(options.model)
    const model = local ? path.resolve(options.model) : options.model
    if (local) {
      const isDir = yield* Effect.sync(() => fs.statSync(model, { throwIfNoEntry: false })?.isDirectory() ?? false)
      if (!isDir) {
        return yield* new EmbedderError({ reason: "config", message: `EMBEDDING_MODEL: no model directory at ${model}` })
      }
    }
    const load = options.loader ?? importTransformersLoader
    const extractor = yield* Effect.tryPromise({
      try: () => load(model, { localFilesOnly: local }),
      catch: (cause) =>
        new EmbedderError({
          reason: "unavailable",
          message: `transformers.js could not load ${options.model}: ${describe(cause)}`
        })
    })
    yield* Effect.addFinalizer(() => Effect.promise(async () => extractor.dispose?.()).pipe(Effect.ignore))

    const run = (texts: ReadonlyArray<string>) =>
      Effect.tryPromise({
        try: () => extractor([...texts], { pooling: "mean", normalize: true }),
        catch: (cause) => new EmbedderError({ reason: "unavailable", message: `transformers.js inference failed: ${describe(cause)}` })
      }).pipe(
        Effect.flatMap((tensor) => {
          const [rows, dims] = tensor.dims
          if (tensor.dims.length !== 2 || rows !== texts.length || dims === undefined || dims === 0) {
            return Effect.fail(
              new EmbedderError({ reason: "bad_response", message: `unexpected output shape [${tensor.dims.join(", ")}]` })
            )
          }
          const out: Array<Float32Array> = []
          for (let r = 0; r < rows; r++) {
            out.push(l2Normalize(Float32Array.from({ length: dims }, (_, i) => tensor.data[r * dims + i]!)))
          }
          return Effect.succeed(out)
        })
      )

    const probed = yield* run(["dimension probe"])
    const dimensions = probed[0]!.length
    if (Option.isSome(options.dimensions) && options.dimensions.value !== dimensions) {
      return yield* new EmbedderError({
        reason: "config",
        message: `VECTOR_DIMS is ${options.dimensions.value} but ${options.model} produces ${dimensions} dimensions`
      })
    }

    const embed: EmbedderShape["embed"] = Effect.fn("Embedder.embed")(function*(texts, _purpose) {
      yield* Effect.annotateCurrentSpan({ "embedder.texts": texts.length, "embedder.model": options.model })
      const out: Array<Float32Array> = []
      for (let i = 0; i < texts.length; i += options.batchSize) {
        out.push(...(yield* run(texts.slice(i, i + options.batchSize))))
      }
      return out
    })

    return { id: `transformers:${options.model}`, dimensions, embed } satisfies EmbedderShape
  })
