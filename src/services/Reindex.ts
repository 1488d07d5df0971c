import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { Embedder } from "./Embedder.js"

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
