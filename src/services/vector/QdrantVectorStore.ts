import { QdrantClient, type Schemas } from "@qdrant/js-client-rest"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import { lexicalTerms } from "../vector-index/LexicalIndex.js"
import {
  type ExpiredMemory,
  type MemoryPayload,
  type MemoryPoint,
  type ScoredMemory,
  type SearchOptions,
  type StoredMemory,
  VectorDimensionMismatch,
  VectorStore,
  VectorStoreError
} from "../VectorStore.js"

export const DENSE_VECTOR = "dense"
export const LEXICAL_VECTOR = "lexical"

/** Payload fields the store owns; everything else in a point's payload is the `MemoryPayload`. */
const RESERVED_FIELDS = ["namespace", "session_id", "created_at_ms", "expires_at_ms"] as const

/** `created_at_ms` gets an integer index too: ordered scrolls (`order_by`) require a range index. */
export const PAYLOAD_INDEXES: ReadonlyArray<{ readonly field: string; readonly schema: Schemas["PayloadFieldSchema"] }> = [
  { field: "namespace", schema: { type: "keyword", is_tenant: true } },
  { field: "session_id", schema: "keyword" },
  { field: "expires_at_ms", schema: "integer" },
  { field: "created_at_ms", schema: "integer" },
  { field: "memory_key", schema: "keyword" }
]

const SCROLL_PAGE = 256

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const isUuid = (id: string) => UUID.test(id)


/** FNV-1a over the UTF-8 bytes: a stable u32 index per term (collisions only add a little noise). */
export const termIndex = (term: string): number => {
  let hash = 0x811c9dc5
  for (const byte of new TextEncoder().encode(term)) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** Stored side: sublinear term frequency; Qdrant multiplies in the IDF (`modifier: "idf"`). */
export const documentSparseVector = (tokens: ReadonlyArray<string>): Schemas["SparseVector"] => {
  const tf = new Map<number, number>()
  for (const term of lexicalTerms(tokens)) {
    const index = termIndex(term)
    tf.set(index, (tf.get(index) ?? 0) + 1)
  }
  const indices = [...tf.keys()].sort((a, b) => a - b)
  return { indices, values: indices.map((i) => 1 + Math.log(tf.get(i)!)) }
}

export const querySparseVector = (tokens: ReadonlyArray<string>): Schemas["SparseVector"] => {
  const indices = [...new Set(lexicalTerms(tokens).map(termIndex))].sort((a, b) => a - b)
  return { indices, values: indices.map(() => 1) }
}

export interface QdrantSettings {
  readonly url: string
  readonly apiKey: Option.Option<Redacted.Redacted<string>>
  readonly collection: string
}

export const QdrantSettingsConfig: Config.Config<QdrantSettings> = Config.all({
  url: Config.string("QDRANT_URL"),
  apiKey: Config.option(Config.redacted("QDRANT_API_KEY")).pipe(Config.map(Option.filter((k) => Redacted.value(k).trim() !== ""))),
  collection: Config.withDefault(Config.string("QDRANT_COLLECTION"), "openclaw_memories")
})

/**
 * A cause that is safe to log: the status and Qdrant's own error text, never the request (its
 * headers carry the key) and never the key itself even if a proxy echoed it back.
 */
export const safeCause = (error: unknown, secret: string | undefined): Error => {
  let message: string
  if (typeof error === "object" && error !== null && "status" in error && typeof error.status === "number") {
    const data = (error as { data?: unknown }).data
    const detail = typeof data === "object" && data !== null && "status" in data &&
        typeof data.status === "object" && data.status !== null && "error" in data.status
      ? String(data.status.error)
      : typeof data === "string" ? data.slice(0, 500) : (error as { statusText?: string }).statusText ?? ""
    message = `Qdrant answered ${error.status}: ${detail}`
  } else if (error instanceof Error) {
    const code = (error.cause as { code?: unknown } | undefined)?.code
    message = `${error.name}: ${error.message}${typeof code === "string" ? ` (${code})` : ""}`
  } else {
    message = String(error)
  }
  if (secret !== undefined && secret !== "") message = message.split(secret).join("<redacted>")
  return new Error(message)
}

/** The body that creates a collection of this store's schema, the embedder marker included. */
export const collectionSchema = (dimensions: number, embedder: string) => ({
  vectors: { [DENSE_VECTOR]: { size: dimensions, distance: "Cosine" as const } },
  sparse_vectors: { [LEXICAL_VECTOR]: { modifier: "idf" as const } },
  metadata: { embedder, dimensions }
})

/** What an existing collection says about its vectors; `dimensions` is undefined without the named dense vector. */
export const storedSchemaOf = (info: Schemas["CollectionInfo"]) => {
  const vectors = info.config.params.vectors as Record<string, { size?: number } | undefined> | undefined
  const metadata = (info.config.metadata ?? {}) as Record<string, unknown>
  return {
    dimensions: vectors?.[DENSE_VECTOR]?.size,
    embedder: typeof metadata.embedder === "string" ? metadata.embedder : undefined,
    hasLexical: info.config.params.sparse_vectors?.[LEXICAL_VECTOR] !== undefined,
    metadata
  }
}

/** A client for these settings and `call`, which turns its failures into VectorStoreErrors safe to log. */
export const connectQdrant = (settings: QdrantSettings) =>
  Effect.gen(function*() {
    const secret = Option.getOrUndefined(Option.map(settings.apiKey, Redacted.value))
    if (secret !== undefined && settings.url.startsWith("http://")) {
      yield* Effect.logWarning("QDRANT_API_KEY is sent over plain http", { url: settings.url })
    }
    const client = yield* Effect.try({
      // The key goes in as a header: the client's own `apiKey` option prints a console warning on http.
      try: () =>
        new QdrantClient({
          url: settings.url,
          checkCompatibility: false,
          ...(secret === undefined ? {} : { headers: { "api-key": secret } })
        }),
      catch: (cause) => new VectorStoreError({ op: "connect", cause: safeCause(cause, secret) })
    })
    const call = <A>(op: string, run: (client: QdrantClient) => Promise<A>) =>
      Effect.tryPromise({
        try: () => run(client),
        catch: (cause) => new VectorStoreError({ op, cause: safeCause(cause, secret) })
      })
    return { client, call }
  })

/** Creates the payload indexes the store needs that `indexed` (a collection's payload_schema) lacks. */
export const createMissingIndexes = (
  call: Effect.Effect.Success<ReturnType<typeof connectQdrant>>["call"],
  op: string,
  collection: string,
  indexed: Record<string, unknown>
) =>
  Effect.forEach(PAYLOAD_INDEXES.filter((index) => indexed[index.field] === undefined), (index) =>
    call(op, (c) => c.createPayloadIndex(collection, { field_name: index.field, field_schema: index.schema, wait: true })), { discard: true })

interface StoredPayload {
  readonly [key: string]: unknown
}

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v))

const toStored = (id: string | number, payload: StoredPayload | null | undefined): StoredMemory => {
  const p = payload ?? {}
  const memory: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p)) if (!(RESERVED_FIELDS as ReadonlyArray<string>).includes(k)) memory[k] = v
  return {
    id: String(id),
    sessionId: String(p.session_id),
    payload: memory as unknown as MemoryPayload,
    createdAtMs: num(p.created_at_ms),
    expiresAtMs: p.expires_at_ms === null || p.expires_at_ms === undefined ? null : num(p.expires_at_ms)
  }
}

const byCreatedThenId = (a: StoredMemory, b: StoredMemory) =>
  a.createdAtMs - b.createdAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

const namespaceIs = (namespace: string): Schemas["Condition"] => ({ key: "namespace", match: { value: namespace } })

/**
 * The Qdrant VectorStore: one collection, the namespace as a tenant-indexed payload field, a named
 * dense vector (`dense`, Cosine) and a named sparse vector (`lexical`, IDF computed by Qdrant).
 * The embedder marker lives in the collection's metadata (Qdrant ≥ 1.16).
 */
export const makeQdrantVectorStore = (dimensions: number, embedder: string, settings: QdrantSettings) =>
  Effect.gen(function*() {
    const { call } = yield* connectQdrant(settings)
    const collection = settings.collection

    const fail = (op: string, message: string) => new VectorStoreError({ op, cause: new Error(message) })

    const expiredBy = (nowMs: number): Schemas["Condition"] => ({ key: "expires_at_ms", range: { lte: nowMs } })

    const ensure = Effect.fn("QdrantVectorStore.ensure")(function*(dims: number, embedderId: string) {
      const configured = { dimensions: dims, embedder: embedderId }
      const { exists } = yield* call("ensure", (c) => c.collectionExists(collection))
      let indexed: Record<string, unknown> = {}
      if (!exists) {
        // The client's createCollection wrapper drops `metadata`, so this goes through its typed API.
        yield* call("ensure", (c) =>
          c.api().createCollection({ collection_name: collection, ...collectionSchema(dims, embedderId) }))
      } else {
        const info = yield* call("ensure", (c) => c.getCollection(collection))
        indexed = info.payload_schema
        const { dimensions: storedDims, embedder: storedEmbedder, hasLexical } = storedSchemaOf(info)
        if (storedDims === undefined || !hasLexical) {
          return yield* fail("ensure", `collection ${collection} exists without the named vectors "${DENSE_VECTOR}" and "${LEXICAL_VECTOR}"`)
        }
        if (storedDims !== dims || (storedEmbedder !== undefined && storedEmbedder !== embedderId)) {
          return yield* new VectorDimensionMismatch({
            stored: { dimensions: storedDims, embedder: storedEmbedder ?? "unknown" },
            configured
          })
        }
        if (storedEmbedder === undefined) {
          yield* call("ensure", (c) => c.updateCollection(collection, { metadata: { embedder: embedderId, dimensions: dims } }))
        }
      }
      yield* createMissingIndexes(call, "ensure", collection, indexed)
    })
    yield* ensure(dimensions, embedder)

    const upsert = Effect.fn("QdrantVectorStore.upsert")(function*(namespace: string, points: ReadonlyArray<MemoryPoint>) {
      if (points.length === 0) return
      for (const p of points) {
        if (!isUuid(p.id)) return yield* fail("upsert", `point id ${JSON.stringify(p.id)} is not a UUID`)
        if (p.vector.length !== dimensions) {
          return yield* fail("upsert", `vector has ${p.vector.length} dimensions, expected ${dimensions}`)
        }
      }
      const body: Array<Schemas["PointStruct"]> = points.map((p) => {
        const lexical = documentSparseVector(p.tokens)
        return {
          id: p.id,
          vector: lexical.indices.length === 0
            ? { [DENSE_VECTOR]: Array.from(p.vector) }
            : { [DENSE_VECTOR]: Array.from(p.vector), [LEXICAL_VECTOR]: lexical },
          payload: {
            ...p.payload,
            namespace,
            session_id: p.sessionId,
            created_at_ms: p.createdAtMs,
            expires_at_ms: p.expiresAtMs
          }
        }
      })
      yield* call("upsert", (c) => c.upsert(collection, { wait: true, points: body }))
    })

    const searchFilter = (namespace: string, options: SearchOptions): Schemas["Filter"] => ({
      must: options.sessionIds === undefined
        ? [namespaceIs(namespace)]
        : [namespaceIs(namespace), { key: "session_id", match: { any: [...options.sessionIds] } }],
      must_not: [expiredBy(options.nowMs)]
    })

    const search = (op: string, namespace: string, query: Schemas["VectorInput"], using: string, options: SearchOptions) =>
      Effect.gen(function*() {
        if (options.sessionIds !== undefined && options.sessionIds.length === 0) return [] as Array<ScoredMemory>
        const result = yield* call(op, (c) =>
          c.query(collection, {
            query,
            using,
            filter: searchFilter(namespace, options),
            limit: options.limit,
            with_payload: true
          }))
        return result.points.map((p): ScoredMemory => ({
          ...toStored(p.id, p.payload as StoredPayload | null | undefined),
          score: p.score
        }))
      })

    const searchDense = Effect.fn("QdrantVectorStore.searchDense")(function*(namespace: string, vector: Float32Array, options: SearchOptions) {
      if (vector.length !== dimensions) {
        return yield* fail("searchDense", `query has ${vector.length} dimensions, expected ${dimensions}`)
      }
      return yield* search("searchDense", namespace, Array.from(vector), DENSE_VECTOR, options)
    })

    const searchLexical = Effect.fn("QdrantVectorStore.searchLexical")(function*(namespace: string, tokens: ReadonlyArray<string>, options: SearchOptions) {
      const query = querySparseVector(tokens)
      if (query.indices.length === 0) return [] as Array<ScoredMemory>
      return yield* search("searchLexical", namespace, query, LEXICAL_VECTOR, options)
    })

    const get = Effect.fn("QdrantVectorStore.get")(function*(namespace: string, ids: ReadonlyArray<string>) {
      const valid = [...new Set(ids.filter(isUuid))]
      if (valid.length === 0) return [] as Array<StoredMemory>
      const records = yield* call("get", (c) => c.retrieve(collection, { ids: valid, with_payload: true, with_vector: false }))
      return records
        .filter((r) => (r.payload as StoredPayload | null | undefined)?.namespace === namespace)
        .map((r) => toStored(r.id, r.payload as StoredPayload | null | undefined))
    })

    const sessionFilter = (namespace: string, sessionId: string): Schemas["Filter"] => ({
      must: [namespaceIs(namespace), { key: "session_id", match: { value: sessionId } }]
    })

    const listSession = Effect.fn("QdrantVectorStore.listSession")(function*(namespace: string, sessionId: string, limit: number) {
      if (limit <= 0) return [] as Array<StoredMemory>
      const page = yield* call("listSession", (c) =>
        c.scroll(collection, {
          filter: sessionFilter(namespace, sessionId),
          limit,
          order_by: { key: "created_at_ms", direction: "asc" },
          with_payload: true,
          with_vector: false
        }))
      return page.points.map((r) => toStored(r.id, r.payload as StoredPayload | null | undefined)).sort(byCreatedThenId)
    })

    const scrollIds = (op: string, filter: Schemas["Filter"]) =>
      Effect.gen(function*() {
        const ids: Array<string> = []
        let offset: Schemas["ExtendedPointId"] | undefined
        do {
          const page = yield* call(op, (c) =>
            c.scroll(collection, {
              filter,
              limit: SCROLL_PAGE,
              with_payload: false,
              with_vector: false,
              ...(offset === undefined ? {} : { offset })
            }))
          for (const p of page.points) ids.push(String(p.id))
          const next = page.next_page_offset
          offset = typeof next === "string" || typeof next === "number" ? next : undefined
        } while (offset !== undefined)
        return ids
      })

    const countWhere = (op: string, filter: Schemas["Filter"]) =>
      call(op, (c) => c.count(collection, { filter, exact: true })).pipe(Effect.map((r) => r.count))

    const deleteWhere = (op: string, filter: Schemas["Filter"]) =>
      call(op, (c) => c.delete(collection, { wait: true, filter }))

    const deleteIds = Effect.fn("QdrantVectorStore.deleteIds")(function*(namespace: string, ids: ReadonlyArray<string>) {
      const valid = [...new Set(ids.filter(isUuid))]
      if (valid.length === 0) return 0
      // The namespace condition sits in the delete filter itself: ids of another namespace stay.
      const filter: Schemas["Filter"] = { must: [namespaceIs(namespace), { has_id: valid }] }
      const found = yield* countWhere("deleteIds", filter)
      if (found === 0) return 0
      yield* deleteWhere("deleteIds", filter)
      return found
    })

    const deleteSession = Effect.fn("QdrantVectorStore.deleteSession")(function*(namespace: string, sessionId: string) {
      const filter = sessionFilter(namespace, sessionId)
      const ids = yield* scrollIds("deleteSession", filter)
      if (ids.length === 0) return ids
      yield* deleteWhere("deleteSession", filter)
      return ids
    })

    const listExpired = Effect.fn("QdrantVectorStore.listExpired")(function*(nowMs: number, limit: number) {
      const page = yield* call("listExpired", (c) =>
        c.scroll(collection, { filter: { must: [expiredBy(nowMs)] }, limit, with_payload: true, with_vector: false }))
      return page.points.map((p): ExpiredMemory => ({ namespace: String(p.payload?.namespace ?? ""), id: String(p.id) }))
    })

    const count = Effect.fn("QdrantVectorStore.count")(function*(namespace: string) {
      return yield* countWhere("count", { must: [namespaceIs(namespace)] })
    })

    const ping = call("ping", (c) => c.getCollections()).pipe(Effect.asVoid, Effect.withSpan("QdrantVectorStore.ping"))

    return VectorStore.of({
      name: "qdrant",
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

/** Reads `QDRANT_URL`, `QDRANT_API_KEY` and `QDRANT_COLLECTION`, then checks or creates the collection. */
export const qdrantVectorStoreLayer = (dimensions: number, embedderId: string) =>
  Layer.effect(
    VectorStore,
    Effect.flatMap(QdrantSettingsConfig, (settings) => makeQdrantVectorStore(dimensions, embedderId, settings))
  )
