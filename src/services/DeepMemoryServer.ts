import { FetchHttpClient, HttpApiBuilder } from "@effect/platform"
import * as path from "node:path"
import { Config, Effect, Layer, Option } from "effect"
import { DeepMemoryApi } from "../domain/DeepMemoryApi.js"
import { Analyzer } from "./Analyzer.js"
import * as Database from "./Database.js"
import { DeepMemoryHandlersLive, MAX_BODY_BYTES, toDeepMemoryError } from "./DeepMemoryHandlers.js"
import { DeepMemoryMigrationsLive } from "./DeepMemoryMigrations.js"
import { Embedder, embedderLayerFromConfig } from "./Embedder.js"
import { Neo4jGraphStoreLive } from "./graph/Neo4jGraphStore.js"
import { PgGraphStoreLive } from "./graph/PgGraphStore.js"
import { observe, routeTemplates } from "./HttpObservability.js"
import { MemoryAudit } from "./MemoryAudit.js"
import { listen } from "./NodeListener.js"
import { MemoryKeys } from "./MemoryKeys.js"
import { ExpiredMemoryGcLive, MemoryQueues, MemoryQueueWorkersLive } from "./MemoryQueues.js"
import { MemoryService } from "./MemoryService.js"
import { RateLimiter } from "./RateLimiter.js"
import { embeddedVectorStoreLayer } from "./vector/EmbeddedVectorStore.js"
import { qdrantVectorStoreLayer } from "./vector/QdrantVectorStore.js"

export const deepMemoryDataDir = Config.string("DATA_DIR").pipe(
  Config.orElse(() => Config.string("QUEUE_DIR")),
  Config.withDefault("./data/deep-memory"),
  Config.map((dir) => path.resolve(dir))
)

/** `DEEP_MEMORY_DATABASE_URL`, or the embedded PostgreSQL under `<DATA_DIR>/postgres`. */
export const DeepMemoryDatabaseLive = Database.layerFromConfig({
  urlVar: "DEEP_MEMORY_DATABASE_URL",
  embeddedDir: deepMemoryDataDir.pipe(Config.map((dir) => path.join(dir, "postgres"))),
  embeddedPortVar: "DEEP_MEMORY_EMBEDDED_PG_PORT",
  applicationName: "deep-memory"
})

const configured = (name: string) =>
  Config.string(name).pipe(Config.option, Config.map(Option.filter((v) => v.trim() !== "")))

/** Neo4j when `NEO4J_URI` is set, PostgreSQL graph tables otherwise. */
const GraphStoreFromConfig = Layer.unwrapEffect(
  Effect.map(configured("NEO4J_URI"), (uri) => Option.isSome(uri) ? Neo4jGraphStoreLive : PgGraphStoreLive)
)

/** Qdrant when `QDRANT_URL` is set, the embedded store otherwise. */
const VectorStoreFromConfig = Layer.unwrapEffect(
  Effect.gen(function*() {
    const embedder = yield* Embedder
    const qdrant = yield* configured("QDRANT_URL")
    const dataDir = yield* deepMemoryDataDir
    return Option.isSome(qdrant)
      ? qdrantVectorStoreLayer(embedder.dimensions, embedder.id)
      : embeddedVectorStoreLayer(embedder.dimensions, embedder.id, { snapshotPath: path.join(dataDir, "vector-index.snap") })
  })
)

/** deep-memory above its SQL client: stores chosen by configuration, services, migrations, HttpApi. */
export const DeepMemoryAppLive = (() => {
  const embedder = embedderLayerFromConfig.pipe(Layer.provide(FetchHttpClient.layer))
  const stores = Layer.mergeAll(VectorStoreFromConfig, GraphStoreFromConfig).pipe(
    Layer.provideMerge(embedder),
    Layer.provide(DeepMemoryMigrationsLive)
  )
  const core = MemoryService.Default.pipe(Layer.provideMerge(Layer.mergeAll(stores, Analyzer.Default, MemoryKeys.Default, RateLimiter.Default, MemoryAudit.Default)))
  const services = Layer.merge(MemoryQueueWorkersLive, ExpiredMemoryGcLive).pipe(
    Layer.provideMerge(MemoryQueues.Default),
    Layer.provideMerge(core)
  )
  const api = HttpApiBuilder.api(DeepMemoryApi).pipe(Layer.provide(DeepMemoryHandlersLive))
  const errors = HttpApiBuilder.middleware(DeepMemoryApi, (app) => Effect.catchAllCause(app, toDeepMemoryError), { withContext: true })
  return Layer.mergeAll(errors).pipe(Layer.provideMerge(api), Layer.provideMerge(services))
})()

export const deepMemoryServe = HttpApiBuilder.serve(
  observe({
    routeOf: routeTemplates(DeepMemoryApi),
    maxJsonBytes: MAX_BODY_BYTES,
    uploadLimit: () => undefined
  })
)

/** The deep-memory role on `HOST:PORT` (8088); the listener opens after the stores and services are up. */
export const DeepMemoryRoleLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const port = yield* Config.port("PORT").pipe(Config.withDefault(8088))
    const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
    const announce = Layer.effectDiscard(Effect.logInfo("deep-memory listening", { url: `http://${host}:${port}` }))
    return deepMemoryServe.pipe(
      Layer.merge(announce),
      Layer.provide(listen({ port, host }).pipe(Layer.provideMerge(DeepMemoryAppLive))),
      Layer.provide(DeepMemoryDatabaseLive)
    )
  })
)
