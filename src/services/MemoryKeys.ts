import { createHash, timingSafeEqual } from "node:crypto"
import { Config, ConfigError, Effect, Either, Option, Redacted, Schema } from "effect"
import type { MemoryPrincipal, MemoryRole } from "../domain/DeepMemoryApi.js"
import { invalidConfig, parseJsonArray, strictBoolean } from "./ConfigValues.js"

/**
 * deep-memory API keys: `API_KEYS_JSON` `[{key, role: read|write|admin, namespaces?: [...]}]`, plus the
 * legacy `API_KEY` and `API_KEYS` (comma list), which are admin on every namespace. Any configured key
 * turns auth on; `REQUIRE_API_KEY=true` with no keys is a start-up error. Keys are compared in
 * constant time and identified in logs by a hash prefix.
 */
export interface MemoryKeyEntry {
  readonly key: Redacted.Redacted<string>
  readonly keyId: string
  readonly role: MemoryRole
  readonly namespaces: ReadonlyArray<string> | null
}

const rank: Record<MemoryRole, number> = { read: 0, write: 1, admin: 2 }
export const roleAtLeast = (role: MemoryRole, needed: MemoryRole) => rank[role] >= rank[needed]

const invalid = invalidConfig
const keyIdOf = (key: string) => "k_" + createHash("sha256").update(key).digest("hex").slice(0, 12)

const Entry = Schema.Struct({
  key: Schema.String,
  role: Schema.String,
  namespaces: Schema.optional(Schema.NullOr(Schema.Array(Schema.String)))
})

export const parseMemoryKeys = (json: string): Either.Either<Array<MemoryKeyEntry>, ConfigError.ConfigError> => {
  const name = "API_KEYS_JSON"
  const array = parseJsonArray(name, json, "a JSON array of {key, role, namespaces?}")
  if (Either.isLeft(array)) return Either.left(array.left)
  const parsed = array.right
  const out: Array<MemoryKeyEntry> = []
  for (const [i, item] of parsed.entries()) {
    const entry = Schema.decodeUnknownOption(Entry)(item)
    if (Option.isNone(entry)) return Either.left(invalid(name, `entry ${i} must have string key and role`))
    const { key, namespaces, role } = entry.value
    if (key.length < 16) return Either.left(invalid(name, `entry ${i}: key is shorter than 16 characters`))
    if (role !== "read" && role !== "write" && role !== "admin") {
      return Either.left(invalid(name, `entry ${i}: unknown role "${role.slice(0, 32)}" (expected read, write or admin)`))
    }
    const bad = namespaces?.find((n) => !/^[A-Za-z0-9._:*-]{1,128}$/.test(n))
    if (bad !== undefined) return Either.left(invalid(name, `entry ${i}: invalid namespace "${bad.slice(0, 64)}"`))
    out.push({
      key: Redacted.make(key),
      keyId: keyIdOf(key),
      role,
      namespaces: namespaces === undefined || namespaces === null || namespaces.includes("*") ? null : namespaces
    })
  }
  return Either.right(out)
}

const legacyKeys = Effect.gen(function*() {
  const single = yield* Config.redacted("API_KEY").pipe(Config.option)
  const list = yield* Config.redacted("API_KEYS").pipe(Config.option)
  const raw = [
    ...Option.toArray(single).map(Redacted.value),
    ...Option.toArray(list).flatMap((l) => Redacted.value(l).split(","))
  ].map((k) => k.trim()).filter((k) => k !== "")
  return raw.map((key): MemoryKeyEntry => ({ key: Redacted.make(key), keyId: keyIdOf(key), role: "admin", namespaces: null }))
})

export const memoryKeysConfig = Effect.gen(function*() {
  const json = yield* Config.redacted("API_KEYS_JSON").pipe(Config.option)
  const fromJson = Option.isSome(json) && Redacted.value(json.value).trim() !== ""
    ? yield* Either.match(parseMemoryKeys(Redacted.value(json.value)), { onLeft: Effect.fail, onRight: Effect.succeed })
    : []
  const keys = [...fromJson, ...(yield* legacyKeys)]
  const require = yield* strictBoolean("REQUIRE_API_KEY", false)
  if (require && keys.length === 0) {
    return yield* Effect.fail(invalid("REQUIRE_API_KEY", "is true but no keys are configured (API_KEYS_JSON, API_KEY or API_KEYS)"))
  }
  return { keys, authEnabled: keys.length > 0 }
})

/** Authenticates presented keys; with auth off every caller is an admin on every namespace. */
export class MemoryKeys extends Effect.Service<MemoryKeys>()("deep-memory/MemoryKeys", {
  effect: Effect.gen(function*() {
    const { authEnabled, keys } = yield* memoryKeysConfig
    const entries = keys.map((k) => ({ ...k, hash: createHash("sha256").update(Redacted.value(k.key)).digest() }))
    const open: MemoryPrincipal = { keyId: null, role: "admin", namespaces: null }

    const authenticate = (presented: string | undefined): Option.Option<MemoryPrincipal> => {
      if (!authEnabled) return Option.some(open)
      if (presented === undefined || presented === "") return Option.none()
      const h = createHash("sha256").update(presented).digest()
      let match: (typeof entries)[number] | undefined
      for (const e of entries) {
        if (timingSafeEqual(h, e.hash) && match === undefined) match = e
      }
      return match === undefined
        ? Option.none()
        : Option.some({ keyId: match.keyId, role: match.role, namespaces: match.namespaces })
    }

    return { authenticate, authEnabled } as const
  })
}) {}

/** May `principal` act with `needed` on `namespace`? */
export const permits = (principal: MemoryPrincipal, needed: MemoryRole, namespace: string) =>
  roleAtLeast(principal.role, needed) && (principal.namespaces === null || principal.namespaces.includes(namespace))
