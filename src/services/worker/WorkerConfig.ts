import * as path from "node:path"
import { Config, Context, Either, Layer, Option, Redacted } from "effect"
import { integerAtLeast, invalidConfig, strictBoolean } from "../ConfigValues.js"

/** Every variable the worker reads (compose maps the startup document's names onto these). */
export const WORKER_ENV_VARS = [
  "RUSTFS_BASE_URL", "RUSTFS_API_KEY", "RUSTFS_TENANT_ID", "RUSTFS_POLL_INTERVAL_MS", "RUSTFS_LEASE_MS",
  "RUSTFS_PENDING_LIMIT", "RUSTFS_MAX_DOWNLOAD_BYTES",
  "DEEP_MEMORY_BASE_URL", "DEEP_MEMORY_API_KEY", "DEEP_MEMORY_NAMESPACE", "DEEP_MEMORY_ASYNC", "DEEP_MEMORY_TIMEOUT_MS",
  "DEEP_MEMORY_CHUNK_MAX_CHARS", "DEEP_MEMORY_CHUNK_OVERLAP_CHARS", "DEEP_MEMORY_BACKOFF_MS", "DEEP_MEMORY_BACKOFF_MAX_MS",
  "DEEP_MEMORY_RETRY_BUDGET_MS", "DEEP_MEMORY_RETURN_MEMORY_IDS", "DEEP_MEMORY_MAX_RETURN_MEMORY_IDS",
  "DEEP_MEMORY_INSPECT_ENABLED", "DEEP_MEMORY_INSPECT_LIMIT", "DEEP_MEMORY_INSPECT_INCLUDE_CONTENT",
  "WORKER_STATE_PATH", "WORKER_CONCURRENCY", "WORKER_HEALTH_PORT", "WORKER_HEALTH_HOST",
  "EXTRACT_TIMEOUT_MS", "EXTRACT_MAX_MEMORY_MB", "EXTRACT_MAX_PAGES", "LOG_LEVEL"
] as const

export interface WorkerSettings {
  readonly rustfsBaseUrl: string
  readonly rustfsApiKey: Option.Option<Redacted.Redacted<string>>
  readonly rustfsTenantId: Option.Option<string>
  readonly pollIntervalMs: number
  readonly leaseMs: number
  readonly pendingLimit: number
  readonly maxDownloadBytes: number
  readonly memoryBaseUrl: string
  readonly memoryApiKey: Option.Option<Redacted.Redacted<string>>
  /** One namespace for every file (one worker per tenant); otherwise each file's tenant id. */
  readonly namespace: Option.Option<string>
  readonly async: boolean
  readonly timeoutMs: number
  readonly chunkMaxChars: number
  readonly chunkOverlapChars: number
  readonly backoffBaseMs: number
  readonly backoffMaxMs: number
  /** How long one file may wait on an overloaded deep-memory before it is released for later. */
  readonly retryBudgetMs: number
  readonly returnMemoryIds: boolean
  readonly maxReturnMemoryIds: number
  readonly inspectEnabled: boolean
  readonly inspectLimit: number
  readonly inspectIncludeContent: boolean
  readonly statePath: string
  readonly concurrency: number
  readonly healthPort: number
  readonly healthHost: string
  readonly extractTimeoutMs: number
  readonly extractMaxMemoryMb: number
  readonly extractMaxPages: number
}

export class WorkerConfig extends Context.Tag("rustfs-worker/WorkerConfig")<WorkerConfig, WorkerSettings>() {}

const baseUrl = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((raw) => {
      const v = raw.trim().replace(/\/+$/, "")
      const ok = URL.canParse(v) && ["http:", "https:"].includes(new URL(v).protocol)
      return ok ? Either.right(v) : Either.left(invalidConfig(name, "must be an absolute http(s) URL"))
    })
  )

const optionalSecret = (name: string) =>
  Config.redacted(name).pipe(Config.option, Config.map(Option.filter((r) => Redacted.value(r).trim() !== "")))

const optionalText = (name: string) =>
  Config.string(name).pipe(Config.option, Config.map(Option.map((s) => s.trim())), Config.map(Option.filter((s) => s !== "")))

export const workerSettings: Config.Config<WorkerSettings> = Config.all({
  rustfsBaseUrl: baseUrl("RUSTFS_BASE_URL"),
  rustfsApiKey: optionalSecret("RUSTFS_API_KEY"),
  rustfsTenantId: optionalText("RUSTFS_TENANT_ID"),
  pollIntervalMs: integerAtLeast("RUSTFS_POLL_INTERVAL_MS", 5_000, 10),
  leaseMs: integerAtLeast("RUSTFS_LEASE_MS", 300_000, 5_000),
  pendingLimit: integerAtLeast("RUSTFS_PENDING_LIMIT", 25, 1),
  maxDownloadBytes: integerAtLeast("RUSTFS_MAX_DOWNLOAD_BYTES", 100 * 1024 * 1024, 1),
  memoryBaseUrl: baseUrl("DEEP_MEMORY_BASE_URL"),
  memoryApiKey: optionalSecret("DEEP_MEMORY_API_KEY"),
  namespace: optionalText("DEEP_MEMORY_NAMESPACE"),
  async: strictBoolean("DEEP_MEMORY_ASYNC", true),
  timeoutMs: integerAtLeast("DEEP_MEMORY_TIMEOUT_MS", 30_000, 100),
  chunkMaxChars: integerAtLeast("DEEP_MEMORY_CHUNK_MAX_CHARS", 3_500, 200),
  chunkOverlapChars: integerAtLeast("DEEP_MEMORY_CHUNK_OVERLAP_CHARS", 200, 0),
  backoffBaseMs: integerAtLeast("DEEP_MEMORY_BACKOFF_MS", 10_000, 1),
  backoffMaxMs: integerAtLeast("DEEP_MEMORY_BACKOFF_MAX_MS", 300_000, 1),
  retryBudgetMs: integerAtLeast("DEEP_MEMORY_RETRY_BUDGET_MS", 1_800_000, 1),
  returnMemoryIds: strictBoolean("DEEP_MEMORY_RETURN_MEMORY_IDS", false),
  maxReturnMemoryIds: integerAtLeast("DEEP_MEMORY_MAX_RETURN_MEMORY_IDS", 200, 1),
  inspectEnabled: strictBoolean("DEEP_MEMORY_INSPECT_ENABLED", false),
  inspectLimit: integerAtLeast("DEEP_MEMORY_INSPECT_LIMIT", 100, 1),
  inspectIncludeContent: strictBoolean("DEEP_MEMORY_INSPECT_INCLUDE_CONTENT", false),
  statePath: Config.string("WORKER_STATE_PATH").pipe(Config.withDefault("./data/rustfs-worker/state.json"), Config.map((p) => path.resolve(p))),
  concurrency: integerAtLeast("WORKER_CONCURRENCY", 2, 1),
  healthPort: Config.port("WORKER_HEALTH_PORT").pipe(Config.withDefault(8097)),
  healthHost: Config.string("WORKER_HEALTH_HOST").pipe(Config.withDefault("127.0.0.1")),
  extractTimeoutMs: integerAtLeast("EXTRACT_TIMEOUT_MS", 120_000, 100),
  extractMaxMemoryMb: integerAtLeast("EXTRACT_MAX_MEMORY_MB", 512, 32),
  extractMaxPages: integerAtLeast("EXTRACT_MAX_PAGES", 2_000, 1)
}).pipe(
  Config.validate({
    message: "DEEP_MEMORY_CHUNK_OVERLAP_CHARS must be smaller than half of DEEP_MEMORY_CHUNK_MAX_CHARS",
    validation: (s) => s.chunkOverlapChars * 2 < s.chunkMaxChars
  })
)

export const WorkerConfigLive = Layer.effect(WorkerConfig, workerSettings)
