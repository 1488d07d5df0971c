#!/usr/bin/env node
// RustFS benchmark: throughput, memory, claims, list latency and cold start of `node dist/rustfs.js`,
// each next to a baseline measured in the same run. Prints ONE JSON document on stdout; progress
// goes to stderr. See bench/README.md.
//
//   node bench/rustfs.mjs [--quick] [--only=transfer,small_uploads,claims,list,cold_start] [--out=FILE]
//
// Every child (RustFS servers, their embedded PostgreSQL, the baseline server) is stopped and the
// temporary directory removed at the end, also when a section fails or the run is interrupted.
import { execFileSync, spawn } from "node:child_process"
import { createCipheriv, createHash, randomBytes, randomFillSync } from "node:crypto"
import { once } from "node:events"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import pg from "pg"
import {
  clusterDirOf, emitResult, finishResult, freePort, jsonOf, latencyStats, log, machineInfo, makeCleanup, makeTempDir, median,
  onSignalsCleanUp, parseCommandLine, percentile, postJsonWith, ratioOf, requestOnce, ROOT, round, runMain,
  sectionRunner, sleep, splitList, stopChild, stopLeftoverPostgres, tailOf, terminate
} from "./lib.mjs"

const SERVER_JS = path.join(ROOT, "dist", "rustfs.js")
const MiB = 1024 * 1024

// ------------------------------------------------------------------------------------------------
// command line

const SECTIONS = ["transfer", "small_uploads", "claims", "list", "cold_start"]
const ALIASES = {
  transfer: "transfer", upload: "transfer", download: "transfer", upload_1gib: "transfer", download_1gib: "transfer",
  small_uploads: "small_uploads", small: "small_uploads",
  claims: "claims", claim: "claims",
  list: "list",
  cold_start: "cold_start", cold: "cold_start"
}

const ARGS = parseCommandLine(process.argv.slice(2), {
  usage: "usage: node bench/rustfs.mjs [--quick] [--only=" + SECTIONS.join(",") + "] [--out=result.json]\n",
  sections: SECTIONS,
  parseOnly: (value) => {
    const only = new Set()
    for (const name of splitList(value)) {
      const section = ALIASES[name]
      if (section === undefined) {
        throw new Error(`unknown section "${name}" in --only (known: ${Object.keys(ALIASES).join(", ")})`)
      }
      only.add(section)
    }
    return only
  }
})

const SIZES = ARGS.quick
  ? {
    fileBytes: 64 * MiB, baselineRuns: 2, cryptoBytes: 64 * MiB,
    smallSeconds: 3, smallWarmup: 20,
    claimFiles: 2000,
    listRows: 10_000, listSamples: 50, walkPages: 20,
    coldRuns: 3
  }
  : {
    fileBytes: 1024 * MiB, baselineRuns: 3, cryptoBytes: 256 * MiB,
    smallSeconds: 15, smallWarmup: 50,
    claimFiles: 20_000,
    listRows: 100_000, listSamples: 200, walkPages: 200,
    coldRuns: 3
  }
const CONCURRENCY = 8
const CLAIM_BATCH = 25
const LEASE_MS = 60_000
const LIST_LIMIT = 50

// ------------------------------------------------------------------------------------------------
// small helpers

const mbPerS = (bytes, ms) => round(bytes / MiB / (ms / 1000))
const ratio = (a, b) => ratioOf(a, b, 3)




/** uid/gid of an OS user from /etc/passwd, or undefined. */


const readRss = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** Samples VmRSS of the given pids every `intervalMs`; stop() returns the peaks in MiB. */
const rssSampler = (pids, intervalMs = 100) => {
  const peaks = new Map(pids.map((p) => [p, 0]))
  const sample = () => {
    for (const p of pids) peaks.set(p, Math.max(peaks.get(p), readRss(p)))
  }
  sample()
  const timer = setInterval(sample, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      sample()
      return pids.map((p) => round(peaks.get(p) / MiB, 1))
    }
  }
}

let CLK_TCK = 100
try {
  CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100
} catch {
  // keep 100
}

/** utime+stime (and, with `children`, reaped children's) of a process, in seconds. */
const procCpu = (pid, children = false) => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    // f[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
    let ticks = Number(f[11]) + Number(f[12])
    if (children) ticks += Number(f[13]) + Number(f[14])
    return ticks / CLK_TCK
  } catch {
    return 0
  }
}

/**
 * The embedded PostgreSQL directory of a RustFS data dir: `<data>/postgres`, unless the server moved
 * it elsewhere (as root, when the postgres OS user cannot enter the data dir) and left a
 * `postgres.LOCATION` note saying where.
 */

/** CPU seconds of a RustFS data dir's embedded PostgreSQL: postmaster, its live children, reaped ones. */
const postgresCpu = (dataDir) => {
  let pm
  try {
    pm = Number(fs.readFileSync(path.join(clusterDirOf(dataDir), "data", "postmaster.pid"), "utf8").split("\n")[0])
  } catch {
    return 0
  }
  let total = procCpu(pm, true)
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8")
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      if (Number(f[1]) === pm) total += (Number(f[11]) + Number(f[12])) / CLK_TCK
    } catch {
      // exited meanwhile
    }
  }
  return total
}

/** CPU used by the RustFS server, its PostgreSQL and this (client) process between start() and stop(). */
const cpuMeter = (server, { includeServer = true } = {}) => {
  const snap = () => {
    const u = process.cpuUsage()
    return {
      server: includeServer ? procCpu(server.pid) : 0,
      postgres: postgresCpu(server.dataDir),
      client: (u.user + u.system) / 1e6
    }
  }
  const a = snap()
  return {
    stop() {
      const b = snap()
      return {
        ...(includeServer ? { server_s: round(b.server - a.server) } : {}),
        postgres_s: round(b.postgres - a.postgres),
        client_s: round(b.client - a.client)
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// HTTP client

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 32 })
/** Set when the run is being torn down (signal): every new request fails at once. */
let aborted = false

/** One request; resolves with status, headers and the whole body (for small responses). */
const request = (url, options = {}) => requestOnce(url, { ...options, agent: options.agent ?? keepAlive, aborted })

const postJson = (url, obj, what) => postJsonWith(request, url, obj, what)

const getJson = async (url, what) => jsonOf(await request(url), what)

/**
 * Waits for the first 200 from `url`, sending a new GET (fresh connection) every `pollMs` without
 * waiting for the previous ones: a request that the server accepts but never answers must not
 * delay the measurement. Returns the time of the first 200 and how many earlier requests were still
 * unanswered `graceMs` later (requests that hung: a ready server answers /readyz in milliseconds).
 */
const waitReady = async ({ url, proc, t0, pollMs, timeoutMs, graceMs = 500 }) => {
  const pending = new Map() // req -> sent at
  let readyAt = 0
  let sent = 0
  const fire = () => {
    const at = performance.now()
    const req = http.get(url, { agent: false }, (res) => {
      res.resume()
      res.on("end", () => {
        pending.delete(req)
        if (res.statusCode === 200 && readyAt === 0) readyAt = performance.now()
      })
      res.on("error", () => pending.delete(req))
    })
    req.on("error", () => pending.delete(req))
    pending.set(req, at)
    sent++
  }
  try {
    while (readyAt === 0) {
      if (aborted) throw new Error("aborted")
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited (${proc.exitCode ?? proc.signalCode}) before ready`)
      if (performance.now() - t0 > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms`)
      fire()
      await sleep(pollMs)
    }
    const ready = readyAt
    await sleep(graceMs)
    const hung = [...pending.values()].filter((at) => at < ready).map((at) => round(at - t0, 0))
    return { ready_ms: ready - t0, requests: sent, hung_requests: hung.length, hung_sent_at_ms: hung }
  } finally {
    for (const req of pending.keys()) req.destroy()
  }
}

const multipartParts = (boundary, fields, file) => {
  let head = ""
  for (const [k, v] of Object.entries(fields)) {
    head += `--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`
  }
  head += `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${file.filename}"\r\n` +
    `content-type: ${file.contentType}\r\n\r\n`
  return { head: Buffer.from(head), tail: Buffer.from(`\r\n--${boundary}--\r\n`) }
}

/** Streams `file` as a multipart upload (never buffered whole); returns the parsed answer and timings. */
const uploadStreaming = async (base, file, fields, route = "/v1/files") => {
  const size = fs.statSync(file).size
  const boundary = "rustfsbench" + randomBytes(12).toString("hex")
  const { head, tail } = multipartParts(boundary, fields, { filename: path.basename(file), contentType: "application/octet-stream" })
  const t0 = performance.now()
  const req = http.request(`${base}${route}`, {
    method: "POST",
    agent: false,
    headers: {
      "content-type": `multipart/form-data; boundary=${boundary}`,
      "content-length": String(head.length + size + tail.length)
    }
  })
  req.setTimeout(30 * 60_000, () => req.destroy(new Error("upload timed out")))
  const answer = new Promise((resolve, reject) => {
    req.once("response", (res) => {
      const chunks = []
      res.on("data", (c) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }))
      res.on("error", reject)
    })
    req.once("error", reject)
  })
  answer.catch(() => undefined)
  try {
    req.write(head)
    for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) {
      if (!req.write(chunk)) await Promise.race([once(req, "drain"), answer])
    }
    req.end(tail)
  } catch (e) {
    // the server may have answered (and closed) early: report its answer if there is one
    const early = await Promise.race([answer, new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => undefined)
    if (early === undefined) throw e
  }
  const res = await answer
  const ms = performance.now() - t0
  return { json: jsonOf(res, "upload"), ms, size }
}

/** Streams a download into sha256 (the bytes go nowhere else: /dev/null); returns hash and timings. */
const downloadHashing = (url) =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const req = http.get(url, { agent: false }, (res) => {
      const ttfb = performance.now() - t0
      if (res.statusCode !== 200) {
        const chunks = []
        res.on("data", (c) => chunks.push(c))
        res.on("end", () => reject(new Error(`download: HTTP ${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`)))
        return
      }
      const hash = createHash("sha256")
      let bytes = 0
      res.on("data", (c) => {
        hash.update(c)
        bytes += c.length
      })
      res.on("end", () => resolve({ sha256: hash.digest("hex"), bytes, ms: performance.now() - t0, ttfb_ms: ttfb }))
      res.on("error", reject)
    })
    req.setTimeout(30 * 60_000, () => req.destroy(new Error("download timed out")))
    req.on("error", reject)
  })

/** Runs `task` on `concurrency` lanes, for `count` tasks or until `durationMs` has passed. */
const runLanes = async ({ concurrency, count, durationMs, task }) => {
  let started = 0
  let done = 0
  let errors = 0
  const latencies = []
  const t0 = performance.now()
  const deadline = durationMs === undefined ? Infinity : t0 + durationMs
  const lane = async () => {
    while ((count === undefined || started < count) && performance.now() < deadline && !aborted) {
      const n = started++
      const s = performance.now()
      try {
        await task(n)
        latencies.push(performance.now() - s)
        done++
      } catch (e) {
        errors++
        if (errors <= 3) log(`  request failed: ${e.message}`)
        if (errors > 50) throw new Error(`too many failed requests (last: ${e.message})`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return { done, errors, ms: performance.now() - t0, latencies }
}

// ------------------------------------------------------------------------------------------------
// processes: RustFS servers and the baseline server

const TMP = makeTempDir("rustfs-bench-")

const liveProcs = new Set() // { name, proc, stop() }
const dataDirs = new Set() // every RustFS data dir we created (for the final postgres check)


/** Resolves true when `proc` has exited, false after `ms` (the timer never keeps the bench alive). */

const serverEnv = (dataDir, port, masterKey) => {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith("RUSTFS_")) delete env[k]
  Object.assign(env, {
    RUSTFS_DATA_DIR: dataDir,
    RUSTFS_REQUIRE_API_KEY: "false",
    RUSTFS_PORT: String(port),
    RUSTFS_MAX_UPLOAD_BYTES: String(2 * 1024 * MiB)
  })
  if (masterKey !== undefined) env.RUSTFS_MASTER_KEY = masterKey
  return env
}

let serverSeq = 0
/** Servers that needed SIGKILL or left their PostgreSQL running (reported in the output). */
const shutdownProblems = []
/** Servers that exited without being asked to (crashes). */
const unexpectedExits = []
/** Start-ups during which a /readyz request was accepted but never answered. */
const readinessHangs = []

/** Starts `node dist/rustfs.js` and waits for /readyz 200; `ready_ms` is spawn → first 200. */
const startRustfs = async ({ dataDir, masterKey, pollMs = 20, timeoutMs = 180_000 }) => {
  if (aborted) throw new Error("aborted")
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 })
  fs.chmodSync(dataDir, 0o755)
  dataDirs.add(dataDir)
  const port = await freePort()
  const name = `rustfs#${++serverSeq}`
  const logFile = path.join(TMP, `${name.replace("#", "-")}.log`)
  const out = fs.openSync(logFile, "a")
  const t0 = performance.now()
  const proc = spawn(process.execPath, [SERVER_JS], {
    cwd: ROOT,
    env: serverEnv(dataDir, port, masterKey),
    stdio: ["ignore", out, out]
  })
  fs.closeSync(out)
  const base = `http://127.0.0.1:${port}`
  const server = {
    name, proc, pid: proc.pid, port, base, dataDir, logFile, encrypted: masterKey !== undefined, ready_ms: 0,
    /** SIGTERM, wait for exit (the server stops its PostgreSQL), verify no postgres is left. */
    async stop() {
      liveProcs.delete(server)
      stopping = true
      const s = performance.now()
      const sigkill = await terminate(proc, 30_000, `  WARNING: ${name} did not exit within 30 s of SIGTERM: SIGKILL`)
      const shutdown_ms = performance.now() - s
      const postgres_left_running = stopLeftoverPostgres(dataDir)
      if (sigkill || postgres_left_running) shutdownProblems.push({ server: name, sigkill, postgres_left_running })
      return { shutdown_ms, exit_code: proc.exitCode, signal: proc.signalCode, sigkill, postgres_left_running }
    }
  }
  liveProcs.add(server)
  let stopping = false
  proc.on("error", (e) => log(`  ${name}: ${e.message}`))
  proc.on("exit", (code, signal) => {
    if (stopping) return
    const at = ((performance.now() - t0) / 1000).toFixed(1)
    unexpectedExits.push({ server: name, encrypted: masterKey !== undefined, code, signal, after_s: Number(at) })
    log(`  WARNING: ${name} (pid ${proc.pid}) exited on its own after ${at} s: code ${code}, signal ${signal}; log tail:\n${tailOf(logFile, 1500)}`)
  })
  try {
    server.readiness = await waitReady({ url: `${base}/readyz`, proc, t0, pollMs, timeoutMs })
  } catch (e) {
    await server.stop()
    throw new Error(`${name} ${e.message}; log tail:\n${tailOf(logFile)}`)
  }
  server.ready_ms = server.readiness.ready_ms
  if (server.readiness.hung_requests > 0) {
    readinessHangs.push({ server: name, ready_ms: round(server.ready_ms, 0), ...server.readiness })
    log(`  WARNING: ${name}: ${server.readiness.hung_requests} /readyz request(s) sent during start-up were never answered ` +
      `(sent at ${server.readiness.hung_sent_at_ms.join(", ")} ms; ready at ${server.ready_ms.toFixed(0)} ms)`)
  }
  return server
}

/**
 * A minimal Node http server (child process). Every request body is read and discarded and a small
 * JSON answered, except two routes used as transfer baselines:
 *   POST /store   the body is hashed (sha256) and written to a temp file in STORE_DIR, fsynced
 *                 and renamed: the minimum a durable upload costs in plain Node (no multipart parsing)
 *   GET  /serve   streams the file named by SERVE_FILE (plain fs.createReadStream().pipe(res))
 */
const SINK_JS = `import http from "node:http"
import fs from "node:fs"
import path from "node:path"
import { createHash, randomUUID } from "node:crypto"
import { pipeline } from "node:stream/promises"
const answer = (res, status, obj) => {
  const body = JSON.stringify(obj)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
  res.end(body)
}
const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "POST" && req.url === "/store") {
      const dir = process.env.STORE_DIR
      const tmp = path.join(dir, randomUUID() + ".part")
      const hash = createHash("sha256")
      let bytes = 0
      req.on("data", (c) => { hash.update(c); bytes += c.length })
      await pipeline(req, fs.createWriteStream(tmp, { flags: "wx", flush: true }))
      const sha256 = hash.digest("hex")
      await fs.promises.rename(tmp, path.join(dir, sha256))
      const d = await fs.promises.open(dir, "r")
      await d.sync()
      await d.close()
      return answer(res, 200, { ok: true, sha256, bytes })
    }
    if (req.method === "GET" && req.url === "/serve") {
      const file = process.env.SERVE_FILE
      const { size } = await fs.promises.stat(file)
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": size })
      return await pipeline(fs.createReadStream(file), res)
    }
    let bytes = 0
    req.on("data", (c) => { bytes += c.length })
    req.on("end", () => answer(res, 200, { ok: true, bytes }))
  } catch (e) {
    if (!res.headersSent) answer(res, 500, { error: String(e) })
    else res.destroy()
  }
})
server.keepAliveTimeout = 5000
server.listen(Number(process.env.PORT), "127.0.0.1")
process.on("SIGTERM", () => process.exit(0))
`

const startSink = async ({ pollMs = 20, env = {} } = {}) => {
  if (aborted) throw new Error("aborted")
  const script = path.join(TMP, "sink-server.mjs")
  if (!fs.existsSync(script)) fs.writeFileSync(script, SINK_JS)
  const port = await freePort()
  const t0 = performance.now()
  const proc = spawn(process.execPath, [script], { env: { ...process.env, ...env, PORT: String(port) }, stdio: "ignore" })
  const base = `http://127.0.0.1:${port}`
  const sink = {
    name: "sink", proc, pid: proc.pid, base, ready_ms: 0,
    async stop() {
      liveProcs.delete(sink)
      await stopChild(proc)
      return {}
    }
  }
  liveProcs.add(sink)
  try {
    sink.readiness = await waitReady({ url: `${base}/readyz`, proc, t0, pollMs, timeoutMs: 30_000, graceMs: 0 })
  } catch (e) {
    await sink.stop()
    throw new Error(`baseline server ${e.message}`)
  }
  sink.ready_ms = sink.readiness.ready_ms
  return sink
}

// ------------------------------------------------------------------------------------------------
// the shared server for most sections, and direct SQL access to its embedded PostgreSQL

const MAIN_DIR = path.join(TMP, "main")
const MASTER_KEY = "bench-master-key-" + randomBytes(16).toString("hex")
let mainServer

/** The RustFS server on the main data dir, plain or encrypted (restarting it when the mode changes). */
const ensureServer = async (mode) => {
  const encrypted = mode === "encrypted"
  if (mainServer && mainServer.encrypted === encrypted && mainServer.proc.exitCode === null) return mainServer
  if (mainServer) {
    log(`  restarting ${mainServer.name} (${encrypted ? "with" : "without"} RUSTFS_MASTER_KEY)`)
    await mainServer.stop()
    mainServer = undefined
  }
  log(`  starting RustFS (${mode}) on ${MAIN_DIR}`)
  mainServer = await startRustfs({ dataDir: MAIN_DIR, masterKey: encrypted ? MASTER_KEY : undefined })
  log(`  ${mainServer.name} ready in ${mainServer.ready_ms.toFixed(0)} ms at ${mainServer.base} (pid ${mainServer.pid})`)
  return mainServer
}

/** Connection settings of a server's embedded PostgreSQL: credentials.json + owner.json (port). */
const pgConfigOf = (server, database = "openclaw") => {
  const dir = clusterDirOf(server.dataDir)
  const creds = JSON.parse(fs.readFileSync(path.join(dir, "credentials.json"), "utf8"))
  const owner = JSON.parse(fs.readFileSync(path.join(dir, "owner.json"), "utf8"))
  return { host: "127.0.0.1", port: owner.port, user: creds.user, password: creds.password, database }
}

const withPool = async (server, fn, { database, max = 4 } = {}) => {
  const pool = new pg.Pool({ ...pgConfigOf(server, database), max, application_name: "rustfs-bench" })
  pool.on("error", (e) => log(`  pg pool: ${e.message}`))
  try {
    return await fn(pool)
  } finally {
    await pool.end().catch(() => undefined)
  }
}

// ------------------------------------------------------------------------------------------------
// 1. upload / download of one big file

const timeCommand = (cmd, args) => {
  const t0 = performance.now()
  const out = execFileSync(cmd, args, { stdio: ["ignore", "pipe", "inherit"], maxBuffer: 16 * MiB })
  return { ms: performance.now() - t0, out: out.toString("utf8") }
}

const writeRandomFile = (file, bytes) => {
  const fd = fs.openSync(file, "w")
  const buf = Buffer.allocUnsafe(4 * MiB)
  try {
    for (let left = bytes; left > 0;) {
      const n = Math.min(left, buf.length)
      randomFillSync(buf, 0, n)
      fs.writeSync(fd, buf, 0, n)
      left -= n
    }
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}

/** Single-core ChaCha20-Poly1305 in 64 KiB chunks (age's payload chunking), for the encrypted runs. */
const chachaMbPerS = (bytes) => {
  const key = randomBytes(32)
  const chunk = randomBytes(64 * 1024)
  const nonce = Buffer.alloc(12)
  const t0 = performance.now()
  for (let i = 0; i < bytes / chunk.length; i++) {
    nonce.writeUInt32BE(i, 7)
    const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 })
    c.update(chunk)
    c.final()
    c.getAuthTag()
  }
  return mbPerS(bytes, performance.now() - t0)
}

const benchTransfer = async () => {
  const size = SIZES.fileBytes
  const file = path.join(TMP, `random-${size / MiB}MiB.bin`)
  log(`  writing ${size / MiB} MiB of random bytes to ${file}`)
  writeRandomFile(file, size)

  log(`  baselines (${SIZES.baselineRuns} runs each): sha256sum, cp+sync, node read+sha256, node http store/serve`)
  const shaRuns = []
  let expected
  for (let i = 0; i < SIZES.baselineRuns; i++) {
    const r = timeCommand("sha256sum", [file])
    expected = r.out.split(/\s+/)[0]
    shaRuns.push(mbPerS(size, r.ms))
  }
  const copyRuns = []
  for (let i = 0; i < SIZES.baselineRuns; i++) {
    const copy = path.join(TMP, "copy.bin")
    const t0 = performance.now()
    execFileSync("cp", [file, copy])
    execFileSync("sync", [copy])
    copyRuns.push(mbPerS(size, performance.now() - t0))
    fs.rmSync(copy, { force: true })
  }
  const nodeShaRuns = []
  for (let i = 0; i < SIZES.baselineRuns; i++) {
    const t0 = performance.now()
    const hash = createHash("sha256")
    for await (const chunk of fs.createReadStream(file, { highWaterMark: MiB })) hash.update(chunk)
    if (hash.digest("hex") !== expected) throw new Error("node sha256 disagrees with sha256sum")
    nodeShaRuns.push(mbPerS(size, performance.now() - t0))
  }
  const chacha = chachaMbPerS(SIZES.cryptoBytes)
  // the same client against a minimal Node server that stores (hash + write + fsync + rename) and serves
  const storeDir = path.join(TMP, "node-store")
  fs.mkdirSync(storeDir)
  const sink = await startSink({ env: { STORE_DIR: storeDir, SERVE_FILE: file } })
  const nodeStoreRuns = []
  const nodeServeRuns = []
  let nodeStoreRss = 0
  try {
    for (let i = 0; i < SIZES.baselineRuns; i++) {
      const sampler = rssSampler([sink.pid])
      const up = await uploadStreaming(sink.base, file, { tenant_id: "x" }, "/store")
      nodeStoreRss = Math.max(nodeStoreRss, sampler.stop()[0])
      if (up.json.bytes <= size) throw new Error("node store baseline: short body")
      fs.rmSync(path.join(storeDir, up.json.sha256), { force: true })
      nodeStoreRuns.push(mbPerS(size, up.ms))
      const down = await downloadHashing(`${sink.base}/serve`)
      if (down.sha256 !== expected) throw new Error("node serve baseline: wrong sha256")
      nodeServeRuns.push(mbPerS(size, down.ms))
    }
  } finally {
    await sink.stop()
    fs.rmSync(storeDir, { recursive: true, force: true })
  }
  const baseline = {
    sha256sum_mb_s: median(shaRuns),
    copy_mb_s: median(copyRuns),
    node_read_sha256_mb_s: median(nodeShaRuns),
    chacha20poly1305_mb_s: chacha,
    node_http_store_mb_s: median(nodeStoreRuns),
    node_http_store_peak_rss_mb: nodeStoreRss,
    node_http_serve_mb_s: median(nodeServeRuns),
    runs: {
      sha256sum_mb_s: shaRuns, copy_mb_s: copyRuns, node_read_sha256_mb_s: nodeShaRuns,
      node_http_store_mb_s: nodeStoreRuns, node_http_serve_mb_s: nodeServeRuns
    }
  }
  log(`  sha256sum ${baseline.sha256sum_mb_s} MiB/s, cp+sync ${baseline.copy_mb_s} MiB/s, ` +
    `node read+sha256 ${baseline.node_read_sha256_mb_s} MiB/s, chacha20-poly1305 ${chacha} MiB/s, ` +
    `node http store ${baseline.node_http_store_mb_s} MiB/s, node http serve ${baseline.node_http_serve_mb_s} MiB/s`)

  const upload = {}
  const download = {}
  for (const mode of ["plain", "encrypted"]) {
    const server = await ensureServer(mode)
    const tenant = `bench-${mode}`
    const rssBefore = round(readRss(server.pid) / MiB, 1)

    log(`  upload ${mode}`)
    let sampler = rssSampler([server.pid, process.pid])
    let cpu = cpuMeter(server)
    const up = await uploadStreaming(server.base, file, { tenant_id: tenant })
    let [serverPeak, clientPeak] = sampler.stop()
    let cpuUsed = cpu.stop()
    if (up.json.file_id !== expected || up.json.size !== size) {
      throw new Error(`upload answered file_id ${up.json.file_id} size ${up.json.size}, expected ${expected} size ${size}`)
    }
    if (up.json.encrypted !== (mode === "encrypted")) throw new Error(`upload answered encrypted=${up.json.encrypted} in ${mode} mode`)
    upload[mode] = {
      mb_s: mbPerS(size, up.ms),
      seconds: round(up.ms / 1000),
      server_peak_rss_mb: serverPeak,
      server_rss_before_mb: rssBefore,
      client_peak_rss_mb: clientPeak,
      cpu: cpuUsed
    }
    log(`  upload ${mode}: ${upload[mode].mb_s} MiB/s, server peak RSS ${serverPeak} MiB (before ${rssBefore})`)

    log(`  download ${mode}`)
    const rssBeforeDown = round(readRss(server.pid) / MiB, 1)
    sampler = rssSampler([server.pid, process.pid])
    cpu = cpuMeter(server)
    const down = await downloadHashing(`${server.base}/v1/files/${expected}?tenant_id=${tenant}`)
    ;[serverPeak, clientPeak] = sampler.stop()
    cpuUsed = cpu.stop()
    if (down.sha256 !== expected || down.bytes !== size) {
      throw new Error(`download of ${mode} file: sha256 ${down.sha256} (${down.bytes} bytes), expected ${expected} (${size})`)
    }
    download[mode] = {
      mb_s: mbPerS(size, down.ms),
      seconds: round(down.ms / 1000),
      ttfb_ms: round(down.ttfb_ms),
      sha256_verified: true,
      server_peak_rss_mb: serverPeak,
      server_rss_before_mb: rssBeforeDown,
      client_peak_rss_mb: clientPeak,
      cpu: cpuUsed
    }
    log(`  download ${mode}: ${download[mode].mb_s} MiB/s (first byte after ${download[mode].ttfb_ms} ms), server peak RSS ${serverPeak} MiB`)
  }
  fs.rmSync(file, { force: true })

  const b = baseline
  return {
    upload_1gib: {
      file_mb: size / MiB,
      ...upload,
      baseline: b,
      ratios: {
        plain_vs_copy: ratio(upload.plain.mb_s, b.copy_mb_s),
        plain_vs_sha256sum: ratio(upload.plain.mb_s, b.sha256sum_mb_s),
        plain_vs_node_read_sha256: ratio(upload.plain.mb_s, b.node_read_sha256_mb_s),
        plain_vs_node_http_store: ratio(upload.plain.mb_s, b.node_http_store_mb_s),
        encrypted_vs_node_http_store: ratio(upload.encrypted.mb_s, b.node_http_store_mb_s),
        encrypted_vs_copy: ratio(upload.encrypted.mb_s, b.copy_mb_s),
        encrypted_vs_plain: ratio(upload.encrypted.mb_s, upload.plain.mb_s)
      }
    },
    download_1gib: {
      file_mb: size / MiB,
      ...download,
      baseline: b,
      ratios: {
        plain_vs_sha256sum: ratio(download.plain.mb_s, b.sha256sum_mb_s),
        plain_vs_node_read_sha256: ratio(download.plain.mb_s, b.node_read_sha256_mb_s),
        plain_vs_node_http_serve: ratio(download.plain.mb_s, b.node_http_serve_mb_s),
        encrypted_vs_node_http_serve: ratio(download.encrypted.mb_s, b.node_http_serve_mb_s),
        plain_vs_copy: ratio(download.plain.mb_s, b.copy_mb_s),
        encrypted_vs_sha256sum: ratio(download.encrypted.mb_s, b.sha256sum_mb_s),
        encrypted_vs_plain: ratio(download.encrypted.mb_s, download.plain.mb_s)
      }
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 2. small uploads

const smallUploadTask = (base, tenant, counters) => async (n) => {
  const boundary = "rustfsbench" + randomBytes(8).toString("hex")
  const { head, tail } = multipartParts(boundary, { tenant_id: tenant }, { filename: `small-${n}.bin`, contentType: "application/octet-stream" })
  const body = Buffer.concat([head, randomBytes(4096), tail])
  const res = await request(`${base}/v1/files`, {
    method: "POST",
    body,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(body.length) }
  })
  const json = jsonOf(res, "small upload")
  if (json.ok !== true) throw new Error(`small upload: ${res.body.toString().slice(0, 200)}`)
  if (json.deduplicated === true) counters.deduplicated++
}

/**
 * Reference for the disk: what RustFS must at least do per small file (temp file, fsync, rename,
 * fsync of the directory), `count` times at the same concurrency, in this process.
 */
const fsyncFloor = async (count) => {
  const dir = path.join(TMP, "fsync-floor")
  fs.mkdirSync(dir, { recursive: true })
  const r = await runLanes({
    concurrency: CONCURRENCY,
    count,
    task: async (n) => {
      const tmp = path.join(dir, `${n}.part`)
      const fh = await fs.promises.open(tmp, "wx")
      await fh.writeFile(randomBytes(4096))
      await fh.sync()
      await fh.close()
      await fs.promises.rename(tmp, path.join(dir, String(n)))
      const d = await fs.promises.open(dir, "r")
      await d.sync()
      await d.close()
    }
  })
  fs.rmSync(dir, { recursive: true, force: true })
  return round(r.done / (r.ms / 1000), 1)
}

const benchSmall = async () => {
  const server = await ensureServer("plain")
  const tenant = "bench-small"
  const counters = { deduplicated: 0 }
  const task = smallUploadTask(server.base, tenant, counters)
  await runLanes({ concurrency: CONCURRENCY, count: SIZES.smallWarmup, task: (n) => task(1e9 + n) })
  log(`  RustFS: 4 KiB uploads, concurrency ${CONCURRENCY}, ${SIZES.smallSeconds} s`)
  const cpu = cpuMeter(server)
  const r = await runLanes({ concurrency: CONCURRENCY, durationMs: SIZES.smallSeconds * 1000, task })
  const cpuUsed = cpu.stop()
  const filesPerS = round(r.done / (r.ms / 1000), 1)
  log(`  RustFS: ${r.done} files in ${(r.ms / 1000).toFixed(1)} s = ${filesPerS}/s (${r.errors} errors)`)

  const sink = await startSink()
  try {
    const sinkTask = smallUploadTask(sink.base, tenant, { deduplicated: 0 })
    await runLanes({ concurrency: CONCURRENCY, count: SIZES.smallWarmup, task: sinkTask })
    log(`  baseline: ${r.done} requests to a minimal node http server`)
    const b = await runLanes({ concurrency: CONCURRENCY, count: r.done, task: sinkTask })
    const baselinePerS = round(b.done / (b.ms / 1000), 1)
    log(`  baseline: ${baselinePerS} requests/s`)
    const floor = await fsyncFloor(r.done)
    log(`  reference: ${floor} files/s for write 4 KiB + fsync + rename + fsync dir (no HTTP, no SQL)`)
    return {
      file_bytes: 4096,
      concurrency: CONCURRENCY,
      files: r.done,
      seconds: round(r.ms / 1000),
      files_per_s: filesPerS,
      latency: latencyStats(r.latencies),
      errors: r.errors,
      deduplicated: counters.deduplicated,
      baseline_requests_per_s: baselinePerS,
      baseline_latency: latencyStats(b.latencies),
      ratio: ratio(filesPerS, baselinePerS),
      cpu: cpuUsed,
      server_cpu_ms_per_file: round((cpuUsed.server_s * 1000) / r.done),
      postgres_cpu_ms_per_file: round((cpuUsed.postgres_s * 1000) / r.done),
      reference_fsync_files_per_s: floor
    }
  } finally {
    await sink.stop()
  }
}

// ------------------------------------------------------------------------------------------------
// 3. claims

const insertPending = (pool, tenant, n, baseMs) =>
  pool.query(
    `INSERT INTO rustfs_files (tenant_id, file_id, filename, mime, size, created_at_ms, extract_status, extract_updated_at_ms)
     SELECT $1::text, encode(sha256(convert_to($1::text || ':' || i, 'UTF8')), 'hex'), 'doc-' || i || '.txt',
            'text/plain', 4096, $2::bigint + i, 'pending', $2::bigint + i
     FROM generate_series(1, $3::int) AS i`,
    [tenant, baseMs, n]
  )

const benchClaims = async () => {
  const server = await ensureServer("plain")
  const n = SIZES.claimFiles
  const tenant = "bench-claims"
  log(`  inserting ${n} pending rows`)
  await withPool(server, async (pool) => {
    await insertPending(pool, tenant, n, Date.now() - n - 60_000)
    await pool.query("ANALYZE rustfs_files")
  })

  log(`  RustFS: ${CONCURRENCY} claimers, batches of ${CLAIM_BATCH}, until drained`)
  const seen = new Map()
  let claimRequests = 0
  let statusRequests = 0
  const claimLatency = []
  const claimer = async () => {
    while (true) {
      const s = performance.now()
      const r = await postJson(`${server.base}/v1/files/claim_extract`, { tenant_id: tenant, limit: CLAIM_BATCH, lease_ms: LEASE_MS }, "claim")
      claimLatency.push(performance.now() - s)
      claimRequests++
      if (r.items.length === 0) return
      for (const item of r.items) {
        seen.set(item.file_id, (seen.get(item.file_id) ?? 0) + 1)
        await postJson(
          `${server.base}/v1/files/${item.file_id}/extract_status`,
          { tenant_id: tenant, status: "indexed", lease_token: item.lease_token },
          "extract_status"
        )
        statusRequests++
      }
    }
  }
  const cpu = cpuMeter(server)
  const t0 = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, claimer))
  const ms = performance.now() - t0
  const cpuUsed = cpu.stop()
  const claimed = [...seen.values()].reduce((a, b) => a + b, 0)
  const doubleClaims = [...seen.values()].filter((c) => c > 1).length
  const check = await withPool(server, (pool) =>
    pool.query(
      `SELECT count(*) FILTER (WHERE extract_status = 'indexed')::int AS indexed,
              count(*) FILTER (WHERE extract_attempt <> 1)::int AS not_once
       FROM rustfs_files WHERE tenant_id = $1`,
      [tenant]
    ).then((r) => r.rows[0]))
  const claimsPerS = round(claimed / (ms / 1000), 1)
  log(`  RustFS: ${claimed} claims in ${(ms / 1000).toFixed(1)} s = ${claimsPerS}/s; double claims ${doubleClaims}; indexed ${check.indexed}/${n}`)

  const baseline = await pgBossBaseline(server, n)
  return {
    files: n,
    batch: CLAIM_BATCH,
    concurrency: CONCURRENCY,
    claims_per_s: claimsPerS,
    seconds: round(ms / 1000),
    claim_requests: claimRequests,
    status_requests: statusRequests,
    claim_latency: latencyStats(claimLatency),
    // how claim latency evolves as the backlog drains (first vs last tenth of the claim requests)
    claim_latency_first_tenth: latencyStats(claimLatency.slice(0, Math.ceil(claimLatency.length / 10))),
    claim_latency_last_tenth: latencyStats(claimLatency.slice(-Math.ceil(claimLatency.length / 10))),
    cpu: cpuUsed,
    double_claims: doubleClaims,
    verified_indexed: check.indexed,
    rows_with_attempt_not_1: check.not_once,
    baseline,
    ratio: ratio(claimsPerS, baseline.jobs_per_s)
  }
}

/** The same fetch-batch-then-complete-each loop with pg-boss, in its own database on the same cluster. */
const pgBossBaseline = async (server, n) => {
  let PgBoss
  try {
    PgBoss = (await import("pg-boss")).default
  } catch (e) {
    return { tool: "pg-boss", error: `pg-boss is not installed (${e.message}); run npm install` }
  }
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", "pg-boss", "package.json"), "utf8")).version
  const database = "bench_pgboss"
  await withPool(server, async (pool) => {
    const found = await pool.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])
    if (found.rowCount === 0) await pool.query(`CREATE DATABASE ${database}`)
  }, { database: "postgres", max: 1 })
  const cfg = pgConfigOf(server, database)
  const boss = new PgBoss({
    ...cfg,
    schema: "pgboss",
    max: 10, // RustFS's pool size (pg's default)
    supervise: false, // no maintenance/monitoring queries competing with the measurement
    schedule: false,
    application_name: "rustfs-bench-pgboss"
  })
  boss.on("error", (e) => log(`  pg-boss: ${e.message}`))
  await boss.start()
  try {
    const queue = "bench-claims"
    await boss.createQueue(queue)
    log(`  pg-boss ${version}: inserting ${n} jobs`)
    for (let i = 0; i < n; i += 1000) {
      await boss.insert(Array.from({ length: Math.min(1000, n - i) }, (_, k) => ({ name: queue, data: { i: i + k } })))
    }
    await withPool(server, (pool) => pool.query("ANALYZE"), { database, max: 1 })
    log(`  pg-boss: ${CONCURRENCY} workers, fetch batches of ${CLAIM_BATCH}, complete each job`)
    const seen = new Map()
    const worker = async () => {
      while (true) {
        const jobs = await boss.fetch(queue, { batchSize: CLAIM_BATCH })
        if (!jobs || jobs.length === 0) return
        for (const job of jobs) {
          seen.set(job.id, (seen.get(job.id) ?? 0) + 1)
          await boss.complete(queue, job.id)
        }
      }
    }
    const cpu = cpuMeter(server, { includeServer: false })
    const t0 = performance.now()
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    const ms = performance.now() - t0
    const cpuUsed = cpu.stop()
    const jobs = [...seen.values()].reduce((a, b) => a + b, 0)
    const completed = await withPool(server, (pool) =>
      pool.query("SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state = 'completed'", [queue]).then((r) => r.rows[0].n),
      { database, max: 1 })
    const jobsPerS = round(jobs / (ms / 1000), 1)
    log(`  pg-boss: ${jobs} jobs in ${(ms / 1000).toFixed(1)} s = ${jobsPerS}/s; completed ${completed}/${n}`)
    return {
      tool: "pg-boss",
      version,
      jobs,
      jobs_per_s: jobsPerS,
      seconds: round(ms / 1000),
      double_claims: [...seen.values()].filter((c) => c > 1).length,
      verified_completed: completed,
      cpu: cpuUsed
    }
  } finally {
    await boss.stop({ graceful: false, wait: true, timeout: 5000 }).catch((e) => log(`  pg-boss stop: ${e.message}`))
  }
}

// ------------------------------------------------------------------------------------------------
// 4. list latency

const LIST_SQL = (withQ, withCursor) => {
  const conds = ["tenant_id = $1", "deleted_at_ms IS NULL"]
  const params = []
  let i = 2
  if (withQ) {
    conds.push(`(filename ILIKE $${i} ESCAPE '\\' OR file_id LIKE $${i + 1} ESCAPE '\\')`)
    i += 2
  }
  if (withCursor) conds.push(`(created_at_ms, file_id) < ($${i}, $${i + 1})`)
  return `SELECT * FROM rustfs_files WHERE ${conds.join(" AND ")} ORDER BY created_at_ms DESC, file_id DESC LIMIT ${LIST_LIMIT + 1}`
}

const likePattern = (q) => "%" + q.replace(/[\\%_]/g, (c) => "\\" + c) + "%"

const benchList = async () => {
  const server = await ensureServer("plain")
  const tenant = "bench-list"
  const n = SIZES.listRows
  const baseMs = Date.now() - 10 * n - 60_000
  log(`  inserting ${n} rows into one tenant`)
  const picks = await withPool(server, async (pool) => {
    // created_at_ms repeats every 2 rows, so the (created_at_ms, file_id) tie-break is exercised
    await pool.query(
      `INSERT INTO rustfs_files (tenant_id, file_id, session_id, filename, mime, size, created_at_ms, source,
         extract_status, extract_updated_at_ms, extract_attempt)
       SELECT $1::text, encode(sha256(convert_to($1::text || ':' || i, 'UTF8')), 'hex'), 'session-' || (i % 50),
         (ARRAY['Report ', 'photo_', 'invoice-', 'notes '])[1 + i % 4] || lpad(i::text, 7, '0') ||
           (ARRAY['.pdf', '.jpg', '.pdf', '.txt'])[1 + i % 4],
         (ARRAY['application/pdf', 'image/jpeg', 'application/pdf', 'text/plain'])[1 + i % 4],
         1000 + (i * 7919) % 5000000, $2::bigint + (i / 2) * 10, 'bench', 'indexed', $2::bigint + i, 1
       FROM generate_series(1, $3::int) AS i`,
      [tenant, baseMs, n]
    )
    await pool.query("ANALYZE rustfs_files")
    const r = await pool.query(
      `SELECT file_id, filename FROM rustfs_files WHERE tenant_id = $1 ORDER BY random() LIMIT 20`,
      [tenant]
    )
    return r.rows
  })

  const url = (params) => `${server.base}/v1/files?` + new URLSearchParams({ tenant_id: tenant, limit: String(LIST_LIMIT), ...params })
  const listPage = async (params) => {
    const s = performance.now()
    const j = await getJson(url(params), "list")
    const ms = performance.now() - s
    if (!Array.isArray(j.items)) throw new Error("list: no items")
    return { ms, j }
  }

  // walk: follow next_cursor from the first page; keep each cursor with the key of the row it stands for
  log(`  walking ${SIZES.walkPages} pages to collect cursors`)
  const cursors = []
  const walkLatency = []
  let cursor
  let firstItems
  for (let p = 0; p < SIZES.walkPages; p++) {
    const { ms, j } = await listPage(cursor === undefined ? {} : { cursor })
    walkLatency.push(ms)
    if (p === 0) firstItems = j.items
    if (j.items.length !== LIST_LIMIT) throw new Error(`list page ${p} has ${j.items.length} items`)
    if (j.next_cursor === null) break
    const last = j.items[j.items.length - 1]
    cursor = j.next_cursor
    cursors.push({ cursor, t: last.created_at_ms, id: last.file_id })
  }

  return await withPool(server, async (pool) => {
    const client = await pool.connect()
    try {
      // the server's query, run directly (same WHERE / ORDER BY / LIMIT, unnamed parameterised statement)
      const direct = async (q, c) => {
        const params = [tenant]
        if (q !== undefined) params.push(likePattern(q), likePattern(q).toLowerCase())
        if (c !== undefined) params.push(c.t, c.id)
        const s = performance.now()
        const r = await client.query(LIST_SQL(q !== undefined, c !== undefined), params)
        return { ms: performance.now() - s, rows: r.rows }
      }
      // sanity: the direct query returns what the server returned
      const check = await direct(undefined, undefined)
      if (check.rows.slice(0, LIST_LIMIT).map((r) => r.file_id).join() !== firstItems.map((i) => i.file_id).join()) {
        throw new Error("the direct SQL query does not return the server's first page")
      }

      const measure = async (label, samples, make) => {
        const server_ms = []
        const sql_ms = []
        for (let i = 0; i < 5; i++) {
          const { params, q, c } = make(i)
          await listPage(params)
          await direct(q, c)
        }
        for (let i = 0; i < samples; i++) {
          // interleaved, so both see the same background load
          const { params, q, c } = make(i)
          server_ms.push((await listPage(params)).ms)
          sql_ms.push((await direct(q, c)).ms)
        }
        const r = { ...latencyStats(server_ms), baseline_sql: latencyStats(sql_ms) }
        r.p50_ratio = ratio(r.p50_ms, r.baseline_sql.p50_ms)
        Object.defineProperty(r, "raw", { value: { server_ms, sql_ms }, enumerable: false, configurable: true })
        log(`  ${label}: p50 ${r.p50_ms} ms p95 ${r.p95_ms} ms; SQL p50 ${r.baseline_sql.p50_ms} ms p95 ${r.baseline_sql.p95_ms} ms`)
        return r
      }

      const samples = SIZES.listSamples
      const first_page = await measure("first page", samples, () => ({ params: {} }))
      const pick = () => cursors[Math.floor(Math.random() * cursors.length)]
      const cursor_pages = await measure("random cursor", samples, () => {
        const c = pick()
        return { params: { cursor: c.cursor }, q: undefined, c }
      })
      // substring searches: a frequent word (page fills fast), one file's number (1 hit: scans the
      // tenant), a file-id prefix (1 hit) and a string that matches nothing (full scan)
      const rare = picks.map((r) => /(\d{7})/.exec(r.filename)[1])
      const kinds = {
        frequent: (i) => ["report", "PHOTO", "invoice"][i % 3],
        one_filename: (i) => rare[i % rare.length],
        file_id_prefix: (i) => picks[i % picks.length].file_id.slice(0, 12),
        no_match: (i) => `zz-nothing-${i % 7}`
      }
      const qByKind = {}
      const perKind = Math.max(1, Math.round(samples / Object.keys(kinds).length))
      const allServer = []
      const allSql = []
      for (const [kind, make] of Object.entries(kinds)) {
        const r = await measure(`q=${kind}`, perKind, (i) => ({ params: { q: make(i) }, q: make(i) }))
        allServer.push(...r.raw.server_ms)
        allSql.push(...r.raw.sql_ms)
        delete r.raw
        qByKind[kind] = r
      }
      const q = { ...latencyStats(allServer), baseline_sql: latencyStats(allSql) }
      q.p50_ratio = ratio(q.p50_ms, q.baseline_sql.p50_ms)
      log(`  q (all kinds): p50 ${q.p50_ms} ms p95 ${q.p95_ms} ms; SQL p50 ${q.baseline_sql.p50_ms} ms`)
      return {
        rows_in_tenant: n,
        limit: LIST_LIMIT,
        cursors_from_walk: cursors.length,
        walk_pages: walkLatency.length,
        walk_latency: latencyStats(walkLatency),
        first_page,
        cursor_pages,
        q,
        q_by_kind: qByKind,
        note: "p50/p95 in ms; baseline_sql = the same query run directly with pg on the same database"
      }
    } finally {
      client.release()
    }
  })
}

// ------------------------------------------------------------------------------------------------
// 5. cold start

const benchColdStart = async () => {
  if (mainServer) {
    await mainServer.stop()
    mainServer = undefined
  }
  const dir = path.join(TMP, "cold")
  const stops = []
  log("  fresh data dir (initdb)")
  const fresh = await startRustfs({ dataDir: dir, pollMs: 10 })
  stops.push(await fresh.stop())
  log(`  fresh: ${fresh.ready_ms.toFixed(0)} ms to /readyz 200`)

  const hung = [fresh.readiness.hung_requests]
  const initialised = []
  for (let i = 0; i < SIZES.coldRuns; i++) {
    const s = await startRustfs({ dataDir: dir, pollMs: 10 })
    initialised.push(s.ready_ms)
    hung.push(s.readiness.hung_requests)
    stops.push(await s.stop())
    log(`  initialised data dir, run ${i + 1}: ${s.ready_ms.toFixed(0)} ms`)
  }
  const baseline = []
  for (let i = 0; i < SIZES.coldRuns; i++) {
    const s = await startSink({ pollMs: 10 })
    baseline.push(s.ready_ms)
    await s.stop()
  }
  log(`  baseline node http server: median ${median(baseline).toFixed(0)} ms`)
  const initMedian = median(initialised)
  const baseMedian = median(baseline)
  return {
    initialised_ms: round(initMedian, 0),
    initialised_runs_ms: initialised.map((x) => round(x, 0)),
    fresh_ms: round(fresh.ready_ms, 0),
    baseline_node_http_ms: round(baseMedian, 0),
    baseline_runs_ms: baseline.map((x) => round(x, 0)),
    ratio_initialised: ratio(initMedian, baseMedian),
    ratio_fresh: ratio(fresh.ready_ms, baseMedian),
    shutdown_ms: stops.map((s) => round(s.shutdown_ms, 0)),
    clean_exits: stops.filter((s) => s.exit_code === 0).length + "/" + stops.length,
    postgres_left_running: stops.filter((s) => s.postgres_left_running).length,
    poll_interval_ms: 10,
    // /readyz requests (one every 10 ms, each on a new connection) accepted but never answered,
    // per start (fresh first): must be 0
    readiness_requests_never_answered: hung
  }
}

// ------------------------------------------------------------------------------------------------
// main

const cleanup = makeCleanup({
  tmp: TMP, agent: keepAlive, liveProcs, dataDirs, leftoversOf: (p, r) => (r.postgres_left_running ? [p.name] : [])
})

onSignalsCleanUp(TMP, () => {
  aborted = true
}, cleanup)

const main = async () => {
  if (!fs.existsSync(SERVER_JS)) throw new Error(`${SERVER_JS} is missing: run npm run build first`)
  log(`temp dir ${TMP}; ${ARGS.quick ? "QUICK" : "full"} run; sections: ${[...ARGS.only].join(", ")}`)
  const result = {
    machine: machineInfo(),
    config: {
      quick: ARGS.quick,
      sections: [...ARGS.only],
      units: "mb_s = MiB/s (2^20 bytes per second); *_rss_mb = MiB; latencies in ms",
      sizes: SIZES
    }
  }
  const { section, failures } = sectionRunner({ enabled: (name) => ARGS.only.has(name), aborted: () => aborted })
  try {
    const transfer = await section("transfer", benchTransfer)
    if (transfer !== undefined) {
      if (transfer.error !== undefined) {
        result.upload_1gib = transfer
        result.download_1gib = transfer
      } else Object.assign(result, transfer)
    }
    const small = await section("small_uploads", benchSmall)
    if (small !== undefined) result.small_uploads = small
    const claims = await section("claims", benchClaims)
    if (claims !== undefined) result.claims = claims
    const list = await section("list", benchList)
    if (list !== undefined) result.list = list
    const cold = await section("cold_start", benchColdStart)
    if (cold !== undefined) result.cold_start = cold
  } finally {
    const leftovers = await cleanup()
    finishResult(result, {
      issuesKey: "server_issues",
      issues: {
        unexpected_exits: unexpectedExits,
        readiness_requests_never_answered: readinessHangs,
        shutdown_problems: shutdownProblems
      },
      leftovers,
      tmp: TMP
    })
  }
  if (aborted) return 130 // interrupted: the signal handler exits; no partial document
  return emitResult(result, ARGS.out, failures())
}

runMain(main, { agent: keepAlive, cleanup })
