import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { DeepMemoryRoleLive } from "../services/DeepMemoryServer.js"
import { withLogging } from "../services/Logging.js"

/** The deep-memory role: semantic memory on port 8088. */
NodeRuntime.runMain(Layer.launch(DeepMemoryRoleLive).pipe(withLogging("LOG_LEVEL")), { disablePrettyLogger: true })
