import { SqlClient } from "@effect/sql"
import type { Schemas } from "@qdrant/js-client-rest"
import { Effect } from "effect"
import { isDeepStrictEqual } from "node:util"
import { Embedder } from "./Embedder.js"
import { VectorStoreError } from "./VectorStore.js"
import {
  collectionSchema,
  connectQdrant,
  createMissingIndexes,
  DENSE_VECTOR,
  LEXICAL_VECTOR,
  type QdrantSettings,
  storedSchemaOf
} from "./vector/QdrantVectorStore.js"

type Row = Record<string, unknown>

/**
 * Re-embeds every memory of the embedded store with the configured embedder and records the new
 * dimensions, so a server refused at start (VectorDimensionMismatch) starts again. Runs offline,
 * against the database, in batches; `onProgress` reports (done, total).
 */
export const reindexEmbedded = (options: { readonly batch?: number; readonly onProgress?: (done: number, total: number) => Effect.Effect<void> } = {}) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const embedder = yield* Embedder
    const batch = options.batch ?? 256
    const [{ n }] = (yield* sql<Row>`SELECT count(*) AS n FROM dm_memories`) as unknown as [{ n: unknown }]
    const total = Number(n)
    let done = 0
    let after = 0
    while (true) {
      const rows = yield* sql<Row>`SELECT index_key, payload->>'content' AS content FROM dm_memories
        WHERE index_key > ${after} ORDER BY index_key LIMIT ${batch}`
      if (rows.length === 0) break
      const vectors = yield* embedder.embed(rows.map((r) => String(r.content ?? "")), "document")
      yield* sql.withTransaction(Effect.forEach(rows, (r, i) => {
        const v = vectors[i]!
        return sql`UPDATE dm_memories SET vector = ${Buffer.from(v.buffer, v.byteOffset, v.byteLength)}
          WHERE index_key = ${Number(r.index_key)}`
      }, { discard: true }))
      after = Number(rows[rows.length - 1]!.index_key)
      done += rows.length
      if (options.onProgress) yield* options.onProgress(done, total)
    }
    const meta = JSON.stringify({ dimensions: embedder.dimensions, embedder: embedder.id })
    yield* sql`INSERT INTO dm_meta (key, value) VALUES ('vectors', ${meta}::jsonb)
      ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`
    return { reindexed: done, dimensions: embedder.dimensions, embedder: embedder.id }
  }).pipe(Effect.withSpan("reindexEmbedded"))

export type QdrantReindexPhase = "embed" | "copy"

export interface QdrantReindexOptions {
  readonly batch?: number
  readonly onProgress?: (done: number, total: number, phase: QdrantReindexPhase) => Effect.Effect<void>
}

/** Where the re-embedded points wait while the live collection is replaced. */
export const stagingCollectionOf = (collection: string) => `${collection}__reindex`

/** Set in the staging collection's metadata once it holds every point of the live one. */
const STAGED_MARKER = "reindex_complete"

interface Schema {
  readonly dimensions: number | undefined
  readonly embedder: string | undefined
}

const sameSchema = (a: Schema, b: Schema) => a.dimensions === b.dimensions && a.embedder === b.embedder

/**
 * Re-embeds every point of the Qdrant collection with the configured embedder (offline, like
 * reindexEmbedded). Qdrant cannot change a collection's vector size, so the points go through a
 * staging collection: (1) create `<collection>__reindex` with the new dense size, (2) copy every
 * point there with a new dense vector and the same id, payload and sparse vector, then mark it
 * complete, (3) delete the live collection and create it with the new schema, (4) copy staging back,
 * (5) delete staging. Each run starts by looking at both collections, so a run killed at any point
 * resumes:
 * - during (1)/(2), or after the marker but before the live collection is deleted: the live
 *   collection is untouched and stays the source of truth; the next run keeps the staged points that
 *   still match it (same payload and sparse vector), embeds the rest, drops staged points it no
 *   longer has, and sets the marker after checking counts;
 * - during (3): the live collection is missing and staging complete; the next run creates it,
 *   indexes included, and copies;
 * - during or after (4): the live collection has the staged schema; the copy is repeated (upserts of
 *   the same ids are idempotent), counted, and only then is staging deleted.
 * The live collection is only deleted while a complete staging copy exists, so nothing is lost. A
 * staging collection completed with an earlier embedder is swapped in first and then reindexed again.
 */
export const reindexQdrant = (settings: QdrantSettings, options: QdrantReindexOptions = {}) =>
  Effect.gen(function*() {
    const embedder = yield* Embedder
    const { call } = yield* connectQdrant(settings)
    const live = settings.collection
    const staging = stagingCollectionOf(live)
    const batch = options.batch ?? 256
    const target: Schema = { dimensions: embedder.dimensions, embedder: embedder.id }
    const fail = (message: string) => new VectorStoreError({ op: "reindex", cause: new Error(message) })
    const progress = (done: number, total: number, phase: QdrantReindexPhase) =>
      options.onProgress ? options.onProgress(done, total, phase) : Effect.void

    const describe = (name: string) =>
      Effect.gen(function*() {
        const { exists } = yield* call("reindex", (c) => c.collectionExists(name))
        if (!exists) return undefined
        const info = yield* call("reindex", (c) => c.getCollection(name))
        return { ...storedSchemaOf(info), indexed: info.payload_schema as Record<string, unknown> }
      })

    const countOf = (name: string) =>
      call("reindex", (c) => c.count(name, { exact: true })).pipe(Effect.map((r) => r.count))

    const create = (name: string, dimensions: number, embedderId: string) =>
      call("reindex", (c) => c.api().createCollection({ collection_name: name, ...collectionSchema(dimensions, embedderId) })).pipe(
        Effect.zipRight(createMissingIndexes(call, "reindex", name, {}))
      )

    const drop = (name: string) => call("reindex", (c) => c.deleteCollection(name))

    const upsert = (name: string, points: Array<Schemas["PointStruct"]>) =>
      points.length === 0 ? Effect.void : call("reindex", (c) => c.upsert(name, { wait: true, points })).pipe(Effect.asVoid)

    const eachPage = <E>(
      name: string,
      withVector: Schemas["WithVector"],
      f: (points: Array<Schemas["Record"]>) => Effect.Effect<void, E>
    ) =>
      Effect.gen(function*() {
        let offset: Schemas["ExtendedPointId"] | undefined
        do {
          const page = yield* call("reindex", (c) =>
            c.scroll(name, {
              limit: batch,
              with_payload: true,
              with_vector: withVector,
              ...(offset === undefined ? {} : { offset })
            }))
          if (page.points.length > 0) yield* f(page.points)
          const next = page.next_page_offset
          offset = typeof next === "string" || typeof next === "number" ? next : undefined
        } while (offset !== undefined)
      })

    const vectorsOf = (p: Schemas["Record"]) => (p.vector ?? {}) as Record<string, unknown>

    const lexicalOf = (p: Schemas["Record"]) => vectorsOf(p)[LEXICAL_VECTOR] as Schemas["SparseVector"] | undefined

    /** Deletes the staged points whose id the live collection no longer has (deleted between two runs). */
    const pruneStaging = eachPage(staging, false, (points) =>
      Effect.gen(function*() {
        const ids = points.map((p) => p.id)
        const kept = yield* call("reindex", (c) => c.retrieve(live, { ids, with_payload: false, with_vector: false }))
        const present = new Set(kept.map((r) => String(r.id)))
        const gone = ids.filter((id) => !present.has(String(id)))
        if (gone.length > 0) yield* call("reindex", (c) => c.delete(staging, { wait: true, points: gone }))
      }))

    const fillStaging = Effect.gen(function*() {
      const total = yield* countOf(live)
      let done = 0
      yield* eachPage(live, [LEXICAL_VECTOR], (points) =>
        Effect.gen(function*() {
          // A point staged by an earlier run is kept only if it is still the same point: a server run
          // between the two reindex runs may have changed it.
          const staged = yield* call("reindex", (c) =>
            c.retrieve(staging, { ids: points.map((p) => p.id), with_payload: true, with_vector: [LEXICAL_VECTOR] }))
          const stagedById = new Map(staged.map((r) => [String(r.id), r]))
          const todo = points.filter((p) => {
            const s = stagedById.get(String(p.id))
            return s === undefined || !isDeepStrictEqual(s.payload ?? {}, p.payload ?? {}) ||
              !isDeepStrictEqual(lexicalOf(s), lexicalOf(p))
          })
          const vectors = todo.length === 0
            ? []
            : yield* embedder.embed(todo.map((p) => String(p.payload?.content ?? "")), "document")
          yield* upsert(staging, todo.map((p, i): Schemas["PointStruct"] => {
            const lexical = lexicalOf(p)
            const dense = Array.from(vectors[i]!)
            return {
              id: p.id,
              vector: lexical === undefined ? { [DENSE_VECTOR]: dense } : { [DENSE_VECTOR]: dense, [LEXICAL_VECTOR]: lexical },
              payload: p.payload ?? {}
            }
          }))
          done += points.length
          yield* progress(done, total, "embed")
        }))
      let [source, staged] = [yield* countOf(live), yield* countOf(staging)]
      if (staged > source) {
        yield* pruneStaging
        staged = yield* countOf(staging)
      }
      if (source !== staged) {
        return yield* fail(`${staging} holds ${staged} points but ${live} has ${source}: was the server running during the reindex?`)
      }
      yield* call("reindex", (c) => c.updateCollection(staging, { metadata: { [STAGED_MARKER]: true, points: staged } }))
    })

    const copyBack = Effect.gen(function*() {
      const total = yield* countOf(staging)
      let done = 0
      yield* eachPage(staging, true, (points) =>
        Effect.gen(function*() {
          yield* upsert(live, points.map((p): Schemas["PointStruct"] => ({
            id: p.id,
            vector: vectorsOf(p) as Schemas["PointStruct"]["vector"],
            payload: p.payload ?? {}
          })))
          done += points.length
          yield* progress(done, total, "copy")
        }))
      // More is fine (points written since by a server with the new schema), fewer is not.
      const copied = yield* countOf(live)
      if (copied < total) return yield* fail(`${live} holds ${copied} points after copying ${total} from ${staging}`)
      return total
    })

    while (true) {
      const stage = yield* describe(staging)
      const current = yield* describe(live)
      // The marker is trusted once the live collection is gone or already has the staged schema.
      // While the old live collection still stands it stays the source of truth: a server may have
      // run on it since staging was completed, so staging is brought up to date again (re-embedding
      // only what changed) before the live collection is deleted.
      if (stage !== undefined && stage.metadata[STAGED_MARKER] === true && (current === undefined || sameSchema(current, stage))) {
        if (stage.dimensions === undefined || stage.embedder === undefined) {
          return yield* fail(`${staging} was not made by a reindex: delete it and run again`)
        }
        if (current === undefined) {
          yield* create(live, stage.dimensions, stage.embedder)
          continue
        }
        yield* createMissingIndexes(call, "reindex", live, current.indexed)
        const reindexed = yield* copyBack
        yield* drop(staging)
        if (sameSchema(stage, target)) return { reindexed, dimensions: embedder.dimensions, embedder: embedder.id }
        continue
      }
      if (current === undefined) {
        return yield* fail(stage === undefined
          ? `collection ${live} does not exist: nothing to reindex`
          : `collection ${live} is missing and ${staging} is incomplete: restore ${live} before reindexing`)
      }
      if (current.dimensions === undefined || !current.hasLexical) {
        return yield* fail(`collection ${live} exists without the named vectors of this store`)
      }
      if (stage !== undefined && !sameSchema(stage, target)) yield* drop(staging)
      if (stage === undefined || !sameSchema(stage, target)) {
        yield* create(staging, embedder.dimensions, embedder.id)
      } else {
        yield* createMissingIndexes(call, "reindex", staging, stage.indexed)
      }
      yield* fillStaging
      // Staging is complete: replace the live collection unless it already has the new schema.
      if (!sameSchema(current, target)) yield* drop(live)
    }
  }).pipe(Effect.withSpan("reindexQdrant"))
