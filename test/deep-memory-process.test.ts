import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { freePort, startRole, type Role } from "./support/process.js"

const admin = "dm-process-admin-key-0123456789"
const call = async (role: Role, route: string, body: unknown) => {
  const res = await fetch(role.url + route, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": admin },
    body: JSON.stringify(body)
  })
  return { status: res.status, headers: res.headers, json: await res.json() as any }
}

describe("deep-memory as a process", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deep-memory-proc-"))
  fs.chmodSync(dir, 0o755)
  let server: Role | undefined
  afterAll(async () => {
    await server?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("answers 503 with retry-after past the backlog threshold, and processes queued tasks after a kill -9 and restart", async () => {
    const port = await freePort()
    const env = {
      DATA_DIR: dir,
      PORT: String(port),
      API_KEYS_JSON: JSON.stringify([{ key: admin, role: "admin" }]),
      UPDATE_NAMESPACE_REJECT_PENDING: "2",
      UPDATE_BACKLOG_RETRY_AFTER_SECONDS: "7"
    }
    // No update workers in the first process: queued tasks can only be processed after the restart.
    server = await startRole("deep-memory", { ...env, UPDATE_CONCURRENCY: "0" }, { port })
    const facts = ["Kim's bike is locked in the basement.", "The spare key hangs behind the kitchen door."]
    for (const [i, fact] of facts.entries()) {
      const r = await call(server, "/update_memory_index", { session_id: `s${i}`, messages: [{ role: "user", content: fact }] })
      expect(r.json).toMatchObject({ status: "queued" })
    }
    const over = await call(server, "/update_memory_index", { session_id: "s9", messages: [{ role: "user", content: "One too many." }] })
    expect(over.status).toBe(503)
    expect(over.json).toMatchObject({ error: "namespace_overloaded", retryAfterSeconds: 7 })
    expect(over.headers.get("retry-after")).toBe("7")
    await server.stop("SIGKILL")

    server = await startRole("deep-memory", env, { port })
    let found = 0
    for (let i = 0; i < 100 && found < 2; i++) {
      await new Promise((r) => setTimeout(r, 200))
      found = 0
      for (const s of ["s0", "s1"]) {
        const r = await call(server, "/session/inspect", { session_id: s })
        found += r.json.totals.memories > 0 ? 1 : 0
      }
    }
    expect(found).toBe(2)
    const ask = await call(server, "/retrieve_context", { user_input: "where is the spare key", session_id: "x" })
    expect(ask.json.memories[0].content).toContain("kitchen door")
    const stats = await fetch(server.url + "/queue/stats", { headers: { "x-api-key": admin } }).then((r) => r.json() as any)
    expect(stats).toMatchObject({ pending: 0, failed: 0 })
  }, 120_000)

  it("reloads the vector-index snapshot after a clean stop and rebuilds from the table after a kill -9", async () => {
    const own = fs.mkdtempSync(path.join(os.tmpdir(), "deep-memory-snap-"))
    fs.chmodSync(own, 0o755)
    const port = await freePort()
    const env = { DATA_DIR: own, PORT: String(port), API_KEYS_JSON: JSON.stringify([{ key: admin, role: "admin" }]) }
    const snapshot = path.join(own, "vector-index.snap")
    const add = async (role: Role, session: string, content: string) => {
      const r = await call(role, "/update_memory_index", { session_id: session, messages: [{ role: "user", content }], async: false })
      expect(r.status).toBe(200)
    }
    const top = async (role: Role, question: string) =>
      (await call(role, "/retrieve_context", { user_input: question, session_id: "q" })).json.memories[0]?.content ?? ""
    let role = await startRole("deep-memory", env, { port })
    try {
      await add(role, "a", "The boat is moored at pier seven in Harbor Bay.")
      await add(role, "b", "Grandma's birthday dinner is at the Lotus restaurant.")
      expect(await role.stop("SIGTERM")).toBe(0)
      expect(fs.existsSync(snapshot)).toBe(true)

      role = await startRole("deep-memory", env, { port })
      expect(role.output()).toMatch(/embedded vector index loaded[^\n]*"from":"snapshot"/)
      expect(fs.existsSync(snapshot)).toBe(false) // consumed: a crash from here on must not reuse it
      expect(await top(role, "where is the boat moored")).toContain("pier seven")
      await add(role, "c", "The wifi password card is taped under the router.")
      await role.stop("SIGKILL")
      expect(fs.existsSync(snapshot)).toBe(false)

      role = await startRole("deep-memory", env, { port })
      expect(role.output()).toMatch(/embedded vector index loaded[^\n]*"from":"rows"/)
      expect(await top(role, "where is the wifi password card")).toContain("router")
      expect(await top(role, "where is grandma's birthday dinner")).toContain("Lotus")
    } finally {
      await role.stop()
      fs.rmSync(own, { recursive: true, force: true })
    }
  }, 180_000)
})
