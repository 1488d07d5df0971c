// In-process retrieve latency for bench/memory.mjs: the deep-memory server's own layers (analyzer,
// embedder, embedded vector store, PostgreSQL graph tables, MemoryService) over an existing
// PostgreSQL, without HTTP. Bundled on the fly by the bench; run as
//
//   BENCH_DATABASE_URL=postgres://… node inprocess-retrieve.mjs [input.json]   (stdin without a file)
//
// input: { namespace, limit, warmup, queries: [{ text, expect? }] }. Prints ONE JSON line on stdout
// (per-query latencies in ms, in order, and the index load time); logs go to stderr.
//
// It only reads: the server it measures beside owns the schema (no migrator here), the session is
// read-only when the URL asks for it, and the vector index is rebuilt from the rows and never
// snapshotted (no `snapshotPath`), so the server's next start is unaffected.
import * as fs from "node:fs"
import { performance } from "node:perf_hooks"
import { FetchHttpClient } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { Config, Context, Effect, Layer, Logger, Schema } from "effect"
import { Analyzer } from "../src/services/Analyzer.js"
import * as Database from "../src/services/Database.js"
import { Embedder, embedderLayerFromConfig } from "../src/services/Embedder.js"
import { PgGraphStoreLive } from "../src/services/graph/PgGraphStore.js"
import { MemoryService } from "../src/services/MemoryService.js"
import { embeddedVectorStoreLayer } from "../src/services/vector/EmbeddedVectorStore.js"

const Input = Schema.Struct({
  namespace: Schema.String,
  limit: Schema.Int,
  warmup: Schema.optionalWith(Schema.Int, { default: () => 0 }),
  queries: Schema.Array(Schema.Struct({ text: Schema.String, expect: Schema.optional(Schema.String) }))
})

const SqlLive = Layer.unwrapEffect(
  Effect.map(Config.redacted("BENCH_DATABASE_URL"), (url) => Database.layerUrl(url, { applicationName: "deep-memory-bench" }))
)

const VectorStoreLive = Layer.unwrapEffect(
  Effect.map(Embedder, (embedder) => embeddedVectorStoreLayer(embedder.dimensions, embedder.id))
)

/** What `DeepMemoryAppLive` builds below the HTTP layer, minus migrations, queues and background work. */
const MemoryLive = MemoryService.Default.pipe(
  Layer.provideMerge(Layer.mergeAll(VectorStoreLive, PgGraphStoreLive, Analyzer.Default)),
  Layer.provideMerge(embedderLayerFromConfig.pipe(Layer.provide(FetchHttpClient.layer)))
)

const readInput = Effect.gen(function*() {
  const file = process.argv[2]
  const text = yield* Effect.promise(() => file === undefined ? readStdin() : fs.promises.readFile(file, "utf8"))
  return yield* Schema.decodeUnknown(Schema.parseJson(Input))(text)
})

const readStdin = async () => {
  const chunks: Array<Buffer> = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString("utf8")
}

const program = Effect.gen(function*() {
  const input = yield* readInput
  const loadStart = performance.now()
  const context = yield* Layer.build(MemoryLive)
  const indexLoadMs = performance.now() - loadStart
  const memory = Context.get(context, MemoryService)
  const retrieve = (text: string) => memory.retrieve({ namespace: input.namespace, query: text, limit: input.limit, explain: false })

  for (const q of input.queries.slice(0, input.warmup)) yield* retrieve(q.text)

  const latencies: Array<number> = []
  let hits = 0
  for (const q of input.queries) {
    const start = performance.now()
    const items = yield* retrieve(q.text)
    latencies.push(performance.now() - start)
    if (q.expect !== undefined && items.some((i) => i.memory.payload.content === q.expect)) hits++
  }
  const withExpectation = input.queries.filter((q) => q.expect !== undefined).length
  process.stdout.write(JSON.stringify({
    index_load_ms: indexLoadMs,
    latencies_ms: latencies,
    target_memory_in_top: withExpectation === 0 ? null : hits / withExpectation,
    rss_mb: process.memoryUsage().rss / 1024 ** 2
  }) + "\n")
}).pipe(
  Effect.scoped,
  Effect.provide(SqlLive),
  Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger)))
)

NodeRuntime.runMain(program, { disablePrettyLogger: true })
