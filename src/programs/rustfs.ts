import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { localKeysLayer } from "../services/LocalKeys.js"
import { withLogging } from "../services/Logging.js"
import { RustfsRoleLive } from "../services/RustfsServer.js"

/** The RustFS role: the file archive on port 8099. */
NodeRuntime.runMain(
  Layer.launch(RustfsRoleLive).pipe(
    Effect.provide(localKeysLayer("RUSTFS_DATA_DIR", "./data/rustfs")),
    withLogging("RUSTFS_LOG_LEVEL")
  ),
  { disablePrettyLogger: true }
)
