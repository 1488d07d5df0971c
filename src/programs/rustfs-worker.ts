import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { withLogging } from "../services/Logging.js"
import { WorkerAppLive } from "../services/worker/WorkerApp.js"

/** The rustfs-worker role: claims archived files, extracts their text and writes it to deep-memory. */
NodeRuntime.runMain(Layer.launch(WorkerAppLive).pipe(withLogging("LOG_LEVEL")), { disablePrettyLogger: true })
