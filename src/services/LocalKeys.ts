import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { ConfigProvider, Effect, Layer } from "effect"
import { keyIdOf } from "./RustfsConfig.js"

/**
 * Development convenience for the one-command start (`npm run start:rustfs`, `npm start`): when
 * `OPENCLAW_LOCAL_KEYS=1` and no keys are configured, a key set is generated once, kept in
 * `<data dir>/local-keys.json` (mode 0600) and used as a fallback below the environment. Deployments
 * (compose, the image) never set the flag, so they still refuse to start without keys.
 */
export interface LocalKeySet {
  readonly tenant_id: string
  readonly keys: Record<"reader" | "writer" | "worker" | "admin", string>
  readonly signing_key: string
}

const fresh = (): LocalKeySet => {
  const k = () => randomBytes(24).toString("base64url")
  return { tenant_id: "default", keys: { reader: k(), writer: k(), worker: k(), admin: k() }, signing_key: k() }
}

export const loadOrCreate = (dataDir: string): { readonly set: LocalKeySet; readonly file: string; readonly created: boolean } => {
  const file = path.join(dataDir, "local-keys.json")
  if (fs.existsSync(file)) return { set: JSON.parse(fs.readFileSync(file, "utf8")) as LocalKeySet, file, created: false }
  fs.mkdirSync(dataDir, { recursive: true })
  const set = fresh()
  fs.writeFileSync(file, JSON.stringify(set, null, 2) + "\n", { mode: 0o600, flag: "wx" })
  return { set, file, created: true }
}

export const asRustfsEnv = (set: LocalKeySet): Record<string, string> => ({
  RUSTFS_API_KEYS_JSON: JSON.stringify(
    Object.entries(set.keys).map(([role, key]) => ({ key, tenant_id: set.tenant_id, role }))
  ),
  RUSTFS_SIGNING_KEY: set.signing_key
})

/** Environment first, then the generated keys; a no-op unless OPENCLAW_LOCAL_KEYS=1. */
export const localKeysLayer = (dataDirVar: string, defaultDataDir: string) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      if (process.env.OPENCLAW_LOCAL_KEYS !== "1") return Layer.empty
      const dataDir = path.resolve(process.env[dataDirVar] ?? defaultDataDir)
      const { created, file, set } = loadOrCreate(dataDir)
      // Keys stay in the 0600 file; the log names the file and the key ids, never the keys.
      yield* Effect.logInfo(created ? "generated local API keys" : "using local API keys", {
        file,
        tenant_id: set.tenant_id,
        key_ids: Object.fromEntries(Object.entries(set.keys).map(([role, key]) => [role, keyIdOf(key)]))
      })
      const fallback = ConfigProvider.fromMap(new Map(Object.entries(asRustfsEnv(set))))
      return Layer.setConfigProvider(ConfigProvider.fromEnv().pipe(ConfigProvider.orElse(() => fallback)))
    })
  )
