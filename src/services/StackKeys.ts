import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { asRustfsEnv, type LocalKeySet } from "./LocalKeys.js"

/**
 * The keys of the one-machine stack (`npm start`), generated on first start when none are given and
 * kept in `<OPENCLAW_DATA_DIR>/stack-keys.json` (mode 0600): RustFS keys per role for tenant
 * `default`, deep-memory keys for the administrator and the worker (admin on the worker's namespace
 * only: it must forget the memory of tombstoned files), and the share-link signing key. The CLI
 * falls back to this file, so `openclaw-stack …` works in the same directory without exports.
 */
export interface StackKeys {
  readonly rustfs: LocalKeySet
  readonly memory: { readonly admin: string; readonly worker: string }
}

export const STACK_KEYS_FILE = "stack-keys.json"

export const stackKeysPath = (dataDir: string) => path.join(path.resolve(dataDir), STACK_KEYS_FILE)

const key = () => randomBytes(24).toString("base64url")

export const loadOrCreateStackKeys = (dataDir: string): { readonly keys: StackKeys; readonly file: string; readonly created: boolean } => {
  const file = stackKeysPath(dataDir)
  const existing = readStackKeys(dataDir)
  if (existing !== undefined) return { keys: existing, file, created: false }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const keys: StackKeys = {
    rustfs: { tenant_id: "default", keys: { reader: key(), writer: key(), worker: key(), admin: key() }, signing_key: key() },
    memory: { admin: key(), worker: key() }
  }
  fs.writeFileSync(file, JSON.stringify(keys, null, 2) + "\n", { mode: 0o600, flag: "wx" })
  return { keys, file, created: true }
}

/** The stored keys, or `undefined` when there is no (readable, well-formed) file. */
export const readStackKeys = (dataDir: string): StackKeys | undefined => {
  let parsed: unknown
  try {
    parsed = JSON.parse(fs.readFileSync(stackKeysPath(dataDir), "utf8"))
  } catch {
    return undefined
  }
  const p = parsed as Partial<StackKeys> | null
  const ok = typeof p?.rustfs?.keys?.admin === "string" && typeof p?.rustfs?.keys?.worker === "string" &&
    typeof p?.rustfs?.signing_key === "string" && typeof p?.memory?.admin === "string" && typeof p?.memory?.worker === "string"
  return ok ? (p as StackKeys) : undefined
}

/** The variables the generated keys stand in for (the environment still wins over each). */
export const stackKeyEnv = (keys: StackKeys, workerNamespace: string): Record<string, string> => ({
  ...asRustfsEnv(keys.rustfs),
  API_KEYS_JSON: JSON.stringify([
    { key: keys.memory.admin, role: "admin" },
    { key: keys.memory.worker, role: "admin", namespaces: [workerNamespace] }
  ]),
  RUSTFS_API_KEY: keys.rustfs.keys.worker,
  DEEP_MEMORY_API_KEY: keys.memory.worker
})
