import { createHash } from "node:crypto"
import * as path from "node:path"
import { Config, type ConfigError, Effect, Either, Option, Redacted, Schema } from "effect"
import { integerAtLeast, invalidConfig, parseJsonArray, strictBoolean } from "./ConfigValues.js"

export { strictBoolean } from "./ConfigValues.js"
import { Role, TenantId } from "../domain/Ids.js"

export const RUSTFS_ENV_VARS = [
  "RUSTFS_PORT",
  "RUSTFS_HOST",
  "RUSTFS_DATA_DIR",
  "RUSTFS_DATABASE_URL",
  "RUSTFS_REQUIRE_API_KEY",
  "RUSTFS_API_KEYS_JSON",
  "RUSTFS_SIGNING_KEY",
  "RUSTFS_MASTER_KEY",
  "RUSTFS_PREVIOUS_MASTER_KEYS",
  "RUSTFS_PUBLIC_BASE_URL",
  "RUSTFS_AUDIT_LOG_PATH",
  "RUSTFS_MAX_UPLOAD_BYTES",
  "RUSTFS_MAX_EXTRACT_ATTEMPTS",
  "RUSTFS_TOMBSTONE_RETENTION_MS",
  "RUSTFS_GC_INTERVAL_MS",
  "RUSTFS_SHUTDOWN_GRACE_MS",
  "RUSTFS_EMBEDDED_PG_PORT",
  "RUSTFS_LOG_LEVEL"
] as const

export interface ApiKeyEntry {
  readonly key: Redacted.Redacted<string>
  readonly keyId: string
  readonly tenant: TenantId
  readonly role: Role
}

const invalid = invalidConfig
const positiveInt = integerAtLeast

const optionalString = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.filter((s) => s.trim() !== ""))
  )

const optionalRedacted = (name: string) =>
  Config.redacted(name).pipe(
    Config.option,
    Config.map(Option.filter((s) => Redacted.value(s).trim() !== ""))
  )

export const keyIdOf = (key: string) => "k_" + createHash("sha256").update(key).digest("hex").slice(0, 12)

const KeyEntryJson = Schema.Struct({ key: Schema.String, tenant_id: Schema.String, role: Schema.String })

export const parseApiKeys = (name: string, json: string): Either.Either<ReadonlyArray<ApiKeyEntry>, ConfigError.ConfigError> => {
  const array = parseJsonArray(name, json, "a JSON array of {key, tenant_id, role}")
  if (Either.isLeft(array)) return Either.left(array.left)
  const parsed = array.right
  const out: Array<ApiKeyEntry> = []
  const seen = new Set<string>()
  for (const [i, item] of parsed.entries()) {
    const entry = Schema.decodeUnknownOption(KeyEntryJson)(item)
    if (Option.isNone(entry)) return Either.left(invalid(name, `entry ${i} must have string key, tenant_id and role`))
    const { key, role, tenant_id } = entry.value
    if (key.length < 16) return Either.left(invalid(name, `entry ${i}: key is shorter than 16 characters`))
    if (!Schema.is(Role)(role)) {
      return Either.left(invalid(name, `entry ${i}: unknown role "${role.slice(0, 32)}" (expected reader, writer, worker or admin)`))
    }
    if (!Schema.is(TenantId)(tenant_id)) {
      return Either.left(invalid(name, `entry ${i}: tenant_id must be 1-64 characters of A-Z a-z 0-9 . _ -`))
    }
    if (seen.has(key)) return Either.left(invalid(name, `entry ${i}: duplicate key`))
    seen.add(key)
    out.push({ key: Redacted.make(key), keyId: keyIdOf(key), tenant: tenant_id, role })
  }
  return Either.right(out)
}

const apiKeys = Config.redacted("RUSTFS_API_KEYS_JSON").pipe(
  Config.option,
  Config.mapOrFail((value) =>
    Option.match(value, {
      onNone: () => Either.right<ReadonlyArray<ApiKeyEntry>>([]),
      onSome: (json) => Redacted.value(json).trim() === "" ? Either.right([]) : parseApiKeys("RUSTFS_API_KEYS_JSON", Redacted.value(json))
    })
  )
)

const previousMasterKeys = Config.redacted("RUSTFS_PREVIOUS_MASTER_KEYS").pipe(
  Config.option,
  Config.map(Option.match({
    onNone: () => [] as Array<Redacted.Redacted<string>>,
    onSome: (v) =>
      Redacted.value(v).split(",").map((s) => s.trim()).filter((s) => s !== "").map((s) => Redacted.make(s))
  }))
)

const publicBaseUrl = optionalString("RUSTFS_PUBLIC_BASE_URL").pipe(
  Config.mapOrFail((value) =>
    Option.match(value, {
      onNone: () => Either.right(Option.none<string>()),
      onSome: (url) => {
        try {
          const u = new URL(url)
          if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("protocol")
          return Either.right(Option.some(url.replace(/\/+$/, "")))
        } catch {
          return Either.left(invalid("RUSTFS_PUBLIC_BASE_URL", "must be an absolute http(s) URL"))
        }
      }
    })
  )
)

export const rustfsConfig = Effect.gen(function*() {
  const dataDir = path.resolve(yield* Config.string("RUSTFS_DATA_DIR").pipe(Config.withDefault("./data/rustfs")))
  const requireApiKey = yield* strictBoolean("RUSTFS_REQUIRE_API_KEY", true)
  const keys = yield* apiKeys
  if (requireApiKey && keys.length === 0) {
    return yield* Effect.fail(
      invalid("RUSTFS_API_KEYS_JSON", "no API keys configured while RUSTFS_REQUIRE_API_KEY=true (set keys, or RUSTFS_REQUIRE_API_KEY=false for local development)")
    )
  }
  return {
    port: yield* positiveInt("RUSTFS_PORT", 8099, 0),
    host: yield* Config.string("RUSTFS_HOST").pipe(Config.withDefault("127.0.0.1")),
    dataDir,
    requireApiKey,
    apiKeys: keys,
    signingKey: yield* optionalRedacted("RUSTFS_SIGNING_KEY"),
    masterKey: yield* optionalRedacted("RUSTFS_MASTER_KEY"),
    previousMasterKeys: yield* previousMasterKeys,
    publicBaseUrl: yield* publicBaseUrl,
    auditLogPath: path.resolve(
      yield* Config.string("RUSTFS_AUDIT_LOG_PATH").pipe(Config.withDefault(path.join(dataDir, "audit", "audit.jsonl")))
    ),
    maxUploadBytes: yield* positiveInt("RUSTFS_MAX_UPLOAD_BYTES", 10 * 1024 ** 3),
    maxExtractAttempts: yield* positiveInt("RUSTFS_MAX_EXTRACT_ATTEMPTS", 5),
    tombstoneRetentionMs: yield* positiveInt("RUSTFS_TOMBSTONE_RETENTION_MS", 7 * 86_400_000, 0),
    gcIntervalMs: yield* positiveInt("RUSTFS_GC_INTERVAL_MS", 3_600_000, 1000),
    shutdownGraceMs: yield* positiveInt("RUSTFS_SHUTDOWN_GRACE_MS", 10_000, 0)
  }
})

export class RustfsConfig extends Effect.Service<RustfsConfig>()("rustfs/RustfsConfig", {
  effect: rustfsConfig
}) {}
