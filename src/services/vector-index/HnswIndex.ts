import { Index, MetricKind, ScalarKind } from "usearch"
import { ExactIndex } from "./ExactIndex.js"
import { TopK } from "./topk.js"
import { writeSnapshot } from "./snapshot.js"
import {
  canonicalKey,
  checkDimensions,
  type Hit,
  type HnswOptions,
  type Key,
  type KeyFilter,
  type Quantization,
  type VectorIndex
} from "./types.js"

export interface HnswSettings {
  readonly connectivity: number
  readonly expansionAdd: number
  readonly expansionSearch: number
  readonly quantization: Quantization
}

/** Chosen by `bench/vector-index.mjs`; see docs/vector-index.md. */
export const defaultHnswSettings: HnswSettings = {
  connectivity: 16,
  expansionAdd: 128,
  expansionSearch: 128,
  quantization: "f16"
}

/** Below this many vectors a JS scan is as fast as the graph and always exact. */
const EXACT_BELOW = 2_000
/** Over-fetching stops (and an exact filtered scan takes over) once it would read this share of the index. */
const OVERFETCH_LIMIT = 1 / 16
const OVERFETCH_GROWTH = 4
/** Batches smaller than this are inserted on the calling thread: starting workers costs more. */
const PARALLEL_BATCH = 256

const scalarKind: Record<Quantization, ScalarKind> = {
  f32: ScalarKind.F32,
  f16: ScalarKind.F16,
  i8: ScalarKind.I8
}

/**
 * usearch's HNSW graph for candidates, plus the f32 unit rows in an `ExactIndex` for exact re-scoring,
 * exact scans of small or heavily filtered sets, and snapshots. The graph's own copy may be quantized.
 * Cosine is computed as inner product because every stored row and query is unit length.
 */
export class HnswIndex implements VectorIndex {
  readonly kind = "hnsw" as const
  readonly settings: HnswSettings
  private readonly rows: ExactIndex
  private graph: Index

  constructor(readonly dimensions: number, expectedSize?: number, options?: HnswOptions) {
    this.rows = new ExactIndex(dimensions, expectedSize)
    this.settings = {
      connectivity: options?.connectivity ?? defaultHnswSettings.connectivity,
      expansionAdd: options?.expansionAdd ?? defaultHnswSettings.expansionAdd,
      expansionSearch: options?.expansionSearch ?? defaultHnswSettings.expansionSearch,
      quantization: options?.quantization ?? defaultHnswSettings.quantization
    }
    this.graph = this.emptyGraph()
  }

  get size(): number {
    return this.rows.size
  }

  add(key: Key, vector: Float32Array): void {
    checkDimensions(this.dimensions, vector.length, "vector")
    const k = canonicalKey(key)
    const row = this.rows.upsertRow(k, vector, 0)
    const graphKey = BigInt(k)
    if (this.graph.contains(graphKey) === true) this.graph.remove(graphKey)
    this.graph.add(graphKey, this.rows.row(row), 1)
  }

  addMany(keys: ArrayLike<Key>, vectors: Float32Array): void {
    this.rows.checkBatch(keys, vectors)
    const d = this.dimensions
    const firstNewRow = this.rows.size
    // Last occurrence wins, as with repeated add().
    const rowOf = new Map<Key, number>()
    for (let i = 0; i < keys.length; i++) {
      const k = canonicalKey(keys[i]!)
      rowOf.set(k, this.rows.upsertRow(k, vectors, i * d))
    }
    if (rowOf.size === 0) return
    const batchKeys = new BigUint64Array(rowOf.size)
    let i = 0
    let appended = true // all keys new and in row order: the rows are already one contiguous matrix
    for (const [k, row] of rowOf) {
      batchKeys[i] = BigInt(k)
      if (row !== firstNewRow + i) appended = false
      i++
    }
    let batchRows: Float32Array
    if (appended) {
      batchRows = this.rows.vectors().subarray(firstNewRow * d)
    } else {
      batchRows = new Float32Array(rowOf.size * d)
      i = 0
      for (const row of rowOf.values()) batchRows.set(this.rows.row(row), d * i++)
      const present = this.graph.contains(batchKeys) as Array<boolean>
      const stale = batchKeys.filter((_, j) => present[j] === true)
      if (stale.length > 0) this.graph.remove(stale)
    }
    // usearch copies the rows, so handing it a view of our buffer is safe.
    this.graph.add(batchKeys, batchRows, batchKeys.length < PARALLEL_BATCH ? 1 : 0)
  }

  remove(key: Key): boolean {
    const k = canonicalKey(key)
    if (!this.rows.remove(k)) return false
    this.graph.remove(BigInt(k))
    return true
  }

  has(key: Key): boolean {
    return this.rows.has(key)
  }

  keys(): IterableIterator<Key> {
    return this.rows.keys()
  }

  search(query: Float32Array, k: number, filter?: KeyFilter): Array<Hit> {
    const q = this.rows.prepareQuery(query, k)
    const n = this.rows.size
    if (k === 0 || n === 0) return []
    if (n <= EXACT_BELOW) return this.rows.scan(q, k, filter)
    if (filter === undefined) return this.rescore(q, k, this.candidates(q, Math.min(k, n)))

    // No predicate search in usearch's JS binding: over-fetch and filter, growing the fetch; when
    // the filter rejects so much that the fetch would cover a good share of the index, scan instead.
    const verdicts = new Map<Key, boolean>()
    const accepted: Array<Key> = []
    let fetch = Math.min(n, k * OVERFETCH_GROWTH)
    for (;;) {
      accepted.length = 0
      for (const key of this.candidates(q, fetch)) {
        let ok = verdicts.get(key)
        if (ok === undefined) {
          ok = filter(key)
          verdicts.set(key, ok)
        }
        if (ok) accepted.push(key)
      }
      if (accepted.length >= k || fetch >= n) return this.rescore(q, k, accepted)
      // Aim the next round at the observed selectivity, with a wide margin: the filtered top-k of a
      // short candidate list is often not the true filtered top-k.
      const aimed = accepted.length === 0 ? fetch * OVERFETCH_GROWTH * 4 : Math.ceil((fetch * k * 3) / accepted.length)
      const next = Math.max(fetch * 2, aimed)
      if (next > n * OVERFETCH_LIMIT) return this.rows.scan(q, k, (key) => verdicts.get(key) ?? filter(key))
      fetch = Math.min(n, next)
    }
  }

  searchAmong(query: Float32Array, k: number, keys: Iterable<Key>): Array<Hit> {
    const q = this.rows.prepareQuery(query, k)
    const rows = this.rows.rowsOf(keys)
    if (rows.length <= Math.max(EXACT_BELOW, this.rows.size * OVERFETCH_LIMIT)) {
      return this.rows.scanRows(q, k, rows)
    }
    const allowed = new Set<number>(rows)
    return this.search(q, k, (key) => allowed.has(this.rows.rowOfKey(key) ?? -1))
  }

  save(path: string): Promise<void> {
    return writeSnapshot(path, {
      kind: "hnsw",
      dimensions: this.dimensions,
      keys: this.rows.keysInRowOrder(),
      vectors: this.rows.vectors(),
      writeGraph: (file) => {
        this.graph.save(file)
        return this.settings
      }
    })
  }

  /** Restores from a snapshot: the saved graph when `graphFile` is given (already verified), else a rebuild. */
  restore(keys: ReadonlyArray<Key>, vectors: Float32Array, graphFile?: string): void {
    this.graph = this.emptyGraph()
    if (graphFile !== undefined) {
      for (let i = 0; i < keys.length; i++) this.rows.upsertRow(keys[i]!, vectors, i * this.dimensions)
      try {
        this.graph.load(graphFile)
        if (this.graph.size() === keys.length && this.graph.dimensions() === this.dimensions) return
      } catch {
        // fall through to a rebuild from the snapshot's rows
      }
      this.graph = this.emptyGraph()
    }
    this.addMany(keys, vectors)
  }

  private emptyGraph(): Index {
    return new Index({
      dimensions: this.dimensions,
      metric: MetricKind.IP,
      quantization: scalarKind[this.settings.quantization],
      connectivity: this.settings.connectivity,
      expansion_add: this.settings.expansionAdd,
      expansion_search: this.settings.expansionSearch,
      multi: false
    })
  }

  private candidates(q: Float32Array, count: number): Array<Key> {
    const { keys } = this.graph.search(q, count, 1)
    const safe = BigInt(Number.MAX_SAFE_INTEGER)
    return Array.from(keys, (k) => (k <= safe ? Number(k) : k))
  }

  /** Exact f32 scores for the candidates, so quantization only affects which keys are found. */
  private rescore(q: Float32Array, k: number, candidates: ReadonlyArray<Key>): Array<Hit> {
    const top = new TopK(Math.min(k, candidates.length))
    if (top.capacity === 0) return []
    for (const key of candidates) {
      const row = this.rows.rowOfKey(key)
      if (row !== undefined) top.offer(this.rows.dot(row, q), row)
    }
    return top.sorted().map(({ slot, score }) => ({ key: this.rows.keyAt(slot), score }))
  }
}
