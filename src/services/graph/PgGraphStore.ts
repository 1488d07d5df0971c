import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { GraphError, GraphStore, normalizeTerm, type GraphMemory, type Related, type RelatedQuery } from "../GraphStore.js"

type Row = Record<string, unknown>
const num = (v: unknown) => (typeof v === "number" ? v : Number(v))

/** Second-hop terms: the most frequent co-occurring terms only, so popular terms cannot blow up a query. */
const HOP2_TERMS = 32
const HOP2_WEIGHT = 0.5
/** Second-hop terms are gathered from at most this many memories that mention a query term. */
const HOP2_SEEDS = 500
/**
 * Terms mentioned by more than this share of a namespace's memories (and more than 50 of them) add
 * little (their idf is low) but cost a scan of every memory: they count in the normalizer only.
 */
const COMMON_SHARE = 0.1

/**
 * The graph as two tables (memories, memory→term edges). Term nodes are implicit: a term exists
 * while some edge names it, so forgetting a memory can never leave an orphan term behind.
 */
export const makePgGraphStore = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const op = (name: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.mapError(effect, (cause) => new GraphError({ op: name, cause }))

  const upsertMemories = (namespace: string, memories: ReadonlyArray<GraphMemory>) =>
    sql.withTransaction(Effect.forEach(memories, (m) =>
      Effect.gen(function*() {
        yield* sql`INSERT INTO dm_graph_memories (namespace, id, session_id, created_at_ms)
          VALUES (${namespace}, ${m.id}, ${m.sessionId}, ${m.createdAtMs})
          ON CONFLICT (namespace, id) DO UPDATE SET session_id = EXCLUDED.session_id, created_at_ms = EXCLUDED.created_at_ms`
        yield* sql`DELETE FROM dm_graph_edges WHERE namespace = ${namespace} AND memory_id = ${m.id}`
        const edges = [
          ...new Set(m.entities.map(normalizeTerm).filter((t) => t !== "").map((t) => "entity\u0000" + t)),
          ...new Set(m.topics.map(normalizeTerm).filter((t) => t !== "").map((t) => "topic\u0000" + t))
        ].map((e) => {
          const [kind, term] = e.split("\u0000") as [string, string]
          return { namespace, memory_id: m.id, kind, term }
        })
        if (edges.length > 0) yield* sql`INSERT INTO dm_graph_edges ${sql.insert(edges)} ON CONFLICT DO NOTHING`
      }), { discard: true })).pipe(op("upsertMemories"), Effect.withSpan("PgGraphStore.upsertMemories"))

  const related = (namespace: string, query: RelatedQuery) =>
    Effect.gen(function*() {
      const kinds: Array<string> = []
      const terms: Array<string> = []
      for (const t of new Set(query.entities.map(normalizeTerm))) if (t !== "") (kinds.push("entity"), terms.push(t))
      for (const t of new Set(query.topics.map(normalizeTerm))) if (t !== "") (kinds.push("topic"), terms.push(t))
      if (terms.length === 0) return [] as ReadonlyArray<Related>
      const sessions = query.sessionIds
      const sessionFilter = sessions === undefined
        ? sql``
        : sql`AND EXISTS (SELECT 1 FROM dm_graph_memories m WHERE m.namespace = ${namespace}
            AND m.id = e.memory_id AND m.session_id IN ${sql.in(sessions.length === 0 ? [""] : sessions)})`
      // Scoring groups tens of thousands of edges in a large namespace: room to hash them in memory
      // rather than sort them on disk, for this statement only.
      const rows = yield* sql.withTransaction(sql`SET LOCAL work_mem = '32MB'`.pipe(Effect.zipRight(sql<Row>`
        WITH q AS (SELECT * FROM unnest(${kinds}::text[], ${terms}::text[]) AS q(kind, term)),
        total AS (SELECT greatest(coalesce((SELECT memories FROM dm_graph_namespaces WHERE namespace = ${namespace}), 0), 1)::float8 AS n),
        seeds AS (
          SELECT DISTINCT e1.memory_id FROM q
          JOIN dm_graph_edges e1 ON e1.namespace = ${namespace} AND e1.kind = q.kind AND e1.term = q.term
          WHERE ${query.hops} >= 2
          LIMIT ${HOP2_SEEDS}
        ),
        hop2 AS (
          SELECT e2.kind, e2.term, count(*)::float8 AS co
          FROM seeds
          JOIN dm_graph_edges e2 ON e2.namespace = ${namespace} AND e2.memory_id = seeds.memory_id
          WHERE NOT EXISTS (SELECT 1 FROM q q2 WHERE q2.kind = e2.kind AND q2.term = e2.term)
          GROUP BY e2.kind, e2.term ORDER BY co DESC, e2.term LIMIT ${HOP2_TERMS}
        ),
        weighted AS (
          SELECT kind, term, 1.0::float8 AS factor FROM q
          UNION ALL
          SELECT kind, term, ${HOP2_WEIGHT} * co / max(co) OVER () FROM hop2
        ),
        df AS (
          SELECT w.kind, w.term, w.factor, coalesce(t.df, 0)::float8 AS n
          FROM weighted w LEFT JOIN dm_graph_terms t ON t.namespace = ${namespace} AND t.kind = w.kind AND t.term = w.term
        ),
        idf AS (SELECT df.kind, df.term, df.factor, ln(1 + total.n / greatest(df.n, 1)) AS w, df.factor = 1.0 AS direct,
          df.n > greatest(50, total.n * ${COMMON_SHARE}) AS common FROM df, total),
        norm AS (SELECT greatest(sum(w), 1e-9) AS s FROM idf WHERE direct)
        SELECT e.memory_id AS id, least(sum(idf.w * idf.factor) / (SELECT s FROM norm), 1.0) AS score
        FROM dm_graph_edges e
        JOIN idf ON e.kind = idf.kind AND e.term = idf.term AND NOT idf.common
        WHERE e.namespace = ${namespace} ${sessionFilter}
        GROUP BY e.memory_id
        ORDER BY score DESC, e.memory_id
        LIMIT ${query.limit}`)))
      return rows.map((r) => ({ id: String(r.id), score: num(r.score) }))
    }).pipe(op("related"), Effect.withSpan("PgGraphStore.related"))

  const sessionTerms = (namespace: string, sessionId: string, limit: number) =>
    Effect.gen(function*() {
      const rows = yield* sql<Row>`SELECT e.kind, e.term, count(*) AS n FROM dm_graph_edges e
        JOIN dm_graph_memories m ON m.namespace = e.namespace AND m.id = e.memory_id
        WHERE e.namespace = ${namespace} AND m.session_id = ${sessionId}
        GROUP BY e.kind, e.term ORDER BY n DESC, e.term`
      const pick = (kind: string) =>
        rows.filter((r) => r.kind === kind).slice(0, limit).map((r) => ({ name: String(r.term), frequency: num(r.n) }))
      return { entities: pick("entity"), topics: pick("topic") }
    }).pipe(op("sessionTerms"))

  const removal = (edges: number, memories: number) => ({ nodes: memories, edges })

  const forgetMemories = (namespace: string, ids: ReadonlyArray<string>) =>
    ids.length === 0
      ? Effect.succeed(removal(0, 0))
      : sql.withTransaction(Effect.gen(function*() {
        const edges = yield* sql<Row>`DELETE FROM dm_graph_edges WHERE namespace = ${namespace} AND memory_id IN ${sql.in(ids)} RETURNING 1`
        const memories = yield* sql<Row>`DELETE FROM dm_graph_memories WHERE namespace = ${namespace} AND id IN ${sql.in(ids)} RETURNING 1`
        return removal(edges.length, memories.length)
      })).pipe(op("forgetMemories"))

  const forgetSession = (namespace: string, sessionId: string) =>
    sql.withTransaction(Effect.gen(function*() {
      const ids = (yield* sql<Row>`SELECT id FROM dm_graph_memories WHERE namespace = ${namespace} AND session_id = ${sessionId}`)
        .map((r) => String(r.id))
      if (ids.length === 0) return { ...removal(0, 0), ids }
      const edges = yield* sql<Row>`DELETE FROM dm_graph_edges WHERE namespace = ${namespace} AND memory_id IN ${sql.in(ids)} RETURNING 1`
      const memories = yield* sql<Row>`DELETE FROM dm_graph_memories WHERE namespace = ${namespace} AND session_id = ${sessionId} RETURNING 1`
      return { ...removal(edges.length, memories.length), ids }
    })).pipe(op("forgetSession"))

  const count = (namespace: string) =>
    sql<Row>`SELECT
        (SELECT count(*) FROM dm_graph_memories WHERE namespace = ${namespace}) AS memories,
        (SELECT count(*) FROM (SELECT DISTINCT kind, term FROM dm_graph_edges WHERE namespace = ${namespace}) t) AS terms,
        (SELECT count(*) FROM dm_graph_edges WHERE namespace = ${namespace}) AS edges`.pipe(
      Effect.map((rows) => ({ memories: num(rows[0]!.memories), terms: num(rows[0]!.terms), edges: num(rows[0]!.edges) })),
      op("count")
    )

  const ping = sql`SELECT 1`.pipe(Effect.asVoid, op("ping"))

  return GraphStore.of({ name: "postgres", upsertMemories, related, sessionTerms, forgetMemories, forgetSession, count, ping })
})

export const PgGraphStoreLive = Layer.effect(GraphStore, makePgGraphStore)
