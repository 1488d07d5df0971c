import { NodeRuntime } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { DeepMemoryAppLive, DeepMemoryDatabaseLive, deepMemoryServe } from "../services/DeepMemoryServer.js"
import { withLogging } from "../services/Logging.js"
import { listen } from "../services/NodeListener.js"

/** The deep-memory role: semantic memory on port 8088. */
const main = Layer.unwrapEffect(
  Effect.gen(function*() {
    const port = yield* Config.port("PORT").pipe(Config.withDefault(8088))
    const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
    const announce = Layer.effectDiscard(Effect.logInfo("deep-memory listening", { url: `http://${host}:${port}` }))
    // The listener opens only after the stores, migrations and services are up.
    return deepMemoryServe.pipe(
      Layer.merge(announce),
      Layer.provide(listen({ port, host }).pipe(Layer.provideMerge(DeepMemoryAppLive))),
      Layer.provide(DeepMemoryDatabaseLive)
    )
  })
)

NodeRuntime.runMain(Layer.launch(main).pipe(withLogging("LOG_LEVEL")), { disablePrettyLogger: true })
