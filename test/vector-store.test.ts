import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
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
    it.scoped("a restarted embedded store rebuilds its index from the rows", () =>
      Effect.gen(function*() {
        const store = yield* VectorStore
        const p = point("restart", "the wifi password rotates monthly")
        yield* store.upsert("restart-ns", [p])
        const again = yield* makeEmbeddedVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER)
        const hits = yield* again.searchDense("restart-ns", p.vector, { limit: 1, nowMs: 0 })
        expect(hits.map((m) => m.id)).toEqual([p.id])
        expect(hits[0]!.score).toBeCloseTo(1, 4)
      }))

    it.scoped("a snapshot saved at shutdown is loaded once at the next start, and only if it matches the rows", () =>
      Effect.gen(function*() {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vector-snapshot-"))
        const snapshotPath = path.join(dir, "vectors.snap")
        const p = point("snap", "the garage door code changed in may")
        yield* Effect.scoped(Effect.gen(function*() {
          const first = yield* makeEmbeddedVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, { snapshotPath })
          yield* first.upsert("snap-ns", [p])
        }))
        expect(fs.existsSync(snapshotPath)).toBe(true)
        const second = yield* makeEmbeddedVectorStore(CONTRACT_DIMENSIONS, CONTRACT_EMBEDDER, { snapshotPath })
        expect(fs.existsSync(snapshotPath)).toBe(false)
        const hits = yield* second.searchDense("snap-ns", p.vector, { limit: 1, nowMs: 0 })
        expect(hits.map((m) => m.id)).toEqual([p.id])
        fs.rmSync(dir, { recursive: true, force: true })
      }))
  })
}
