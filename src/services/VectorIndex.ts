import { ExactIndex } from "./vector-index/ExactIndex.js"
import { HnswIndex } from "./vector-index/HnswIndex.js"
import { graphIsIntact, graphPath, readSnapshot } from "./vector-index/snapshot.js"
import type { HnswOptions, IndexKind, VectorIndex } from "./vector-index/types.js"

export { defaultHnswSettings } from "./vector-index/HnswIndex.js"
export type { Hit, HnswOptions, IndexKind, Key, KeyFilter, Quantization, VectorIndex } from "./vector-index/types.js"
export { canonicalKey, VectorIndexError } from "./vector-index/types.js"

export interface CreateIndexOptions {
  readonly dimensions: number
  readonly expectedSize?: number
  /** Default `"hnsw"`. */
  readonly kind?: IndexKind
  readonly hnsw?: HnswOptions
}

export const createIndex = (opts: CreateIndexOptions): VectorIndex =>
  (opts.kind ?? "hnsw") === "exact"
    ? new ExactIndex(opts.dimensions, opts.expectedSize)
    : new HnswIndex(opts.dimensions, opts.expectedSize, opts.hnsw)

/**
 * The snapshot written by `save`, or `undefined` when it is missing, damaged, from another format version
 * or of other dimensions: the caller then rebuilds from PostgreSQL. A damaged or missing graph file next
 * to an intact snapshot only costs a graph rebuild from the snapshot's vectors.
 */
export const loadIndex = async (path: string, dimensions: number): Promise<VectorIndex | undefined> => {
  const snapshot = await readSnapshot(path, dimensions)
  if (snapshot === undefined) return undefined
  const { header, keys, vectors } = snapshot
  if (header.kind === "exact") {
    const index = new ExactIndex(dimensions, header.count)
    for (let i = 0; i < keys.length; i++) index.upsertRow(keys[i]!, vectors, i * dimensions)
    return index
  }
  const meta = header.graph
  const index = new HnswIndex(dimensions, header.count, meta)
  const intact = meta !== undefined && (await graphIsIntact(path, meta))
  index.restore(keys, vectors, intact ? graphPath(path) : undefined)
  return index
}
