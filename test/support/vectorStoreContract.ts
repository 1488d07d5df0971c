import { createHash, randomUUID } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { type Duration, Effect, type Layer } from "effect"
import { type MemoryPoint, VectorStore } from "../../src/services/VectorStore.js"

/**
 * The VectorStore contract every implementation passes. The layer must build the store for
 * `CONTRACT_DIMENSIONS`-d vectors from `CONTRACT_EMBEDDER`, on an empty store.
 */
export const CONTRACT_DIMENSIONS = 16
export const CONTRACT_EMBEDDER = "test-embedder:16"
const DIMS = CONTRACT_DIMENSIONS

/** A deterministic unit vector per word set: texts sharing words are close. */
export const vectorOf = (words: ReadonlyArray<string>) => {
  const v = new Float32Array(DIMS)
  for (const w of words) {
    const h = createHash("sha256").update(w).digest()
    for (let i = 0; i < DIMS; i++) v[i]! += (h[i]! / 255) - 0.5
  }
  const n = Math.hypot(...v) || 1
  return v.map((x) => x / n)
}

export const point = (sessionId: string, text: string, extra: Partial<MemoryPoint> = {}): MemoryPoint => {
  const tokens = text.toLowerCase().split(/\s+/)
  return {
    id: randomUUID(),
    sessionId,
    vector: vectorOf(tokens),
    tokens,
    payload: {
      content: text, kind: "fact", importance: 0.5, memory_key: `k:${text}`, subject: "user",
      entities: [], topics: [], language: "en", locator: null, source_message_hash: "h"
    },
    createdAtMs: 1_000,
    expiresAtMs: null,
    ...extra
  }
}

export const vectorStoreContract = <R>(
  name: string,
  storeLayer: Layer.Layer<VectorStore | R, unknown>,
  options: { readonly timeout?: Duration.DurationInput } = {}
) =>
  layer(storeLayer, { timeout: options.timeout ?? "120 seconds" })(`VectorStore contract (${name})`, (it) => {
    it.effect("dense and lexical search find the right memory, scoped to its namespace", () =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        const berlin = point("s1", "alice lives in berlin near the river")
        const paris = point("s1", "bob moved to paris last spring")
        const other = point("s1", "alice lives in berlin near the river")
        yield* store.upsert("nsA", [berlin, paris])
        yield* store.upsert("nsB", [other])
        const dense = yield* store.searchDense("nsA", vectorOf(["alice", "lives", "in", "berlin"]), { limit: 2, nowMs: 2_000 })
        expect(dense[0]!.id).toBe(berlin.id)
        expect(dense.every((m) => m.id !== other.id)).toBe(true)
        expect(dense[0]!.score).toBeGreaterThan(dense[1]?.score ?? -1)
        expect(dense[0]!.payload.content).toBe(berlin.payload.content)
        const lexical = yield* store.searchLexical("nsA", ["paris", "spring"], { limit: 5, nowMs: 2_000 })
        expect(lexical.map((m) => m.id)).toEqual([paris.id])
        expect(yield* store.searchLexical("nsA", ["it's", "-", "(paris)"], { limit: 5, nowMs: 2_000 })).toHaveLength(1)
        expect(yield* store.searchLexical("nsA", ["   "], { limit: 5, nowMs: 2_000 })).toEqual([])
        expect(yield* store.count("nsB")).toBe(1)
      }))

    it.effect("session scoping, expiry, upsert replacing, get and listSession", () =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        const a = point("file-1", "quarterly revenue grew strongly")
        const b = point("file-2", "quarterly revenue fell sharply")
        const temp = point("chat", "quarterly revenue meeting today", { expiresAtMs: 5_000 })
        yield* store.upsert("scoped", [a, b, temp])
        const q = vectorOf(["quarterly", "revenue"])
        const onlyFile2 = yield* store.searchDense("scoped", q, { limit: 10, nowMs: 1_000, sessionIds: ["file-2"] })
        expect(onlyFile2.map((m) => m.id)).toEqual([b.id])
        const lexOnlyFile1 = yield* store.searchLexical("scoped", ["revenue"], { limit: 10, nowMs: 1_000, sessionIds: ["file-1"] })
        expect(lexOnlyFile1.map((m) => m.id)).toEqual([a.id])
        expect((yield* store.searchDense("scoped", q, { limit: 10, nowMs: 1_000 })).map((m) => m.id)).toContain(temp.id)
        expect((yield* store.searchDense("scoped", q, { limit: 10, nowMs: 6_000 })).map((m) => m.id)).not.toContain(temp.id)
        expect((yield* store.searchLexical("scoped", ["meeting"], { limit: 10, nowMs: 6_000 }))).toEqual([])

        const changed = { ...a, tokens: ["profit", "margin"], vector: vectorOf(["profit", "margin"]), payload: { ...a.payload, content: "profit margin widened" } }
        yield* store.upsert("scoped", [changed])
        expect((yield* store.get("scoped", [a.id]))[0]!.payload.content).toBe("profit margin widened")
        expect(yield* store.searchLexical("scoped", ["grew"], { limit: 10, nowMs: 1_000 })).toEqual([])
        expect((yield* store.searchDense("scoped", vectorOf(["profit", "margin"]), { limit: 1, nowMs: 1_000 }))[0]!.id).toBe(a.id)
        expect(yield* store.count("scoped")).toBe(3)
        expect((yield* store.listSession("scoped", "file-1", 10)).map((m) => m.id)).toEqual([a.id])
        expect(yield* store.listExpired(1_000, 10)).toEqual([])
        const expired = yield* store.listExpired(6_000, 10)
        expect(expired).toEqual([{ namespace: "scoped", id: temp.id }])
        expect(yield* store.deleteIds("scoped", expired.map((e) => e.id))).toBe(1)
        expect(yield* store.count("scoped")).toBe(2)
      }))

    it.effect("deletes by id and by session leave nothing findable", () =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        const keep = point("keep", "the launch date is march tenth")
        const gone = point("gone", "the launch date is march tenth")
        const gone2 = point("gone", "launch checklist owner is dana")
        const single = point("keep", "launch budget approved")
        yield* store.upsert("forget", [keep, gone, gone2, single])
        expect(yield* store.deleteIds("forget", [single.id, randomUUID()])).toBe(1)
        const removed = yield* store.deleteSession("forget", "gone")
        expect([...removed].sort()).toEqual([gone.id, gone2.id].sort())
        const dense = yield* store.searchDense("forget", vectorOf(["launch", "date", "march"]), { limit: 10, nowMs: 0 })
        expect(dense.map((m) => m.id)).toEqual([keep.id])
        expect((yield* store.searchLexical("forget", ["launch"], { limit: 10, nowMs: 0 })).map((m) => m.id)).toEqual([keep.id])
        expect(yield* store.get("forget", [gone.id, single.id])).toEqual([])
        expect(yield* store.deleteSession("forget", "gone")).toEqual([])
      }))

    it.effect("a different embedder or dimension is refused with the reindex hint", () =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        yield* store.ensure(DIMS, "test-embedder:16")
        const mismatch = yield* Effect.flip(store.ensure(384, "builtin-hash-v1:384"))
        expect(mismatch._tag).toBe("VectorDimensionMismatch")
        expect(mismatch.message).toContain("memory reindex")
        const wrongQuery = yield* Effect.flip(store.searchDense("x", new Float32Array(3), { limit: 1, nowMs: 0 }))
        expect(wrongQuery._tag).toBe("VectorStoreError")
      }))
  })
