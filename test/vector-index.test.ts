import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { createIndex, type IndexKind, type Key, loadIndex, type VectorIndex, VectorIndexError } from "../src/services/VectorIndex.js"

const DIMS = 64

const mulberry32 = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** Unit vectors around `n / 50` centres, so neighbourhoods are meaningful (as with real embeddings). */
const clustered = (n: number, dims: number, seed: number): Float32Array => {
  const rand = mulberry32(seed)
  const gauss = () => Math.sqrt(-2 * Math.log(rand() || 1e-12)) * Math.cos(2 * Math.PI * rand())
  const centres = Array.from({ length: Math.max(4, Math.round(n / 50)) }, () => Float32Array.from({ length: dims }, gauss))
  const out = new Float32Array(n * dims)
  const sigma = 0.6 / Math.sqrt(dims)
  for (let i = 0; i < n; i++) {
    const centre = centres[Math.floor(rand() * centres.length)]!
    let norm = 0
    for (let j = 0; j < dims; j++) {
      const x = centre[j]! / Math.sqrt(dims) + sigma * gauss()
      out[i * dims + j] = x
      norm += x * x
    }
    for (let j = 0; j < dims; j++) out[i * dims + j]! /= Math.sqrt(norm)
  }
  return out
}

const rowOf = (m: Float32Array, i: number, dims = DIMS) => m.slice(i * dims, (i + 1) * dims)

const cosine = (a: Float32Array, b: Float32Array) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let j = 0; j < a.length; j++) {
    dot += a[j]! * b[j]!
    na += a[j]! * a[j]!
    nb += b[j]! * b[j]!
  }
  return dot / Math.sqrt(na * nb)
}

/** The obviously correct answer: score everything, sort. */
const bruteForce = (data: Float32Array, keys: ReadonlyArray<Key>, query: Float32Array, k: number, allow: (key: Key) => boolean = () => true) =>
  keys
    .map((key, i) => ({ key, score: cosine(rowOf(data, i, query.length), query) }))
    .filter((h) => allow(h.key))
    .sort((a, b) => b.score - a.score)
    .slice(0, k)

const N = 3_000 // above the size where the HNSW index answers by exact scan, so the graph is exercised
const data = clustered(N, DIMS, 7)
const queries = clustered(40, DIMS, 8)
const keys = Array.from({ length: N }, (_, i) => i)

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "vector-index-test-"))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const recallAt = (index: VectorIndex, k: number, allow?: (key: Key) => boolean) => {
  let hit = 0
  let total = 0
  for (let q = 0; q < 40; q++) {
    const query = rowOf(queries, q)
    const want = new Set(bruteForce(data, keys, query, k, allow).map((h) => h.key))
    const got = index.search(query, k, allow)
    if (allow) expect(got.every((h) => allow(h.key))).toBe(true)
    total += want.size
    for (const h of got) if (want.has(h.key)) hit++
  }
  return hit / total
}

describe.each<IndexKind>(["exact", "hnsw"])("%s index", (kind) => {
  const filled = () => {
    const index = createIndex({ dimensions: DIMS, expectedSize: N, kind })
    index.addMany(keys, data)
    return index
  }

  it("finds the true nearest neighbours with cosine scores", () => {
    const index = filled()
    expect(index.kind).toBe(kind)
    expect(index.size).toBe(N)
    const query = rowOf(queries, 0)
    const got = index.search(query, 10)
    const want = bruteForce(data, keys, query, 10)
    expect(got).toHaveLength(10)
    expect(got[0]!.key).toBe(want[0]!.key)
    expect(got[0]!.score).toBeCloseTo(want[0]!.score, 5)
    for (let i = 1; i < got.length; i++) expect(got[i]!.score).toBeLessThanOrEqual(got[i - 1]!.score)
    expect(recallAt(index, 10)).toBeGreaterThanOrEqual(kind === "exact" ? 1 : 0.95)
    // a stored vector is its own best match, whatever its length
    const scaled = rowOf(data, 123).map((x) => x * 42)
    expect(index.search(scaled, 1)[0]).toEqual({ key: 123, score: expect.closeTo(1, 5) })
  })

  it("is exact on small sets and handles k larger than the index", () => {
    const index = createIndex({ dimensions: DIMS, kind })
    expect(index.search(rowOf(queries, 0), 5)).toEqual([])
    index.addMany(keys.slice(0, 50), data.subarray(0, 50 * DIMS))
    const query = rowOf(queries, 1)
    expect(index.search(query, 100).map((h) => h.key)).toEqual(bruteForce(data, keys.slice(0, 50), query, 100).map((h) => h.key))
    expect(index.search(query, 0)).toEqual([])
  })

  it("upserts: re-adding a key replaces its vector", () => {
    const index = filled()
    const target = rowOf(queries, 3)
    index.add(17, target)
    expect(index.size).toBe(N)
    expect(index.search(target, 1)[0]).toEqual({ key: 17, score: expect.closeTo(1, 5) })
    // the old vector is gone: searching for it no longer yields key 17 with score 1
    const old = index.search(rowOf(data, 17), 5).find((h) => h.key === 17)
    expect(old === undefined || old.score < 0.999).toBe(true)

    // addMany too, and a key repeated in one batch keeps its last row
    const batch = new Float32Array(3 * DIMS)
    batch.set(rowOf(queries, 4), 0)
    batch.set(rowOf(queries, 5), DIMS)
    batch.set(rowOf(queries, 6), 2 * DIMS)
    index.addMany([18, 19, 18], batch)
    expect(index.size).toBe(N)
    expect(index.search(rowOf(queries, 6), 1)[0]?.key).toBe(18)
    expect(index.search(rowOf(queries, 5), 1)[0]?.key).toBe(19)
  })

  it("removes keys", () => {
    const index = filled()
    const query = rowOf(data, 42)
    expect(index.search(query, 1)[0]?.key).toBe(42)
    expect(index.remove(42)).toBe(true)
    expect(index.remove(42)).toBe(false)
    expect(index.has(42)).toBe(false)
    expect(index.size).toBe(N - 1)
    expect(index.search(query, 50).some((h) => h.key === 42)).toBe(false)
    for (let i = 0; i < 500; i++) index.remove(i * 2)
    expect(index.size).toBe(N - 500)
    const got = index.search(rowOf(queries, 9), 20)
    expect(got.every((h) => typeof h.key === "number" && (h.key % 2 === 1 || h.key >= 1000))).toBe(true)
    // a removed key can come back
    index.add(42, query)
    expect(index.search(query, 1)[0]?.key).toBe(42)
  })

  it("respects filters, including very selective ones", () => {
    const index = filled()
    const tenth = (key: Key) => Number(key) % 10 === 3
    expect(recallAt(index, 10, tenth)).toBeGreaterThanOrEqual(kind === "exact" ? 1 : 0.95)
    const few = new Set<Key>([5, 900, 2999])
    const query = rowOf(queries, 2)
    const calls = new Map<Key, number>()
    const got = index.search(query, 10, (key) => {
      calls.set(key, (calls.get(key) ?? 0) + 1)
      return few.has(key)
    })
    expect(got.map((h) => h.key)).toEqual(bruteForce(data, keys, query, 10, (key) => few.has(key)).map((h) => h.key))
    expect([...calls.values()].every((c) => c === 1)).toBe(true)
    expect(index.search(query, 10, () => false)).toEqual([])
  })

  it("searches among given keys", () => {
    const index = filled()
    const query = rowOf(queries, 11)
    const among = keys.filter((k) => k % 37 === 0)
    const got = index.searchAmong(query, 5, [...among, 999_999, among[0]!])
    const want = bruteForce(data, keys, query, 5, (key) => Number(key) % 37 === 0)
    expect(got.map((h) => h.key)).toEqual(want.map((h) => h.key))
    const wide = keys.filter((k) => k % 2 === 0)
    const wideGot = index.searchAmong(query, 10, wide)
    expect(wideGot.every((h) => Number(h.key) % 2 === 0)).toBe(true)
    expect(wideGot).toHaveLength(10)
  })

  it("accepts bigint keys and returns them canonically", () => {
    const index = createIndex({ dimensions: DIMS, kind })
    const big = 2n ** 63n + 5n
    index.add(7n, rowOf(data, 0))
    index.add(big, rowOf(data, 1))
    expect(index.has(7)).toBe(true)
    expect(index.search(rowOf(data, 0), 1)[0]?.key).toBe(7)
    expect(index.search(rowOf(data, 1), 1)[0]?.key).toBe(big)
    expect(() => index.add(-1, rowOf(data, 2))).toThrow(VectorIndexError)
    expect(() => index.add(1.5, rowOf(data, 2))).toThrow(VectorIndexError)
    expect(() => index.add(2n ** 64n, rowOf(data, 2))).toThrow(VectorIndexError)
  })

  it("rejects vectors and queries of the wrong dimension with a clear error", () => {
    const index = createIndex({ dimensions: DIMS, kind })
    expect(() => index.add(1, new Float32Array(DIMS + 1))).toThrow(/65 dimensions, the index expects 64/)
    expect(() => index.search(new Float32Array(3), 1)).toThrow(VectorIndexError)
    expect(() => index.addMany([1, 2], new Float32Array(DIMS))).toThrow(/2 keys/)
    expect(() => index.add(1, new Float32Array(DIMS).fill(Number.NaN))).toThrow(/NaN/)
    expect(index.size).toBe(0)
  })

  it("saves and loads a snapshot", async () => {
    const index = filled()
    index.remove(10)
    const big = 2n ** 60n
    index.add(big, rowOf(queries, 20))
    const path = join(dir, `${kind}-round-trip.idx`)
    await index.save(path)
    const loaded = await loadIndex(path, DIMS)
    expect(loaded?.kind).toBe(kind)
    expect(loaded?.size).toBe(index.size)
    expect(loaded?.has(10)).toBe(false)
    for (let q = 0; q < 10; q++) {
      const query = rowOf(queries, q)
      expect(loaded?.search(query, 10)).toEqual(index.search(query, 10))
    }
    expect(loaded?.search(rowOf(queries, 20), 1)[0]?.key).toBe(big)
    // the loaded index stays writable
    loaded?.add(10, rowOf(queries, 21))
    expect(loaded?.search(rowOf(queries, 21), 1)[0]?.key).toBe(10)
  })

  it("loads nothing from a missing, corrupt or mismatched snapshot", async () => {
    const index = filled()
    const path = join(dir, `${kind}-corrupt.idx`)
    await index.save(path)
    const good = await readFile(path)

    expect(await loadIndex(join(dir, "missing.idx"), DIMS)).toBeUndefined()
    expect(await loadIndex(path, DIMS + 1)).toBeUndefined()

    const flipped = Buffer.from(good)
    flipped[Math.floor(flipped.length / 2)]! ^= 0x40
    await writeFile(path, flipped)
    expect(await loadIndex(path, DIMS)).toBeUndefined()

    await writeFile(path, good)
    await truncate(path, good.length - 100)
    expect(await loadIndex(path, DIMS)).toBeUndefined()

    await writeFile(path, "not an index")
    expect(await loadIndex(path, DIMS)).toBeUndefined()
  })
})

describe("hnsw snapshot graph file", () => {
  it("rebuilds the graph from the snapshot's vectors when the graph file is damaged or missing", async () => {
    const index = createIndex({ dimensions: DIMS, kind: "hnsw" })
    index.addMany(keys, data)
    const path = join(dir, "graph.idx")
    await index.save(path)
    const graph = await readFile(`${path}.hnsw`)
    await writeFile(`${path}.hnsw`, graph.subarray(0, graph.length >> 1))
    const fromDamaged = await loadIndex(path, DIMS)
    expect(fromDamaged?.size).toBe(N)
    await rm(`${path}.hnsw`)
    const fromMissing = await loadIndex(path, DIMS)
    expect(fromMissing?.size).toBe(N)
    expect(recallAt(fromMissing!, 10)).toBeGreaterThanOrEqual(0.95)
  })
})

describe("hnsw recall", () => {
  it("reaches recall@10 ≥ 0.95 against the exact index on 5,000 clustered 384-d vectors", () => {
    const dims = 384
    const n = 5_000
    const vectors = clustered(n, dims, 11)
    const probes = clustered(100, dims, 12)
    const ids = Array.from({ length: n }, (_, i) => i)
    const exact = createIndex({ dimensions: dims, kind: "exact" })
    const hnsw = createIndex({ dimensions: dims, kind: "hnsw", expectedSize: n })
    exact.addMany(ids, vectors)
    hnsw.addMany(ids, vectors)
    let hit = 0
    for (let q = 0; q < 100; q++) {
      const query = rowOf(probes, q, dims)
      const want = new Set(exact.search(query, 10).map((h) => h.key))
      for (const h of hnsw.search(query, 10)) if (want.has(h.key)) hit++
    }
    expect(hit / 1000).toBeGreaterThanOrEqual(0.95)
  })
})
