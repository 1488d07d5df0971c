import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { DeepMemoryAppLive, deepMemoryServe } from "../src/services/DeepMemoryServer.js"
import { testDatabases } from "./support/database.js"
import { raw } from "./support/rustfs.js"

const admin = "policy-admin-key-0123456789"
const post = (route: string, body: unknown) =>
  raw(HttpClientRequest.post(route).pipe(HttpClientRequest.setHeader("x-api-key", admin), HttpClientRequest.bodyUnsafeJson(body)))
const say = (content: string) => [{ role: "user", content }]

// The write policies and limits of the spec, on the embedded default (one SQL layer is enough here).
const db = testDatabases()[0]!
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "deep-memory-policy-"))
const settings = new Map([
  ["API_KEYS_JSON", JSON.stringify([{ key: admin, role: "admin" }])],
  ["DATA_DIR", dataDir],
  ["UPDATE_DISABLED_NAMESPACES", "frozen, archive"],
  ["UPDATE_MIN_INTERVAL_MS", "600000"],
  ["UPDATE_SAMPLE_RATE", "0.5"],
  ["UPDATE_BACKLOG_DELAY_PENDING", "1"],
  ["UPDATE_BACKLOG_DELAY_SECONDS", "3600"],
  ["UPDATE_CONCURRENCY", "0"],
  ["NAMESPACE_RETRIEVE_CONCURRENCY", "1"],
  ["NAMESPACE_RETRIEVE_WAIT_MS", "0"],
  ["RATE_LIMIT_ENABLED", "false"],
  // empty means unset: the defaults apply instead of 0
  ["RETRIEVE_CACHE_MAX", ""],
  ["UPDATE_BACKLOG_REJECT_PENDING", ""]
])
const app = deepMemoryServe.pipe(
  Layer.provide(DeepMemoryAppLive),
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provide(db.layer),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(settings)))
)

layer(app, { timeout: "120 seconds", excludeTestServices: true })(`deep-memory write policies (${db.name})`, (it) => {
  it.effect("a disabled namespace answers 200 skipped namespace_write_disabled and stores nothing", () =>
    Effect.gen(function*() {
      const r = yield* post("/update_memory_index", { namespace: "archive", session_id: "s", messages: say("The vault code is in the red binder."), async: false })
      expect(r.status).toBe(200)
      expect(r.json).toMatchObject({ status: "skipped", error: "namespace_write_disabled", memories_added: 0 })
      const inspect = yield* post("/session/inspect", { namespace: "archive", session_id: "s" })
      expect(inspect.json.totals.memories).toBe(0)
    }))

  it.effect("sampling keeps about the configured share of sessions, each always in or always out", () =>
    Effect.gen(function*() {
      const answers: Array<string> = []
      for (let i = 0; i < 40; i++) {
        const r = yield* post("/update_memory_index", { namespace: "sampled", session_id: `chat-${i}`, messages: say(`Note number ${i} about the garden shed.`) })
        expect(r.status).toBe(200)
        answers.push(r.json.error === "sampled_out" ? "out" : r.json.status)
      }
      const kept = answers.filter((a) => a !== "out").length
      expect(kept).toBeGreaterThan(8)
      expect(kept).toBeLessThan(32)
      // the same session gets the same decision again (a sampled-in one is now throttled instead)
      const firstOut = answers.indexOf("out")
      const again = yield* post("/update_memory_index", { namespace: "sampled", session_id: `chat-${firstOut}`, messages: say("Again.") })
      expect(again.json.error).toBe("sampled_out")
    }))

  it.effect("a session updated again within UPDATE_MIN_INTERVAL_MS is throttled; the backlog delay holds queued tasks back", () =>
    Effect.gen(function*() {
      // find a session inside the sample
      let session = ""
      for (let i = 0; i < 50 && session === ""; i++) {
        const r = yield* post("/update_memory_index", { namespace: "paced", session_id: `p-${i}`, messages: say("First message of the day.") })
        if (r.json.status === "queued") session = `p-${i}`
      }
      expect(session).not.toBe("")
      const second = yield* post("/update_memory_index", { namespace: "paced", session_id: session, messages: say("Second message.") })
      expect(second.json).toMatchObject({ status: "skipped", error: "throttled" })
      // with one task pending (>= UPDATE_BACKLOG_DELAY_PENDING), new tasks wait an hour before they are due
      const stats = yield* raw(HttpClientRequest.get("/queue/stats").pipe(HttpClientRequest.setHeader("x-api-key", admin)))
      expect(stats.json.pending).toBeGreaterThanOrEqual(2)
      expect(stats.json.delayed).toBeGreaterThanOrEqual(1)
      expect(stats.json.delayed).toBeLessThan(stats.json.pending) // the very first task was due at once
    }))

  it.effect("NAMESPACE_RETRIEVE_CONCURRENCY turns excess concurrent retrievals of one namespace into 503 namespace_overloaded", () =>
    Effect.gen(function*() {
      const results = yield* Effect.all(
        Array.from({ length: 8 }, (_, i) => post("/retrieve_context", { namespace: "busy", user_input: `garden shed ${i}`, session_id: "q" })),
        { concurrency: "unbounded" }
      )
      const codes = results.map((r) => r.status)
      expect(codes).toContain(200)
      expect(codes).toContain(503)
      const refused = results.find((r) => r.status === 503)!
      expect(refused.json).toMatchObject({ error: "namespace_overloaded", retryAfterSeconds: 1 })
      expect(refused.headers["retry-after"]).toBe("1")
      // another namespace is not held up by this one
      expect((yield* post("/retrieve_context", { namespace: "calm", user_input: "x", session_id: "q" })).status).toBe(200)
    }))
})
