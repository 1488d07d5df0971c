import { open, readFile, rename, rm } from "node:fs/promises"
import { crc32 } from "node:zlib"
import type { IndexKind, Key, Quantization } from "./types.js"

/*
 * Layout (little-endian): "OCVECIX1" | u32 header bytes | JSON header padded to 8 | u64 keys[count] |
 * f32 unit vectors[count × dimensions] | u32 crc32 of everything before it.
 * The HNSW graph lives next to it in `<path>.hnsw` (usearch can only read files); the header carries that
 * file's length and crc32, because usearch aborts the whole process on some truncated files.
 */
const MAGIC = Buffer.from("OCVECIX1", "latin1")
const VERSION = 1

export interface GraphMeta {
  readonly bytes: number
  readonly crc32: number
  readonly connectivity: number
  readonly expansionAdd: number
  readonly expansionSearch: number
  readonly quantization: Quantization
}

export interface SnapshotHeader {
  readonly version: number
  readonly kind: IndexKind
  readonly dimensions: number
  readonly count: number
  readonly graph?: GraphMeta
}

export interface Snapshot {
  readonly header: SnapshotHeader
  readonly keys: Array<Key>
  /** Unit rows, `count × dimensions`. */
  readonly vectors: Float32Array
}

export const graphPath = (path: string): string => `${path}.hnsw`

const tempPath = (path: string): string => `${path}.tmp-${process.pid}-${Date.now().toString(36)}`

export const writeSnapshot = async (
  path: string,
  content: {
    readonly kind: IndexKind
    readonly dimensions: number
    readonly keys: ReadonlyArray<Key>
    readonly vectors: Float32Array
    /** Writes the graph to the given path and returns its parameters. */
    readonly writeGraph?: (path: string) => Omit<GraphMeta, "bytes" | "crc32">
  }
): Promise<void> => {
  const count = content.keys.length
  const keys = new BigUint64Array(count)
  for (let i = 0; i < count; i++) keys[i] = BigInt(content.keys[i]!)
  const vectors = content.vectors.subarray(0, count * content.dimensions)

  let graph: GraphMeta | undefined
  let graphTemp: string | undefined
  if (content.writeGraph !== undefined) {
    graphTemp = tempPath(graphPath(path))
    const params = content.writeGraph(graphTemp)
    const bytes = await readFile(graphTemp)
    graph = { ...params, bytes: bytes.length, crc32: crc32(bytes) }
  }

  const header: SnapshotHeader = {
    version: VERSION,
    kind: content.kind,
    dimensions: content.dimensions,
    count,
    ...(graph === undefined ? {} : { graph })
  }
  const json = Buffer.from(JSON.stringify(header), "utf8")
  const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, 0x20)
  json.copy(padded)
  const headerLength = Buffer.alloc(4)
  headerLength.writeUInt32LE(padded.length)
  const parts = [
    MAGIC,
    headerLength,
    padded,
    new Uint8Array(keys.buffer, keys.byteOffset, keys.byteLength),
    new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength)
  ]
  let crc = 0
  for (const part of parts) crc = crc32(part, crc)
  const trailer = Buffer.alloc(4)
  trailer.writeUInt32LE(crc >>> 0)

  const mainTemp = tempPath(path)
  try {
    const file = await open(mainTemp, "w")
    try {
      for (const part of [...parts, trailer]) await file.write(part)
      await file.sync()
    } finally {
      await file.close()
    }
    // Graph first: a crash in between leaves an old header whose crc no longer matches the graph,
    // and the loader then rebuilds the graph from the snapshot's vectors.
    if (graphTemp !== undefined) await rename(graphTemp, graphPath(path))
    await rename(mainTemp, path)
  } catch (error) {
    await rm(mainTemp, { force: true })
    if (graphTemp !== undefined) await rm(graphTemp, { force: true })
    throw error
  }
}

/** `undefined` when the file is missing, damaged, of another format version or of other dimensions. */
export const readSnapshot = async (path: string, dimensions: number): Promise<Snapshot | undefined> => {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch {
    return undefined
  }
  if (bytes.length < MAGIC.length + 8 || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) return undefined
  const body = bytes.subarray(0, bytes.length - 4)
  if ((crc32(body) >>> 0) !== bytes.readUInt32LE(bytes.length - 4)) return undefined

  const headerLength = bytes.readUInt32LE(MAGIC.length)
  const headerStart = MAGIC.length + 4
  if (headerStart + headerLength > body.length) return undefined
  let header: SnapshotHeader
  try {
    header = JSON.parse(bytes.subarray(headerStart, headerStart + headerLength).toString("utf8")) as SnapshotHeader
  } catch {
    return undefined
  }
  if (
    header.version !== VERSION ||
    (header.kind !== "exact" && header.kind !== "hnsw") ||
    header.dimensions !== dimensions ||
    !Number.isSafeInteger(header.count) ||
    header.count < 0
  ) {
    return undefined
  }
  const keysStart = headerStart + headerLength
  const vectorsStart = keysStart + header.count * 8
  if (vectorsStart + header.count * dimensions * 4 !== body.length) return undefined

  // Copies: the file buffer need not be aligned for typed-array views.
  const rawKeys = new BigUint64Array(header.count)
  new Uint8Array(rawKeys.buffer).set(bytes.subarray(keysStart, vectorsStart))
  const vectors = new Float32Array(header.count * dimensions)
  new Uint8Array(vectors.buffer).set(bytes.subarray(vectorsStart, body.length))
  const safe = BigInt(Number.MAX_SAFE_INTEGER)
  const keys: Array<Key> = Array.from(rawKeys, (k) => (k <= safe ? Number(k) : k))
  return { header, keys, vectors }
}

/** The graph file's bytes are checked against the header before usearch ever sees them. */
export const graphIsIntact = async (path: string, meta: GraphMeta): Promise<boolean> => {
  try {
    const bytes = await readFile(graphPath(path))
    return bytes.length === meta.bytes && (crc32(bytes) >>> 0) === meta.crc32 >>> 0
  } catch {
    return false
  }
}
