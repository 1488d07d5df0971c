#!/usr/bin/env node
// Built-in embedder throughput: texts/s for 1,000 and 10,000 short texts, next to a baseline
// measured in the same run on the same texts (Intl.Segmenter word tokenization only, which the
// embedder does first). Prints ONE JSON document on stdout; progress goes to stderr.
//
//   node bench/embedder.mjs [--runs=5] [--dims=384]
//
// The service is bundled from src/services/Embedder.ts with esbuild into a temporary directory
// (removed afterwards), so no `npm run build` is needed. Takes about 3 s on the 2-core development machine.
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { build } from "esbuild"

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([a-z]+)=(\d+)$/.exec(a)
    if (m === null) throw new Error(`unknown argument "${a}" (known: --runs=N, --dims=N)`)
    return [m[1], Number(m[2])]
  })
)
const RUNS = args.runs ?? 5
const DIMS = args.dims ?? 384

const bundle = async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-embedder-bench-"))
  const outfile = path.join(dir, "embedder.mjs")
  await build({
    // One bundle holds the service and the `Effect` that runs it: a second copy of effect from
    // node_modules would not share the runtime's internals.
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
    logLevel: "warning"
  })
  return { dir, outfile }
}

// Short, memory-like texts: half English, a third Chinese, the rest mixed; every text distinct.
const SUBJECTS = ["the design team", "my daughter", "the backup server", "our billing database", "the new intern", "grandma"]
const EVENTS = ["moved the meeting to Thursday", "is allergic to peanuts", "runs every night at 2am", "migrated to PostgreSQL", "prefers dark mode", "loves chocolate cake"]
const ZH_SUBJECTS = ["设计团队", "我女儿", "备份服务器", "账单数据库", "新来的实习生", "奶奶"]
const ZH_EVENTS = ["把会议改到了周四", "对花生过敏", "每天凌晨两点运行", "迁移到了PostgreSQL", "喜欢深色模式", "最爱巧克力蛋糕"]

const makeTexts = (n) =>
  Array.from({ length: n }, (_, i) => {
    const a = i % 6
    const b = Math.floor(i / 6) % 6
    switch (i % 6) {
      case 0:
      case 1:
      case 2:
        return `Note ${i}: ${SUBJECTS[a]} ${EVENTS[b]}`
      case 3:
      case 4:
        return `第${i}条：${ZH_SUBJECTS[a]}${ZH_EVENTS[b]}`
      default:
        return `Note ${i}: ${SUBJECTS[a]} ${EVENTS[b]}，${ZH_SUBJECTS[b]}${ZH_EVENTS[a]}`
    }
  })

const segmenter = new Intl.Segmenter(undefined, { granularity: "word" })
const tokenizeOnly = (texts) => {
  let words = 0
  for (const text of texts) {
    for (const s of segmenter.segment(text.normalize("NFKC").toLowerCase())) if (s.isWordLike) words++
  }
  return words
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

const time = (f) => {
  const started = performance.now()
  f()
  return performance.now() - started
}

const main = async () => {
  const { dir, outfile } = await bundle()
  try {
    const { Effect, makeBuiltin } = await import(pathToFileURL(outfile).href)
    const embedder = makeBuiltin(DIMS)
    const embedAll = (texts) => Effect.runSync(embedder.embed(texts, "document"))

    // Warm-up so both sides run JIT-compiled code.
    const warm = makeTexts(2000)
    embedAll(warm)
    tokenizeOnly(warm)

    const sizes = {}
    for (const n of [1000, 10000]) {
      const texts = makeTexts(n)
      const embedMs = []
      const tokenizeMs = []
      for (let r = 0; r < RUNS; r++) {
        // Interleaved, so both sides see the same background load.
        tokenizeMs.push(time(() => tokenizeOnly(texts)))
        embedMs.push(time(() => embedAll(texts)))
      }
      const embedPerS = n / (median(embedMs) / 1000)
      const tokenizePerS = n / (median(tokenizeMs) / 1000)
      sizes[String(n)] = {
        texts: n,
        avg_chars: Math.round(texts.reduce((s, t) => s + t.length, 0) / n),
        builtin_embed: { median_ms: round(median(embedMs)), texts_per_s: Math.round(embedPerS), runs_ms: embedMs.map((x) => round(x)) },
        baseline_segmenter_only: {
          median_ms: round(median(tokenizeMs)),
          texts_per_s: Math.round(tokenizePerS),
          runs_ms: tokenizeMs.map((x) => round(x))
        },
        ratio_embed_vs_segmenter: round(embedPerS / tokenizePerS, 3),
        us_per_text: round((median(embedMs) * 1000) / n)
      }
      process.stderr.write(`${n} texts: ${Math.round(embedPerS)} texts/s (segmenter only ${Math.round(tokenizePerS)} texts/s)\n`)
    }
    const doc = {
      bench: "embedder",
      embedder: embedder.id,
      runs: RUNS,
      machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "unknown", node: process.version, loadavg: os.loadavg().map((x) => round(x)) },
      sizes
    }
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n")
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const round = (x, digits = 2) => Number(x.toFixed(digits))

await main()
