import { FetchHttpClient } from "@effect/platform"
import { DeepMemoryMigrationsLive } from "../services/DeepMemoryMigrations.js"
import { DeepMemoryDatabaseLive, deepMemoryDataDir } from "../services/DeepMemoryServer.js"
import { embedderLayerFromConfig } from "../services/Embedder.js"
import { reindexEmbedded, reindexQdrant } from "../services/Reindex.js"
import { QdrantSettingsConfig } from "../services/vector/QdrantVectorStore.js"
import * as fs from "node:fs"
import * as path from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option, ParseResult, Schema } from "effect"
import * as E from "../domain/DeepMemoryErrors.js"
import { EvalDataset, type EvalMetrics, type EvalResult, type QueryResult } from "../domain/Eval.js"
import { aggregate, bm25Baseline, scoreQuery } from "../services/EvalScorer.js"
import { CliError, describeCause, failure, usage } from "./errors.js"
import { localTime, printable, printJson, printLines, table } from "./format.js"
import { root } from "./root.js"
import { type DeepMemory, type MemoryConnection, memoryOptions, withDeepMemory } from "./memoryClient.js"

const CONTENT_WIDTH = 100

/** One line of server-provided text, safe for a terminal and cut to `width` characters. */
const oneLine = (s: string, width = CONTENT_WIDTH): string => {
  const flat = printable(s.replace(/\s+/g, " ").trim())
  return flat.length > width ? flat.slice(0, width - 1) + "…" : flat
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

const fixed = (n: number) => n.toFixed(3)

/** Waits out `retry-after` answers (rate limits, overload) a few times before giving up. */
const retryingOverload = <A, Err, R>(effect: Effect.Effect<A, Err, R>, attempts = 5): Effect.Effect<A, Err, R> =>
  Effect.catchAll(effect, (error) => {
    const wait = E.retryAfterOf(error)
    if (wait === undefined || attempts <= 1) return Effect.fail(error)
    return Effect.sleep(`${Math.min(Math.max(wait, 1), 60)} seconds`).pipe(
      Effect.zipRight(retryingOverload(effect, attempts - 1))
    )
  })

// ---------------------------------------------------------------------------------------------
// ask

const ask = Command.make("ask", {
  ...memoryOptions,
  question: Args.text({ name: "question" }).pipe(Args.atLeast(1), Args.withDescription("what to look for")),
  session: Options.text("session").pipe(
    Options.repeated,
    Options.withDescription("only memories of this session (repeatable)")
  ),
  limit: Options.integer("limit").pipe(Options.optional, Options.withDescription("at most N memories, 1-100")),
  explain: Options.boolean("explain").pipe(Options.withDescription("show the score components of each memory"))
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      if (Option.isSome(o.limit) && (o.limit.value < 1 || o.limit.value > 100)) {
        return yield* usage("--limit must be between 1 and 100")
      }
      const question = o.question.join(" ").trim()
      if (question === "") return yield* usage("the question is empty")
      const result = yield* api.memory.retrieve({
        payload: {
          namespace: conn.namespace,
          user_input: question,
          ...(o.session.length > 0 ? { session_ids: o.session } : {}),
          ...Option.match(o.limit, { onNone: () => ({}), onSome: (max_memories) => ({ max_memories }) }),
          ...(o.explain ? { explain: true } : {})
        }
      })
      if (conn.json) return yield* printJson(result)
      if (result.memories.length === 0) return yield* Console.error("no memories found")
      const rows = result.memories.map((m, i) => [
        String(i + 1),
        fixed(m.relevance),
        m.kind ?? "-",
        oneLine(m.session_id ?? "-", 24),
        oneLine(m.content)
      ])
      const lines = table(["#", "RELEVANCE", "KIND", "SESSION", "CONTENT"], rows)
      if (!o.explain) return yield* printLines(lines)
      const explained = [lines[0]!]
      result.memories.forEach((m, i) => {
        explained.push(lines[i + 1]!)
        const e = m.explain
        explained.push(
          e === undefined
            ? "    (no score breakdown)"
            : `    id=${m.id} dense=${fixed(e.dense)} lexical=${fixed(e.lexical)} graph=${fixed(e.graph)} ` +
              `importance=${fixed(e.importance)} recency=${fixed(e.recency)} fused=${fixed(e.fused)}`
        )
      })
      yield* printLines(explained)
    }))).pipe(Command.withDescription("Retrieve the memories most relevant to a question"))

// ---------------------------------------------------------------------------------------------
// add

const add = Command.make("add", {
  ...memoryOptions,
  text: Args.text({ name: "text" }).pipe(Args.atLeast(1), Args.withDescription("what to remember")),
  session: Options.text("session").pipe(
    Options.withDefault("cli"),
    Options.withDescription("session to file the memory under (default cli)")
  ),
  wait: Options.boolean("wait").pipe(Options.withDescription("index now instead of queueing (async:false)"))
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      const text = o.text.join(" ").trim()
      if (text === "") return yield* usage("the text is empty")
      const result = yield* api.memory.update({
        payload: {
          namespace: conn.namespace,
          session_id: o.session,
          messages: [{ role: "user", content: text }],
          ...(o.wait ? { async: false, return_memory_ids: true } : {})
        }
      })
      if (conn.json) return yield* printJson(result)
      const parts = [
        `status: ${result.status}`,
        `memories added: ${result.memories_added}`,
        `filtered: ${result.memories_filtered}`
      ]
      if (result.task_id !== undefined) parts.push(`task: ${result.task_id}`)
      if (result.error !== undefined) parts.push(`reason: ${result.error}`)
      yield* Console.log(parts.join(", "))
      for (const id of result.memory_ids ?? []) yield* Console.log(`  ${id}`)
    }))).pipe(Command.withDescription("Remember a piece of text (one user message)"))

// ---------------------------------------------------------------------------------------------
// inspect

const inspect = Command.make("inspect", {
  ...memoryOptions,
  session: Args.text({ name: "session" }).pipe(Args.withDescription("session id")),
  content: Options.boolean("content").pipe(Options.withDescription("include each memory's text")),
  limit: Options.integer("limit").pipe(Options.optional, Options.withDescription("at most N memories, 1-1000"))
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      if (Option.isSome(o.limit) && (o.limit.value < 1 || o.limit.value > 1000)) {
        return yield* usage("--limit must be between 1 and 1000")
      }
      const r = yield* api.memory.inspect({
        payload: {
          namespace: conn.namespace,
          session_id: o.session,
          ...Option.match(o.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) }),
          ...(o.content ? { include_content: true } : {})
        }
      })
      if (conn.json) return yield* printJson(r)
      const freq = (items: ReadonlyArray<{ readonly name: string; readonly frequency: number }>) =>
        items.length === 0 ? "-" : items.slice(0, 10).map((t) => `${oneLine(t.name, 40)} (${t.frequency})`).join(", ")
      const lines = [
        `namespace  ${printable(r.namespace)}`,
        `session    ${printable(r.session_id)}`,
        `memories   ${r.totals.memories}`,
        `topics     ${freq(r.topics)}`,
        `entities   ${freq(r.entities)}`
      ]
      if (r.summary !== undefined && r.summary.trim() !== "") lines.push(`summary    ${oneLine(r.summary, 200)}`)
      if (r.memories.length > 0) {
        lines.push("")
        const header = ["ID", "IMPORTANCE", "KIND", "CREATED", ...(o.content ? ["CONTENT"] : [])]
        lines.push(...table(
          header,
          r.memories.map((m) => [
            m.id,
            m.importance === undefined ? "-" : m.importance.toFixed(2),
            m.kind ?? "-",
            m.created_at === undefined ? "-" : localTime(m.created_at),
            ...(o.content ? [m.content === undefined ? "-" : oneLine(m.content)] : [])
          ])
        ))
      }
      yield* printLines(lines)
    }))).pipe(Command.withDescription("Show what is remembered for a session"))

// ---------------------------------------------------------------------------------------------
// forget

const forget = Command.make("forget", {
  ...memoryOptions,
  session: Options.text("session").pipe(Options.optional, Options.withDescription("forget every memory of this session")),
  id: Options.text("id").pipe(Options.repeated, Options.withDescription("forget this memory (repeatable)")),
  dryRun: Options.boolean("dry-run").pipe(Options.withDescription("only list what would be removed")),
  yes: Options.boolean("yes").pipe(Options.withDescription("really delete"))
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      if (Option.isSome(o.session) === o.id.length > 0) {
        return yield* usage("give either --session ID or one or more --id ID")
      }
      const target = Option.match(o.session, {
        onNone: () => ({ memory_ids: o.id }),
        onSome: (session_id) => ({ session_id })
      })
      const what = Option.match(o.session, {
        onNone: () => `the given ${plural(o.id.length, "id")}`,
        onSome: (s) => `session ${printable(s)}`
      })
      if (o.dryRun || !o.yes) {
        const dry = yield* api.memory.forget({ payload: { namespace: conn.namespace, ...target, dry_run: true } })
        const count = dry.would_delete ?? dry.memory_ids?.length ?? 0
        if (o.dryRun) {
          if (conn.json) return yield* printJson(dry)
          yield* Console.log(`would remove ${plural(count, "memory", "memories")} of ${what} in namespace ${dry.namespace}`)
          for (const id of dry.memory_ids ?? []) yield* Console.log(`  ${id}`)
          return
        }
        if (count === 0) {
          if (conn.json) return yield* printJson(dry)
          return yield* Console.error(`nothing to forget: no memories of ${what} in namespace ${dry.namespace}`)
        }
        return yield* failure(
          `refusing to forget ${plural(count, "memory", "memories")} of ${what} without --yes ` +
            `(pass --yes to delete them, or --dry-run to list them)`
        )
      }
      const r = yield* api.memory.forget({ payload: { namespace: conn.namespace, ...target, async: false } })
      if (conn.json) return yield* printJson(r)
      if (r.status === "queued") {
        return yield* Console.log(`queued: forgetting ${what} in namespace ${r.namespace}${r.task_id === undefined ? "" : ` (task ${r.task_id})`}`)
      }
      const deleted = r.deleted ?? r.memory_ids?.length ?? 0
      const lines = [`removed ${plural(deleted, "memory", "memories")} of ${what} in namespace ${r.namespace}`]
      if (r.results !== undefined) {
        const x = r.results
        lines.push(
          `  vectors ${x.vectors}, graph nodes ${x.graph_nodes}, graph edges ${x.graph_edges}, ` +
            `lexical entries ${x.lexical_entries}, cache entries ${x.cache_entries}, queued tasks ${x.queued_tasks}`
        )
      }
      for (const id of r.memory_ids ?? []) lines.push(`  ${id}`)
      yield* printLines(lines)
    }))).pipe(Command.withDescription("Delete memories by session or by id (needs --yes, or --dry-run to preview)"))

// ---------------------------------------------------------------------------------------------
// eval

const decodeDataset = Schema.decodeUnknown(EvalDataset)

const loadDataset = (file: string) =>
  Effect.gen(function*() {
    const text = yield* Effect.try({
      try: () => fs.readFileSync(file, "utf8"),
      catch: (cause) => failure(`reading ${file}: ${describeCause(cause)}`)
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (cause) => failure(`${file} is not JSON: ${describeCause(cause)}`)
    })
    return yield* decodeDataset(json).pipe(
      Effect.mapError((error) => {
        const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
        const where = issue === undefined || issue.path.length === 0 ? "" : ` at ${issue.path.join(".")}`
        return failure(`${file} is not an eval dataset${where}: ${issue?.message.split("\n", 1)[0] ?? "invalid"}`)
      })
    )
  })

/** `done/total` on stderr, rewritten in place on a terminal, one line per session otherwise. */
const progress = (label: string, done: number, total: number) =>
  Effect.sync(() => {
    const text = `${label}: ${done}/${total} sessions`
    if (process.stderr.isTTY) process.stderr.write(`\r${text}${done === total ? "\n" : ""}`)
    else process.stderr.write(`${text}\n`)
  })

const runEval = (dm: DeepMemory, dataset: EvalDataset, namespace: string) =>
  Effect.gen(function*() {
    const { api } = dm
    const total = dataset.sessions.length
    yield* progress("ingesting", 0, total)
    let done = 0
    for (const session of dataset.sessions) {
      yield* retryingOverload(api.memory.update({
        payload: { namespace, session_id: session.session_id, messages: session.messages, async: false }
      }))
      done++
      yield* progress("ingesting", done, total)
    }
    const results: Array<QueryResult> = []
    for (const q of dataset.queries) {
      const r = yield* retryingOverload(api.memory.retrieve({
        payload: {
          namespace,
          user_input: q.query,
          max_memories: 10,
          ...(q.session_ids !== undefined ? { session_ids: q.session_ids } : {})
        }
      }))
      const score = scoreQuery(q.expected, r.memories.map((m) => ({ session_id: m.session_id, content: m.content })))
      results.push({ id: q.id, tags: [...q.tags], ...score })
    }
    return aggregate(results, dataset.name, "deep-memory")
  })

const METRICS: ReadonlyArray<readonly [keyof EvalMetrics, string]> = [
  ["recall_at_1", "recall@1"],
  ["recall_at_5", "recall@5"],
  ["recall_at_10", "recall@10"],
  ["mrr", "MRR"],
  ["ndcg_at_10", "nDCG@10"]
]

const signed = (n: number) => (n >= 0 ? "+" : "") + n.toFixed(3)

const report = (result: EvalResult, baseline: EvalResult, namespace: string, sessions: number): Array<string> => {
  const lines = [
    `dataset ${printable(result.dataset)} in namespace ${namespace}: ${plural(sessions, "session")}, ${plural(result.overall.queries, "query", "queries")}`,
    "",
    ...table(
      ["METRIC", "DEEP-MEMORY", "BM25", "DELTA"],
      METRICS.map(([key, label]) => [
        label,
        fixed(result.overall[key]),
        fixed(baseline.overall[key]),
        signed(result.overall[key] - baseline.overall[key])
      ])
    )
  ]
  const tags = Object.keys(result.by_tag).sort()
  if (tags.length > 0) {
    lines.push("", "by tag (deep-memory / bm25):")
    lines.push(...table(
      ["TAG", "QUERIES", ...METRICS.map(([, label]) => label.toUpperCase())],
      tags.map((tag) => {
        const m = result.by_tag[tag]!
        const b = baseline.by_tag[tag]
        return [
          tag,
          String(m.queries),
          ...METRICS.map(([key]) => `${fixed(m[key])} / ${b === undefined ? "-" : fixed(b[key])}`)
        ]
      })
    ))
  }
  const missed = result.queries.filter((q) => q.rank === null).map((q) => q.id)
  if (missed.length > 0) lines.push("", `no expected memory in the top 10: ${missed.map((id) => printable(id)).join(", ")}`)
  return lines
}

const evalCommand = Command.make("eval", {
  ...memoryOptions,
  dataset: Args.file({ name: "dataset.json", exists: "yes" }).pipe(Args.withDescription("an eval dataset (JSON)"))
}, (o) =>
  withDeepMemory(o, (dm) =>
    Effect.gen(function*() {
      const dataset = yield* loadDataset(o.dataset)
      const conn: MemoryConnection = dm.conn
      const namespace = Option.getOrElse(conn.namespaceGiven, () => dataset.namespace)
      const result = yield* runEval(dm, dataset, namespace)
      const baseline = bm25Baseline(dataset)
      if (conn.json) return yield* printJson({ ...result, baseline })
      yield* printLines(report(result, baseline, namespace, dataset.sessions.length))
    }))).pipe(
    Command.withDescription(
      "Ingest an eval dataset through the API, run its queries and print recall@k, MRR and nDCG@10 next to a BM25 baseline"
    )
  )

/** Runs the server's expired-memory sweep now (it also runs every `EXPIRED_GC_INTERVAL_MS`). */
const gcExpired = Command.make("gc-expired", { ...memoryOptions }, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      const r = yield* api.admin.gcExpired()
      if (conn.json) return yield* printJson(r)
      yield* Console.log(
        `removed ${plural(r.memories, "expired memory", "expired memories")} from ${plural(r.namespaces, "namespace")} ` +
          `(graph: ${plural(r.graph_nodes, "node")}, ${plural(r.graph_edges, "edge")})`
      )
    }))).pipe(Command.withDescription("Delete expired (ephemeral) memories in every namespace now (needs an admin key on all namespaces)"))

// ---------------------------------------------------------------------------------------------

const reindexEmbeddedStore = Effect.gen(function*() {
  const result = yield* Effect.scoped(Effect.gen(function*() {
    yield* Layer.build(DeepMemoryMigrationsLive)
    return yield* reindexEmbedded({
      onProgress: (done, total) => Effect.sync(() => process.stderr.write(`reindexed ${done}/${total}\r`))
    })
  })).pipe(Effect.provide(DeepMemoryDatabaseLive))
  // The index snapshot holds the old vectors: drop it so the server rebuilds from the new ones.
  const dataDir = yield* deepMemoryDataDir.pipe(Effect.orElseSucceed(() => "./data/deep-memory"))
  for (const f of ["vector-index.snap", "vector-index.snap.hnsw"]) fs.rmSync(path.join(dataDir, f), { force: true })
  return result
})

const reindexQdrantStore = Effect.flatMap(QdrantSettingsConfig, (settings) =>
  reindexQdrant(settings, {
    onProgress: (done, total, phase) =>
      Effect.sync(() => process.stderr.write(`${phase === "embed" ? "reindexed" : "copied"} ${done}/${total}\r`))
  }))

/**
 * Offline: re-embeds the embedded store, or the Qdrant collection when `QDRANT_URL` is set, with the
 * configured embedder (the server refuses to start after an embedder change until this has run).
 * Reads the same variables as the server.
 */
const reindex = Command.make("reindex", {}, () =>
  Effect.gen(function*() {
    const { json } = yield* root
    const qdrant = (process.env.QDRANT_URL ?? "").trim() !== ""
    const result = yield* Effect.if(qdrant, { onTrue: () => reindexQdrantStore, onFalse: () => reindexEmbeddedStore }).pipe(
      Effect.provide(embedderLayerFromConfig.pipe(Layer.provide(FetchHttpClient.layer))),
      Effect.mapError((e) => failure(`memory reindex: ${describeCause(e)}`))
    )
    process.stderr.write("\n")
    yield* Console.log(json ? JSON.stringify(result) : `reindexed ${result.reindexed} memories with ${result.embedder} (${result.dimensions} dimensions)`)
  })).pipe(Command.withDescription("Re-embed every memory (embedded store or Qdrant collection) with the configured embedder (offline)"))

export const memoryCommand = Command.make("memory").pipe(
  Command.withDescription("Ask, add, inspect, forget and evaluate deep-memory memories"),
  Command.withSubcommands([ask, add, inspect, forget, gcExpired, evalCommand, reindex])
)

// ---------------------------------------------------------------------------------------------
// queue

const forgetFlag = Options.boolean("forget").pipe(Options.withDescription("the forget queue instead of the update queue"))
const namespaceParam = (conn: MemoryConnection): { readonly namespace?: string } =>
  Option.match(conn.namespaceGiven, { onNone: () => ({}), onSome: (namespace) => ({ namespace }) })

const age = (ms: number | null) => {
  if (ms === null) return "-"
  const s = Math.round(ms / 1000)
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`
}

const stats = Command.make("stats", { ...memoryOptions, forget: forgetFlag }, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      const urlParams = namespaceParam(conn)
      const s = o.forget ? yield* api.queue.forgetStats({ urlParams }) : yield* api.queue.updateStats({ urlParams })
      if (conn.json) return yield* printJson(s)
      const lines = [
        `${o.forget ? "forget" : "update"} queue`,
        `pending         ${s.pending}${s.delayed > 0 ? ` (${s.delayed} not due yet)` : ""}`,
        `running         ${s.running}`,
        `failed          ${s.failed}`,
        `done last hour  ${s.done_last_hour}`,
        `oldest pending  ${age(s.oldest_pending_age_ms)}`
      ]
      const namespaces = Object.entries(s.by_namespace)
      if (namespaces.length > 0) {
        lines.push("", ...table(
          ["NAMESPACE", "PENDING", "FAILED"],
          namespaces.sort(([a], [b]) => a.localeCompare(b)).map(([ns, c]) => [printable(ns), String(c.pending), String(c.failed)])
        ))
      }
      yield* printLines(lines)
    }))).pipe(Command.withDescription("Counts of the update (or --forget) queue"))

const failed = Command.make("failed", {
  ...memoryOptions,
  forget: forgetFlag,
  limit: Options.integer("limit").pipe(Options.optional, Options.withDescription("at most N tasks, 1-1000"))
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      if (Option.isSome(o.limit) && (o.limit.value < 1 || o.limit.value > 1000)) {
        return yield* usage("--limit must be between 1 and 1000")
      }
      const urlParams = {
        ...namespaceParam(conn),
        ...Option.match(o.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) })
      }
      const r = o.forget ? yield* api.queue.forgetFailed({ urlParams }) : yield* api.queue.updateFailed({ urlParams })
      if (conn.json) {
        for (const item of r.items) yield* printJson(item)
        return
      }
      if (r.items.length === 0) return yield* Console.error("no failed tasks")
      yield* printLines(table(
        ["TASK", "NAMESPACE", "SESSION", "KIND", "ATTEMPTS", "FAILED", "ERROR"],
        r.items.map((t) => [
          t.task_id,
          printable(t.namespace),
          t.session_id === null ? "-" : oneLine(t.session_id, 32),
          t.kind,
          String(t.attempts),
          t.failed_at_ms === null ? "-" : localTime(t.failed_at_ms),
          t.last_error === null ? "-" : oneLine(t.last_error, 120)
        ])
      ))
    }))).pipe(Command.withDescription("List failed tasks of the update (or --forget) queue"))

const exportCommand = Command.make("export", {
  ...memoryOptions,
  forget: forgetFlag,
  output: Options.text("output").pipe(
    Options.withAlias("o"),
    Options.optional,
    Options.withDescription("write the NDJSON to this file instead of stdout")
  )
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      const urlParams = namespaceParam(conn)
      const text = o.forget ? yield* api.queue.forgetExport({ urlParams }) : yield* api.queue.updateExport({ urlParams })
      const body = text === "" || text.endsWith("\n") ? text : `${text}\n`
      const count = body.split("\n").filter((l) => l.trim() !== "").length
      yield* Option.match(o.output, {
        onNone: () => Effect.sync(() => process.stdout.write(body)),
        onSome: (file) =>
          Effect.try({
            try: () => fs.writeFileSync(file, body),
            catch: (cause) => new CliError({ message: `writing ${file}: ${describeCause(cause)}`, exitCode: 1 })
          }).pipe(Effect.zipRight(Console.error(`wrote ${plural(count, "failed task")} to ${file}`)))
      })
    }))).pipe(Command.withDescription("Export failed tasks of the update (or --forget) queue as NDJSON"))

const retry = Command.make("retry", {
  ...memoryOptions,
  forget: forgetFlag,
  task: Options.text("task").pipe(Options.repeated, Options.withDescription("retry only this task (repeatable; default all failed)"))
}, (o) =>
  withDeepMemory(o, ({ api, conn }) =>
    Effect.gen(function*() {
      const payload = { ...namespaceParam(conn), ...(o.task.length > 0 ? { task_ids: o.task } : {}) }
      const r = o.forget ? yield* api.queue.forgetRetry({ payload }) : yield* api.queue.updateRetry({ payload })
      if (conn.json) return yield* printJson(r)
      yield* Console.log(`requeued ${plural(r.retried, "failed task")}`)
    }))).pipe(Command.withDescription("Requeue failed tasks of the update (or --forget) queue"))

export const queueCommand = Command.make("queue").pipe(
  Command.withDescription("deep-memory background queues: stats, failed tasks, export, retry"),
  Command.withSubcommands([stats, failed, exportCommand, retry])
)
