import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { localKeysLayer } from "../services/LocalKeys.js"
import { withLogging } from "../services/Logging.js"
import { listen } from "../services/NodeListener.js"
import { RustfsConfig, rustfsConfig } from "../services/RustfsConfig.js"
import { RustfsAppLive, RustfsDatabaseLive, rustfsServe } from "../services/RustfsServer.js"

/** The RustFS role: the file archive on port 8099. */
const main = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* rustfsConfig
    const server = listen({ port: config.port, host: config.host, shutdownGraceMs: config.shutdownGraceMs })
    const announce = Layer.effectDiscard(
      Effect.gen(function*() {
        const c = yield* RustfsConfig
        yield* Effect.logInfo("rustfs listening", {
          url: `http://${c.host}:${c.port}`,
          auth: c.requireApiKey ? "api keys" : "off (development)",
          encryption: c.masterKey._tag === "Some" ? "age (X25519)" : "off",
          share_links: c.signingKey._tag === "Some" ? "on" : "off (RUSTFS_SIGNING_KEY unset)"
        })
      })
    )
    // The listener opens only after the database, migrations and services are up, so no request
    // can reach a port whose handler is not attached yet.
    return rustfsServe(config.maxUploadBytes).pipe(
      Layer.merge(announce),
      Layer.provide(server.pipe(Layer.provideMerge(RustfsAppLive))),
      Layer.provide(RustfsDatabaseLive)
    )
  })
)

NodeRuntime.runMain(
  Layer.launch(main).pipe(
    Effect.provide(localKeysLayer("RUSTFS_DATA_DIR", "./data/rustfs")),
    withLogging("RUSTFS_LOG_LEVEL")
  ),
  { disablePrettyLogger: true }
)
