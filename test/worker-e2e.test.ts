import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { encodeGbk, makeDocx, makePdf, makePptx, makeZipBombDocx } from "./fixtures/extract/make.js"
import { type FakeDeepMemoryProxy, startFakeDeepMemoryProxy } from "./support/fakeDeepMemory.js"
import { freePort, type Role, startRole } from "./support/process.js"

// Workers, RustFS and deep-memory as real processes over their embedded stores; the only fake is the
// deep-memory proxy used to inject "busy" answers and a slow write.

const rustfsWorkerKey = "e2e-rustfs-worker-key-0123456789"
const rustfsAdminKey = "e2e-rustfs-admin-key-01234567890"
const memoryAdminKey = "e2e-memory-admin-key-0123456789"
const memoryWorkerKey = "e2e-memory-worker-key-012345678"

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const tmp = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  fs.chmodSync(dir, 0o755)
  return dir
}

describe("rustfs-worker end to end (processes)", () => {
  const root = tmp("worker-e2e-")
  let rustfs: Role
  let memory: Role
  let proxy: FakeDeepMemoryProxy
  const workers: Array<Role> = []

  const upload = async (name: string, content: Uint8Array | string, type = "application/octet-stream") => {
    const fd = new FormData()
    fd.append("file", new Blob([typeof content === "string" ? Buffer.from(content) : content], { type }), name)
    const res = await fetch(rustfs.url + "/v1/files", { method: "POST", headers: { "x-api-key": rustfsAdminKey }, body: fd })
    const json = await res.json() as any
    expect(res.status, JSON.stringify(json)).toBe(200)
    expect(json.deduplicated).toBe(false)
    return json.file_id as string
  }
  const meta = async (id: string) => {
    const res = await fetch(`${rustfs.url}/v1/files/${id}/meta`, { headers: { "x-api-key": rustfsAdminKey } })
    return await res.json() as any
  }
  /** Polls the files' meta until none is pending or processing. */
  const settle = async (ids: ReadonlyArray<string>, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const metas = await Promise.all(ids.map(meta))
      if (metas.every((m) => m.extract_status !== "pending" && m.extract_status !== "processing")) return metas
      if (Date.now() > deadline) {
        throw new Error(`not settled: ${JSON.stringify(metas.map((m) => [m.filename, m.extract_status, m.extract_error]))}\n${workers.map((w) => w.output().slice(-3000)).join("\n---\n")}`)
      }
      await sleep(250)
    }
  }
  const memoryCall = async (route: string, body: unknown) => {
    const res = await fetch(memory.url + route, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": memoryAdminKey },
      body: JSON.stringify(body)
    })
    return { status: res.status, json: await res.json() as any }
  }
  const inspect = async (id: string) => (await memoryCall("/session/inspect", { session_id: `rustfs:file:${id}`, limit: 1000, include_content: true })).json
  /** Waits until deep-memory's queue is drained (async writes applied). */
  const drained = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const stats = await fetch(memory.url + "/queue/stats", { headers: { "x-api-key": memoryAdminKey } }).then((r) => r.json() as any)
      if (stats.pending === 0 && (stats.running ?? stats.processing ?? 0) === 0) return stats
      if (Date.now() > deadline) throw new Error(`deep-memory queue not drained: ${JSON.stringify(stats)}`)
      await sleep(250)
    }
  }
  const health = async (w: Role) => await fetch(w.url + "/health").then((r) => r.json() as any)

  const startWorker = async (name: string, overrides: Record<string, string> = {}, readyPath = "/readyz") => {
    const port = await freePort()
    const w = await startRole("rustfs-worker", {
      RUSTFS_BASE_URL: rustfs.url,
      RUSTFS_API_KEY: rustfsWorkerKey,
      DEEP_MEMORY_BASE_URL: proxy.url,
      DEEP_MEMORY_API_KEY: memoryWorkerKey,
      RUSTFS_POLL_INTERVAL_MS: "200",
      RUSTFS_LEASE_MS: "6000",
      WORKER_STATE_PATH: path.join(root, `state-${name}.json`),
      WORKER_HEALTH_PORT: String(port),
      DEEP_MEMORY_BACKOFF_MS: "200",
      DEEP_MEMORY_BACKOFF_MAX_MS: "1000",
      DEEP_MEMORY_CHUNK_MAX_CHARS: "400",
      DEEP_MEMORY_CHUNK_OVERLAP_CHARS: "50",
      EXTRACT_MAX_PAGES: "500",
      EXTRACT_TIMEOUT_MS: "30000",
      ...overrides
    }, { port, readyPath })
    workers.push(w)
    return w
  }

  beforeAll(async () => {
    const rustfsPort = await freePort()
    const memoryPort = await freePort()
    const rustfsDir = path.join(root, "rustfs")
    const memoryDir = path.join(root, "memory")
    fs.mkdirSync(rustfsDir, { mode: 0o755 })
    fs.mkdirSync(memoryDir, { mode: 0o755 })
    ;[rustfs, memory] = await Promise.all([
      startRole("rustfs", {
        RUSTFS_DATA_DIR: rustfsDir,
        RUSTFS_PORT: String(rustfsPort),
        RUSTFS_API_KEYS_JSON: JSON.stringify([
          { key: rustfsWorkerKey, tenant_id: "default", role: "worker" },
          { key: rustfsAdminKey, tenant_id: "default", role: "admin" }
        ])
      }, { port: rustfsPort, timeoutMs: 90_000 }),
      startRole("deep-memory", {
        DATA_DIR: memoryDir,
        PORT: String(memoryPort),
        API_KEYS_JSON: JSON.stringify([
          { key: memoryAdminKey, role: "admin" },
          { key: memoryWorkerKey, role: "admin", namespaces: ["default"] }
        ])
      }, { port: memoryPort, timeoutMs: 90_000 })
    ])
    proxy = await startFakeDeepMemoryProxy(memory.url)
  }, 120_000)

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop("SIGKILL")))
    await proxy?.close()
    await Promise.all([rustfs?.stop(), memory?.stop()])
    fs.rmSync(root, { recursive: true, force: true })
  }, 60_000)

  const indexed: Record<string, { id: string; question: string; phrase: string }> = {}
  const ids: Record<string, string> = {}

  it("extracts a mix of files: indexed, skipped and failed, with reasons and annotations", async () => {
    await startWorker("a")
    const pdf = await makePdf(["The observatory telescope was calibrated on Tuesday night by Imogen.", "Page two is about the dome."])
    const files: Array<[string, Uint8Array | string, string, string, string]> = [
      ["lighthouse.md", "# Lighthouse\n\nThe lighthouse keeper Mirabel paints the lamp room every spring.\n", "text/markdown", "who paints the lamp room of the lighthouse", "Mirabel"],
      ["warehouse-gbk.txt", encodeGbk("青岛仓库的钥匙放在蓝色抽屉里。\n\n每周一检查库存。"), "text/plain", "青岛仓库的钥匙放在哪里", "蓝色抽屉"],
      ["orchard.html", "<html><head><title>Orchard notes</title><script>var trackingPixel = 'zzz';</script><style>p{color:red}</style></head><body><h1>Pear orchard</h1><p>The pear orchard is watered by the northern canal every evening.</p></body></html>", "text/html", "how is the pear orchard watered", "northern canal"],
      ["recipe.json", JSON.stringify({ recipe: "saffron risotto", chef: "Tobias", notes: "The saffron risotto needs twenty minutes of stirring." }, null, 2), "application/json", "how long does the saffron risotto need stirring", "twenty minutes"],
      ["tides.py", "import math\n\n\ndef compute_tide_table(harbour):\n    \"\"\"Computes the tide table for Kestrel harbour from the lunar phase.\"\"\"\n    return [math.sin(h) for h in range(24)]\n", "text/x-python", "tide table for Kestrel harbour", "Kestrel harbour"],
      ["fleet.docx", await makeDocx([["h1", "Fleet maintenance"], ["p", "The red tractor needs new brake pads before the harvest."]]), "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "what does the red tractor need before harvest", "brake pads"],
      ["observatory.pdf", pdf, "application/pdf", "when was the observatory telescope calibrated", "Tuesday night"],
      ["plan.pptx", await makePptx([{ title: "Quarterly plan", body: "The bakery opens a second branch in Lindenfeld.", notes: "Mention the sourdough." }]), "application/vnd.openxmlformats-officedocument.presentationml.presentation", "where does the bakery open a second branch", "Lindenfeld"],
      ["blob.bin", randomBytes(4096), "application/octet-stream", "", ""],
      ["cut.pdf", pdf.subarray(0, Math.floor(pdf.length * 0.4)), "application/pdf", "", ""]
    ]
    for (const [name, content, type, question, phrase] of files) {
      ids[name] = await upload(name, content, type)
      if (phrase !== "") indexed[name] = { id: ids[name]!, question, phrase }
    }
    const metas = await settle(Object.values(ids), 90_000)
    const byName = Object.fromEntries(metas.map((m) => [m.filename, m]))
    for (const name of Object.keys(indexed)) {
      const m = byName[name]
      expect([name, m.extract_status, m.extract_error]).toEqual([name, "indexed", null])
      expect(m.annotations).toMatchObject({
        schema_version: 1,
        extraction: { status: "indexed" },
        deep_memory: { session_id: `rustfs:file:${m.file_id}`, namespace: "default" }
      })
      expect(m.annotations.extraction.stats.chars).toBeGreaterThan(0)
    }
    expect(byName["blob.bin"]).toMatchObject({ extract_status: "skipped", extract_error: expect.stringMatching(/unsupported/) })
    expect(byName["blob.bin"].annotations).toMatchObject({ schema_version: 1, extraction: { status: "skipped", last_error: expect.any(String) } })
    expect(byName["cut.pdf"]).toMatchObject({ extract_status: "failed", extract_error: expect.stringMatching(/corrupt/) })
    expect(byName["cut.pdf"].annotations).toMatchObject({ schema_version: 1, extraction: { status: "failed" } })
    expect(byName["orchard.html"].annotations.extraction.doc_type_guess).toMatch(/html/)
    expect(byName["warehouse-gbk.txt"].annotations.extraction.language_guess).toBe("zh")
    // No internal URLs in annotations.
    expect(JSON.stringify(metas.map((m) => m.annotations))).not.toContain("127.0.0.1")
  }, 150_000)

  it("makes every indexed file findable in its session", async () => {
    await drained()
    for (const [name, { id, question, phrase }] of Object.entries(indexed)) {
      const r = await memoryCall("/retrieve_context", { user_input: question, session_ids: [`rustfs:file:${id}`] })
      expect(r.status).toBe(200)
      expect([name, r.json.memories[0]?.content ?? ""]).toEqual([name, expect.stringContaining(phrase)])
      expect(r.json.memories[0]?.content).not.toContain("trackingPixel")
    }
  }, 60_000)

  it("forgets a tombstoned file", async () => {
    const id = indexed["lighthouse.md"]!.id
    expect((await inspect(id)).totals.memories).toBeGreaterThan(0)
    const res = await fetch(`${rustfs.url}/v1/files/${id}/tombstone`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": rustfsAdminKey },
      body: JSON.stringify({ reason: "e2e" })
    })
    expect(res.status).toBe(200)
    const deadline = Date.now() + 30_000
    while ((await inspect(id)).totals.memories > 0 && Date.now() < deadline) await sleep(250)
    expect((await inspect(id)).totals.memories).toBe(0)
    expect(fs.existsSync(path.join(root, "state-a.json"))).toBe(true)
  }, 60_000)

  it("backs off while deep-memory is busy and still indexes everything", async () => {
    const w = workers[0]!
    const before = (await health(w)).counts
    proxy.setBusy(4)
    const busyIds = [
      await upload("busy-1.md", "The copper kettle sits on the third shelf of the pantry.", "text/markdown"),
      await upload("busy-2.md", "The garden hose is coiled behind the green shed.", "text/markdown")
    ]
    const metas = await settle(busyIds, 60_000)
    expect(metas.map((m) => m.extract_status)).toEqual(["indexed", "indexed"])
    expect(proxy.refused()).toBe(4)
    const after = (await health(w)).counts
    expect(after.failed).toBe(before.failed)
    expect(after.indexed - before.indexed).toBe(2)
    expect(w.output()).toContain("deep-memory busy; backing off")
  }, 90_000)

  it("a file in flight on a killed worker is finished by another one after the lease, without duplicates", async () => {
    const marker = "ZEPHYRMARKER"
    const paragraphs = Array.from({ length: 5 }, (_, i) =>
      `${marker} section ${i + 1}: the night ferry number ${i + 11} leaves pier ${i + 3} at ${i + 7} o'clock and carries ${i * 40 + 90} passengers across the fjord in calm weather, stopping briefly at the lighthouse island.`)
    proxy.setSlow(marker, 10_000)
    const id = await upload("ferries.txt", paragraphs.join("\n\n"), "text/plain")
    await proxy.slowArrived()
    const a = workers[0]!
    expect((await health(a)).in_flight).toBeGreaterThan(0)
    await a.stop("SIGKILL")
    const claimedAt = Date.now()
    await startWorker("b")
    const [m] = await settle([id], 60_000)
    expect(m.extract_status).toBe("indexed")
    expect(Date.now() - claimedAt).toBeGreaterThan(2_000) // only after the lease ran out
    await proxy.slowDone() // the killed worker's write reaches deep-memory too
    await drained()
    const sent = proxy.forwardedUpdates().filter((b) => b.session_id === `rustfs:file:${id}`)
    expect(sent.length).toBe(2)
    const chunks = sent[0].messages.length
    expect(chunks).toBeGreaterThan(1)
    const view = await inspect(id)
    expect(view.totals.memories).toBe(chunks)
    const contents = view.memories.map((x: any) => x.content)
    expect(new Set(contents).size).toBe(contents.length)
    await workers[1]!.stop()
  }, 120_000)

  it("two workers on one RustFS process 20 files, none twice", async () => {
    const [c, d] = await Promise.all([startWorker("c"), startWorker("d")])
    const many: Array<string> = []
    for (let i = 0; i < 20; i++) {
      many.push(await upload(`note-${i}.txt`, `Note ${i}: the parcel number ${1000 + i} is stored in locker ${i * 7 + 3}.`, "text/plain"))
    }
    const metas = await settle(many, 90_000)
    expect(metas.every((m) => m.extract_status === "indexed")).toBe(true)
    const [hc, hd] = await Promise.all([health(c), health(d)])
    expect(hc.counts.indexed + hd.counts.indexed).toBe(20)
    expect(hc.counts.failed + hd.counts.failed).toBe(0)
  }, 150_000)

  it("a zip-bomb DOCX and a PDF with thousands of pages end in bounded time with a clear status", async () => {
    // Its headers declare 1 KiB but it inflates to 300 MiB, past the default 256 MiB inflate budget.
    const [bomb, many] = await Promise.all([
      makeZipBombDocx(300 * 1024 * 1024, true),
      makePdf(Array.from({ length: 2000 }, (_, i) => `p${i + 1}`))
    ])
    const started = Date.now()
    const bombId = await upload("bomb.docx", bomb, "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    const manyId = await upload("many.pdf", many, "application/pdf")
    const byId = Object.fromEntries((await settle([bombId, manyId], 90_000)).map((m) => [m.file_id, m]))
    expect(Date.now() - started).toBeLessThan(90_000)
    expect(byId[bombId]).toMatchObject({ extract_status: "skipped", extract_error: expect.stringMatching(/^limit: .*inflates past/) })
    // EXTRACT_MAX_PAGES=500: the first 500 pages are read and the file is indexed, marked truncated.
    expect(byId[manyId]).toMatchObject({ extract_status: "indexed", extract_error: null })
    expect(byId[manyId].annotations.extraction.stats.truncated).toBe(true)
    expect(byId[manyId].annotations.extraction.warnings).toContain("only the first 500 of 2000 pages were read")
  }, 150_000)

  it("SIGTERM releases a file in flight back to pending at once; another worker then indexes it", async () => {
    await Promise.all(workers.map((w) => w.stop("SIGTERM")))
    proxy.setSlow("shutdown-marker-quokka", 20_000)
    const id = await upload("shutdown.md", "# Shutdown\n\nshutdown-marker-quokka: the quokka enclosure opens at nine.\n", "text/markdown")
    const w = await startWorker("shutdown")
    await proxy.slowArrived()
    const started = Date.now()
    expect(await w.stop("SIGTERM")).toBe(0)
    expect(Date.now() - started).toBeLessThan(15_000)
    const m = await meta(id)
    expect(m.extract_status).toBe("pending")
    expect(m.extract_error).toContain("released at worker shutdown")
    await startWorker("after-shutdown")
    const [done] = await settle([id])
    expect(done.extract_status).toBe("indexed")
  }, 120_000)

  it("a refused key stops claiming and shows on /health and /readyz", async () => {
    await Promise.all(workers.map((w) => w.stop("SIGTERM")))
    const w = await startWorker("bad-key", { RUSTFS_API_KEY: "not-a-valid-key-0123456789" }, "/health")
    let ready: any = null
    for (let i = 0; i < 60; i++) {
      const res = await fetch(w.url + "/readyz")
      if (res.status === 503) {
        ready = await res.json()
        break
      }
      await sleep(200)
    }
    expect(ready).toMatchObject({ ok: false, error: "auth_failed", service: "rustfs" })
    expect((await health(w)).auth_problem).toMatchObject({ service: "rustfs" })
    const id = await upload("unclaimed.txt", "Nobody may claim this file while the key is refused.", "text/plain")
    await sleep(1_500)
    expect((await meta(id)).extract_status).toBe("pending")
    await w.stop("SIGTERM")
  }, 60_000)
})
