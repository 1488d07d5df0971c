import type { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Analyzer } from "../src/services/Analyzer.js"
import { DeepMemoryMigrationsLive } from "../src/services/DeepMemoryMigrations.js"
import { layerBuiltin, makeBuiltin } from "../src/services/Embedder.js"
import { PgGraphStoreLive } from "../src/services/graph/PgGraphStore.js"
import { MemoryService } from "../src/services/MemoryService.js"
import { reindexEmbedded } from "../src/services/Reindex.js"
import { embeddedVectorStoreLayer, makeEmbeddedVectorStore } from "../src/services/vector/EmbeddedVectorStore.js"
import { testDatabases } from "./support/database.js"

const db = testDatabases()[0]!
const base = DeepMemoryMigrationsLive.pipe(Layer.provideMerge(db.layer)) as Layer.Layer<SqlClient.SqlClient, unknown>
const small = MemoryService.Default.pipe(
  Layer.provide(Layer.mergeAll(embeddedVectorStoreLayer(128, makeBuiltin(128).id), PgGraphStoreLive, Analyzer.Default, layerBuiltin(128)))
)

layer(base, { timeout: "120 seconds" })("reindex (embedded store)", (it) => {
  it.scoped("a changed embedder is refused at start, and reindex makes the store usable with it", () =>
    Effect.gen(function*() {
      yield* Effect.flatMap(MemoryService, (m) =>
        m.update("ns", "chat", [{ role: "user", content: "The recycling goes out every second Tuesday." }])).pipe(Effect.provide(small))
      const refused = yield* Effect.flip(makeEmbeddedVectorStore(384, makeBuiltin(384).id))
      expect(refused._tag).toBe("VectorDimensionMismatch")
      const progress: Array<number> = []
      const result = yield* reindexEmbedded({ onProgress: (done) => Effect.sync(() => progress.push(done)) }).pipe(Effect.provide(layerBuiltin(384)))
      expect(result).toEqual({ reindexed: 1, dimensions: 384, embedder: makeBuiltin(384).id })
      expect(progress).toEqual([1])
      const store = yield* makeEmbeddedVectorStore(384, makeBuiltin(384).id)
      const [query] = yield* makeBuiltin(384).embed(["when does the recycling go out"], "query")
      const hits = yield* store.searchDense("ns", query!, { limit: 1, nowMs: Date.now() })
      expect(hits[0]!.payload.content).toContain("second Tuesday")
    }))
})
