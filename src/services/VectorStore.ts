import { Context, Data, type Effect } from "effect"

/**
 * Where memories live for search: a dense vector, lexical tokens and the payload retrieval needs,
 * scoped by namespace. Implementations: Qdrant (one collection, namespace as an indexed payload
 * field, sparse vectors for the lexical side), and the embedded store (PostgreSQL rows as the
 * source of truth, full-text over the segmented tokens, an in-process ANN index).
 */
export class VectorStoreError extends Data.TaggedError("VectorStoreError")<{ readonly op: string; readonly cause: unknown }> {}

/** The stored vectors were made by another embedder or with other dimensions: `memory reindex` fixes it. */
export class VectorDimensionMismatch extends Data.TaggedError("VectorDimensionMismatch")<{
  readonly stored: { readonly dimensions: number; readonly embedder: string }
  readonly configured: { readonly dimensions: number; readonly embedder: string }
}> {
  override get message() {
    return `stored vectors are ${this.stored.dimensions}-d from ${this.stored.embedder}, but the configured embedder is ` +
      `${this.configured.embedder} (${this.configured.dimensions}-d): run \`openclaw-stack memory reindex\``
  }
}

export interface MemoryPayload {
  readonly content: string
  readonly kind: string
  readonly importance: number
  readonly memory_key: string
  readonly subject: string | null
  readonly entities: ReadonlyArray<string>
  readonly topics: ReadonlyArray<string>
  readonly language: string
  readonly locator: Readonly<Record<string, unknown>> | null
  readonly source_message_hash: string
}

export interface MemoryPoint {
  /** A UUID (Qdrant accepts only unsigned integers or UUIDs as point ids). */
  readonly id: string
  readonly sessionId: string
  readonly vector: Float32Array
  readonly tokens: ReadonlyArray<string>
  readonly payload: MemoryPayload
  readonly createdAtMs: number
  readonly expiresAtMs: number | null
}

export interface StoredMemory {
  readonly id: string
  readonly sessionId: string
  readonly payload: MemoryPayload
  readonly createdAtMs: number
  readonly expiresAtMs: number | null
}

export interface ExpiredMemory {
  readonly namespace: string
  readonly id: string
}

export interface SearchOptions {
  readonly limit: number
  readonly sessionIds?: ReadonlyArray<string> | undefined
  /** Memories that expired before this instant are not returned. */
  readonly nowMs: number
}

export interface ScoredMemory extends StoredMemory {
  readonly score: number
}

export interface VectorStoreShape {
  readonly name: "qdrant" | "embedded"
  /** Creates the collection/tables, or checks that the stored vectors match the embedder. */
  readonly ensure: (dimensions: number, embedder: string) => Effect.Effect<void, VectorStoreError | VectorDimensionMismatch>
  readonly upsert: (namespace: string, points: ReadonlyArray<MemoryPoint>) => Effect.Effect<void, VectorStoreError>
  readonly searchDense: (namespace: string, vector: Float32Array, options: SearchOptions) => Effect.Effect<ReadonlyArray<ScoredMemory>, VectorStoreError>
  readonly searchLexical: (namespace: string, tokens: ReadonlyArray<string>, options: SearchOptions) => Effect.Effect<ReadonlyArray<ScoredMemory>, VectorStoreError>
  readonly get: (namespace: string, ids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<StoredMemory>, VectorStoreError>
  readonly listSession: (namespace: string, sessionId: string, limit: number) => Effect.Effect<ReadonlyArray<StoredMemory>, VectorStoreError>
  readonly deleteIds: (namespace: string, ids: ReadonlyArray<string>) => Effect.Effect<number, VectorStoreError>
  readonly deleteSession: (namespace: string, sessionId: string) => Effect.Effect<ReadonlyArray<string>, VectorStoreError>
  /** Up to `limit` memories whose TTL passed at `nowMs` (the sweep removes them from the graph, then here). */
  readonly listExpired: (nowMs: number, limit: number) => Effect.Effect<ReadonlyArray<ExpiredMemory>, VectorStoreError>
  readonly count: (namespace: string) => Effect.Effect<number, VectorStoreError>
  readonly ping: Effect.Effect<void, VectorStoreError>
}

export class VectorStore extends Context.Tag("deep-memory/VectorStore")<VectorStore, VectorStoreShape>() {}
