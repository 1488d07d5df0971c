import { expect, layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { DeepMemoryMigrationsLive } from "../src/services/DeepMemoryMigrations.js"
import { GraphStore, type GraphMemory } from "../src/services/GraphStore.js"
import { Neo4jGraphStoreLive } from "../src/services/graph/Neo4jGraphStore.js"
import { PgGraphStoreLive } from "../src/services/graph/PgGraphStore.js"
import { testDatabases } from "./support/database.js"
import { neo4jTestConfig } from "./support/neo4j.js"

/** One contract suite, run against every GraphStore implementation available here. */
const implementations = [
  ...testDatabases().map((db) => ({
    name: `postgres/${db.name}`,
    layer: PgGraphStoreLive.pipe(Layer.provide(DeepMemoryMigrationsLive), Layer.provide(db.layer)) as Layer.Layer<GraphStore, unknown>
  })),
  ...neo4jTestConfig().map((cfg) => ({
    name: "neo4j",
    layer: Neo4jGraphStoreLive.pipe(Layer.provide(Layer.setConfigProvider(cfg))) as Layer.Layer<GraphStore, unknown>
  }))
]

// The Neo4j database outlives a test run: every namespace of this run is unique.
const run = Math.random().toString(36).slice(2, 8)
const ns = (name: string) => `${name}-${run}`

const mem = (id: string, sessionId: string, entities: Array<string>, topics: Array<string> = []): GraphMemory => ({
  id, sessionId, entities, topics, createdAtMs: 1_700_000_000_000
})

for (const impl of implementations) {
  layer(impl.layer, { timeout: "120 seconds" })(`GraphStore contract (${impl.name})`, (it) => {
    it.effect("relates memories through shared entities, rarer terms weighing more, scores in [0, 1]", () =>
      Effect.gen(function*() {
        const g = yield* GraphStore
        yield* g.upsertMemories(ns("ns-rank"), [
          mem("m-berlin", "s1", ["Berlin", "Alice"], ["travel"]),
          mem("m-alice", "s1", ["Alice"], ["travel"]),
          mem("m-bob", "s2", ["Bob"], ["travel"]),
          mem("m-none", "s2", ["Carol"], ["cooking"])
        ])
        const hits = yield* g.related(ns("ns-rank"), { entities: ["berlin", "ALICE"], topics: [], hops: 1, limit: 10 })
        expect(hits.map((h) => h.id)).toEqual(["m-berlin", "m-alice"])
        expect(hits[0]!.score).toBeCloseTo(1, 5)
        expect(hits[1]!.score).toBeGreaterThan(0)
        expect(hits[1]!.score).toBeLessThan(hits[0]!.score)
        const byTopic = yield* g.related(ns("ns-rank"), { entities: [], topics: ["Travel"], hops: 1, limit: 10 })
        expect(byTopic.map((h) => h.id).sort()).toEqual(["m-alice", "m-berlin", "m-bob"])
        expect(yield* g.related(ns("ns-rank"), { entities: ["nobody"], topics: [], hops: 1, limit: 10 })).toEqual([])
        expect(yield* g.related(ns("ns-rank"), { entities: [], topics: [], hops: 2, limit: 10 })).toEqual([])
      }))

    it.effect("two hops reach memories through co-occurring terms, below direct matches", () =>
      Effect.gen(function*() {
        const g = yield* GraphStore
        yield* g.upsertMemories(ns("ns-hops"), [
          mem("direct", "s", ["Project Apollo", "Dana"]),
          mem("via-dana", "s", ["Dana", "Zurich office"]),
          mem("unrelated", "s", ["Weather"])
        ])
        const one = yield* g.related(ns("ns-hops"), { entities: ["project apollo"], topics: [], hops: 1, limit: 10 })
        expect(one.map((h) => h.id)).toEqual(["direct"])
        const two = yield* g.related(ns("ns-hops"), { entities: ["project apollo"], topics: [], hops: 2, limit: 10 })
        expect(two.map((h) => h.id)).toEqual(["direct", "via-dana"])
        expect(two[1]!.score).toBeLessThan(two[0]!.score)
      }))

    it.effect("namespaces never see each other; sessions scope results", () =>
      Effect.gen(function*() {
        const g = yield* GraphStore
        yield* g.upsertMemories(ns("teamA"), [mem("a1", "file-1", ["Secret plan"]), mem("a2", "file-2", ["Secret plan"])])
        yield* g.upsertMemories(ns("teamB"), [mem("b1", "file-1", ["Secret plan"])])
        const a = yield* g.related(ns("teamA"), { entities: ["secret plan"], topics: [], hops: 2, limit: 10 })
        expect(a.map((h) => h.id).sort()).toEqual(["a1", "a2"])
        const scoped = yield* g.related(ns("teamA"), { entities: ["secret plan"], topics: [], hops: 1, limit: 10, sessionIds: ["file-2"] })
        expect(scoped.map((h) => h.id)).toEqual(["a2"])
        const none = yield* g.related(ns("teamA"), { entities: ["secret plan"], topics: [], hops: 1, limit: 10, sessionIds: [] })
        expect(none).toEqual([])
        expect((yield* g.count(ns("teamB"))).memories).toBe(1)
      }))

    it.effect("session terms count entity and topic frequencies", () =>
      Effect.gen(function*() {
        const g = yield* GraphStore
        yield* g.upsertMemories(ns("ns-terms"), [
          mem("t1", "chat", ["Alice", "Berlin"], ["travel"]),
          mem("t2", "chat", ["Alice"], ["travel", "food"]),
          mem("t3", "other", ["Alice"], ["food"])
        ])
        const terms = yield* g.sessionTerms(ns("ns-terms"), "chat", 10)
        expect(terms.entities).toEqual([{ name: "alice", frequency: 2 }, { name: "berlin", frequency: 1 }])
        expect(terms.topics).toEqual([{ name: "travel", frequency: 2 }, { name: "food", frequency: 1 }])
      }))

    it.effect("re-upserting a memory replaces its edges; forget removes nodes and edges and says how many", () =>
      Effect.gen(function*() {
        const g = yield* GraphStore
        yield* g.upsertMemories(ns("ns-forget"), [mem("f1", "s1", ["Old name"]), mem("f2", "s1", ["Keep"]), mem("f3", "s2", ["Keep"])])
        yield* g.upsertMemories(ns("ns-forget"), [mem("f1", "s1", ["New name"])])
        expect(yield* g.related(ns("ns-forget"), { entities: ["old name"], topics: [], hops: 1, limit: 10 })).toEqual([])
        expect((yield* g.related(ns("ns-forget"), { entities: ["new name"], topics: [], hops: 1, limit: 10 })).map((h) => h.id)).toEqual(["f1"])
        const byIds = yield* g.forgetMemories(ns("ns-forget"), ["f3", "missing"])
        expect(byIds).toEqual({ nodes: 1, edges: 1 })
        const bySession = yield* g.forgetSession(ns("ns-forget"), "s1")
        expect(bySession.ids.slice().sort()).toEqual(["f1", "f2"])
        expect(bySession.edges).toBe(2)
        expect(yield* g.count(ns("ns-forget"))).toEqual({ memories: 0, terms: 0, edges: 0 })
        expect(yield* g.related(ns("ns-forget"), { entities: ["keep"], topics: [], hops: 2, limit: 10 })).toEqual([])
        expect(yield* g.forgetSession(ns("ns-forget"), "s1")).toEqual({ nodes: 0, edges: 0, ids: [] })
      }))
  })
}

for (const db of testDatabases()) {
  const pg = PgGraphStoreLive.pipe(Layer.provideMerge(DeepMemoryMigrationsLive), Layer.provideMerge(db.layer))
  layer(pg, { timeout: "120 seconds" })(`PostgreSQL graph counters (${db.name})`, (it) => {
    it.effect("term frequencies and memory counts kept by triggers equal a recount after every kind of write", () =>
      Effect.gen(function*() {
        const g = yield* GraphStore
        const sql = yield* SqlClient.SqlClient
        const recount = Effect.gen(function*() {
          const kept = yield* sql`SELECT namespace, kind, term, df::int AS n FROM dm_graph_terms ORDER BY 1, 2, 3`
          const real = yield* sql`SELECT namespace, kind, term, count(*)::int AS n FROM dm_graph_edges GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`
          expect(kept).toEqual(real)
          const keptNs = yield* sql`SELECT namespace, memories::int AS n FROM dm_graph_namespaces WHERE memories > 0 ORDER BY 1`
          const realNs = yield* sql`SELECT namespace, count(*)::int AS n FROM dm_graph_memories GROUP BY 1 ORDER BY 1`
          expect(keptNs).toEqual(realNs)
        })
        yield* g.upsertMemories("cnt-a", [mem("m1", "s1", ["Lena", "Berlin"], ["nurse"]), mem("m2", "s1", ["Lena"], ["tea"]), mem("m3", "s2", ["Kim"])])
        yield* g.upsertMemories("cnt-b", [mem("m1", "s1", ["Lena"])])
        yield* recount
        yield* g.upsertMemories("cnt-a", [mem("m1", "s1", ["Lena", "Paris"], ["nurse"])]) // replaces m1's edges
        yield* recount
        yield* g.forgetMemories("cnt-a", ["m2"])
        yield* recount
        yield* g.forgetSession("cnt-a", "s1")
        yield* recount
        yield* g.forgetSession("cnt-a", "s2")
        yield* g.forgetMemories("cnt-b", ["m1"])
        yield* recount
        expect(yield* sql`SELECT * FROM dm_graph_terms WHERE namespace IN ('cnt-a', 'cnt-b')`).toEqual([])
      }))
  })
}
