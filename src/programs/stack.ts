import * as path from "node:path"
import { NodeRuntime } from "@effect/platform-node"
import { ConfigProvider, Console, Effect, Layer } from "effect"
import { DeepMemoryRoleLive } from "../services/DeepMemoryServer.js"
import { withLogging } from "../services/Logging.js"
import { RustfsRoleLive } from "../services/RustfsServer.js"
import { loadOrCreateStackKeys, stackKeyEnv } from "../services/StackKeys.js"
import { WorkerAppLive } from "../services/worker/WorkerApp.js"

/**
 * The whole stack in one process on the embedded stores (`npm start`): RustFS, deep-memory and the
 * worker — the same layers as the three roles — under `OPENCLAW_DATA_DIR` (./data). Every role
 * variable is honoured; what is not set gets a one-machine default below (data dirs under the data
 * dir, peers on loopback, generated keys kept in `<data dir>/stack-keys.json`).
 */
const dataDir = path.resolve(process.env.OPENCLAW_DATA_DIR ?? "./data")
const env = (name: string) => (process.env[name] ?? "").trim() || undefined

const stack = Effect.gen(function*() {
  const { created, file, keys } = loadOrCreateStackKeys(dataDir)
  const rustfsPort = env("RUSTFS_PORT") ?? "8099"
  const memoryPort = env("PORT") ?? "8088"
  const workerPort = env("WORKER_HEALTH_PORT") ?? "8097"
  const namespace = env("DEEP_MEMORY_NAMESPACE") ?? keys.rustfs.tenant_id
  const defaults: Record<string, string> = {
    RUSTFS_DATA_DIR: path.join(dataDir, "rustfs"),
    DATA_DIR: path.join(dataDir, "deep-memory"),
    WORKER_STATE_PATH: path.join(dataDir, "rustfs-worker", "state.json"),
    RUSTFS_BASE_URL: `http://127.0.0.1:${rustfsPort}`,
    DEEP_MEMORY_BASE_URL: `http://127.0.0.1:${memoryPort}`,
    // one machine: pick files up quickly
    RUSTFS_POLL_INTERVAL_MS: "1000",
    ...stackKeyEnv(keys, namespace)
  }
  const given = (name: string) => env(name) !== undefined
  const provider = ConfigProvider.fromEnv().pipe(ConfigProvider.orElse(() => ConfigProvider.fromMap(new Map(Object.entries(defaults)))))

  const ready = Layer.effectDiscard(Effect.gen(function*() {
    const lines = [
      "",
      "openclaw-stack is up (embedded stores)",
      `  data          ${dataDir}`,
      `  RustFS        http://127.0.0.1:${rustfsPort}`,
      `  deep-memory   http://127.0.0.1:${memoryPort}`,
      `  worker health http://127.0.0.1:${workerPort}/health`
    ]
    if (!given("RUSTFS_API_KEYS_JSON") || !given("API_KEYS_JSON")) {
      lines.push(
        `  keys          ${file}${created ? " (generated now)" : ""}`,
        `    RustFS admin key       ${keys.rustfs.keys.admin}`,
        `    deep-memory admin key  ${keys.memory.admin}`,
        "  The CLI in this directory finds them itself: try",
        "    node dist/cli.js files upload notes.md && node dist/cli.js memory ask \"what do my notes say?\""
      )
    }
    yield* Console.log(lines.join("\n") + "\n")
  }))

  // Each role is built on its own (one layer graph would share the HTTP API router between the two
  // servers); both servers first, then the worker, then the banner. Interrupting (SIGINT/SIGTERM)
  // closes the scope: the worker stops, then the servers and their databases.
  return yield* Effect.scoped(Effect.gen(function*() {
    yield* Effect.all([Layer.build(RustfsRoleLive), Layer.build(DeepMemoryRoleLive)], { concurrency: 2 })
    yield* Layer.build(WorkerAppLive)
    yield* Layer.build(ready)
    return yield* Effect.never
  })).pipe(Effect.withConfigProvider(provider))
})

NodeRuntime.runMain(
  stack.pipe(
    withLogging("LOG_LEVEL"),
    Effect.tapErrorCause((cause) => Effect.logError("openclaw-stack failed to start", cause)),
    Effect.provide(Layer.setConfigProvider(ConfigProvider.fromEnv()))
  ),
  { disablePrettyLogger: true }
)

