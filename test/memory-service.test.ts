import { expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { Analyzer } from "../src/services/Analyzer.js"
import { DeepMemoryMigrationsLive } from "../src/services/DeepMemoryMigrations.js"
import { DEFAULT_VECTOR_DIMS, layerBuiltin, makeBuiltin } from "../src/services/Embedder.js"
import { PgGraphStoreLive } from "../src/services/graph/PgGraphStore.js"
import { GraphStore } from "../src/services/GraphStore.js"
import { MemoryService } from "../src/services/MemoryService.js"
import { embeddedVectorStoreLayer } from "../src/services/vector/EmbeddedVectorStore.js"
import { testDatabases } from "./support/database.js"

const user = (content: string) => ({ role: "user", content })

for (const db of testDatabases()) {
  const stores = Layer.mergeAll(
    embeddedVectorStoreLayer(DEFAULT_VECTOR_DIMS, makeBuiltin().id),
    PgGraphStoreLive
  ).pipe(Layer.provideMerge(DeepMemoryMigrationsLive), Layer.provideMerge(db.layer))
  const service = MemoryService.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(stores, Analyzer.Default, layerBuiltin()))
  )

  layer(service, { timeout: "180 seconds" })(`MemoryService on the embedded stores (${db.name})`, (it) => {
    it.effect("stores a transcript once, adds only new messages on a resend, and finds memories by paraphrase", () =>
      Effect.gen(function*() {
        const memory = yield* MemoryService
        const transcript = [
          user("My sister Lena works as a nurse at St. Mary's hospital."),
          { role: "assistant", content: "Got it." },
          user("I always drink green tea in the morning, never coffee.")
        ]
        const first = yield* memory.update("ns1", "chat-1", transcript)
        expect(first.memoriesAdded).toBeGreaterThanOrEqual(2)
        const again = yield* memory.update("ns1", "chat-1", transcript)
        expect(again.memoriesAdded).toBe(0)
        const more = yield* memory.update("ns1", "chat-1", [...transcript, user("My passport number expires in October 2027.")])
        expect(more.memoriesAdded).toBe(1)

        const found = yield* memory.retrieve({ namespace: "ns1", query: "where does Lena work", limit: 3, explain: true })
        expect(found[0]!.memory.payload.content).toContain("nurse")
        expect(found[0]!.parts.fused).toBeGreaterThan(0)
        const tea = yield* memory.retrieve({ namespace: "ns1", query: "what do I drink in the morning", limit: 3, explain: false })
        expect(tea.map((m) => m.memory.payload.content).join(" ")).toContain("green tea")
        const otherNs = yield* memory.retrieve({ namespace: "ns2", query: "where does Lena work", limit: 3, explain: false })
        expect(otherNs).toEqual([])
      }))

    it.effect("a newer statement of the same memory key supersedes the older one", () =>
      Effect.gen(function*() {
        const memory = yield* MemoryService
        yield* memory.update("ns-move", "chat", [user("I live in Berlin with my two cats.")])
        yield* TestClock.adjust("1 day")
        yield* memory.update("ns-move", "chat", [user("I live in Paris now, near the Seine.")])
        const where = yield* memory.retrieve({ namespace: "ns-move", query: "where do I live", limit: 5, explain: false })
        const contents = where.map((m) => m.memory.payload.content).join(" | ")
        expect(contents).toContain("Paris")
        expect(contents).not.toContain("Berlin")
      }))

    it.effect("Chinese memories are found by a Chinese question, and session scoping holds", () =>
      Effect.gen(function*() {
        const memory = yield* MemoryService
        yield* memory.update("ns-zh", "rustfs:file:" + "a".repeat(64), [user("[page 2] 第三季度的销售额比去年同期增长了百分之十五。")])
        yield* memory.update("ns-zh", "rustfs:file:" + "b".repeat(64), [user("[page 1] 第三季度的销售额下降了百分之五，主要因为原材料涨价。")])
        const all = yield* memory.retrieve({ namespace: "ns-zh", query: "第三季度销售额", limit: 5, explain: false })
        expect(all.length).toBe(2)
        const scoped = yield* memory.retrieve({
          namespace: "ns-zh", query: "第三季度销售额", limit: 5, explain: false, sessionIds: ["rustfs:file:" + "b".repeat(64)]
        })
        expect(scoped.map((m) => m.memory.payload.content)).toEqual([expect.stringContaining("下降")])
        expect(scoped[0]!.memory.payload.locator).toMatchObject({ page: 1 })
      }))

    it.effect("forget removes a session from every store and the cache, and says what it removed", () =>
      Effect.gen(function*() {
        const memory = yield* MemoryService
        yield* memory.update("ns-forget", "doomed", [user("The launch code name is Bluebird and Dana owns the checklist.")])
        yield* memory.update("ns-forget", "kept", [user("The offsite is in Lisbon in June.")])
        const before = yield* memory.retrieve({ namespace: "ns-forget", query: "launch code name Bluebird", limit: 5, explain: false })
        expect(before.length).toBeGreaterThan(0)
        const dry = yield* memory.forget("ns-forget", { sessionId: "doomed" }, true)
        expect(dry.ids.length).toBeGreaterThan(0)
        expect(dry.counts).toBeUndefined()
        const done = yield* memory.forget("ns-forget", { sessionId: "doomed" }, false)
        expect(done.counts).toMatchObject({ memories: dry.ids.length, vectors: dry.ids.length })
        expect(done.counts!.graph_edges).toBeGreaterThan(0)
        expect(done.counts!.cache_entries).toBeGreaterThan(0)
        const after = yield* memory.retrieve({ namespace: "ns-forget", query: "launch code name Bluebird", limit: 5, explain: false })
        expect(after.every((m) => m.memory.sessionId !== "doomed")).toBe(true)
        const inspected = yield* memory.inspect("ns-forget", "doomed", 10)
        expect(inspected.total).toBe(0)
        expect(inspected.terms.entities).toEqual([])
        const resent = yield* memory.update("ns-forget", "doomed", [user("The launch code name is Bluebird and Dana owns the checklist.")])
        expect(resent.memoriesAdded).toBeGreaterThan(0)
      }))

    it.effect("ephemeral memories expire: hidden from retrieval, then deleted by the sweep", () =>
      Effect.gen(function*() {
        const memory = yield* MemoryService
        yield* memory.update("ns-ttl", "chat", [user("Today I am working from the cafe on Elm Street.")])
        const before = yield* memory.retrieve({ namespace: "ns-ttl", query: "cafe on Elm Street", limit: 5, explain: false })
        expect(before.map((m) => m.memory.payload.kind)).toContain("ephemeral")
        yield* TestClock.adjust("8 days")
        const hidden = yield* memory.retrieve({ namespace: "ns-ttl", query: "cafe on Elm Street today", limit: 5, explain: false })
        expect(hidden.filter((m) => m.memory.payload.kind === "ephemeral")).toEqual([])
        const graph = yield* GraphStore
        expect((yield* graph.count("ns-ttl")).memories).toBeGreaterThanOrEqual(1)
        const swept = yield* memory.gcExpired()
        expect(swept.memories).toBeGreaterThanOrEqual(1)
        expect(swept.namespaces).toBe(1)
        expect((yield* memory.inspect("ns-ttl", "chat", 10)).total).toBe(0)
        expect((yield* graph.count("ns-ttl")).memories).toBe(0)
        expect((yield* memory.gcExpired()).memories).toBe(0)
      }))
  })
}
