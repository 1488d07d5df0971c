import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import { LexicalIndex } from "../vector-index/LexicalIndex.js"
import { createIndex, type Key, loadIndex } from "../VectorIndex.js"
import {
  type MemoryPayload,
  type MemoryPoint,
  type ScoredMemory,
  type SearchOptions,
  type StoredMemory,
  VectorDimensionMismatch,
  VectorStore,
  VectorStoreError
} from "../VectorStore.js"

type Row = Record<string, unknown>
const num = (v: unknown) => (typeof v === "number" ? v : Number(v))

const encodeVector = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength)
const decodeVector = (b: Uint8Array) => {
  const copy = new Uint8Array(b.byteLength)
  copy.set(b)
  return new Float32Array(copy.buffer)
}

/** Below this many candidates, scoped searches scan them exactly instead of filtering the graph. */
const EXACT_SCOPE_LIMIT = 5000

interface Entry {
  readonly namespace: string
  readonly id: string
  readonly sessionId: string
  readonly expiresAtMs: number | null
}

const toStored = (r: Row): StoredMemory => ({
  id: String(r.id),
  sessionId: String(r.session_id),
  payload: r.payload as MemoryPayload,
  createdAtMs: num(r.created_at_ms),
  expiresAtMs: r.expires_at_ms === null || r.expires_at_ms === undefined ? null : num(r.expires_at_ms)
})

/**
 * Ids compared as \`uuid\` (so the primary key is used); a string that is not a UUID names no memory,
 * and the all-zero UUID stands in when none is left so the statement stays valid.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const uuidsOf = (ids: ReadonlyArray<string>) => {
  const valid = ids.filter((id) => UUID.test(id))
  return valid.length === 0 ? ["00000000-0000-0000-0000-000000000000"] : valid
}

/**
 * The embedded VectorStore: PostgreSQL is the source of truth (vectors as float32 bytes, the
 * analyzer's segmented tokens, payloads); in-process indexes rebuilt from the rows at start answer
 * queries — HNSW for dense vectors (reloaded from a snapshot after a clean stop) and BM25 over the
 * tokens for the lexical side. Writes reach the indexes only after they committed, so a crash can
 * lose nothing the indexes knew.
 */
export const makeEmbeddedVectorStore = (
  dimensions: number,
  embedder: string,
  options: { readonly snapshotPath?: string | undefined } = {}
) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const op = (name: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.mapError(effect, (cause) => new VectorStoreError({ op: name, cause }))

    const ensure = (dims: number, embedderId: string) =>
      Effect.gen(function*() {
        const rows = yield* sql<Row>`SELECT value FROM dm_meta WHERE key = 'vectors'`.pipe(op("ensure"))
        const stored = rows[0]?.value as { dimensions: number; embedder: string } | undefined
        if (stored === undefined) {
          yield* sql`INSERT INTO dm_meta (key, value) VALUES ('vectors', ${JSON.stringify({ dimensions: dims, embedder: embedderId })}::jsonb)
            ON CONFLICT (key) DO NOTHING`.pipe(op("ensure"))
          return
        }
        if (stored.dimensions !== dims || stored.embedder !== embedderId) {
          return yield* new VectorDimensionMismatch({ stored, configured: { dimensions: dims, embedder: embedderId } })
        }
      })
    yield* ensure(dimensions, embedder)

    // A snapshot written at the last clean shutdown skips rebuilding the graph. It is consumed on
    // load (a crash later leaves none), and used only if its keys are exactly the table's.
    const snapshot = options.snapshotPath === undefined
      ? undefined
      : yield* Effect.promise(() => loadIndex(options.snapshotPath!, dimensions).catch(() => undefined))
    if (options.snapshotPath !== undefined) {
      const p = options.snapshotPath
      yield* Effect.promise(() => Promise.all([fs.promises.rm(p, { force: true }), fs.promises.rm(`${p}.hnsw`, { force: true })]))
    }
    let index = createIndex({ dimensions, kind: "hnsw" })
    const entries = new Map<Key, Entry>()
    const byId = new Map<string, Key>()
    const bySession = new Map<string, Set<Key>>()
    const byNamespace = new Map<string, Set<Key>>()
    const idKey = (namespace: string, id: string) => `${namespace}\u0000${id}`
    const sessionKey = (namespace: string, sessionId: string) => `${namespace}\u0000${sessionId}`
    const setOf = (m: Map<string, Set<Key>>, k: string) => {
      let s = m.get(k)
      if (s === undefined) m.set(k, s = new Set())
      return s
    }

    const lexical = new LexicalIndex()
    const tokensOf = (column: unknown) => String(column ?? "").split(" ")

    const remember = (key: Key, entry: Entry, vector: Float32Array, tokens: ReadonlyArray<string>) => {
      forget(byId.get(idKey(entry.namespace, entry.id)))
      index.add(key, vector)
      lexical.add(Number(key), entry.namespace, tokens)
      entries.set(key, entry)
      byId.set(idKey(entry.namespace, entry.id), key)
      setOf(bySession, sessionKey(entry.namespace, entry.sessionId)).add(key)
      setOf(byNamespace, entry.namespace).add(key)
    }
    function forget(key: Key | undefined) {
      if (key === undefined) return
      const entry = entries.get(key)
      if (entry === undefined) return
      index.remove(key)
      lexical.remove(Number(key))
      entries.delete(key)
      byId.delete(idKey(entry.namespace, entry.id))
      bySession.get(sessionKey(entry.namespace, entry.sessionId))?.delete(key)
      byNamespace.get(entry.namespace)?.delete(key)
    }

    const entryOf = (r: Row): Entry => ({
      namespace: String(r.namespace),
      id: String(r.id),
      sessionId: String(r.session_id),
      expiresAtMs: r.expires_at_ms === null ? null : num(r.expires_at_ms)
    })
    const metas = yield* sql<Row>`SELECT index_key, namespace, id, session_id, expires_at_ms, tokens FROM dm_memories`.pipe(op("load"))
    let source = "rows"
    if (snapshot !== undefined && snapshot.size === metas.length && metas.every((r) => snapshot.has(num(r.index_key)))) {
      index = snapshot
      source = "snapshot"
      for (const r of metas) {
        const key = num(r.index_key)
        const entry = entryOf(r)
        entries.set(key, entry)
        lexical.add(key, entry.namespace, tokensOf(r.tokens))
        byId.set(idKey(entry.namespace, entry.id), key)
        setOf(bySession, sessionKey(entry.namespace, entry.sessionId)).add(key)
        setOf(byNamespace, entry.namespace).add(key)
      }
    } else {
      const rows = yield* sql<Row>`SELECT index_key, namespace, id, session_id, expires_at_ms, vector, tokens FROM dm_memories`.pipe(op("load"))
      for (const r of rows) remember(num(r.index_key), entryOf(r), decodeVector(r.vector as Uint8Array), tokensOf(r.tokens))
    }
    if (options.snapshotPath !== undefined) {
      const p = options.snapshotPath
      yield* Effect.addFinalizer(() =>
        Effect.promise(() => index.save(p).catch(() => undefined)).pipe(Effect.zipRight(Effect.logInfo("vector index snapshot saved", { path: p })))
      )
    }
    yield* Effect.logInfo("embedded vector index loaded", { vectors: entries.size, dimensions, from: source })

    const upsert = (namespace: string, points: ReadonlyArray<MemoryPoint>) =>
      Effect.gen(function*() {
        for (const p of points) {
          if (p.vector.length !== dimensions) {
            return yield* new VectorStoreError({ op: "upsert", cause: new Error(`vector has ${p.vector.length} dimensions, expected ${dimensions}`) })
          }
        }
        const written = yield* sql.withTransaction(Effect.forEach(points, (p) =>
          sql<Row>`INSERT INTO dm_memories (namespace, id, session_id, vector, tokens, payload, created_at_ms, expires_at_ms)
            VALUES (${namespace}, ${p.id}::uuid, ${p.sessionId}, ${encodeVector(p.vector)}, ${p.tokens.join(" ")},
              ${JSON.stringify(p.payload)}::jsonb, ${p.createdAtMs}, ${p.expiresAtMs})
            ON CONFLICT (namespace, id) DO UPDATE SET session_id = EXCLUDED.session_id, vector = EXCLUDED.vector,
              tokens = EXCLUDED.tokens, payload = EXCLUDED.payload, created_at_ms = EXCLUDED.created_at_ms,
              expires_at_ms = EXCLUDED.expires_at_ms
            RETURNING index_key`.pipe(Effect.map((r) => ({ key: num(r[0]!.index_key), point: p })))
        )).pipe(op("upsert"))
        for (const { key, point } of written) {
          remember(key, { namespace, id: point.id, sessionId: point.sessionId, expiresAtMs: point.expiresAtMs }, point.vector, point.tokens)
        }
      }).pipe(Effect.withSpan("EmbeddedVectorStore.upsert"))

    const fetchScored = (namespace: string, hits: ReadonlyArray<{ key: Key; score: number }>) =>
      Effect.gen(function*() {
        if (hits.length === 0) return [] as Array<ScoredMemory>
        const scores = new Map(hits.map((h) => [entries.get(h.key)?.id, h.score]))
        // by index_key (unique, indexed): the rows the in-process indexes named, and only this namespace's
        const found = yield* sql<Row>`SELECT id::text AS id, session_id, payload, created_at_ms, expires_at_ms FROM dm_memories
          WHERE namespace = ${namespace} AND index_key IN ${sql.in(hits.map((h) => Number(h.key)))}`.pipe(op("search"))
        return found.map((r) => ({ ...toStored(r), score: scores.get(String(r.id)) ?? 0 })).sort((a, b) => b.score - a.score)
      })

    const searchDense = (namespace: string, vector: Float32Array, options: SearchOptions) =>
      Effect.gen(function*() {
        if (vector.length !== dimensions) {
          return yield* new VectorStoreError({ op: "searchDense", cause: new Error(`query has ${vector.length} dimensions, expected ${dimensions}`) })
        }
        const live = (key: Key) => {
          const e = entries.get(key)
          return e !== undefined && e.namespace === namespace && (e.expiresAtMs === null || e.expiresAtMs > options.nowMs)
        }
        let candidates: Set<Key> | undefined
        if (options.sessionIds !== undefined) {
          candidates = new Set()
          for (const s of options.sessionIds) for (const k of bySession.get(sessionKey(namespace, s)) ?? []) candidates.add(k)
        } else if ((byNamespace.get(namespace)?.size ?? 0) <= EXACT_SCOPE_LIMIT) {
          candidates = byNamespace.get(namespace) ?? new Set()
        }
        const hits = candidates !== undefined && candidates.size <= EXACT_SCOPE_LIMIT
          ? index.searchAmong(vector, options.limit, [...candidates].filter(live))
          : index.search(vector, options.limit, (key) => live(key) && (candidates === undefined || candidates.has(key)))
        return yield* fetchScored(namespace, hits)
      }).pipe(Effect.withSpan("EmbeddedVectorStore.searchDense"))

    const searchLexical = (namespace: string, tokens: ReadonlyArray<string>, options: SearchOptions) =>
      Effect.suspend(() => {
        const sessions = options.sessionIds === undefined ? undefined : new Set(options.sessionIds)
        const hits = lexical.search(namespace, tokens, options.limit, (key) => {
          const e = entries.get(key)
          return e !== undefined && (e.expiresAtMs === null || e.expiresAtMs > options.nowMs) &&
            (sessions === undefined || sessions.has(e.sessionId))
        })
        return fetchScored(namespace, hits)
      }).pipe(Effect.withSpan("EmbeddedVectorStore.searchLexical"))

    const get = (namespace: string, ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed([])
        : sql<Row>`SELECT id::text AS id, session_id, payload, created_at_ms, expires_at_ms FROM dm_memories
            WHERE namespace = ${namespace} AND id IN ${sql.in(uuidsOf(ids))}`.pipe(Effect.map((r) => r.map(toStored)), op("get"))

    const listSession = (namespace: string, sessionId: string, limit: number) =>
      sql<Row>`SELECT id::text AS id, session_id, payload, created_at_ms, expires_at_ms FROM dm_memories
        WHERE namespace = ${namespace} AND session_id = ${sessionId}
        ORDER BY created_at_ms, id LIMIT ${limit}`.pipe(Effect.map((r) => r.map(toStored)), op("listSession"))

    const dropKeys = (rows: ReadonlyArray<Row>) => {
      for (const r of rows) forget(num(r.index_key))
      return rows.map((r) => String(r.id))
    }

    const deleteIds = (namespace: string, ids: ReadonlyArray<string>) =>
      ids.length === 0
        ? Effect.succeed(0)
        : sql<Row>`DELETE FROM dm_memories WHERE namespace = ${namespace} AND id IN ${sql.in(uuidsOf(ids))}
            RETURNING index_key, id::text AS id`.pipe(Effect.map((r) => dropKeys(r).length), op("deleteIds"))

    const deleteSession = (namespace: string, sessionId: string) =>
      sql<Row>`DELETE FROM dm_memories WHERE namespace = ${namespace} AND session_id = ${sessionId}
        RETURNING index_key, id::text AS id`.pipe(Effect.map(dropKeys), op("deleteSession"))

    const listExpired = (nowMs: number, limit: number) =>
      sql<Row>`SELECT namespace, id::text AS id FROM dm_memories
        WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ${nowMs} ORDER BY expires_at_ms LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map((r) => ({ namespace: String(r.namespace), id: String(r.id) }))),
        op("listExpired")
      )

    const count = (namespace: string) =>
      sql<Row>`SELECT count(*) AS n FROM dm_memories WHERE namespace = ${namespace}`.pipe(
        Effect.map((r) => num(r[0]!.n)),
        op("count")
      )

    const ping = sql`SELECT 1`.pipe(Effect.asVoid, op("ping"))

    return VectorStore.of({
      name: "embedded",
      ensure,
      upsert,
      searchDense,
      searchLexical,
      get,
      listSession,
      deleteIds,
      deleteSession,
      listExpired,
      count,
      ping
    })
  })

export const embeddedVectorStoreLayer = (dimensions: number, embedder: string, options: { readonly snapshotPath?: string | undefined } = {}) =>
  Layer.scoped(VectorStore, makeEmbeddedVectorStore(dimensions, embedder, options))
