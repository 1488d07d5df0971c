/**
 * process.env without anything that would point a CLI under test at another server or hand it a
 * key: RustFS, deep-memory, worker and OPENCLAW_* variables (OPENCLAW_DATA_DIR would let the CLI
 * find a stack-keys.json). Each test adds back exactly what it means to pass.
 */
export const cleanCliEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(([k]) =>
      !["RUSTFS_", "OPENCLAW_", "DEEP_MEMORY_", "WORKER_"].some((prefix) => k.startsWith(prefix))
    )
  )
