#!/usr/bin/env node
// Benchmarks src/services/VectorIndex.ts: exact scan vs usearch HNSW settings, on random and clustered
// unit vectors. Every case runs in its own child process so the RSS delta belongs to that case alone.
// Prints one JSON document on stdout (progress on stderr).
//
//   node bench/vector-index.mjs            # full: 10k and 100k × 384, sweep of HNSW settings at 10k
//   node bench/vector-index.mjs --quick    # 10k only, fewer queries, no sweep
//   node bench/vector-index.mjs --out=result.json
import { execFileSync, fork } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const DIMS = 384
const K = 10

// ---------------------------------------------------------------- data

const mulberry32 = (seed) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const gaussian = (rand) => {
  let spare
  return () => {
    if (spare !== undefined) {
      const s = spare
      spare = undefined
      return s
    }
    const u = rand() || 1e-12
    const v = rand()
    const r = Math.sqrt(-2 * Math.log(u))
    spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

const normalizeRow = (m, row, d) => {
  let s = 0
  for (let j = 0; j < d; j++) s += m[row * d + j] ** 2
  const f = 1 / Math.sqrt(s)
  for (let j = 0; j < d; j++) m[row * d + j] *= f
}

/**
 * "random": isotropic unit vectors (the hardest case for any ANN, no structure to exploit).
 * "clustered": n/100 centres of uneven popularity, points at cosine ≈ 0.8 from their centre, queries
 * drawn the same way (closer to real sentence embeddings, which are far from isotropic).
 */
const generate = (kind, n, queries, seed) => {
  const rand = mulberry32(seed)
  const g = gaussian(rand)
  const total = n + queries
  const m = new Float32Array(total * DIMS)
  if (kind === "random") {
    for (let i = 0; i < m.length; i++) m[i] = g()
  } else {
    const centres = Math.max(8, Math.round(n / 100))
    const c = new Float32Array(centres * DIMS)
    for (let i = 0; i < c.length; i++) c[i] = g()
    for (let i = 0; i < centres; i++) normalizeRow(c, i, DIMS)
    const sigma = 0.75 / Math.sqrt(DIMS)
    for (let row = 0; row < total; row++) {
      const centre = Math.floor(centres * rand() ** 2) // skewed: some topics are much bigger
      for (let j = 0; j < DIMS; j++) m[row * DIMS + j] = c[centre * DIMS + j] + sigma * g()
    }
  }
  for (let row = 0; row < total; row++) normalizeRow(m, row, DIMS)
  return { data: m.subarray(0, n * DIMS), queries: m.subarray(n * DIMS) }
}

// ---------------------------------------------------------------- helpers

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
const summarize = (samples) => {
  const s = [...samples].sort((a, b) => a - b)
  const r = (x) => Math.round(x * 1000) / 1000
  return { p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), mean: r(s.reduce((a, b) => a + b, 0) / s.length) }
}
const round = (x, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits
const mib = (bytes) => round(bytes / 2 ** 20)
const rss = () => {
  globalThis.gc?.()
  return process.memoryUsage().rss
}
const time = (f) => {
  const t = performance.now()
  const value = f()
  return [performance.now() - t, value]
}
const timeAsync = async (f) => {
  const t = performance.now()
  const value = await f()
  return [performance.now() - t, value]
}
const recall = (found, truth) => {
  let hit = 0
  let total = 0
  for (let i = 0; i < truth.length; i++) {
    const want = new Set(truth[i])
    total += want.size
    for (const key of found[i]) if (want.has(key)) hit++
  }
  return total === 0 ? 1 : round(hit / total, 4)
}
const row = (m, i) => m.subarray(i * DIMS, (i + 1) * DIMS)

// ---------------------------------------------------------------- one case (child process)

const runCase = async (spec) => {
  const { createIndex, loadIndex } = await import(spec.bundle)
  const { data, queries } = generate(spec.dataset, spec.n, spec.queries + spec.inserts, spec.seed)
  const n = spec.n
  const keys = Array.from({ length: n }, (_, i) => i)
  const before = rss()
  const index = createIndex({ dimensions: DIMS, expectedSize: n, kind: spec.kind, ...(spec.hnsw ? { hnsw: spec.hnsw } : {}) })
  const [buildMs] = time(() => index.addMany(keys, data))
  const memoryMiB = mib(rss() - before)

  const q = (i) => row(queries, i)
  // warm up
  for (let i = 0; i < Math.min(5, spec.queries); i++) index.search(q(i), K)
  const latencies = []
  const found = []
  for (let i = 0; i < spec.queries; i++) {
    const [ms, hits] = time(() => index.search(q(i), K))
    latencies.push(ms)
    found.push(hits.map((h) => h.key))
  }

  const filters = {}
  for (const [name, mod] of [["10%", 10], ["1%", 100]]) {
    const lat = []
    const res = []
    const allow = (key) => key % mod === 0
    for (let i = 0; i < spec.filterQueries; i++) {
      const [ms, hits] = time(() => index.search(q(i), K, allow))
      lat.push(ms)
      res.push(hits.map((h) => h.key))
    }
    filters[name] = { search_ms: summarize(lat), found: res }
  }
  {
    const among = keys.filter((k) => k % 100 === 7)
    const lat = []
    const res = []
    for (let i = 0; i < spec.filterQueries; i++) {
      const [ms, hits] = time(() => index.searchAmong(q(i), K, among))
      lat.push(ms)
      res.push(hits.map((h) => h.key))
    }
    filters.among_1pct = { search_ms: summarize(lat), found: res }
  }

  const insertMs = []
  for (let i = 0; i < spec.inserts; i++) {
    const [ms] = time(() => index.add(n + i, q(spec.queries + i)))
    insertMs.push(ms)
  }
  const upsertMs = []
  for (let i = 0; i < spec.inserts; i++) {
    const [ms] = time(() => index.add(i, q(spec.queries + i)))
    upsertMs.push(ms)
  }
  const removeMs = []
  for (let i = 0; i < spec.inserts; i++) {
    const [ms] = time(() => index.remove(n + i))
    removeMs.push(ms)
  }
  // put the upserted rows back so the saved index matches the dataset again
  index.addMany(keys.slice(0, spec.inserts), data.subarray(0, spec.inserts * DIMS))

  const file = join(spec.dir, `${spec.name}.idx`)
  const [saveMs] = await timeAsync(() => index.save(file))
  let bytes = statSync(file).size
  try {
    bytes += statSync(`${file}.hnsw`).size
  } catch {}
  const [loadMs, loaded] = await timeAsync(() => loadIndex(file, DIMS))
  const loadedOk = loaded !== undefined && loaded.size === index.size && loaded.search(q(0), K)[0]?.key === index.search(q(0), K)[0]?.key

  return {
    build_ms: round(buildMs),
    build_per_vector_ms: round(buildMs / n, 3),
    memory_rss_delta_mib: memoryMiB,
    search_ms: summarize(latencies),
    insert_ms: summarize(insertMs),
    upsert_ms: summarize(upsertMs),
    remove_ms: summarize(removeMs),
    save_ms: round(saveMs),
    load_ms: round(loadMs),
    snapshot_mib: mib(bytes),
    load_round_trip_ok: loadedOk,
    found,
    filters
  }
}

// ---------------------------------------------------------------- orchestration

const runChild = (spec) =>
  new Promise((resolvePromise, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--case"], { execArgv: ["--expose-gc"], stdio: ["ignore", "ignore", "inherit", "ipc"] })
    child.once("message", (m) => (m.error ? reject(new Error(m.error)) : resolvePromise(m.result)))
    child.once("exit", (code) => code !== 0 && reject(new Error(`case ${spec.name} exited with ${code}`)))
    child.send(spec)
  })

const bundle = async (dir) => {
  const esbuild = await import("esbuild")
  const out = join(dir, "vector-index.mjs")
  await esbuild.build({
    entryPoints: [join(root, "src/services/VectorIndex.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    external: ["usearch"],
    outfile: out,
    logLevel: "silent"
  })
  return pathToFileURL(out).href
}

const main = async () => {
  const args = process.argv.slice(2)
  const quick = args.includes("--quick")
  const outArg = args.find((a) => a.startsWith("--out="))
  const started = performance.now()
  // the bundle imports "usearch", so it must sit where node resolves the project's node_modules
  const cache = join(root, "node_modules", ".cache")
  mkdirSync(cache, { recursive: true })
  const dir = mkdtempSync(join(cache, "vector-index-bench-"))
  const snapshots = mkdtempSync(join(tmpdir(), "vector-index-bench-"))
  const log = (...m) => process.stderr.write(`[${round((performance.now() - started) / 1000)}s] ${m.join(" ")}\n`)
  try {
    const url = await bundle(dir)
    const defaults = (await import(url)).defaultHnswSettings
    const sweep = quick
      ? []
      : [
          { quantization: "f32" },
          { quantization: "i8" },
          { expansionSearch: 64 },
          { expansionSearch: 256 },
          { expansionAdd: 64 },
          { connectivity: 32 }
        ]
    const plans = []
    for (const n of quick ? [10_000] : [10_000, 100_000]) {
      for (const dataset of ["clustered", "random"]) {
        const hnsw = [{ label: "hnsw", settings: defaults }]
        if (n === 10_000) {
          for (const change of dataset === "clustered" ? sweep : sweep.slice(0, 4)) {
            const label = `hnsw ${Object.entries(change).map(([k, v]) => `${k}=${v}`).join(",")}`
            hnsw.push({ label, settings: { ...defaults, ...change } })
          }
        }
        plans.push({ n, dataset, hnsw })
      }
    }

    const results = []
    for (const plan of plans) {
      const queries = quick ? 50 : plan.n >= 100_000 ? 100 : 200
      const base = {
        dataset: plan.dataset,
        n: plan.n,
        queries,
        filterQueries: quick ? 20 : 50,
        inserts: quick ? 50 : 200,
        seed: plan.dataset === "random" ? 1 : 2,
        bundle: url,
        dir: snapshots
      }
      log(`${plan.dataset} ${plan.n}: exact`)
      const exact = await runChild({ ...base, name: `${plan.dataset}-${plan.n}-exact`, kind: "exact" })
      const truth = exact.found
      const { found: _f, filters: exactFilters, ...exactFigures } = exact
      const entry = {
        dataset: plan.dataset,
        n: plan.n,
        queries,
        exact: {
          ...exactFigures,
          filtered_search_ms: Object.fromEntries(Object.entries(exactFilters).map(([k, v]) => [k, v.search_ms]))
        },
        hnsw: []
      }
      for (const { label, settings } of plan.hnsw) {
        log(`${plan.dataset} ${plan.n}: ${label}`)
        const r = await runChild({ ...base, name: `${plan.dataset}-${plan.n}-${label.replace(/[^a-z0-9]+/gi, "_")}`, kind: "hnsw", hnsw: settings })
        const { found, filters, ...figures } = r
        entry.hnsw.push({
          label,
          settings,
          recall_at_10: recall(found, truth),
          ...figures,
          filtered: Object.fromEntries(
            Object.entries(filters).map(([k, v]) => [k, { search_ms: v.search_ms, recall_at_10: recall(v.found, exactFilters[k].found) }])
          )
        })
        rmSync(join(snapshots, `${plan.dataset}-${plan.n}-${label.replace(/[^a-z0-9]+/gi, "_")}.idx`), { force: true })
      }
      results.push(entry)
    }

    let usearchVersion
    try {
      usearchVersion = JSON.parse(readFileSync(join(root, "node_modules/usearch/package.json"), "utf8")).version
    } catch {}
    let cpu = cpus()[0]?.model
    try {
      cpu = execFileSync("sh", ["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"], { encoding: "utf8" }).trim() || cpu
    } catch {}
    const doc = {
      bench: "vector-index",
      mode: quick ? "quick" : "full",
      dimensions: DIMS,
      k: K,
      node: process.version,
      usearch: usearchVersion,
      cpu,
      cpus: cpus().length,
      duration_s: round((performance.now() - started) / 1000),
      notes: [
        "times in ms; search_ms over single queries on one thread; insert/upsert/remove are single-key calls on an index of size n",
        "recall_at_10: share of the exact top-10 keys the HNSW search returned; filtered recall is against an exact filtered scan",
        "memory_rss_delta_mib: RSS growth of a fresh process across createIndex + addMany (includes the f32 rows the HNSW index keeps for re-scoring)"
      ],
      results
    }
    const json = JSON.stringify(doc, null, 2)
    process.stdout.write(`${json}\n`)
    if (outArg) writeFileSync(resolve(outArg.slice("--out=".length)), `${json}\n`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
    rmSync(snapshots, { recursive: true, force: true })
  }
}

if (process.argv.includes("--case")) {
  process.once("message", async (spec) => {
    try {
      process.send({ result: await runCase(spec) }, () => process.exit(0))
    } catch (error) {
      process.send({ error: String(error?.stack ?? error) }, () => process.exit(1))
    }
  })
} else {
  main().catch((error) => {
    process.stderr.write(`${error?.stack ?? error}\n`)
    process.exit(1)
  })
}
