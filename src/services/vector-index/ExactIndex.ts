import { TopK } from "./topk.js"
import {
  canonicalKey,
  checkDimensions,
  checkK,
  type Hit,
  type Key,
  type KeyFilter,
  type VectorIndex,
  VectorIndexError,
  writeNormalized
} from "./types.js"
import { writeSnapshot } from "./snapshot.js"

/**
 * Unit-length f32 rows in one contiguous buffer, so cosine similarity is a plain dot product.
 * Removal moves the last row into the hole: the rows stay dense and a scan never meets tombstones.
 */
export class ExactIndex implements VectorIndex {
  readonly kind = "exact" as const
  private data: Float32Array
  private rowKeys: Array<Key> = []
  private readonly rowOf = new Map<Key, number>()
  private rows = 0

  constructor(readonly dimensions: number, expectedSize = 1024) {
    if (!Number.isInteger(dimensions) || dimensions <= 0) {
      throw new VectorIndexError(`dimensions must be a positive integer, got ${dimensions}`)
    }
    this.data = new Float32Array(Math.max(16, expectedSize) * dimensions)
  }

  get size(): number {
    return this.rows
  }

  add(key: Key, vector: Float32Array): void {
    checkDimensions(this.dimensions, vector.length, "vector")
    this.upsertRow(canonicalKey(key), vector, 0)
  }

  addMany(keys: ArrayLike<Key>, vectors: Float32Array): void {
    this.checkBatch(keys, vectors)
    for (let i = 0; i < keys.length; i++) this.upsertRow(canonicalKey(keys[i]!), vectors, i * this.dimensions)
  }

  remove(key: Key): boolean {
    const k = canonicalKey(key)
    const row = this.rowOf.get(k)
    if (row === undefined) return false
    this.rowOf.delete(k)
    const last = --this.rows
    if (row !== last) {
      const d = this.dimensions
      this.data.copyWithin(row * d, last * d, last * d + d)
      const moved = this.rowKeys[last]!
      this.rowKeys[row] = moved
      this.rowOf.set(moved, row)
    }
    this.rowKeys.length = last
    return true
  }

  has(key: Key): boolean {
    return this.rowOf.has(canonicalKey(key))
  }

  keys(): IterableIterator<Key> {
    return this.rowOf.keys()
  }

  search(query: Float32Array, k: number, filter?: KeyFilter): Array<Hit> {
    return this.scan(this.prepareQuery(query, k), k, filter)
  }

  searchAmong(query: Float32Array, k: number, keys: Iterable<Key>): Array<Hit> {
    return this.scanRows(this.prepareQuery(query, k), k, this.rowsOf(keys))
  }

  save(path: string): Promise<void> {
    return writeSnapshot(path, { kind: "exact", dimensions: this.dimensions, keys: this.rowKeys, vectors: this.vectors() })
  }

  // ---- used by the HNSW index, which keeps its f32 rows here ----

  checkBatch(keys: ArrayLike<Key>, vectors: Float32Array): void {
    if (vectors.length !== keys.length * this.dimensions) {
      throw new VectorIndexError(
        `addMany got ${keys.length} keys and ${vectors.length} floats; expected ${keys.length} × ${this.dimensions}`
      )
    }
  }

  /** `key` must be canonical; returns the row. */
  upsertRow(key: Key, source: Float32Array, from: number): number {
    let row = this.rowOf.get(key)
    if (row === undefined) {
      this.ensureCapacity(this.rows + 1)
      row = this.rows
      writeNormalized(source, from, this.data, row * this.dimensions, this.dimensions)
      this.rows++
      this.rowKeys.push(key)
      this.rowOf.set(key, row)
    } else {
      writeNormalized(source, from, this.data, row * this.dimensions, this.dimensions)
    }
    return row
  }

  /** Keys in row order, matching `vectors()`. */
  keysInRowOrder(): ReadonlyArray<Key> {
    return this.rowKeys
  }

  rowOfKey(key: Key): number | undefined {
    return this.rowOf.get(key)
  }

  keyAt(row: number): Key {
    return this.rowKeys[row]!
  }

  row(row: number): Float32Array {
    return this.data.subarray(row * this.dimensions, (row + 1) * this.dimensions)
  }

  /** The live rows, contiguous (a view: copy it before mutating the index). */
  vectors(): Float32Array {
    return this.data.subarray(0, this.rows * this.dimensions)
  }

  prepareQuery(query: Float32Array, k: number): Float32Array {
    checkDimensions(this.dimensions, query.length, "query")
    checkK(k)
    const q = new Float32Array(this.dimensions)
    writeNormalized(query, 0, q, 0, this.dimensions)
    return q
  }

  dot(row: number, q: Float32Array): number {
    return dotAt(this.data, row * this.dimensions, q, this.dimensions)
  }

  rowsOf(keys: Iterable<Key>): Array<number> {
    const rows: Array<number> = []
    const seen = new Set<number>()
    for (const key of keys) {
      const row = this.rowOf.get(canonicalKey(key))
      if (row !== undefined && !seen.has(row)) {
        seen.add(row)
        rows.push(row)
      }
    }
    return rows
  }

  /** Full scan; `q` must be normalized. */
  scan(q: Float32Array, k: number, filter?: KeyFilter): Array<Hit> {
    const top = new TopK(Math.min(k, this.rows))
    if (top.capacity === 0) return []
    const { data, dimensions: d, rows } = this
    if (filter === undefined) {
      for (let row = 0, off = 0; row < rows; row++, off += d) {
        const score = dotAt(data, off, q, d)
        if (score > top.threshold) top.offer(score, row)
      }
    } else {
      const keys = this.rowKeys
      for (let row = 0, off = 0; row < rows; row++, off += d) {
        const score = dotAt(data, off, q, d)
        if (score > top.threshold && filter(keys[row]!)) top.offer(score, row)
      }
    }
    return this.hits(top)
  }

  scanRows(q: Float32Array, k: number, rows: ReadonlyArray<number>): Array<Hit> {
    const top = new TopK(Math.min(k, rows.length))
    if (top.capacity === 0) return []
    const { data, dimensions: d } = this
    for (const row of rows) {
      const score = dotAt(data, row * d, q, d)
      if (score > top.threshold) top.offer(score, row)
    }
    return this.hits(top)
  }

  private hits(top: TopK): Array<Hit> {
    return top.sorted().map(({ slot, score }) => ({ key: this.rowKeys[slot]!, score }))
  }

  private ensureCapacity(rows: number): void {
    const needed = rows * this.dimensions
    if (needed <= this.data.length) return
    const grown = new Float32Array(Math.max(needed, Math.ceil(this.data.length * 1.5)))
    grown.set(this.data.subarray(0, this.rows * this.dimensions))
    this.data = grown
  }
}

/** Four independent accumulators let the CPU overlap the multiply-adds. */
export const dotAt = (data: Float32Array, off: number, q: Float32Array, d: number): number => {
  let s0 = 0
  let s1 = 0
  let s2 = 0
  let s3 = 0
  let j = 0
  const end4 = d - (d & 3)
  for (; j < end4; j += 4) {
    s0 += data[off + j]! * q[j]!
    s1 += data[off + j + 1]! * q[j + 1]!
    s2 += data[off + j + 2]! * q[j + 2]!
    s3 += data[off + j + 3]! * q[j + 3]!
  }
  for (; j < d; j++) s0 += data[off + j]! * q[j]!
  return s0 + s1 + (s2 + s3)
}
