import type { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DeepMemoryMigrationsLive } from "../src/services/DeepMemoryMigrations.js"
import { embeddedVectorStoreLayer, makeEmbeddedVectorStore } from "../src/services/vector/EmbeddedVectorStore.js"
import { VectorStore } from "../src/services/VectorStore.js"
import { testDatabases } from "./support/database.js"
import { CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, point, vectorStoreContract } from "./support/vectorStoreContract.js"

/** The shared VectorStore contract on the embedded store (each SQL layer), plus what only it has. */
for (const db of testDatabases()) {
  const storeLayer = embeddedVectorStoreLayer(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER).pipe(
    Layer.provideMerge(DeepMemoryMigrationsLive),
    Layer.provideMerge(db.layer)
  ) as Layer.Layer<VectorStore | SqlClient.SqlClient, unknown>

  vectorStoreContract(`embedded/${db.name}`, storeLayer)

  layer(storeLayer, { timeout: "120 seconds" })(`embedded VectorStore (${db.name})`, (it) => {
    it.effect("a restarted embedded store rebuilds its index from the rows", () =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        const p = point("restart", "the wifi password rotates monthly")
        yield* store.upsert("restart-ns", [p])
        const again = yield* makeEmbeddedVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER)
        const hits = yield* again.searchDense("restart-ns", p.vector, { limit: 1, nowMs: 0 })
        expect(hits.map((m) => m.id)).toEqual([p.id])
        expect(hits[0]!.score).toBeCloseTo(1, 4)
      }))
  })
}
