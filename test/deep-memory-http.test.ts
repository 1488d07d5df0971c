import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { DeepMemoryApi } from "../src/domain/DeepMemoryApi.js"
import { DeepMemoryAppLive, deepMemoryServe } from "../src/services/DeepMemoryServer.js"
import { testDatabases } from "./support/database.js"
import { raw } from "./support/rustfs.js"

const keys = {
  aRead: "team-a-read-key-0123456789",
  aWrite: "team-a-write-key-0123456789",
  aAdmin: "team-a-admin-key-0123456789",
  bWrite: "team-b-write-key-0123456789",
  root: "root-admin-key-0123456789"
}
const keysJson = JSON.stringify([
  { key: keys.aRead, role: "read", namespaces: ["teamA"] },
  { key: keys.aWrite, role: "write", namespaces: ["teamA"] },
  { key: keys.aAdmin, role: "admin", namespaces: ["teamA"] },
  { key: keys.bWrite, role: "write", namespaces: ["teamB"] },
  { key: keys.root, role: "admin" }
])

const client = (key: string) =>
  HttpApiClient.make(DeepMemoryApi, { transformClient: HttpClient.mapRequest(HttpClientRequest.setHeader("x-api-key", key)) })

const post = (path: string, key: string | null, body: unknown) =>
  raw(HttpClientRequest.post(path).pipe(
    key === null ? (r) => r : HttpClientRequest.setHeader("x-api-key", key),
    typeof body === "string" ? HttpClientRequest.bodyText(body, "application/json") : HttpClientRequest.bodyUnsafeJson(body)
  ))

for (const db of testDatabases()) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "deep-memory-http-"))
  const app = deepMemoryServe.pipe(
    Layer.provide(DeepMemoryAppLive),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(db.layer),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["API_KEYS_JSON", keysJson], ["DATA_DIR", dataDir]]))))
  )

  layer(app, { timeout: "180 seconds", excludeTestServices: true })(`deep-memory over HTTP (${db.name})`, (it) => {
    it.effect("update, retrieve, inspect and forget through the derived client", () =>
      Effect.gen(function*() {
        const writer = yield* client(keys.aWrite)
        const added = yield* writer.memory.update({
          payload: {
            namespace: "teamA",
            session_id: "chat-9",
            messages: [
              { role: "user", content: "Our team offsite will be in Lisbon in June." },
              { type: "message", message: { role: "user", content: [{ type: "text", text: "Remember that Marco is allergic to peanuts." }] } }
            ],
            return_memory_ids: true,
            async: false
          }
        })
        expect(added).toMatchObject({ status: "processed", memories_added: 2 })
        expect(added.memory_ids).toHaveLength(2)

        const reader = yield* client(keys.aRead)
        const found = yield* reader.memory.retrieve({ payload: { namespace: "teamA", user_input: "Is Marco allergic to anything?", session_id: "chat-9" } })
        expect(found.memories[0]!.content).toContain("peanuts")
        expect(found.context).toMatch(/^Relevant long-term memory:\n1\. \(\d\.\d\d, imp=\d\.\d\d\) /)
        const inspected = yield* reader.memory.inspect({ payload: { namespace: "teamA", session_id: "chat-9", include_content: true } })
        expect(inspected.totals.memories).toBe(2)
        expect(inspected.memories.map((m) => m.content).join(" ")).toContain("Lisbon")

        const admin = yield* client(keys.aAdmin)
        const dry = yield* admin.memory.forget({ payload: { namespace: "teamA", session_id: "chat-9", dry_run: true } })
        expect(dry).toMatchObject({ status: "dry_run", would_delete: 2 })
        const gone = yield* admin.memory.forget({ payload: { namespace: "teamA", session_id: "chat-9" } })
        expect(gone).toMatchObject({ status: "processed", deleted: 2 })
        expect(gone.results!.vectors).toBe(2)
        const after = yield* reader.memory.retrieve({ payload: { namespace: "teamA", user_input: "Is Marco allergic to anything?", session_id: "chat-9" } })
        expect(after.memories).toEqual([])
        expect(after.context).toBe("")
        const inspectedAfter = yield* reader.memory.inspect({ payload: { namespace: "teamA", session_id: "chat-9" } })
        expect(inspectedAfter.totals.memories).toBe(0)
        const audit = fs.readFileSync(path.join(dataDir, "audit", "audit.jsonl"), "utf8")
        const actions = audit.trim().split("\n").map((l) => JSON.parse(l)).filter((l) => l.namespace === "teamA")
        expect(actions.map((a) => a.action)).toEqual(expect.arrayContaining(["update", "forget"]))
        expect(audit).not.toContain("peanuts")
        expect(audit).not.toContain(keys.aWrite)
      }))

    it.effect("a key for teamA can never read, write, forget or inspect teamB", () =>
      Effect.gen(function*() {
        const bWriter = yield* client(keys.bWrite)
        yield* bWriter.memory.update({ payload: { namespace: "teamB", session_id: "b", async: false, messages: [{ role: "user", content: "Team B's vault code is kept by Priya in the Oslo office." }] } })
        for (const [path, body, key] of [
          ["/retrieve_context", { namespace: "teamB", user_input: "vault code", session_id: "x" }, keys.aRead],
          ["/update_memory_index", { namespace: "teamB", session_id: "x", messages: [] }, keys.aWrite],
          ["/session/inspect", { namespace: "teamB", session_id: "b" }, keys.aAdmin],
          ["/forget", { namespace: "teamB", session_id: "b" }, keys.aAdmin]
        ] as const) {
          const res = yield* post(path, key, body)
          expect(res.status, path).toBe(403)
          expect(res.json).toMatchObject({ error: "forbidden_namespace", namespace: "teamB" })
        }
        const queue = yield* raw(HttpClientRequest.get("/queue/stats?namespace=teamB").pipe(HttpClientRequest.setHeader("x-api-key", keys.aAdmin)))
        expect(queue.status).toBe(403)
        const role = yield* post("/forget", keys.aWrite, { namespace: "teamA", session_id: "x" })
        expect(role.status).toBe(403)
        expect(role.json.error).toBe("forbidden")
        const stillThere = yield* post("/retrieve_context", keys.root, { namespace: "teamB", user_input: "who keeps the vault code", session_id: "x" })
        expect(stillThere.json.memories[0].content).toContain("Priya")
        const otherIds = yield* post("/forget", keys.aAdmin, { namespace: "teamA", memory_ids: [stillThere.json.memories[0].id] })
        expect(otherIds.status).toBe(400)
        expect(otherIds.json.error).toBe("invalid_request")
      }))

    it.effect("async updates are durable tasks that workers process; queue admin is scoped by namespace", () =>
      Effect.gen(function*() {
        const writer = yield* client(keys.aWrite)
        const queued = yield* writer.memory.update({
          payload: { namespace: "teamA", session_id: "async-1", messages: [{ role: "user", content: "The quarterly board meeting moved to Thursday at 3pm." }] }
        })
        expect(queued).toMatchObject({ status: "queued", memories_added: 0 })
        expect(queued.task_id).toMatch(/^[0-9a-f-]{36}$/)
        const reader = yield* client(keys.aRead)
        let total = 0
        for (let i = 0; i < 100 && total === 0; i++) {
          yield* Effect.sleep("100 millis")
          total = (yield* reader.memory.inspect({ payload: { namespace: "teamA", session_id: "async-1" } })).totals.memories
        }
        expect(total).toBe(1)
        const admin = yield* client(keys.aAdmin)
        // the memory is visible as soon as its write commits; the task is marked done just after
        let stats = yield* admin.queue.updateStats({ urlParams: { namespace: "teamA" } })
        for (let i = 0; i < 50 && stats.running + stats.pending > 0; i++) {
          yield* Effect.sleep("100 millis")
          stats = yield* admin.queue.updateStats({ urlParams: { namespace: "teamA" } })
        }
        expect(stats).toMatchObject({ pending: 0, running: 0, failed: 0 })
        expect(stats.done_last_hour).toBeGreaterThanOrEqual(1)
        const unscoped = yield* raw(HttpClientRequest.get("/queue/stats").pipe(HttpClientRequest.setHeader("x-api-key", keys.aAdmin)))
        expect(unscoped.status).toBe(403)
        const root = yield* client(keys.root)
        expect((yield* root.queue.updateFailed({ urlParams: {} })).items).toEqual([])
        expect(yield* root.queue.updateExport({ urlParams: {} })).toBe("")
      }))

    it.effect("the expired-memory sweep needs an admin key on every namespace", () =>
      Effect.gen(function*() {
        const writer = yield* post("/admin/gc-expired", keys.aWrite, {})
        expect(writer.status).toBe(403)
        expect(writer.json.error).toBe("forbidden")
        const scoped = yield* post("/admin/gc-expired", keys.aAdmin, {})
        expect(scoped.status).toBe(403)
        expect(scoped.json.error).toBe("forbidden_namespace")
        const swept = yield* client(keys.root).pipe(Effect.flatMap((c) => c.admin.gcExpired()))
        expect(swept).toEqual({ memories: 0, namespaces: 0, graph_nodes: 0, graph_edges: 0 })
      }))

    it.effect("errors are the contract's JSON codes", () =>
      Effect.gen(function*() {
        const none = yield* post("/retrieve_context", null, { user_input: "x", session_id: "s" })
        expect(none.status).toBe(401)
        expect(none.json.error).toBe("unauthorized")
        const badJson = yield* post("/retrieve_context", keys.aRead, "{not json")
        expect(badJson.status).toBe(400)
        expect(badJson.json.error).toBe("invalid_json")
        const missing = yield* post("/update_memory_index", keys.aWrite, { namespace: "teamA", messages: [] })
        expect(missing.status).toBe(400)
        expect(missing.json).toMatchObject({ error: "invalid_request", details: [expect.stringContaining("session_id")] })
        for (const [route, body, field] of [
          ["/retrieve_context", { namespace: "teamA", user_input: "x", session_id: "s", max_memories: "ten" }, "max_memories"],
          ["/retrieve_context", { namespace: "teamA", user_input: "x", session_id: "s", max_memories: 5000 }, "max_memories"],
          ["/retrieve_context", { namespace: "team A/../x", user_input: "x", session_id: "s" }, "namespace"],
          ["/update_memory_index", { namespace: "teamA", session_id: "s", messages: "hello" }, "messages"],
          ["/session/inspect", { namespace: "teamA", session_id: "s", limit: -1 }, "limit"],
          ["/forget", { namespace: "teamA", memory_ids: "abc" }, "memory_ids"]
        ] as const) {
          const res = yield* post(route, keys.root, body)
          expect(res.status, `${route} ${field}`).toBe(400)
          expect(res.json.error).toBe("invalid_request")
          expect(res.json.details.join(" ")).toContain(field)
        }
        const wrongMethod = yield* raw(HttpClientRequest.get("/retrieve_context").pipe(HttpClientRequest.setHeader("x-api-key", keys.root)))
        expect(wrongMethod.status).toBe(404)
        expect(wrongMethod.json.error).toBe("not_found")
        const forgetNothing = yield* post("/forget", keys.aAdmin, { namespace: "teamA" })
        expect(forgetNothing.status).toBe(400)
        const huge = yield* post("/update_memory_index", keys.aWrite, { namespace: "teamA", session_id: "s", messages: [{ role: "user", content: "x".repeat(9 * 1024 * 1024) }] })
        expect(huge.status).toBe(413)
        expect(huge.json.error).toBe("payload_too_large")
        const unknown = yield* raw(HttpClientRequest.get("/nope"))
        expect(unknown.status).toBe(404)
        expect(unknown.json.error).toBe("not_found")
        const ready = yield* raw(HttpClientRequest.get("/readyz"))
        expect(ready.json).toEqual({ ok: true, checks: { "vectors:embedded": "ok", "graph:postgres": "ok" } })
        const metrics = yield* raw(HttpClientRequest.get("/metrics").pipe(HttpClientRequest.setHeader("x-api-key", keys.root)))
        expect(metrics.text).toMatch(/http_requests_total\{[^}]*route="\/retrieve_context"/)
      }))
  })
}
