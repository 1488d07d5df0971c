export type Key = bigint | number

export interface Hit {
  readonly key: Key
  /** Cosine similarity in [-1, 1]. */
  readonly score: number
}

export type KeyFilter = (key: Key) => boolean

export type IndexKind = "hnsw" | "exact"

export type Quantization = "f32" | "f16" | "i8"

export interface HnswOptions {
  /** Graph degree (usearch `connectivity`, HNSW `M`). */
  readonly connectivity?: number
  readonly expansionAdd?: number
  readonly expansionSearch?: number
  /** Precision of the copy of the vectors held inside the graph; results are always re-scored in f32. */
  readonly quantization?: Quantization
}

export interface VectorIndex {
  readonly kind: IndexKind
  readonly dimensions: number
  readonly size: number
  /** Upsert: re-adding a key replaces its vector. */
  add(key: Key, vector: Float32Array): void
  /** `vectors` is row-major, `keys.length × dimensions`; a key repeated in the batch keeps its last row. */
  addMany(keys: ArrayLike<Key>, vectors: Float32Array): void
  remove(key: Key): boolean
  has(key: Key): boolean
  keys(): IterableIterator<Key>
  /**
   * Top-k by cosine similarity, best first. `filter` is called lazily (only for keys that could
   * enter the top-k) and at most once per key per search.
   */
  search(query: Float32Array, k: number, filter?: KeyFilter): Array<Hit>
  /** Top-k among the given keys only (unknown keys are ignored); exact when the set is small. */
  searchAmong(query: Float32Array, k: number, keys: Iterable<Key>): Array<Hit>
  /** Snapshot for a fast restart; written atomically (temp file + rename). */
  save(path: string): Promise<void>
}

export class VectorIndexError extends Error {
  override readonly name = "VectorIndexError"
}

const MAX_U64 = (1n << 64n) - 1n
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * Keys are unsigned 64-bit integers. They come back as `number` when they fit in a safe integer
 * and as `bigint` otherwise, whichever form they were given in, so `Map`/`Set` lookups on results work.
 */
export const canonicalKey = (key: Key): Key => {
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key) || key < 0) {
      throw new VectorIndexError(`vector key must be a non-negative safe integer or a bigint, got ${key}`)
    }
    return key
  }
  if (key < 0n || key > MAX_U64) throw new VectorIndexError(`vector key ${key} is outside the unsigned 64-bit range`)
  return key <= MAX_SAFE ? Number(key) : key
}

export const checkDimensions = (expected: number, actual: number, what: string): void => {
  if (actual !== expected) {
    throw new VectorIndexError(`${what} has ${actual} dimensions, the index expects ${expected}`)
  }
}

export const checkK = (k: number): void => {
  if (!Number.isInteger(k) || k < 0) throw new VectorIndexError(`k must be a non-negative integer, got ${k}`)
}

/** Writes `source[from .. from+d)` scaled to unit length into `target[at ..)`; a zero vector stays zero. */
export const writeNormalized = (
  source: Float32Array,
  from: number,
  target: Float32Array,
  at: number,
  d: number
): void => {
  let sum = 0
  for (let j = 0; j < d; j++) {
    const x = source[from + j]!
    sum += x * x
  }
  if (!Number.isFinite(sum)) throw new VectorIndexError("vector contains NaN or infinite components")
  const scale = sum > 0 ? 1 / Math.sqrt(sum) : 0
  for (let j = 0; j < d; j++) target[at + j] = source[from + j]! * scale
}

export const normalized = (vector: Float32Array): Float32Array => {
  const out = new Float32Array(vector.length)
  writeNormalized(vector, 0, out, 0, vector.length)
  return out
}
