import { randomUUID } from "node:crypto"
import { QdrantClient } from "@qdrant/js-client-rest"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Redacted } from "effect"
import {
  documentSparseVector,
  makeQdrantVectorStore,
  qdrantVectorStoreLayer,
  querySparseVector,
  termIndex
} from "../src/services/vector/QdrantVectorStore.js"
import { fakeQdrant, type FakeQdrantServer } from "./support/FakeQdrantServer.js"
import { CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, point, vectorOf, vectorStoreContract } from "./support/vectorStoreContract.js"

const API_KEY = "qdrant-test-key-5f0c2d"
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

const withConfig = (entries: Record<string, string>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(entries))))

vectorStoreContract(
  "qdrant on the fake peer",
  Layer.unwrapScoped(Effect.map(fakeQdrant({ apiKey: API_KEY }), (fake) =>
    qdrantVectorStoreLayer(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER).pipe(
      Layer.provide(withConfig({ QDRANT_URL: fake.url, QDRANT_API_KEY: API_KEY }))
    )))
)

const realUrl = process.env.QDRANT_URL
if (realUrl !== undefined && realUrl !== "") {
  // A throwaway collection per run, dropped afterwards: the contract expects an empty store.
  const collection = `openclaw_contract_${randomUUID().slice(0, 8)}`
  const apiKey = process.env.QDRANT_API_KEY
  const dropCollection = Layer.scopedDiscard(Effect.addFinalizer(() =>
    Effect.promise(() =>
      new QdrantClient({ url: realUrl, checkCompatibility: false, ...(apiKey ? { headers: { "api-key": apiKey } } : {}) })
        .deleteCollection(collection)
        .catch(() => false)
    )
  ))
  vectorStoreContract(
    `qdrant at ${realUrl}`,
    qdrantVectorStoreLayer(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER).pipe(
      Layer.provide(Layer.setConfigProvider(
        ConfigProvider.fromMap(new Map([["QDRANT_COLLECTION", collection]])).pipe(ConfigProvider.orElse(() => ConfigProvider.fromEnv()))
      )),
      Layer.provideMerge(dropCollection)
    )
  )
} else {
  describe("VectorStore contract (real qdrant)", () => {
    it.skip("skipped: set QDRANT_URL (and QDRANT_API_KEY if the server needs one) to run the contract against a real Qdrant", () => {})
  })
}

const settingsFor = (fake: FakeQdrantServer, apiKey: string | null = API_KEY, collection = "memories") => ({
  url: fake.url,
  apiKey: apiKey === null ? Option.none() : Option.some(Redacted.make(apiKey)),
  collection
})

describe("QdrantVectorStore protocol (against the fake peer)", () => {
  it.scoped("ensure creates named dense + sparse(idf) vectors, the embedder marker and the tenant index", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant({ apiKey: API_KEY })
      yield* makeQdrantVectorStore(8, "emb:8", settingsFor(fake))
      const create = fake.requestsTo("PUT", /^\/collections\/memories$/)
      expect(create).toHaveLength(1)
      expect(create[0]!.body).toEqual({
        vectors: { dense: { size: 8, distance: "Cosine" } },
        sparse_vectors: { lexical: { modifier: "idf" } },
        metadata: { embedder: "emb:8", dimensions: 8 }
      })
      const indexes = fake.requestsTo("PUT", /\/index$/)
      expect(indexes.map((r) => r.body)).toEqual(expect.arrayContaining([
        { field_name: "namespace", field_schema: { type: "keyword", is_tenant: true } },
        { field_name: "session_id", field_schema: "keyword" },
        { field_name: "expires_at_ms", field_schema: "integer" },
        { field_name: "memory_key", field_schema: "keyword" }
      ]))
      expect(indexes.every((r) => r.query.wait === "true")).toBe(true)
      expect(fake.requests.every((r) => r.headers["api-key"] === API_KEY)).toBe(true)

      // A second start reuses the collection and its indexes.
      const before = fake.requests.length
      yield* makeQdrantVectorStore(8, "emb:8", settingsFor(fake))
      const again = fake.requests.slice(before)
      expect(again.filter((r) => r.method === "PUT")).toEqual([])
    }))

  it.scoped("points carry UUID ids, named vectors and the storage payload; searches name their vector", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const store = yield* makeQdrantVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, settingsFor(fake, null))
      const p = point("s1", "it's raining in (Paris) paris", { expiresAtMs: 9_000 })
      yield* store.upsert("ns", [p])
      const upsert = fake.requestsTo("PUT", /\/points$/)[0]!
      expect(upsert.query.wait).toBe("true")
      expect(upsert.headers["api-key"]).toBeUndefined()
      const sent = (upsert.body as { points: Array<{ id: string; vector: Record<string, unknown>; payload: Record<string, unknown> }> }).points[0]!
      expect(sent.id).toMatch(UUID)
      expect(Object.keys(sent.vector).sort()).toEqual(["dense", "lexical"])
      expect(sent.payload).toMatchObject({ namespace: "ns", session_id: "s1", created_at_ms: 1_000, expires_at_ms: 9_000, content: p.payload.content })
      const lexical = sent.vector.lexical as { indices: Array<number>; values: Array<number> }
      const paris = lexical.indices.indexOf(termIndex("paris"))
      expect(lexical.values[paris]).toBeCloseTo(1 + Math.log(2))

      yield* store.searchDense("ns", vectorOf(["paris"]), { limit: 3, nowMs: 0, sessionIds: ["s1"] })
      yield* store.searchLexical("ns", ["Paris!"], { limit: 3, nowMs: 0 })
      const queries = fake.requestsTo("POST", /\/points\/query$/).map((r) => r.body as Record<string, unknown>)
      expect(queries.map((q) => q.using)).toEqual(["dense", "lexical"])
      expect(queries[0]!.filter).toEqual({
        must: [{ key: "namespace", match: { value: "ns" } }, { key: "session_id", match: { any: ["s1"] } }],
        must_not: [{ key: "expires_at_ms", range: { lte: 0 } }]
      })
      expect(queries[1]!.query).toEqual({ indices: [termIndex("paris")], values: [1] })

      const stored = yield* store.get("ns", [p.id, "not-a-uuid"])
      expect(stored).toEqual([{ id: p.id, sessionId: "s1", payload: p.payload, createdAtMs: 1_000, expiresAtMs: 9_000 }])
      const bad = yield* Effect.flip(store.upsert("ns", [{ ...p, id: "memory-1" }]))
      expect(bad._tag).toBe("VectorStoreError")
    }))

  it.scoped("an existing collection of another size, or from another embedder, is a VectorDimensionMismatch", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      yield* makeQdrantVectorStore(8, "emb:8", settingsFor(fake, null))
      const bySize = yield* Effect.flip(makeQdrantVectorStore(16, "emb:8", settingsFor(fake, null)))
      expect(bySize._tag).toBe("VectorDimensionMismatch")
      expect(bySize.message).toContain("memory reindex")
      const byEmbedder = yield* Effect.flip(makeQdrantVectorStore(8, "other:8", settingsFor(fake, null)))
      expect(byEmbedder).toMatchObject({ _tag: "VectorDimensionMismatch", stored: { dimensions: 8, embedder: "emb:8" } })
    }))

  it.scoped("a collection made elsewhere without the marker is adopted and marked", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      yield* Effect.promise(() =>
        new QdrantClient({ url: fake.url, checkCompatibility: false }).createCollection("memories", {
          vectors: { dense: { size: 4, distance: "Cosine" } },
          sparse_vectors: { lexical: { modifier: "idf" } }
        })
      )
      yield* makeQdrantVectorStore(4, "emb:4", settingsFor(fake, null))
      expect(fake.collections.get("memories")!.metadata).toEqual({ embedder: "emb:4", dimensions: 4 })
    }))

  it.scoped("a 500 from the peer is a VectorStoreError that never contains the key", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant({ apiKey: API_KEY })
      const store = yield* makeQdrantVectorStore(4, "emb:4", settingsFor(fake))
      fake.failNext(500, { status: { error: `Service internal error: upstream rejected api-key ${API_KEY}` }, time: 0 })
      const error = yield* Effect.flip(store.count("ns"))
      expect(error._tag).toBe("VectorStoreError")
      const text = `${String(error)} ${String(error.cause)} ${JSON.stringify(error)} ${(error.cause as Error).stack ?? ""}`
      expect(text).not.toContain(API_KEY)
      expect(String(error.cause)).toContain("500")
      expect(String(error.cause)).toContain("<redacted>")

      const wrongKey = yield* makeQdrantVectorStore(4, "emb:4", settingsFor(fake, "wrong-key")).pipe(Effect.flip)
      expect(wrongKey._tag).toBe("VectorStoreError")
      expect(JSON.stringify(wrongKey)).not.toContain("wrong-key")
    }))

  it.scoped("deleting ids of another namespace deletes nothing", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const store = yield* makeQdrantVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, settingsFor(fake, null))
      const mine = point("s", "the vault code changed")
      yield* store.upsert("teamA", [mine])
      expect(yield* store.deleteIds("teamB", [mine.id])).toBe(0)
      expect(yield* store.count("teamA")).toBe(1)
      expect(yield* store.get("teamB", [mine.id])).toEqual([])
      expect(yield* store.deleteIds("teamA", [mine.id])).toBe(1)
      expect(yield* store.count("teamA")).toBe(0)
    }))

  it.scoped("deleteSession pages through scroll, listSession orders by created_at_ms", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const store = yield* makeQdrantVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, settingsFor(fake, null))
      const points = Array.from({ length: 600 }, (_, i) => point("big", `chunk number ${i}`, { createdAtMs: 10_000 - i }))
      yield* store.upsert("docs", points)
      const listed = yield* store.listSession("docs", "big", 3)
      expect(listed.map((m) => m.createdAtMs)).toEqual([9_401, 9_402, 9_403])
      const removed = yield* store.deleteSession("docs", "big")
      expect(removed).toHaveLength(600)
      expect(new Set(removed).size).toBe(600)
      expect(fake.requestsTo("POST", /\/points\/scroll$/).filter((r) => (r.body as { offset?: unknown }).offset !== undefined).length).toBeGreaterThan(0)
      expect(yield* store.count("docs")).toBe(0)
    }))

  it.scoped("ping lists collections and fails when the peer is gone", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const store = yield* makeQdrantVectorStore(4, "emb:4", settingsFor(fake, null))
      yield* store.ping
      expect(fake.requestsTo("GET", /^\/collections$/)).toHaveLength(1)
      yield* Effect.promise(() => fake.close())
      expect((yield* Effect.flip(store.ping))._tag).toBe("VectorStoreError")
    }))

  it("sparse vectors: stable FNV-1a indices, sublinear tf, punctuation-insensitive queries", () => {
    expect(termIndex("")).toBe(0x811c9dc5)
    expect(termIndex("a")).toBe(0xe40c292c)
    expect(termIndex("记忆")).toBe(termIndex("记忆"))
    const doc = documentSparseVector(["alpha", "beta", "alpha", "alpha"])
    expect(doc.indices).toHaveLength(2)
    expect(doc.values[doc.indices.indexOf(termIndex("alpha"))]).toBeCloseTo(1 + Math.log(3))
    expect(querySparseVector(["(Alpha)", "alpha", "  "])).toEqual({ indices: [termIndex("alpha")], values: [1] })
  })

  it.scoped("the fake rejects unknown fields and wrong shapes like Qdrant", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const put = (path: string, body: unknown) =>
        Effect.promise(() =>
          fetch(`${fake.url}${path}`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
            .then(async (r) => ({ status: r.status, body: await r.json() as { status: { error?: string } } }))
        )
      const unknownField = yield* put("/collections/x", { vectors: { dense: { size: 4, distance: "Cosine" } }, colour: "blue" })
      expect(unknownField.status).toBe(400)
      expect(unknownField.body.status.error).toContain("colour")
      expect((yield* put("/collections/x", { vectors: { dense: { size: 4, distance: "Cosine" } } })).status).toBe(200)
      const badId = yield* put("/collections/x/points?wait=true", { points: [{ id: "memory-1", vector: { dense: [1, 0, 0, 0] } }] })
      expect(badId.status).toBe(400)
      expect(badId.body.status.error).toContain("not a valid point ID")
      expect((yield* put("/collections/x/points?wait=true", { points: [{ id: 1, vector: { dense: [1, 0] } }] })).status).toBe(400)
    }))
})
