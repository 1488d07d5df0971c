import { spawnSync } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Age from "../src/services/Age.js"
import { freePort, memoryOf, runToExit, startRole, type Role } from "./support/process.js"

const writerKey = "proc-writer-key-0123456789abcdef"
const adminKey = "proc-admin-key-0123456789abcdefgh"
const keys = JSON.stringify([
  { key: writerKey, tenant_id: "t1", role: "writer" },
  { key: adminKey, tenant_id: "t1", role: "admin" }
])
const tmp = (p: string) => fs.mkdtempSync(path.join(os.tmpdir(), p))
const countFiles = (dir: string): number =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1), 0)
    : 0

/**
 * Streams a multipart upload of `size` pseudo-random bytes without holding them in memory;
 * `onProgress` can abort by returning false.
 */
const streamUpload = (url: string, size: number, options: { seed: string; onProgress?: (sent: number) => boolean; chunkDelayMs?: number }) =>
  new Promise<{ status: number; body: string; sha256: string }>((resolve, reject) => {
    const boundary = "----openclaw" + randomBytes(8).toString("hex")
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
    const req = http.request(url + "/v1/files", {
      method: "POST",
      headers: { "x-api-key": writerKey, "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": head.length + size + tail.length }
    })
    const hash = createHash("sha256")
    req.on("response", (res) => {
      let body = ""
      res.on("data", (d) => (body += d))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, sha256: hash.digest("hex") }))
    })
    req.on("error", reject)
    req.write(head)
    let sent = 0
    let block = createHash("sha512").update(options.seed).digest()
    const pump = () => {
      while (sent < size) {
        const chunk = Buffer.alloc(Math.min(256 * 1024, size - sent))
        for (let o = 0; o < chunk.length; o += 64) {
          block = createHash("sha512").update(block).digest()
          block.copy(chunk, o)
        }
        hash.update(chunk)
        sent += chunk.length
        if (options.onProgress && !options.onProgress(sent)) return
        const more = req.write(chunk)
        if (options.chunkDelayMs) return void setTimeout(pump, options.chunkDelayMs)
        if (!more) return void req.once("drain", pump)
      }
      req.end(tail)
    }
    pump()
  })

describe("RustFS as a process", () => {
  let dataDir: string
  let port: number
  let server: Role | undefined
  const env = () => ({
    RUSTFS_DATA_DIR: dataDir,
    RUSTFS_PORT: String(port),
    RUSTFS_API_KEYS_JSON: keys,
    RUSTFS_MAX_UPLOAD_BYTES: String(200 * 1024 * 1024)
  })

  beforeAll(async () => {
    dataDir = tmp("rustfs-proc-")
    fs.chmodSync(dataDir, 0o755)
    port = await freePort()
  })
  afterAll(async () => {
    await server?.stop()
    fs.rmSync(dataDir, { recursive: true, force: true })
  })

  it("streams a 50 MiB upload with flat memory and serves it back", async () => {
    server = await startRole("rustfs", env(), { port })
    const before = memoryOf(server.child.pid!)
    const size = 50 * 1024 * 1024
    const up = await streamUpload(server.url, size, { seed: "fifty" })
    expect(up.status).toBe(200)
    const body = JSON.parse(up.body)
    expect(body).toMatchObject({ ok: true, size, file_id: up.sha256 })
    const after = memoryOf(server.child.pid!)
    expect(after.peak - before.peak).toBeLessThan(32 * 1024 * 1024)

    const res = await fetch(`${server.url}/v1/files/${up.sha256}`, { headers: { "x-api-key": writerKey } })
    expect(res.headers.get("content-length")).toBe(String(size))
    const hash = createHash("sha256")
    for await (const chunk of res.body as any) hash.update(chunk)
    expect(hash.digest("hex")).toBe(up.sha256)
  }, 120_000)

  it("checks the key before reading the body: a bad key gets 401 while the body is still unsent", async () => {
    server ??= await startRole("rustfs", env(), { port })
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(server!.url + "/v1/files", {
        method: "POST",
        headers: { "x-api-key": "wrong-key-wrong-key-wrong", "content-type": "multipart/form-data; boundary=b", "content-length": 50 * 1024 * 1024 }
      })
      req.on("response", (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
        req.destroy()
      })
      req.on("error", reject)
      req.write("--b\r\n")
      req.flushHeaders()
    })
    expect(status).toBe(401)
  }, 30_000)

  it("kill -9 mid-upload leaves no visible file and no temp file after restart", async () => {
    server ??= await startRole("rustfs", env(), { port })
    const victim = server
    const size = 40 * 1024 * 1024
    const upload = streamUpload(victim.url, size, {
      seed: "killed",
      chunkDelayMs: 5,
      onProgress: (sent) => {
        if (sent >= 8 * 1024 * 1024 && victim.child.exitCode === null) victim.child.kill("SIGKILL")
        return sent < 12 * 1024 * 1024
      }
    })
    const settled = upload.catch(() => undefined)
    await victim.stop("SIGKILL")
    await settled
    expect(countFiles(path.join(dataDir, "tmp"))).toBeGreaterThanOrEqual(0)

    server = await startRole("rustfs", env(), { port })
    expect(countFiles(path.join(dataDir, "tmp"))).toBe(0)
    const list = await (await fetch(`${server.url}/v1/files?limit=200`, { headers: { "x-api-key": writerKey } })).json() as any
    expect(list.items.map((f: any) => f.filename)).toEqual(["big.bin"])
    expect(list.items[0].size).toBe(50 * 1024 * 1024)
    const retry = await streamUpload(server.url, 1024 * 1024, { seed: "after-restart" })
    expect(retry.status).toBe(200)
  }, 120_000)

  it("SIGTERM stops the server and its embedded PostgreSQL cleanly", async () => {
    server ??= await startRole("rustfs", env(), { port })
    const code = await server.stop("SIGTERM")
    server = undefined
    expect(code).toBe(0)
    const pidFile = path.join(dataDir, "postgres", "data", "postmaster.pid")
    expect(fs.existsSync(pidFile)).toBe(false)
  }, 60_000)

  it("SIGTERM with a stalled upload in flight exits after the shutdown grace period", async () => {
    const s = await startRole("rustfs", { ...env(), RUSTFS_SHUTDOWN_GRACE_MS: "1500" }, { port })
    const req = http.request(s.url + "/v1/files", {
      method: "POST",
      headers: { "x-api-key": writerKey, "content-type": "multipart/form-data; boundary=b", "content-length": 10 * 1024 * 1024 }
    })
    req.on("error", () => undefined)
    req.write("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"slow.bin\"\r\n\r\n" + "x".repeat(1000))
    await new Promise((r) => setTimeout(r, 300))
    const started = Date.now()
    const code = await s.stop("SIGTERM")
    const took = Date.now() - started
    req.destroy()
    expect(code).toBe(0)
    expect(took).toBeGreaterThanOrEqual(1000)
    expect(took).toBeLessThan(8000)
    expect(countFiles(path.join(dataDir, "tmp"))).toBe(0)
  }, 60_000)

  it("invalid configuration stops start-up with a message naming the variable and no secret", () => {
    const bad = runToExit("rustfs", { ...env(), RUSTFS_REQUIRE_API_KEY: "yes" })
    expect(bad.code).not.toBe(0)
    expect(bad.output).toContain("RUSTFS_REQUIRE_API_KEY")
    const secret = "super-secret-key-value-123456"
    const role = runToExit("rustfs", { ...env(), RUSTFS_API_KEYS_JSON: JSON.stringify([{ key: secret, tenant_id: "t1", role: "root" }]) })
    expect(role.code).not.toBe(0)
    expect(role.output).toContain("unknown role")
    expect(role.output).not.toContain(secret)
    const none = runToExit("rustfs", { ...env(), RUSTFS_API_KEYS_JSON: "" })
    expect(none.code).not.toBe(0)
    expect(none.output).toContain("RUSTFS_API_KEYS_JSON")
  }, 60_000)

  it("rotates encryption keys without re-uploading; the stock age tool decrypts the result", async () => {
    const dir = tmp("rustfs-rot-")
    const rotPort = await freePort()
    const oldKey = "old-master-key-" + randomBytes(8).toString("hex")
    const newKey = Age.generateIdentity().encoded
    const base = { RUSTFS_DATA_DIR: dir, RUSTFS_PORT: String(rotPort), RUSTFS_API_KEYS_JSON: keys }
    try {
      let s = await startRole("rustfs", { ...base, RUSTFS_MASTER_KEY: oldKey }, { port: rotPort })
      const content = randomBytes(300_000)
      const fd = new FormData()
      fd.append("file", new Blob([content]), "secret.bin")
      const up = await (await fetch(`${s.url}/v1/files`, { method: "POST", body: fd, headers: { "x-api-key": writerKey } })).json() as any
      expect(up.encrypted).toBe(true)
      await s.stop()

      s = await startRole("rustfs", { ...base, RUSTFS_MASTER_KEY: newKey, RUSTFS_PREVIOUS_MASTER_KEYS: oldKey }, { port: rotPort })
      const blob = path.join(dir, "blobs", Buffer.from("t1").toString("hex"), up.file_id.slice(0, 2), up.file_id)
      const payloadBefore = fs.readFileSync(blob).subarray(Age.headerInfo(fs.readFileSync(blob)).headerLength)
      const rot = await (await fetch(`${s.url}/v1/admin/rotate_keys`, { method: "POST", headers: { "x-api-key": adminKey } })).json() as any
      expect(rot).toEqual({ ok: true, rewrapped: 1, already_current: 0, failed: 0 })
      const again = await (await fetch(`${s.url}/v1/admin/rotate_keys`, { method: "POST", headers: { "x-api-key": adminKey } })).json() as any
      expect(again).toMatchObject({ rewrapped: 0, already_current: 1 })
      await s.stop()

      const rewritten = fs.readFileSync(blob)
      expect(rewritten.subarray(Age.headerInfo(rewritten).headerLength).equals(payloadBefore)).toBe(true)
      s = await startRole("rustfs", { ...base, RUSTFS_MASTER_KEY: newKey }, { port: rotPort })
      const dl = Buffer.from(await (await fetch(`${s.url}/v1/files/${up.file_id}`, { headers: { "x-api-key": writerKey } })).arrayBuffer())
      expect(dl.equals(content)).toBe(true)
      await s.stop()

      const hasAge = spawnSync("age", ["--version"]).status === 0
      if (!hasAge && process.env.CI) throw new Error("the age tool is required in CI (apt-get install age)")
      if (hasAge) {
        const idFile = path.join(dir, "identity.txt")
        fs.writeFileSync(idFile, newKey + "\n", { mode: 0o600 })
        const r = spawnSync("age", ["-d", "-i", idFile, blob])
        expect(r.status).toBe(0)
        expect(Buffer.from(r.stdout).equals(content)).toBe(true)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
