import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { Embedder, type EmbedderShape, makeBuiltin } from "../src/services/Embedder.js"
import { type QdrantReindexPhase, reindexQdrant, stagingCollectionOf } from "../src/services/Reindex.js"
import type { MemoryPoint } from "../src/services/VectorStore.js"
import { makeQdrantVectorStore } from "../src/services/vector/QdrantVectorStore.js"
import { fakeQdrant, type FakeQdrantServer } from "./support/FakeQdrantServer.js"

const COLLECTION = "memories"
const STAGING = stagingCollectionOf(COLLECTION)
const OLD = makeBuiltin(8)
const NEW = makeBuiltin(16)

const TEXTS = [
  "The recycling goes out every second Tuesday.",
  "Alice lives in Berlin near the river.",
  "Bob moved to Paris last spring.",
  "The vault code changed on Monday.",
  "Quarterly revenue grew strongly in Q3.",
  "The cat is allergic to chicken.",
  "--- ... !!!" // no lexical terms: a point without a sparse vector
]

const settingsFor = (fake: FakeQdrantServer) => ({ url: fake.url, apiKey: Option.none(), collection: COLLECTION })

/** The builtin embedder, counting the texts it embeds. */
const counting = (inner: EmbedderShape) => {
  const texts: Array<string> = []
  const embedder: EmbedderShape = {
    ...inner,
    embed: (batch, purpose) => Effect.sync(() => texts.push(...batch)).pipe(Effect.zipRight(inner.embed(batch, purpose)))
  }
  return { embedder, texts }
}

/** Writes TEXTS through the store with `embedder`, spread over two namespaces. */
const populate = (fake: FakeQdrantServer, embedder: EmbedderShape) =>
  Effect.gen(function*() {
    const store = yield* makeQdrantVectorStore(embedder.dimensions, embedder.id, settingsFor(fake))
    const vectors = yield* embedder.embed(TEXTS, "document")
    const points = TEXTS.map((text, i): MemoryPoint => ({
      id: crypto.randomUUID(),
      sessionId: `s${i % 2}`,
      vector: vectors[i]!,
      tokens: text.split(/\s+/),
      payload: {
        content: text, kind: "fact", importance: 0.5, memory_key: `k${i}`, subject: "user",
        entities: [], topics: [], language: "en", locator: null, source_message_hash: `h${i}`
      },
      createdAtMs: 1_000 + i,
      expiresAtMs: i === 3 ? 9_999_999_999_999 : null
    }))
    yield* store.upsert("nsA", points.slice(0, 4))
    yield* store.upsert("nsB", points.slice(4))
    return points
  })

/** id → payload and sparse vector, as the fake holds them. */
const snapshot = (fake: FakeQdrantServer, name = COLLECTION) =>
  new Map([...fake.collections.get(name)!.points.values()].map((p) => [String(p.id), {
    payload: p.payload,
    lexical: p.vectors.get("lexical"),
    dense: p.vectors.get("dense") as Array<number>
  }]))

const unit = (v: Float32Array) => {
  const n = Math.hypot(...v) || 1
  return Array.from(v, (x) => x / n)
}

/** The live collection holds exactly the points of `before`, with NEW's dense vectors; staging is gone. */
const checkCopied = (fake: FakeQdrantServer, before: ReturnType<typeof snapshot>) =>
  Effect.gen(function*() {
    expect(fake.collections.has(STAGING)).toBe(false)
    const after = snapshot(fake)
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort())
    for (const [id, was] of before) {
      const now = after.get(id)!
      expect(now.payload).toEqual(was.payload)
      expect(now.lexical).toEqual(was.lexical)
      expect(now.dense).toHaveLength(NEW.dimensions)
      const [expected] = yield* NEW.embed([String(was.payload.content)], "document")
      now.dense.forEach((x, i) => expect(x).toBeCloseTo(unit(expected!)[i]!, 5))
    }
  })

/** Everything a finished reindex of the populated collection to NEW guarantees. */
const checkReindexed = (fake: FakeQdrantServer, before: ReturnType<typeof snapshot>, points: ReadonlyArray<MemoryPoint>) =>
  Effect.gen(function*() {
    yield* checkCopied(fake, before)
    const after = snapshot(fake)
    expect(after.get(points[6]!.id)!.lexical).toBeUndefined()
    expect(fake.collections.get(COLLECTION)!.metadata).toMatchObject({ embedder: NEW.id, dimensions: NEW.dimensions })
    expect([...fake.collections.get(COLLECTION)!.payloadSchema.keys()].sort())
      .toEqual(["created_at_ms", "expires_at_ms", "memory_key", "namespace", "session_id"])

    const refused = yield* Effect.flip(makeQdrantVectorStore(OLD.dimensions, OLD.id, settingsFor(fake)))
    expect(refused._tag).toBe("VectorDimensionMismatch")
    const store = yield* makeQdrantVectorStore(NEW.dimensions, NEW.id, settingsFor(fake))
    // The last text has no words: the builtin embedder gives it the zero vector, found by nothing.
    for (const [i, p] of points.slice(0, 6).entries()) {
      const namespace = i < 4 ? "nsA" : "nsB"
      const [query] = yield* NEW.embed([TEXTS[i]!], "query")
      const hits = yield* store.searchDense(namespace, query!, { limit: 3, nowMs: 2_000 })
      expect(hits[0]!.id).toBe(p.id)
    }
    const lexical = yield* store.searchLexical("nsA", ["paris"], { limit: 5, nowMs: 2_000 })
    expect(lexical.map((m) => m.id)).toEqual([points[2]!.id])
    expect(yield* store.count("nsA")).toBe(4)
    expect(yield* store.count("nsB")).toBe(3)
    const [stored] = yield* store.get("nsA", [points[3]!.id])
    expect(stored).toEqual({
      id: points[3]!.id, sessionId: "s1", payload: points[3]!.payload, createdAtMs: 1_003, expiresAtMs: 9_999_999_999_999
    })
  })

const run = (fake: FakeQdrantServer, embedder: EmbedderShape, progress: Array<[number, number, QdrantReindexPhase]> = []) =>
  reindexQdrant(settingsFor(fake), {
    batch: 3,
    onProgress: (done, total, phase) => Effect.sync(() => progress.push([done, total, phase]))
  }).pipe(Effect.provideService(Embedder, embedder))

describe("reindexQdrant (against the fake peer)", () => {
  it.scoped("re-embeds every point into the new size, keeping ids, payloads and sparse vectors", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      const before = snapshot(fake)
      const refused = yield* Effect.flip(makeQdrantVectorStore(NEW.dimensions, NEW.id, settingsFor(fake)))
      expect(refused._tag).toBe("VectorDimensionMismatch")

      const { embedder, texts } = counting(NEW)
      const progress: Array<[number, number, QdrantReindexPhase]> = []
      const result = yield* run(fake, embedder, progress)
      expect(result).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      expect(texts.sort()).toEqual([...TEXTS].sort())
      expect(progress).toEqual([
        [3, 7, "embed"], [6, 7, "embed"], [7, 7, "embed"],
        [3, 7, "copy"], [6, 7, "copy"], [7, 7, "copy"]
      ])
      // Staging was created with the new schema and marked complete before the live collection went.
      const stagingCreate = fake.requestsTo("PUT", /^\/collections\/memories__reindex$/)
      expect(stagingCreate.map((r) => r.body)).toEqual([{
        vectors: { dense: { size: 16, distance: "Cosine" } },
        sparse_vectors: { lexical: { modifier: "idf" } },
        metadata: { embedder: NEW.id, dimensions: 16 }
      }])
      const order = fake.requests.map((r) => `${r.method} ${r.path}`)
      const marked = order.indexOf("PATCH /collections/memories__reindex")
      const dropped = order.indexOf("DELETE /collections/memories")
      expect(marked).toBeGreaterThan(-1)
      expect(dropped).toBeGreaterThan(marked)
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("a crash after the live collection was replaced loses nothing: the next run copies back", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      const before = snapshot(fake)
      // The first upsert into the live collection after it was recreated fails.
      fake.failOn("PUT", /^\/collections\/memories\/points$/)
      const crashed = yield* Effect.flip(run(fake, NEW))
      expect(crashed._tag).toBe("VectorStoreError")
      expect(fake.collections.get(COLLECTION)!.points.size).toBe(0)
      expect(fake.collections.get(COLLECTION)!.dense.get("dense")!.size).toBe(16)
      expect(fake.collections.get(STAGING)!.points.size).toBe(7)
      // Staging still holds every point: running the reindex again finishes the copy.
      const { embedder, texts } = counting(NEW)
      const progress: Array<[number, number, QdrantReindexPhase]> = []
      expect(yield* run(fake, embedder, progress)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      expect(texts).toEqual([])
      expect(progress.filter(([, , phase]) => phase === "embed")).toEqual([])
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("a crash between deleting and recreating the live collection loses nothing", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      const before = snapshot(fake)
      fake.failOn("PUT", /^\/collections\/memories$/)
      expect((yield* Effect.flip(run(fake, NEW)))._tag).toBe("VectorStoreError")
      expect(fake.collections.has(COLLECTION)).toBe(false)
      expect(fake.collections.get(STAGING)!.points.size).toBe(7)
      expect(yield* run(fake, NEW)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("a crash after staging was marked, before the live collection was deleted, resumes", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      const before = snapshot(fake)
      fake.failOn("DELETE", /^\/collections\/memories$/)
      expect((yield* Effect.flip(run(fake, NEW)))._tag).toBe("VectorStoreError")
      expect(fake.collections.get(COLLECTION)!.dense.get("dense")!.size).toBe(8)
      const { embedder, texts } = counting(NEW)
      expect(yield* run(fake, embedder)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      expect(texts).toEqual([])
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("a crash mid-fill of the staging collection resumes, embedding only what is missing", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      const before = snapshot(fake)
      // The second batch into staging fails: the first 3 points are staged, the live collection untouched.
      fake.failOn("PUT", /^\/collections\/memories__reindex\/points$/, { skip: 1 })
      const first = counting(NEW)
      expect((yield* Effect.flip(run(fake, first.embedder)))._tag).toBe("VectorStoreError")
      expect(first.texts).toHaveLength(6)
      expect(fake.collections.get(STAGING)!.points.size).toBe(3)
      expect(fake.collections.get(STAGING)!.metadata).not.toHaveProperty("reindex_complete")
      expect(snapshot(fake)).toEqual(before)
      // The old store still starts: nothing was replaced.
      yield* makeQdrantVectorStore(OLD.dimensions, OLD.id, settingsFor(fake))

      const second = counting(NEW)
      expect(yield* run(fake, second.embedder)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      expect(second.texts).toHaveLength(4)
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("a server run between two reindex runs: changed, deleted and new points are followed", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      fake.failOn("PUT", /^\/collections\/memories__reindex\/points$/, { skip: 1 })
      yield* Effect.flip(run(fake, NEW))
      const staged = [...fake.collections.get(STAGING)!.points.values()].map((p) => String(p.id))
      expect(staged).toHaveLength(3)
      // The old server still starts on the untouched collection and changes it.
      const store = yield* makeQdrantVectorStore(OLD.dimensions, OLD.id, settingsFor(fake))
      const byId = new Map(points.map((p, i) => [p.id, { p, namespace: i < 4 ? "nsA" : "nsB" }]))
      const changed = byId.get(staged[0]!)!
      yield* store.upsert(changed.namespace, [{ ...changed.p, payload: { ...changed.p.payload, importance: 0.9 } }])
      const deleted = byId.get(staged[1]!)!
      expect(yield* store.deleteIds(deleted.namespace, [deleted.p.id])).toBe(1)
      const [vector] = yield* OLD.embed(["a brand new memory about tulips"], "document")
      const added: MemoryPoint = { ...points[0]!, id: crypto.randomUUID(), vector: vector!, tokens: ["tulips"], payload: { ...points[0]!.payload, content: "a brand new memory about tulips" } }
      yield* store.upsert("nsA", [added])
      const before = snapshot(fake)

      const { embedder, texts } = counting(NEW)
      expect(yield* run(fake, embedder)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      // Everything but the one staged point that did not change is embedded.
      expect(texts).toHaveLength(6)
      yield* checkCopied(fake, before)
      expect(snapshot(fake).get(changed.p.id)!.payload.importance).toBe(0.9)
      expect(snapshot(fake).has(deleted.p.id)).toBe(false)
    }))

  it.scoped("a server run after staging was marked, before the live collection was deleted, is not lost", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      fake.failOn("DELETE", /^\/collections\/memories$/)
      yield* Effect.flip(run(fake, NEW))
      expect(fake.collections.get(STAGING)!.metadata).toMatchObject({ reindex_complete: true })
      const store = yield* makeQdrantVectorStore(OLD.dimensions, OLD.id, settingsFor(fake))
      const [vector] = yield* OLD.embed(["a brand new memory about tulips"], "document")
      const added: MemoryPoint = { ...points[0]!, id: crypto.randomUUID(), vector: vector!, tokens: ["tulips"], payload: { ...points[0]!.payload, content: "a brand new memory about tulips" } }
      yield* store.upsert("nsA", [added])
      const before = snapshot(fake)
      const { embedder, texts } = counting(NEW)
      expect(yield* run(fake, embedder)).toEqual({ reindexed: 8, dimensions: 16, embedder: NEW.id })
      expect(texts).toEqual(["a brand new memory about tulips"])
      yield* checkCopied(fake, before)
    }))

  it.scoped("an incomplete staging collection from another embedder is dropped and rebuilt", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, OLD)
      const before = snapshot(fake)
      fake.failOn("PUT", /^\/collections\/memories__reindex\/points$/, { skip: 1 })
      yield* Effect.flip(run(fake, makeBuiltin(12)))
      expect(fake.collections.get(STAGING)!.dense.get("dense")!.size).toBe(12)
      const { embedder, texts } = counting(NEW)
      expect(yield* run(fake, embedder)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      expect(texts).toHaveLength(7)
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("reindexing a collection that already matches the embedder keeps every point", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const points = yield* populate(fake, NEW)
      const before = snapshot(fake)
      const progress: Array<[number, number, QdrantReindexPhase]> = []
      expect(yield* run(fake, NEW, progress)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      expect(progress.at(-1)).toEqual([7, 7, "copy"])
      yield* checkReindexed(fake, before, points)
      // A second run is just as harmless.
      expect(yield* run(fake, NEW)).toEqual({ reindexed: 7, dimensions: 16, embedder: NEW.id })
      yield* checkReindexed(fake, before, points)
    }))

  it.scoped("a missing collection is an error, not an empty reindex", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      const error = yield* Effect.flip(run(fake, NEW))
      expect(error._tag).toBe("VectorStoreError")
      expect(String(error.cause)).toContain("does not exist")
      expect(fake.collections.size).toBe(0)
    }))

  it.scoped("an empty collection is reindexed to the new schema", () =>
    Effect.gen(function*() {
      const fake = yield* fakeQdrant()
      yield* makeQdrantVectorStore(OLD.dimensions, OLD.id, settingsFor(fake))
      expect(yield* run(fake, NEW)).toEqual({ reindexed: 0, dimensions: 16, embedder: NEW.id })
      expect(fake.collections.has(STAGING)).toBe(false)
      yield* makeQdrantVectorStore(NEW.dimensions, NEW.id, settingsFor(fake))
    }))
})
