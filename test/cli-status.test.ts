/**
 * `openclaw-stack status` over the whole stack, and the CLI's fallback to the keys `npm start`
 * writes (`<OPENCLAW_DATA_DIR>/stack-keys.json`): real `dist/rustfs.js` and `dist/deep-memory.js`
 * (auth on) as processes, and a fake rustfs-worker health port (node:http) whose state each test sets.
 */
import { spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { cleanCliEnv } from "./support/cliEnv.js"
import { ensureBuilt, freePort, type Role, startRole } from "./support/process.js"

const ROOT = path.resolve(import.meta.dirname, "..")
const CLI = path.join(ROOT, "dist", "cli.js")
const MEMORY_ADMIN = "cli-status-memory-admin-0123456789"

interface Run {
  readonly code: number | null
  readonly out: string
  readonly stderr: string
}


const tmp = (prefix: string) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  // The embedded PostgreSQL's OS user must be able to enter it when the tests run as root.
  fs.chmodSync(dir, 0o755)
  return dir
}
const cleanup: Array<string> = []
/** A data dir without stack-keys.json, so the fallback finds nothing unless a test wants it to. */
const emptyDataDir = tmp("cli-status-nokeys-")
cleanup.push(emptyDataDir)

const runCli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv, cwd = ROOT): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { ...cleanCliEnv(), OPENCLAW_DATA_DIR: emptyDataDir, ...env }
    })
    let out = ""
    let stderr = ""
    child.stdout.on("data", (b: Buffer) => (out += b.toString("utf8")))
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString("utf8")))
    child.on("error", reject)
    child.on("close", (code) => resolve({ code, out, stderr }))
  })

const jsonLines = (s: string): Array<any> => s.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))

/** What the fake worker's `/health` and `/readyz` answer; tests change it. */
const fakeWorkerState = {
  authProblem: null as null | { service: string; message: string },
  counts: { indexed: 2, skipped: 1, failed: 0, released: 0, abandoned: 0 }
}

/** A stand-in for rustfs-worker's health listener (src/services/worker/Worker.ts `workerHealthRoutes`). */
const startFakeWorkerHealth = () =>
  new Promise<http.Server>((resolve) => {
    const server = http.createServer((req, res) => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(JSON.stringify(body))
      }
      const { authProblem, counts } = fakeWorkerState
      if (req.url === "/health") {
        return send(200, {
          ok: authProblem === null,
          in_flight: 1,
          counts,
          auth_problem: authProblem === null ? null : { ...authProblem, since_ms: Date.now() },
          backoff_until_ms: null,
          last_claim_at_ms: Date.now(),
          last_finished_at_ms: Date.now() - 500,
          lag_ms: 500,
          tombstones_since_ms: 0,
          uptime_ms: 10_000
        })
      }
      if (req.url === "/readyz") {
        return authProblem === null
          ? send(200, { ok: true })
          : send(503, { ok: false, error: "auth_failed", ...authProblem })
      }
      send(404, { ok: false })
    })
    server.listen(0, "127.0.0.1", () => resolve(server))
  })

let rustfs: Role | undefined
let memory: Role | undefined
let fakeWorker: http.Server | undefined
let workerUrl = ""
let rustfsKeys: Array<{ key: string; tenant_id: string; role: string }> = []
let signingKey = ""
const keyFor = (role: string) => rustfsKeys.find((k) => k.role === role)!.key

/** Every role's URL, no keys. */
let urls: NodeJS.ProcessEnv = {}
/** `urls` plus the admin keys of both servers, as one would export them. */
let withKeys: NodeJS.ProcessEnv = {}

beforeAll(async () => {
  ensureBuilt("cli")
  const generated = spawnSync(process.execPath, [CLI, "keys", "generate", "--tenant", "default"], {
    cwd: ROOT,
    env: cleanCliEnv(),
    encoding: "utf8"
  })
  expect(generated.status, generated.stderr).toBe(0)
  const keySet = JSON.parse(generated.stdout)
  rustfsKeys = keySet.RUSTFS_API_KEYS_JSON
  signingKey = keySet.RUSTFS_SIGNING_KEY

  const rustfsDir = tmp("cli-status-rustfs-")
  const memoryDir = tmp("cli-status-memory-")
  cleanup.push(rustfsDir, memoryDir)
  const [rustfsPort, memoryPort] = [await freePort(), await freePort()]
  ;[rustfs, memory, fakeWorker] = await Promise.all([
    startRole("rustfs", {
      RUSTFS_DATA_DIR: rustfsDir,
      RUSTFS_PORT: String(rustfsPort),
      RUSTFS_REQUIRE_API_KEY: "true",
      RUSTFS_API_KEYS_JSON: JSON.stringify(rustfsKeys),
      RUSTFS_SIGNING_KEY: signingKey,
      RUSTFS_MASTER_KEY: keySet.RUSTFS_MASTER_KEY,
      RUSTFS_LOG_LEVEL: "warning"
    }, { port: rustfsPort, timeoutMs: 90_000 }),
    startRole("deep-memory", {
      DATA_DIR: memoryDir,
      PORT: String(memoryPort),
      API_KEYS_JSON: JSON.stringify([{ key: MEMORY_ADMIN, role: "admin" }])
    }, { port: memoryPort, timeoutMs: 90_000 }),
    startFakeWorkerHealth()
  ])
  workerUrl = `http://127.0.0.1:${(fakeWorker.address() as net.AddressInfo).port}`
  urls = { RUSTFS_BASE_URL: rustfs.url, DEEP_MEMORY_BASE_URL: memory.url, WORKER_HEALTH_URL: workerUrl }
  withKeys = { ...urls, RUSTFS_API_KEY: keyFor("admin"), DEEP_MEMORY_API_KEY: MEMORY_ADMIN }

  const file = path.join(rustfsDir, "..", `cli-status-${process.pid}.txt`)
  fs.writeFileSync(file, "one file waiting for extraction\n")
  cleanup.push(file)
  const upload = await runCli(["files", "upload", file], withKeys)
  expect(upload.code, upload.stderr).toBe(0)
}, 150_000)

afterAll(async () => {
  await Promise.all([rustfs?.stop(), memory?.stop()])
  if (fakeWorker?.listening) await new Promise((r) => fakeWorker!.close(r))
  for (const p of cleanup) fs.rmSync(p, { recursive: true, force: true })
}, 60_000)

describe("openclaw-stack status", () => {
  it("shows every role ready, the extraction counts, the queue depth and the worker's counts", async () => {
    const r = await runCli(["status"], withKeys)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe("")
    expect(r.out.split("\n")[0]).toMatch(/^ROLE\s+URL\s+HEALTH\s+READY\s+CHECKS/)
    expect(r.out).toMatch(/^rustfs\s+\S+\s+ok\s+ready\s+database ok/m)
    expect(r.out).toMatch(/^deep-memory\s+\S+\s+ok\s+ready\s+\S/m)
    expect(r.out).toMatch(/^rustfs-worker\s+\S+\s+ok\s+ready\s+keys ok/m)
    expect(r.out).toMatch(/^extraction\s+pending 1, processing 0, indexed 0, skipped 0, failed 0$/m)
    expect(r.out).toMatch(/^update queue\s+pending 0, delayed 0, running 0, failed 0$/m)
    expect(r.out).toMatch(/^worker\s+in flight 1, indexed 2, skipped 1, failed 0, released 0, abandoned 0$/m)

    const json = await runCli(["status", "--json"], withKeys)
    expect(json.code, json.stderr).toBe(0)
    const rows = jsonLines(json.out)
    expect(rows.map((row) => row.role)).toEqual(["rustfs", "deep-memory", "rustfs-worker"])
    expect(rows.every((row) => row.healthy && row.ready && row.error === null)).toBe(true)
    expect(rows[0]).toMatchObject({ url: rustfs!.url, extraction: { pending: 1, indexed: 0 }, extraction_error: null })
    expect(rows[1]).toMatchObject({ url: memory!.url, update_queue: { pending: 0, delayed: 0, running: 0, failed: 0 } })
    expect(rows[2]).toMatchObject({ url: workerUrl, work: { in_flight: 1, indexed: 2, skipped: 1 }, lag_ms: 500 })
  })

  it("counts it cannot read are reported without failing the command", async () => {
    const r = await runCli(["status", "--json"], { ...withKeys, RUSTFS_API_KEY: keyFor("reader"), DEEP_MEMORY_API_KEY: "" })
    expect(r.code, r.stderr).toBe(0)
    const [fs_, mem] = jsonLines(r.out)
    expect(fs_).toMatchObject({ ready: true, extraction: null, extraction_error: expect.stringMatching(/^forbidden/) })
    expect(mem).toMatchObject({ ready: true, update_queue: null, update_queue_error: expect.stringMatching(/^unauthorized/) })
  })

  it("a worker refusing its keys is not ready; a stopped one is down with the reason (exit 1)", async () => {
    fakeWorkerState.authProblem = { service: "rustfs", message: "the worker key was refused" }
    const refused = await runCli(["status"], withKeys)
    expect(refused.code).toBe(1)
    expect(refused.out).toMatch(/^rustfs-worker\s+\S+\s+ok\s+not ready\s+keys auth_failed: rustfs: the worker key was refused/m)
    expect(refused.stderr).toContain("error: not ready: rustfs-worker")
    fakeWorkerState.authProblem = null

    await new Promise((r) => fakeWorker!.close(r))
    const down = await runCli(["status"], withKeys)
    expect(down.code).toBe(1)
    expect(down.out).toMatch(/^rustfs\s+\S+\s+ok\s+ready/m)
    expect(down.out).toMatch(/^deep-memory\s+\S+\s+ok\s+ready/m)
    expect(down.out).toMatch(new RegExp(`^rustfs-worker\\s+\\S+\\s+down\\s+not ready\\s+cannot reach rustfs-worker at ${workerUrl}: connection refused`, "m"))
    expect(down.out).toMatch(/^worker\s+unavailable \(rustfs-worker is down\)$/m)
    expect(down.stderr).toContain("error: not ready: rustfs-worker")
    const json = await runCli(["status", "--json"], withKeys)
    expect(json.code).toBe(1)
    expect(jsonLines(json.out)[2]).toMatchObject({ role: "rustfs-worker", healthy: false, ready: false, work: null })
  })
})

describe("stack-keys.json fallback", () => {
  /** A directory laid out like the one `npm start` runs in: `./data/stack-keys.json`. */
  const stackDir = () => {
    const dir = tmp("cli-status-stack-")
    cleanup.push(dir)
    fs.mkdirSync(path.join(dir, "data"))
    fs.writeFileSync(path.join(dir, "data", "stack-keys.json"), JSON.stringify({
      rustfs: {
        tenant_id: "default",
        keys: Object.fromEntries(["reader", "writer", "worker", "admin"].map((role) => [role, keyFor(role)])),
        signing_key: signingKey
      },
      memory: { admin: MEMORY_ADMIN, worker: "cli-status-memory-worker-0123456789" }
    }), { mode: 0o600 })
    return dir
  }

  it("uses the admin keys of ./data/stack-keys.json (or $OPENCLAW_DATA_DIR's) when no key is given", async () => {
    const dir = stackDir()
    const file = path.join(dir, "x.txt")
    fs.writeFileSync(file, "uploaded with the stack's keys\n")
    const noDataDir = { OPENCLAW_DATA_DIR: undefined }

    const upload = await runCli(["files", "upload", "x.txt"], { ...urls, ...noDataDir }, dir)
    expect(upload.code, upload.stderr).toBe(0)
    expect(upload.stderr).toMatch(/uploaded 1, deduplicated 0, failed 0/)
    const ask = await runCli(["memory", "ask", "anything"], { ...urls, ...noDataDir }, dir)
    expect(ask.code, ask.stderr).toBe(0)
    // The previous test stopped the fake worker: a fresh one, so that every role is ready again.
    fakeWorker = await startFakeWorkerHealth()
    const worker = `http://127.0.0.1:${(fakeWorker.address() as net.AddressInfo).port}`
    const status = await runCli(["status"], { ...urls, WORKER_HEALTH_URL: worker, OPENCLAW_DATA_DIR: path.join(dir, "data") })
    expect(status.code, status.stderr).toBe(0)
    expect(status.out).toMatch(/^extraction\s+pending 2,/m)
    expect(status.out).toMatch(/^update queue\s+pending \d+/m)
  })

  it("a key given (or set empty) wins over the file; no file means no key", async () => {
    const dir = stackDir()
    const env = { ...urls, OPENCLAW_DATA_DIR: path.join(dir, "data") }
    const wrong = await runCli(["files", "ls"], { ...env, RUSTFS_API_KEY: "not-a-valid-key-at-all" })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^error: unauthorized/m)
    const emptyRustfs = await runCli(["files", "ls"], { ...env, RUSTFS_API_KEY: "" })
    expect(emptyRustfs.code).toBe(1)
    expect(emptyRustfs.stderr).toMatch(/^error: unauthorized/m)
    const emptyMemory = await runCli(["queue", "stats"], { ...env, DEEP_MEMORY_API_KEY: "" })
    expect(emptyMemory.code).toBe(1)
    expect(emptyMemory.stderr).toContain("unauthorized")
    const withoutFile = await runCli(["queue", "stats"], urls)
    expect(withoutFile.code).toBe(1)
    expect(withoutFile.stderr).toContain("unauthorized")
  })
})
