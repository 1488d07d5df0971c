/**
 * `openclaw-stack memory …` and `queue …` end to end: `dist/cli.js` driven as a child process
 * against a real `dist/deep-memory.js` (auth on, embedded stores). One server for the whole file.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanCliEnv } from "./support/cliEnv.js"
import { ensureBuilt, freePort, type Role, startRole } from "./support/process.js"

const ROOT = path.resolve(import.meta.dirname, "..")
const ADMIN = "cli-memory-admin-key-0123456789"

interface Run {
  readonly code: number | null
  readonly out: string
  readonly stderr: string
}


let server: Role | undefined
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-memory-"))
// The embedded PostgreSQL's OS user must be able to enter it when the tests run as root.
fs.chmodSync(dir, 0o755)

const cli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, "dist", "cli.js"), ...args], {
      cwd: ROOT,
      // `dir` holds no stack-keys.json: the last key fallback finds nothing.
      env: { ...cleanCliEnv(), OPENCLAW_DATA_DIR: dir, DEEP_MEMORY_BASE_URL: server!.url, DEEP_MEMORY_API_KEY: ADMIN, ...env }
    })
    let out = ""
    let stderr = ""
    child.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")))
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, out, stderr }))
  })

const FACT = "Marco keeps his climbing shoes in the garage locker."
const QUESTION = ["where", "are", "Marco's", "climbing", "shoes?"]

beforeAll(async () => {
  ensureBuilt("cli")
  const port = await freePort()
  server = await startRole("deep-memory", {
    DATA_DIR: dir,
    PORT: String(port),
    API_KEYS_JSON: JSON.stringify([{ key: ADMIN, role: "admin" }])
  }, { port })
}, 90_000)

afterAll(async () => {
  await server?.stop()
  fs.rmSync(dir, { recursive: true, force: true })
})

describe("openclaw-stack memory / queue", () => {
  it("adds, asks, inspects and forgets a memory", async () => {
    const added = await cli(["memory", "add", "--wait", "--session", "cli-s1", FACT])
    expect(added.stderr).toBe("")
    expect(added.code).toBe(0)
    expect(added.out).toMatch(/status: processed, memories added: 1/)

    const asked = await cli(["memory", "ask", ...QUESTION])
    expect(asked.code).toBe(0)
    expect(asked.out.split("\n")[0]).toMatch(/^#\s+RELEVANCE\s+KIND\s+SESSION\s+CONTENT/)
    expect(asked.out).toContain("garage locker")

    const json = await cli(["memory", "ask", ...QUESTION, "--json", "--session", "cli-s1", "--limit", "5", "--explain"])
    expect(json.code).toBe(0)
    const parsed = JSON.parse(json.out)
    expect(parsed.memories[0].content).toBe(FACT)
    expect(parsed.memories[0].session_id).toBe("cli-s1")
    expect(parsed.memories[0].explain).toHaveProperty("fused")

    const inspected = await cli(["memory", "inspect", "cli-s1", "--content"])
    expect(inspected.code).toBe(0)
    expect(inspected.out).toMatch(/memories\s+1/)
    expect(inspected.out).toContain("garage locker")

    const refused = await cli(["memory", "forget", "--session", "cli-s1"])
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toContain("--yes")
    const stillThere = await cli(["memory", "inspect", "cli-s1", "--json"])
    expect(JSON.parse(stillThere.out).totals.memories).toBe(1)

    const dry = await cli(["memory", "forget", "--session", "cli-s1", "--dry-run"])
    expect(dry.code).toBe(0)
    expect(dry.out).toContain("would remove 1 memory")

    const forgotten = await cli(["memory", "forget", "--session", "cli-s1", "--yes"])
    expect(forgotten.stderr).toBe("")
    expect(forgotten.code).toBe(0)
    expect(forgotten.out).toContain("removed 1 memory")

    const after = await cli(["memory", "ask", ...QUESTION, "--json"])
    expect(after.code).toBe(0)
    expect(JSON.parse(after.out).memories.map((m: { content: string }) => m.content)).not.toContain(FACT)
  }, 30_000)

  it("runs the expired-memory sweep", async () => {
    const r = await cli(["memory", "gc-expired"])
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^removed 0 expired memories from 0 namespaces/)
    const json = await cli(["memory", "gc-expired", "--json"])
    expect(JSON.parse(json.out)).toEqual({ memories: 0, namespaces: 0, graph_nodes: 0, graph_edges: 0 })
  })

  it("rejects a wrong key with exit code 1 and the wire code", async () => {
    const r = await cli(["memory", "ask", "anything", "--memory-api-key", "wrong-key-0123456789"])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^error: unauthorized/)
    const noKey = await cli(["queue", "stats"], { DEEP_MEMORY_API_KEY: "" })
    expect(noKey.code).toBe(1)
    expect(noKey.stderr).toContain("unauthorized")
  })

  it("reports an unreachable server and usage errors", async () => {
    const down = await cli(["memory", "ask", "x", "--memory-url", "http://127.0.0.1:1"])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain("cannot reach deep-memory at http://127.0.0.1:1")
    const both = await cli(["memory", "forget"])
    expect(both.code).toBe(2)
  })

  it("prints queue stats and failed tasks", async () => {
    const stats = await cli(["queue", "stats"])
    expect(stats.code).toBe(0)
    expect(stats.out).toMatch(/pending\s+\d+/)
    expect(stats.out).toMatch(/failed\s+\d+/)
    const forgetStats = await cli(["queue", "stats", "--forget", "--json"])
    expect(forgetStats.code).toBe(0)
    expect(JSON.parse(forgetStats.out)).toMatchObject({ pending: expect.any(Number), failed: expect.any(Number) })
    const failed = await cli(["queue", "failed", "--limit", "5"])
    expect(failed.code).toBe(0)
    const exported = path.join(dir, "failed.ndjson")
    const exp = await cli(["queue", "export", "-o", exported])
    expect(exp.code).toBe(0)
    expect(fs.existsSync(exported)).toBe(true)
    const retried = await cli(["queue", "retry", "--json"])
    expect(retried.code).toBe(0)
    expect(JSON.parse(retried.out)).toEqual({ retried: 0 })
  })

  it("evaluates a dataset through the API next to the BM25 baseline", async () => {
    const file = path.join(dir, "dataset.json")
    fs.writeFileSync(file, JSON.stringify({
      name: "tiny",
      language: "en",
      description: "two sessions, three queries",
      namespace: "cli-eval",
      sessions: [
        {
          session_id: "a",
          kind: "conversation",
          messages: [{ role: "user", content: "My sister Anna works as a nurse in Berlin. I keep my passport in the blue drawer." }]
        },
        {
          session_id: "b",
          kind: "conversation",
          messages: [{ role: "user", content: "The dentist appointment is on Friday at ten. Our cat Miso only eats salmon." }]
        }
      ],
      queries: [
        { id: "q1", query: "Where does Anna work?", expected: [{ session_id: "a", contains: "nurse in Berlin" }], tags: ["exact"] },
        { id: "q2", query: "What food does the cat like?", expected: [{ session_id: "b", contains: "salmon" }], tags: ["paraphrase"] },
        {
          id: "q3",
          query: "where is the passport",
          session_ids: ["a"],
          expected: [{ session_id: "a", contains: "blue drawer" }],
          tags: ["scoped", "exact"]
        }
      ]
    }))
    const text = await cli(["memory", "eval", file])
    expect(text.code).toBe(0)
    expect(text.stderr).toContain("ingesting: 2/2 sessions")
    for (const metric of ["recall@1", "recall@5", "recall@10", "MRR", "nDCG@10"]) expect(text.out).toContain(metric)
    expect(text.out).toMatch(/METRIC\s+DEEP-MEMORY\s+BM25/)
    expect(text.out).toContain("scoped")

    const json = await cli(["memory", "eval", file, "--json", "--namespace", "cli-eval-2"])
    expect(json.code).toBe(0)
    const result = JSON.parse(json.out)
    expect(result.dataset).toBe("tiny")
    expect(result.queries).toHaveLength(3)
    expect(result.overall.recall_at_5).toBeGreaterThanOrEqual(0)
    expect(result.overall.recall_at_5).toBeLessThanOrEqual(1)
    expect(Object.keys(result.by_tag).sort()).toEqual(["exact", "paraphrase", "scoped"])
    expect(result.baseline.retriever).toMatch(/^bm25/)

    const notADataset = path.join(dir, "bad.json")
    fs.writeFileSync(notADataset, JSON.stringify({ name: "x" }))
    const bad = await cli(["memory", "eval", notADataset])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain("is not an eval dataset")
  }, 30_000)
})
