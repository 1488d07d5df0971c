/**
 * The admin CLI end to end: `dist/cli.js` driven as a child process against a real
 * `dist/rustfs.js` (auth on, encryption on, keys from `keys generate`), plus `db migrate`
 * against a fresh embedded PostgreSQL. One server for the whole file.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createHash } from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { humanBytes } from "../src/cli/format.js"
import { makeProgress } from "../src/cli/progress.js"
import { normalizeArgv } from "../src/cli/root.js"
import { cleanCliEnv } from "./support/cliEnv.js"

const ROOT = path.resolve(import.meta.dirname, "..")
const CLI = path.join(ROOT, "dist", "cli.js")
const SERVER = path.join(ROOT, "dist", "rustfs.js")
const AGE = "/usr/bin/age"

interface Run {
  readonly code: number | null
  readonly stdout: Buffer
  readonly stderr: string
  readonly out: string
}

const newestMtime = (dir: string): number =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((max, e) => {
    const p = path.join(dir, e.name)
    return Math.max(max, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs)
  }, 0)

const ensureBuilt = () => {
  const stale = [CLI, SERVER].some((f) => !fs.existsSync(f) || fs.statSync(f).mtimeMs < newestMtime(path.join(ROOT, "src")))
  if (!stale) return
  const r = spawnSync(process.execPath, ["scripts/build.mjs"], { cwd: ROOT, encoding: "utf8" })
  if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`)
}

/** A data dir without stack-keys.json: the CLI's last key fallback must find nothing here. */
const noStackKeys = fs.mkdtempSync(path.join(os.tmpdir(), "cli-nokeys-"))

/** process.env without anything that would point the CLI or server elsewhere or hand it a key. */
const cleanEnv = (): NodeJS.ProcessEnv => ({ ...cleanCliEnv(), OPENCLAW_DATA_DIR: noStackKeys })

const runCli = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<Run> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...cleanEnv(), ...env } })
    const out: Array<Buffer> = []
    const err: Array<Buffer> = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    child.on("error", reject)
    child.on("close", (code) => {
      const stdout = Buffer.concat(out)
      resolve({ code, stdout, out: stdout.toString("utf8"), stderr: Buffer.concat(err).toString("utf8") })
    })
  })

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
  })

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex")
const jsonLines = (s: string): Array<any> => s.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l))

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))
/**
 * A data dir the embedded PostgreSQL's OS user can enter (run as root, it would otherwise place
 * the cluster under /var/lib/openclaw-stack, outliving the test).
 */
const dataTmp = (prefix: string) => {
  const dir = tmp(prefix)
  fs.chmodSync(dir, 0o755)
  return dir
}
const cleanup: Array<string> = []

let server: ChildProcess | undefined
let serverLog = ""
let baseUrl = ""
let dataDir = ""
let keySet: {
  RUSTFS_API_KEYS_JSON: Array<{ key: string; tenant_id: string; role: string }>
  RUSTFS_SIGNING_KEY: string
  RUSTFS_MASTER_KEY: string
}
let migrate: Promise<Run>
let cliEnv: NodeJS.ProcessEnv = {}

const TENANT = "t1"
const keyFor = (role: string) => keySet.RUSTFS_API_KEYS_JSON.find((k) => k.role === role)!.key

/** The uploaded folder: one nested file, one non-ASCII name, one binary, one dotfile (skipped). */
const files: Record<string, Buffer> = {
  "notes.txt": Buffer.from("hello from the cli test\n"),
  "sub/nested.md": Buffer.from("# nested\n\nsome markdown\n"),
  "Résumé ünï.txt": Buffer.from("non-ascii name, ascii content\n"),
  "data.bin": Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251))
}
const byName = (name: string) => files[Object.keys(files).find((k) => path.basename(k) === name)!]!
const uploaded = new Map<string, string>() // basename -> file id

beforeAll(async () => {
  ensureBuilt()
  const generated = await runCli(["keys", "generate", "--tenant", TENANT])
  expect(generated.code, generated.stderr).toBe(0)
  keySet = JSON.parse(generated.out)

  // db migrate on its own fresh data dir, concurrently with the server's start-up.
  const migrateDir = dataTmp("cli-migrate-")
  cleanup.push(migrateDir)
  migrate = runCli(["db", "migrate"], { RUSTFS_DATA_DIR: migrateDir })

  dataDir = dataTmp("cli-rustfs-")
  cleanup.push(dataDir)
  const port = await freePort()
  baseUrl = `http://127.0.0.1:${port}`
  server = spawn(process.execPath, [SERVER], {
    cwd: ROOT,
    env: {
      ...cleanEnv(),
      RUSTFS_DATA_DIR: dataDir,
      RUSTFS_PORT: String(port),
      RUSTFS_REQUIRE_API_KEY: "true",
      RUSTFS_API_KEYS_JSON: JSON.stringify(keySet.RUSTFS_API_KEYS_JSON),
      RUSTFS_SIGNING_KEY: keySet.RUSTFS_SIGNING_KEY,
      RUSTFS_MASTER_KEY: keySet.RUSTFS_MASTER_KEY,
      RUSTFS_LOG_LEVEL: "warning"
    },
    stdio: ["ignore", "pipe", "pipe"]
  })
  server.stdout!.on("data", (b: Buffer) => (serverLog += b.toString()))
  server.stderr!.on("data", (b: Buffer) => (serverLog += b.toString()))
  const deadline = Date.now() + 90_000
  while (true) {
    if (server.exitCode !== null) throw new Error(`rustfs exited (${server.exitCode}):\n${serverLog}`)
    const ready = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(3_000) }).then((r) => r.ok, () => false)
    if (ready) break
    if (Date.now() > deadline) throw new Error(`rustfs not ready after 90 s:\n${serverLog}`)
    await new Promise((r) => setTimeout(r, 250))
  }
  cliEnv = { RUSTFS_BASE_URL: baseUrl, RUSTFS_API_KEY: keyFor("admin") }
}, 120_000)

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((r) => server!.once("exit", r))
    server.kill("SIGTERM")
    await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))])
    if (server.exitCode === null) server.kill("SIGKILL")
  }
  await migrate?.catch(() => undefined)
  for (const dir of [...cleanup, noStackKeys]) fs.rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe("openclaw-stack CLI", () => {
  it("keys generate prints a complete key set (JSON and .env forms)", async () => {
    const roles = keySet.RUSTFS_API_KEYS_JSON.map((k) => k.role).sort()
    expect(roles).toEqual(["admin", "reader", "worker", "writer"])
    for (const k of keySet.RUSTFS_API_KEYS_JSON) {
      expect(k.tenant_id).toBe(TENANT)
      expect(Buffer.from(k.key, "base64url")).toHaveLength(32)
    }
    expect(keySet.RUSTFS_MASTER_KEY).toMatch(/^AGE-SECRET-KEY-1[0-9A-Z]+$/)
    expect(Buffer.from(keySet.RUSTFS_SIGNING_KEY, "base64url")).toHaveLength(32)

    const env = await runCli(["keys", "generate", "--env"])
    expect(env.code).toBe(0)
    const vars = Object.fromEntries(
      env.out.split("\n").filter((l) => /^[A-Z_]+='/.test(l)).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 2, -1)])
    )
    const keys = JSON.parse(vars.OPENCLAW_RUSTFS_API_KEYS_JSON!) as Array<{ key: string; role: string; tenant_id: string }>
    expect(keys.map((k) => k.tenant_id)).toEqual(["default", "default", "default", "default"])
    expect(vars.OPENCLAW_RUSTFS_WORKER_API_KEY).toBe(keys.find((k) => k.role === "worker")!.key)
    expect(vars.OPENCLAW_RUSTFS_SIGNING_KEY).toBeTruthy()
    expect(vars.OPENCLAW_RUSTFS_MASTER_KEY).toMatch(/^AGE-SECRET-KEY-1/)
  })

  it("files upload sends a folder recursively, skipping dotfiles, with progress and a summary", async () => {
    const dir = tmp("cli-upload-")
    cleanup.push(dir)
    for (const [name, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true })
      fs.writeFileSync(path.join(dir, name), content)
    }
    fs.writeFileSync(path.join(dir, ".secret"), "not uploaded")

    const r = await runCli(["files", "upload", dir, "--session-id", "s-cli", "--json", "--concurrency", "2"], cliEnv)
    expect(r.code, r.stderr).toBe(0)
    const lines = jsonLines(r.out)
    const summary = lines.find((l) => l.summary !== undefined).summary
    expect(summary).toMatchObject({ uploaded: 4, deduplicated: 0, failed: 0 })
    const results = lines.filter((l) => l.path !== undefined)
    expect(results).toHaveLength(4)
    for (const res of results) {
      const name = path.basename(res.path)
      expect(res.ok).toBe(true)
      expect(res.encrypted).toBe(true)
      expect(res.file_id).toBe(sha256(byName(name)))
      uploaded.set(name, res.file_id)
    }
    expect(r.stderr).toMatch(/upload: 100%\s+4\/4 files/)

    const again = await runCli(["files", "upload", path.join(dir, "notes.txt")], cliEnv)
    expect(again.code, again.stderr).toBe(0)
    expect(again.out).toContain("deduplicated")
    expect(again.stderr).toMatch(/uploaded 0, deduplicated 1, failed 0/)
  })

  it("files ls lists the uploads (table and JSON lines)", async () => {
    const json = await runCli(["files", "ls", "--session-id", "s-cli", "--json"], cliEnv)
    expect(json.code, json.stderr).toBe(0)
    const names = jsonLines(json.out).map((f) => f.filename).sort()
    expect(names).toEqual(["Résumé ünï.txt", "data.bin", "nested.md", "notes.txt"])

    const human = await runCli(["files", "ls", "--q", "Résumé"], cliEnv)
    expect(human.code, human.stderr).toBe(0)
    expect(human.out).toMatch(/^ID\s+SIZE\s+STATUS\s+CREATED\s+FILENAME/)
    expect(human.out).toContain(uploaded.get("Résumé ünï.txt")!.slice(0, 12))
    expect(human.out).toContain("Résumé ünï.txt")

    const paged = await runCli(["files", "ls", "--limit", "1", "--all", "--json"], cliEnv)
    expect(jsonLines(paged.out)).toHaveLength(4)
  })

  it("files meta and files get round-trip the bytes (by id prefix, to a file and to stdout)", async () => {
    const id = uploaded.get("data.bin")!
    const meta = await runCli(["files", "meta", id.slice(0, 12), "--json"], cliEnv)
    expect(meta.code, meta.stderr).toBe(0)
    expect(JSON.parse(meta.out)).toMatchObject({ file_id: id, sha256: id, size: files["data.bin"]!.length, encrypted: true })

    const outDir = tmp("cli-get-")
    cleanup.push(outDir)
    const target = path.join(outDir, "copy.bin")
    const get = await runCli(["files", "get", id, "-o", target], cliEnv)
    expect(get.code, get.stderr).toBe(0)
    expect(sha256(fs.readFileSync(target))).toBe(id)

    const stdout = await runCli(["files", "get", id, "-o", "-"], cliEnv)
    expect(stdout.code, stdout.stderr).toBe(0)
    expect(sha256(stdout.stdout)).toBe(id)

    const utf8 = uploaded.get("Résumé ünï.txt")!
    const named = await runCli(["files", "get", utf8], cliEnv, outDir)
    expect(named.code, named.stderr).toBe(0)
    expect(fs.readFileSync(path.join(outDir, "Résumé ünï.txt"))).toEqual(files["Résumé ünï.txt"])
  })

  it("files link gives a public URL; files revoke makes it 401", async () => {
    const id = uploaded.get("notes.txt")!
    const link = await runCli(["files", "link", id, "--ttl", "120"], cliEnv)
    expect(link.code, link.stderr).toBe(0)
    const url = link.out.trim().split("\n")[0]!
    expect(url).toContain("/v1/public/download?token=")
    const res = await fetch(url)
    expect(res.status).toBe(200)
    expect(Buffer.from(await res.arrayBuffer())).toEqual(files["notes.txt"])

    const links = await runCli(["files", "links", id, "--json"], cliEnv)
    expect(jsonLines(links.out)).toHaveLength(1)

    const revoke = await runCli(["files", "revoke", id], cliEnv)
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(revoke.out).toContain("revoked 1 link")
    expect((await fetch(url)).status).toBe(401)
  })

  it("files tombstone removes a file from ls", async () => {
    const id = uploaded.get("nested.md")!
    const t = await runCli(["files", "tombstone", id, "--reason", "cli test"], cliEnv)
    expect(t.code, t.stderr).toBe(0)
    const ls = await runCli(["files", "ls", "--json"], cliEnv)
    const ids = jsonLines(ls.out).map((f) => f.file_id)
    expect(ids).not.toContain(id)
    expect(ids).toContain(uploaded.get("notes.txt"))
  })

  it("admin commands answer", async () => {
    const usage = await runCli(["files", "usage", "--json"], cliEnv)
    expect(usage.code, usage.stderr).toBe(0)
    expect(jsonLines(usage.out).find((t) => t.tenant_id === TENANT)).toMatchObject({ files: 3, tombstoned: 1 })
    const requeue = await runCli(["files", "requeue", "--status", "pending"], cliEnv)
    expect(requeue.code, requeue.stderr).toBe(0)
    expect(requeue.out).toMatch(/requeued 3 file/)
    // Only RustFS runs here: the other roles are down (exit 1); test/cli-status.test.ts covers the stack.
    const status = await runCli(["status"], { ...cliEnv, DEEP_MEMORY_BASE_URL: "http://127.0.0.1:9", WORKER_HEALTH_URL: "http://127.0.0.1:9" })
    expect(status.code, status.stderr).toBe(1)
    expect(status.out).toMatch(/rustfs\s+\S+\s+ok\s+ready\s+database ok/)
    expect(status.out).toMatch(/^extraction\s+pending \d+,/m)
    expect(status.stderr).toContain("not ready: deep-memory, rustfs-worker")
  })

  it("errors: a wrong key is `unauthorized` (exit 1), a bad invocation exits 2, a dead server names the URL", async () => {
    const wrong = await runCli(["files", "ls"], { ...cliEnv, RUSTFS_API_KEY: "not-a-valid-key-at-all" })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/^error: unauthorized: /m)

    const reader = await runCli(["files", "tombstone", uploaded.get("data.bin")!], { ...cliEnv, RUSTFS_API_KEY: keyFor("reader") })
    expect(reader.code).toBe(1)
    expect(reader.stderr).toMatch(/^error: forbidden: /m)

    const missing = await runCli(["files", "get"], cliEnv)
    expect(missing.code).toBe(2)

    const down = await runCli(["files", "ls", "--url", "http://127.0.0.1:9"], cliEnv)
    expect(down.code).toBe(1)
    expect(down.stderr).toContain("http://127.0.0.1:9")
    expect(down.stderr).toContain("connection refused")
  })

  it("keys locate / decrypt / identity open an encrypted blob offline (and agree with age)", async () => {
    const id = uploaded.get("data.bin")!
    const located = await runCli(["keys", "locate", id, "--tenant", TENANT, "--data-dir", dataDir])
    expect(located.code, located.stderr).toBe(0)
    const blob = located.out.trim()
    expect(fs.existsSync(blob)).toBe(true)
    expect(fs.readFileSync(blob).subarray(0, 21).toString()).toBe("age-encryption.org/v1")

    const outDir = tmp("cli-decrypt-")
    cleanup.push(outDir)
    const env = { RUSTFS_MASTER_KEY: keySet.RUSTFS_MASTER_KEY }
    const plain = path.join(outDir, "plain.bin")
    const dec = await runCli(["keys", "decrypt", blob, "-o", plain], env)
    expect(dec.code, dec.stderr).toBe(0)
    expect(sha256(fs.readFileSync(plain))).toBe(id)

    const wrongKey = await runCli(["keys", "decrypt", blob], { RUSTFS_MASTER_KEY: "some other master key" })
    expect(wrongKey.code).toBe(1)
    expect(wrongKey.stderr).toMatch(/none of the master keys/)

    const identity = await runCli(["keys", "identity"], env)
    expect(identity.code, identity.stderr).toBe(0)
    expect(identity.out).toMatch(/^# public key: age1[0-9a-z]+\nAGE-SECRET-KEY-1/)
    if (!fs.existsSync(AGE)) {
      if (process.env.CI) throw new Error(`${AGE} is required in CI`)
      return
    }
    const idFile = path.join(outDir, "identity.txt")
    fs.writeFileSync(idFile, identity.out, { mode: 0o600 })
    const age = spawnSync(AGE, ["-d", "-i", idFile, blob])
    expect(age.status, age.stderr?.toString()).toBe(0)
    expect(sha256(age.stdout)).toBe(id)
  })

  it("db migrate runs the RustFS migrations on a fresh database", async () => {
    const r = await migrate
    expect(r.code, r.stderr).toBe(0)
    expect(r.out).toMatch(/^applied 0001_files$/m)
    expect(r.out).toMatch(/rustfs schema migrated/)
  })
})

describe("CLI helpers", () => {
  it("normalizeArgv moves global options in front of the subcommand", () => {
    expect(normalizeArgv(["node", "cli", "files", "ls", "--json", "--q", "x", "--url=http://h:1", "--limit", "5"]))
      .toEqual(["node", "cli", "--json", "--url", "http://h:1", "files", "ls", "--query", "x", "--limit", "5"])
    expect(normalizeArgv(["node", "cli", "keys", "locate", "ID", "--tenant", "t1", "--", "--json"]))
      .toEqual(["node", "cli", "--tenant", "t1", "keys", "locate", "ID", "--", "--json"])
  })

  it("progress: done counts sent and settled bytes, rate is windowed, ETA follows", () => {
    let t = 0
    const written: Array<string> = []
    const stream = { isTTY: false, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream
    const p = makeProgress({ files: 2, bytes: 30 * 1024 * 1024 }, { stream, now: () => t, plainIntervalMs: 1_000 })
    return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      yield* p.run
      t = 2_000
      p.addBytes(10 * 1024 * 1024)
      p.fileDone()
      expect(p.snapshot()).toEqual({ files: 1, bytes: 10 * 1024 * 1024, rate: 5 * 1024 * 1024 })
      p.settleBytes(20 * 1024 * 1024)
      p.fileDone()
      expect(p.snapshot().bytes).toBe(30 * 1024 * 1024)
    }))).then(() => {
      expect(written.at(-1)).toMatch(/^upload: 100%  2\/2 files  30\.0 MiB\/30\.0 MiB  5\.00 MiB\/s  in 00:02\n$/)
      expect(humanBytes(1023)).toBe("1023 B")
      expect(humanBytes(1536)).toBe("1.50 KiB")
    })
  })
})
