import { createHash } from "node:crypto"
import { integerAtLeast, numberAtLeast } from "./ConfigValues.js"
import { SqlClient } from "@effect/sql"
import { Clock, Data, Effect } from "effect"
import { normalizeMessages } from "../domain/Memory.js"
import { Analyzer } from "./Analyzer.js"
import { Embedder } from "./Embedder.js"
import { GraphStore } from "./GraphStore.js"
import { type MemoryPoint, type ScoredMemory, type StoredMemory, VectorStore } from "./VectorStore.js"

export class MemoryServiceError extends Data.TaggedError("MemoryServiceError")<{ readonly op: string; readonly cause: unknown }> {}

/** RFC 4122 version 5 (SHA-1, name-based) UUID: stable point ids that Qdrant accepts. */
export const uuidV5 = (name: string, namespaceUuid = "6f1a1d1e-2b5c-4c8e-9a57-0c0a5f2d7e11") => {
  const ns = Buffer.from(namespaceUuid.replace(/-/g, ""), "hex")
  const h = createHash("sha1").update(ns).update(name).digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const hex = h.subarray(0, 16).toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

export interface UpdateOutcome {
  readonly memoriesAdded: number
  readonly memoriesFiltered: number
  readonly memoryIds: ReadonlyArray<string>
  readonly messagesSeen: number
}

export interface RetrieveInput {
  readonly namespace: string
  readonly query: string
  readonly sessionIds?: ReadonlyArray<string> | undefined
  readonly limit: number
  readonly explain: boolean
}

export interface RetrievedItem {
  readonly memory: StoredMemory
  readonly relevance: number
  readonly parts: { dense: number; lexical: number; graph: number; importance: number; recency: number; fused: number }
  readonly sources: ReadonlyArray<"qdrant" | "neo4j">
}

export interface ForgetCounts {
  readonly memories: number
  readonly vectors: number
  readonly graph_nodes: number
  readonly graph_edges: number
  readonly lexical_entries: number
  readonly cache_entries: number
  readonly queued_tasks: number
}

const WEIGHTS = { dense: 0.5, lexical: 0.3, graph: 0.2 } as const
const GC_BATCH = 500

/**
 * deep-memory's core: turns transcripts into memories in both stores (incrementally: a resent
 * transcript only adds its new messages), answers retrieval by fusing dense, lexical and graph
 * scores with importance, recency and per-`memory_key` conflict resolution, and forgets provably.
 */
export class MemoryService extends Effect.Service<MemoryService>()("deep-memory/MemoryService", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const analyzer = yield* Analyzer
    const embedder = yield* Embedder
    const vectors = yield* VectorStore
    const graph = yield* GraphStore
    const halfLifeDays = yield* numberAtLeast("RECENCY_HALF_LIFE_DAYS", 180, 0)
    const minSemantic = yield* numberAtLeast("MIN_SEMANTIC_SCORE", 0.05, 0)
    const cacheTtlMs = yield* integerAtLeast("RETRIEVE_CACHE_TTL_MS", 30_000, 0)
    const cacheMax = yield* integerAtLeast("RETRIEVE_CACHE_MAX", 1000, 1)

    const wrap = (op: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.mapError(effect, (cause) => new MemoryServiceError({ op, cause }))

    // Retrieval cache, invalidated per namespace by writes and forgets.
    const cache = new Map<string, { at: number; value: ReadonlyArray<RetrievedItem> }>()
    const invalidate = (namespace: string) => {
      let removed = 0
      for (const k of cache.keys()) {
        if (k.startsWith(namespace + "\u0000")) {
          cache.delete(k)
          removed++
        }
      }
      return removed
    }

    const seenHashes = (namespace: string, sessionId: string) =>
      sql<{ hash: string }>`SELECT hash FROM dm_seen_messages WHERE namespace = ${namespace} AND session_id = ${sessionId}`.pipe(
        Effect.map((rows) => new Set(rows.map((r) => r.hash)))
      )

    const update = Effect.fn("MemoryService.update")(function*(namespace: string, sessionId: string, raw: ReadonlyArray<unknown>) {
      const now = yield* Clock.currentTimeMillis
      const { messages } = normalizeMessages(raw)
      const seen = yield* seenHashes(namespace, sessionId).pipe(wrap("update"))
      const fresh = messages.filter((m) => !seen.has(m.hash))
      if (fresh.length === 0) return { memoriesAdded: 0, memoriesFiltered: 0, memoryIds: [], messagesSeen: messages.length }
      const { filtered, memories } = analyzer.analyze({ sessionId, messages: fresh, nowMs: now })
      const embedded = memories.length === 0 ? [] : yield* embedder.embed(memories.map((m) => m.content), "document").pipe(wrap("embed"))
      const points: Array<MemoryPoint> = memories.map((m, i) => ({
        id: uuidV5(`${namespace}\u0000${sessionId}\u0000${m.source_message_hash}\u0000${m.content}`),
        sessionId,
        vector: embedded[i]!,
        tokens: m.tokens,
        payload: {
          content: m.content,
          kind: m.kind,
          importance: m.importance,
          memory_key: m.memory_key,
          subject: m.subject,
          entities: m.entities,
          topics: m.topics,
          language: m.language,
          locator: m.locator ?? null,
          source_message_hash: m.source_message_hash
        },
        createdAtMs: now,
        expiresAtMs: m.expires_at_ms
      }))
      if (points.length > 0) {
        yield* vectors.upsert(namespace, points).pipe(wrap("vectors"))
        yield* graph.upsertMemories(namespace, points.map((p) => ({
          id: p.id,
          sessionId,
          entities: p.payload.entities,
          topics: p.payload.topics,
          createdAtMs: now
        }))).pipe(wrap("graph"))
      }
      // Messages count as seen only once their memories are stored: a crash before this line
      // means the resend processes them again (ids are deterministic, so nothing doubles).
      const rows = fresh.map((m) => ({ namespace, session_id: sessionId, hash: m.hash, seen_at_ms: now }))
      yield* sql`INSERT INTO dm_seen_messages ${sql.insert(rows)} ON CONFLICT DO NOTHING`.pipe(wrap("update"))
      invalidate(namespace)
      return {
        memoriesAdded: points.length,
        memoriesFiltered: filtered.length,
        memoryIds: points.map((p) => p.id),
        messagesSeen: messages.length
      }
    })

    const retrieve = Effect.fn("MemoryService.retrieve")(function*(input: RetrieveInput) {
      const now = yield* Clock.currentTimeMillis
      const cacheKey = [input.namespace, input.query, (input.sessionIds ?? []).join("\u0001"), input.limit, input.explain].join("\u0000")
      const hit = cache.get(cacheKey)
      if (hit !== undefined && now - hit.at < cacheTtlMs) return hit.value

      const fetch = Math.max(input.limit * 4, 20)
      const options = { limit: fetch, nowMs: now, sessionIds: input.sessionIds }
      const tokens = analyzer.lexicalTokens(input.query)
      const entities = analyzer.entities(input.query)
      const topicTerms = analyzer.tokenize(input.query)
      const [queryVector] = yield* embedder.embed([input.query], "query").pipe(wrap("embed"))
      const [dense, lexical, related] = yield* Effect.all([
        vectors.searchDense(input.namespace, queryVector!, options),
        vectors.searchLexical(input.namespace, tokens, options),
        graph.related(input.namespace, { entities, topics: topicTerms, hops: 2, limit: fetch, sessionIds: input.sessionIds })
      ], { concurrency: 3 }).pipe(wrap("search"))

      const byId = new Map<string, StoredMemory>()
      for (const m of [...dense, ...lexical]) byId.set(m.id, m)
      const missing = related.map((r) => r.id).filter((id) => !byId.has(id))
      if (missing.length > 0) {
        for (const m of yield* vectors.get(input.namespace, missing).pipe(wrap("search"))) {
          if (m.expiresAtMs === null || m.expiresAtMs > now) byId.set(m.id, m)
        }
      }
      const denseScore = new Map(dense.map((m: ScoredMemory) => [m.id, Math.max(0, m.score)]))
      const maxLexical = Math.max(1e-9, ...lexical.map((m) => m.score))
      const lexicalScore = new Map(lexical.map((m) => [m.id, m.score / maxLexical]))
      const graphScore = new Map(related.map((r) => [r.id, r.score]))

      const scored: Array<RetrievedItem> = []
      for (const memory of byId.values()) {
        const d = denseScore.get(memory.id) ?? 0
        const l = lexicalScore.get(memory.id) ?? 0
        const g = graphScore.get(memory.id) ?? 0
        if (d < minSemantic && l === 0 && g === 0) continue
        const fused = WEIGHTS.dense * d + WEIGHTS.lexical * l + WEIGHTS.graph * g
        const importance = memory.payload.importance
        const ageDays = Math.max(0, now - memory.createdAtMs) / 86_400_000
        const recency = Math.pow(0.5, ageDays / halfLifeDays)
        const relevance = fused * (0.75 + 0.25 * importance) * (0.85 + 0.15 * recency)
        scored.push({
          memory,
          relevance,
          parts: { dense: d, lexical: l, graph: g, importance, recency, fused },
          sources: g > 0 ? (d > 0 || l > 0 ? ["qdrant", "neo4j"] : ["neo4j"]) : ["qdrant"]
        })
      }
      scored.sort((a, b) => b.relevance - a.relevance || b.memory.createdAtMs - a.memory.createdAtMs)
      // Conflict resolution: one memory per key; the newest statement of a key wins it, carrying
      // the best relevance any statement of that key earned.
      const winners = new Map<string, RetrievedItem>()
      for (const item of scored) {
        const key = item.memory.payload.kind === "document" ? `id:${item.memory.id}` : `key:${item.memory.payload.memory_key}`
        const previous = winners.get(key)
        if (previous === undefined) winners.set(key, item)
        else if (item.memory.createdAtMs > previous.memory.createdAtMs) {
          winners.set(key, { ...item, relevance: Math.max(item.relevance, previous.relevance) })
        }
      }
      const value = [...winners.values()].sort((a, b) => b.relevance - a.relevance).slice(0, input.limit)
      if (cache.size >= cacheMax) cache.delete(cache.keys().next().value!)
      cache.set(cacheKey, { at: now, value })
      return value
    })

    const inspect = Effect.fn("MemoryService.inspect")(function*(namespace: string, sessionId: string, limit: number) {
      const [memories, terms, total] = yield* Effect.all([
        vectors.listSession(namespace, sessionId, limit),
        graph.sessionTerms(namespace, sessionId, 20),
        vectors.listSession(namespace, sessionId, 100_000).pipe(Effect.map((all) => all.length))
      ]).pipe(wrap("inspect"))
      return { memories, terms, total }
    })

    /** Removes memories from every store and the cache; `ids` of other namespaces are simply not found. */
    const forget = Effect.fn("MemoryService.forget")(function*(
      namespace: string,
      target: { readonly ids?: ReadonlyArray<string> | undefined; readonly sessionId?: string | undefined },
      dryRun: boolean
    ) {
      const fromSession = target.sessionId === undefined
        ? []
        : yield* vectors.listSession(namespace, target.sessionId, 1_000_000).pipe(wrap("forget"))
      const fromIds = target.ids === undefined || target.ids.length === 0 ? [] : yield* vectors.get(namespace, target.ids).pipe(wrap("forget"))
      const ids = [...new Set([...fromSession, ...fromIds].map((m) => m.id))]
      if (dryRun) return { ids, counts: undefined }
      const deletedVectors = yield* vectors.deleteIds(namespace, ids).pipe(wrap("forget"))
      const graphRemoval = target.sessionId === undefined
        ? yield* graph.forgetMemories(namespace, ids).pipe(wrap("forget"))
        : yield* Effect.zipWith(
          graph.forgetSession(namespace, target.sessionId),
          graph.forgetMemories(namespace, fromIds.map((m) => m.id)),
          (a, b) => ({ nodes: a.nodes + b.nodes, edges: a.edges + b.edges })
        ).pipe(wrap("forget"))
      if (target.sessionId !== undefined) {
        yield* sql`DELETE FROM dm_seen_messages WHERE namespace = ${namespace} AND session_id = ${target.sessionId}`.pipe(wrap("forget"))
      }
      const cacheEntries = invalidate(namespace)
      const counts: ForgetCounts = {
        memories: ids.length,
        vectors: deletedVectors,
        graph_nodes: graphRemoval.nodes,
        graph_edges: graphRemoval.edges,
        lexical_entries: deletedVectors,
        cache_entries: cacheEntries,
        queued_tasks: 0
      }
      return { ids, counts }
    })

    /**
     * Deletes memories whose TTL has passed (ephemeral ones), in batches: from the graph first, then
     * from the vector store, then from the cache of each namespace that lost one. Each step is
     * idempotent and the vector row goes last, so a sweep interrupted anywhere is finished by the next.
     */
    const gcExpired = Effect.fn("MemoryService.gcExpired")(function*() {
      const now = yield* Clock.currentTimeMillis
      const totals = { memories: 0, namespaces: 0, graph_nodes: 0, graph_edges: 0 }
      const touched = new Set<string>()
      while (true) {
        const batch = yield* vectors.listExpired(now, GC_BATCH).pipe(wrap("gc"))
        if (batch.length === 0) break
        const byNamespace = new Map<string, Array<string>>()
        for (const r of batch) byNamespace.set(r.namespace, [...(byNamespace.get(r.namespace) ?? []), r.id])
        for (const [namespace, ids] of byNamespace) {
          const g = yield* graph.forgetMemories(namespace, ids).pipe(wrap("gc"))
          totals.graph_nodes += g.nodes
          totals.graph_edges += g.edges
          totals.memories += yield* vectors.deleteIds(namespace, ids).pipe(wrap("gc"))
          invalidate(namespace)
          touched.add(namespace)
        }
        if (batch.length < GC_BATCH) break
      }
      totals.namespaces = touched.size
      return totals
    })

    return { update, retrieve, inspect, forget, invalidate, gcExpired } as const
  })
}) {}

/** The `context` string of `/retrieve_context`. */
export const contextOf = (items: ReadonlyArray<RetrievedItem>) =>
  items.length === 0
    ? ""
    : "Relevant long-term memory:\n" +
      items.map((it, i) =>
        `${i + 1}. (${it.relevance.toFixed(2)}, imp=${it.memory.payload.importance.toFixed(2)}) ${it.memory.payload.content}`
      ).join("\n")
