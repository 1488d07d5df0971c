import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer } from "effect"
import { listen } from "../NodeListener.js"
import { MemoryClient, RustfsClient } from "./Clients.js"
import { ExtractorLive } from "./ExtractorLive.js"
import { WorkerHealthLive, WorkerLoopsLive } from "./Worker.js"
import { WorkerConfig, WorkerConfigLive } from "./WorkerConfig.js"
import { WorkerState } from "./WorkerState.js"

/**
 * The whole worker: its loops and its health listener over one shared state, the derived clients,
 * and the extractor. Configuration comes from the environment (or the ConfigProvider in place).
 */
export const WorkerAppLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    const clients = Layer.mergeAll(RustfsClient.Default, MemoryClient.Default).pipe(Layer.provide(FetchHttpClient.layer))
    const health = WorkerHealthLive.pipe(Layer.provide(listen({ port: config.healthPort, host: config.healthHost, shutdownGraceMs: 2_000 })))
    const announce = Layer.effectDiscard(Effect.logInfo("rustfs-worker health listening", { url: `http://${config.healthHost}:${config.healthPort}` }))
    return Layer.mergeAll(WorkerLoopsLive, health, announce).pipe(
      Layer.provide(Layer.mergeAll(clients, ExtractorLive)),
      Layer.provideMerge(WorkerState.Default)
    )
  })
).pipe(Layer.provideMerge(WorkerConfigLive))
