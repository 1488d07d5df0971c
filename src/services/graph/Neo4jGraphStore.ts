import { Config, Effect, Layer, Option, Redacted } from "effect"
import neo4j, { type Driver } from "neo4j-driver"
import { GraphError, GraphStore, normalizeTerm, type GraphMemory, type RelatedQuery } from "../GraphStore.js"

/** Must match PgGraphStore: the contract suite compares both. */
const HOP2_TERMS = 32
const HOP2_WEIGHT = 0.5
const HOP2_SEEDS = 500
const COMMON_SHARE = 0.1

interface Term {
  readonly kind: "entity" | "topic"
  readonly name: string
}

const termsOf = (m: GraphMemory): Array<Term> => [
  ...[...new Set(m.entities.map(normalizeTerm))].filter((t) => t !== "").map((name) => ({ kind: "entity" as const, name })),
  ...[...new Set(m.topics.map(normalizeTerm))].filter((t) => t !== "").map((name) => ({ kind: "topic" as const, name }))
]

const toNumber = (v: unknown): number => (neo4j.isInt(v) ? (v as { toNumber(): number }).toNumber() : Number(v))

/**
 * The graph in Neo4j: `(:Memory {ns, id, session_id, created_at_ms})-[:MENTIONS]->(:Term {ns, kind, name})`.
 * Every query is scoped by `ns`, limits are integers, and term nodes left without a mention are
 * deleted with the memory that held them.
 */
export const makeNeo4jGraphStore = (driver: Driver, database: string | undefined) =>
  Effect.gen(function*() {
    const run = (op: string, cypher: string, params: Record<string, unknown> = {}) =>
      Effect.tryPromise({
        try: () => driver.executeQuery(cypher, params, database === undefined ? {} : { database }),
        catch: (cause) => new GraphError({ op, cause })
      }).pipe(Effect.map((r) => r.records.map((rec) => rec.toObject() as Record<string, unknown>)))

    yield* run("schema", "CREATE CONSTRAINT dm_memory_key IF NOT EXISTS FOR (m:Memory) REQUIRE (m.ns, m.id) IS UNIQUE")
    yield* run("schema", "CREATE CONSTRAINT dm_term_key IF NOT EXISTS FOR (t:Term) REQUIRE (t.ns, t.kind, t.name) IS UNIQUE")
    yield* run("schema", "CREATE INDEX dm_memory_session IF NOT EXISTS FOR (m:Memory) ON (m.ns, m.session_id)")

    const deleteOrphans = `
      UNWIND $candidates AS c
      MATCH (t:Term {ns: $ns, kind: c.kind, name: c.name})
      WHERE NOT EXISTS { (t)<-[:MENTIONS]-() }
      DELETE t`

    const upsertMemories = (namespace: string, memories: ReadonlyArray<GraphMemory>) =>
      Effect.gen(function*() {
        if (memories.length === 0) return
        const rows = memories.map((m) => ({ id: m.id, session_id: m.sessionId, created_at_ms: m.createdAtMs, terms: termsOf(m) }))
        const previous = yield* run("upsertMemories", `
          UNWIND $rows AS row
          MERGE (m:Memory {ns: $ns, id: row.id})
          SET m.session_id = row.session_id, m.created_at_ms = row.created_at_ms
          WITH m, row
          OPTIONAL MATCH (m)-[r:MENTIONS]->(old:Term)
          WITH m, row, collect(r) AS rels, collect({kind: old.kind, name: old.name}) AS olds
          FOREACH (r IN rels | DELETE r)
          FOREACH (t IN row.terms |
            MERGE (term:Term {ns: $ns, kind: t.kind, name: t.name})
            MERGE (m)-[:MENTIONS]->(term))
          RETURN olds`, { ns: namespace, rows })
        const candidates = previous.flatMap((r) => (r.olds as Array<{ kind: string | null; name: string | null }>))
          .filter((c) => c.kind !== null && c.name !== null)
        if (candidates.length > 0) yield* run("upsertMemories", deleteOrphans, { ns: namespace, candidates })
      }).pipe(Effect.withSpan("Neo4jGraphStore.upsertMemories"))

    const related = (namespace: string, query: RelatedQuery) =>
      Effect.gen(function*() {
        const direct: Array<Term> = [
          ...[...new Set(query.entities.map(normalizeTerm))].filter((t) => t !== "").map((name) => ({ kind: "entity" as const, name })),
          ...[...new Set(query.topics.map(normalizeTerm))].filter((t) => t !== "").map((name) => ({ kind: "topic" as const, name }))
        ]
        if (direct.length === 0) return []
        const [totalRow] = yield* run("related", "MATCH (m:Memory {ns: $ns}) RETURN count(m) AS n", { ns: namespace })
        const total = Math.max(toNumber(totalRow?.n ?? 0), 1)
        let hop2: Array<{ kind: string; name: string; co: number }> = []
        if (query.hops >= 2) {
          hop2 = (yield* run("related", `
            UNWIND $terms AS q
            MATCH (:Term {ns: $ns, kind: q.kind, name: q.name})<-[:MENTIONS]-(m:Memory {ns: $ns})
            WITH DISTINCT m LIMIT $seeds
            MATCH (m)-[:MENTIONS]->(t2:Term)
            WHERE NOT {kind: t2.kind, name: t2.name} IN $terms
            RETURN t2.kind AS kind, t2.name AS name, count(*) AS co
            ORDER BY co DESC, name LIMIT $limit`, {
            ns: namespace,
            terms: direct,
            limit: neo4j.int(HOP2_TERMS),
            seeds: neo4j.int(HOP2_SEEDS)
          }))
            .map((r) => ({ kind: String(r.kind), name: String(r.name), co: toNumber(r.co) }))
        }
        const maxCo = Math.max(1, ...hop2.map((h) => h.co))
        const weighted = [
          ...direct.map((t) => ({ ...t, factor: 1 })),
          ...hop2.map((h) => ({ kind: h.kind, name: h.name, factor: HOP2_WEIGHT * h.co / maxCo }))
        ]
        const dfRows = yield* run("related", `
          UNWIND $terms AS q
          OPTIONAL MATCH (t:Term {ns: $ns, kind: q.kind, name: q.name})
          RETURN q.kind AS kind, q.name AS name, CASE WHEN t IS NULL THEN 0 ELSE COUNT { (t)<-[:MENTIONS]-() } END AS df`,
          { ns: namespace, terms: weighted.map(({ kind, name }) => ({ kind, name })) })
        const df = new Map(dfRows.map((r) => [`${r.kind}\u0000${r.name}`, toNumber(r.df)]))
        const withWeights = weighted.map((w) => {
          const n = df.get(`${w.kind}\u0000${w.name}`) ?? 0
          return {
            kind: w.kind,
            name: w.name,
            direct: w.factor === 1,
            common: n > Math.max(50, total * COMMON_SHARE),
            weight: Math.log(1 + total / Math.max(n, 1)) * w.factor
          }
        })
        const norm = Math.max(withWeights.filter((w) => w.direct).reduce((s, w) => s + w.weight, 0), 1e-9)
        const rows = yield* run("related", `
          UNWIND $weighted AS w
          MATCH (:Term {ns: $ns, kind: w.kind, name: w.name})<-[:MENTIONS]-(m:Memory {ns: $ns})
          WHERE $sessions IS NULL OR m.session_id IN $sessions
          RETURN m.id AS id, sum(w.weight) AS s
          ORDER BY s DESC, id LIMIT $limit`, {
          ns: namespace,
          weighted: withWeights.filter((w) => !w.common).map(({ kind, name, weight }) => ({ kind, name, weight })),
          sessions: query.sessionIds === undefined ? null : [...query.sessionIds],
          limit: neo4j.int(query.limit)
        })
        return rows.map((r) => ({ id: String(r.id), score: Math.min(toNumber(r.s) / norm, 1) }))
      }).pipe(Effect.withSpan("Neo4jGraphStore.related"))

    const sessionTerms = (namespace: string, sessionId: string, limit: number) =>
      run("sessionTerms", `
        MATCH (:Memory {ns: $ns, session_id: $sid})-[:MENTIONS]->(t:Term)
        RETURN t.kind AS kind, t.name AS name, count(*) AS n ORDER BY n DESC, name`, { ns: namespace, sid: sessionId }).pipe(
        Effect.map((rows) => {
          const pick = (kind: string) =>
            rows.filter((r) => r.kind === kind).slice(0, limit).map((r) => ({ name: String(r.name), frequency: toNumber(r.n) }))
          return { entities: pick("entity"), topics: pick("topic") }
        })
      )

    const forgetWhere = (op: string, match: string, params: Record<string, unknown>, namespace: string) =>
      Effect.gen(function*() {
        const [row] = yield* run(op, `
          ${match}
          OPTIONAL MATCH (m)-[r:MENTIONS]->(t:Term)
          WITH m, count(r) AS edges, collect({kind: t.kind, name: t.name}) AS terms
          WITH collect(m.id) AS ids, sum(edges) AS edges, collect(m) AS ms, reduce(acc = [], ts IN collect(terms) | acc + ts) AS terms
          FOREACH (x IN ms | DETACH DELETE x)
          RETURN ids, edges, terms`, { ...params, ns: namespace })
        const ids = ((row?.ids ?? []) as Array<unknown>).map(String)
        const terms = ((row?.terms ?? []) as Array<{ kind: string | null; name: string | null }>).filter((t) => t.kind !== null)
        if (terms.length > 0) yield* run(op, deleteOrphans, { ns: namespace, candidates: terms })
        return { ids, nodes: ids.length, edges: toNumber(row?.edges ?? 0) }
      })

    const forgetMemories = (namespace: string, ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed({ nodes: 0, edges: 0 })
        : forgetWhere("forgetMemories", "MATCH (m:Memory {ns: $ns}) WHERE m.id IN $ids", { ids: [...ids] }, namespace).pipe(
          Effect.map(({ edges, nodes }) => ({ nodes, edges }))
        )

    const forgetSession = (namespace: string, sessionId: string) =>
      forgetWhere("forgetSession", "MATCH (m:Memory {ns: $ns, session_id: $sid})", { sid: sessionId }, namespace)

    const count = (namespace: string) =>
      Effect.gen(function*() {
        const [m] = yield* run("count", "MATCH (m:Memory {ns: $ns}) RETURN count(m) AS n", { ns: namespace })
        const [t] = yield* run("count", "MATCH (t:Term {ns: $ns}) RETURN count(t) AS n", { ns: namespace })
        const [e] = yield* run("count", "MATCH (:Memory {ns: $ns})-[r:MENTIONS]->() RETURN count(r) AS n", { ns: namespace })
        return { memories: toNumber(m?.n ?? 0), terms: toNumber(t?.n ?? 0), edges: toNumber(e?.n ?? 0) }
      })

    const ping = Effect.tryPromise({
      try: () => driver.getServerInfo(database === undefined ? {} : { database }),
      catch: (cause) => new GraphError({ op: "ping", cause })
    }).pipe(Effect.asVoid)

    return GraphStore.of({ name: "neo4j", upsertMemories, related, sessionTerms, forgetMemories, forgetSession, count, ping })
  })

/** `NEO4J_URI`, `NEO4J_USER` (neo4j), `NEO4J_PASSWORD`, `NEO4J_DATABASE` (server default). */
export const Neo4jGraphStoreLive = Layer.scoped(
  GraphStore,
  Effect.gen(function*() {
    const uri = yield* Config.string("NEO4J_URI")
    const user = yield* Config.string("NEO4J_USER").pipe(Config.withDefault("neo4j"))
    const password = yield* Config.redacted("NEO4J_PASSWORD").pipe(Config.withDefault(Redacted.make("")))
    const database = yield* Config.string("NEO4J_DATABASE").pipe(Config.option)
    const driver = yield* Effect.acquireRelease(
      Effect.sync(() => neo4j.driver(uri, neo4j.auth.basic(user, Redacted.value(password)), { disableLosslessIntegers: false })),
      (d) => Effect.promise(() => d.close())
    )
    return yield* makeNeo4jGraphStore(driver, Option.getOrUndefined(database))
  })
)
