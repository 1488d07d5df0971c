import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { ensureBuilt, freePort, type Role, startRole } from "./support/process.js"

const CLI = ensureBuilt("cli")

describe("npm start: the whole stack in one process (dist/stack.js)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stack-"))
  fs.chmodSync(dir, 0o755)
  const dataDir = path.join(dir, "data")
  let stack: Role | undefined
  afterAll(async () => {
    await stack?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it("starts on embedded stores with generated keys; an uploaded file becomes indexed and is found, with no other step", async () => {
    const [rustfsPort, memoryPort, workerPort] = [await freePort(), await freePort(), await freePort()]
    const env = {
      OPENCLAW_DATA_DIR: dataDir,
      RUSTFS_PORT: String(rustfsPort),
      PORT: String(memoryPort),
      WORKER_HEALTH_PORT: String(workerPort)
    }
    // ready when the worker (started last) answers
    stack = await startRole("stack", env, { port: workerPort, timeoutMs: 120_000 })
    const keysFile = path.join(dataDir, "stack-keys.json")
    expect(fs.statSync(keysFile).mode & 0o777).toBe(0o600)
    const keys = JSON.parse(fs.readFileSync(keysFile, "utf8"))
    await new Promise((r) => setTimeout(r, 200))
    expect(stack.output()).toContain("openclaw-stack is up")
    expect(stack.output()).toContain(keys.rustfs.keys.admin)

    // The CLI with no key variables: it reads the admin keys from the data dir.
    const cliEnv = {
      PATH: process.env.PATH ?? "",
      OPENCLAW_DATA_DIR: dataDir,
      RUSTFS_BASE_URL: `http://127.0.0.1:${rustfsPort}`,
      DEEP_MEMORY_BASE_URL: `http://127.0.0.1:${memoryPort}`,
      WORKER_HEALTH_URL: `http://127.0.0.1:${workerPort}`
    }
    const cli = (...args: Array<string>) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env: cliEnv, encoding: "utf8", timeout: 60_000 })
    const notes = path.join(dir, "greenhouse.md")
    fs.writeFileSync(notes, "# Greenhouse\n\nThe tomato seedlings move into the greenhouse on the third of May.\n")
    const up = cli("files", "upload", notes)
    expect(up.status, up.stderr).toBe(0)

    let status = ""
    for (let i = 0; i < 120 && status !== "indexed"; i++) {
      await new Promise((r) => setTimeout(r, 250))
      const ls = cli("files", "ls", "--json")
      status = ls.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l)).find((f) => f.filename === "greenhouse.md")?.extract_status ?? ""
    }
    expect(status, stack.output().slice(-4000)).toBe("indexed")
    const ask = cli("memory", "ask", "when do the tomato seedlings move into the greenhouse", "--json")
    expect(ask.status, ask.stderr).toBe(0)
    expect(JSON.parse(ask.stdout).memories[0].content).toContain("third of May")

    const st = cli("status")
    expect(st.status, st.stdout + st.stderr).toBe(0)
    expect(st.stdout).toMatch(/indexed\s*1|indexed 1/)

    // a clean stop, and a restart that keeps the keys and the memory
    expect(await stack.stop("SIGTERM")).toBe(0)
    stack = await startRole("stack", env, { port: workerPort, timeoutMs: 120_000 })
    await new Promise((r) => setTimeout(r, 200))
    expect(stack.output()).not.toContain("generated now")
    expect(JSON.parse(fs.readFileSync(keysFile, "utf8"))).toEqual(keys)
    const again = cli("memory", "ask", "tomato seedlings greenhouse", "--json")
    expect(JSON.parse(again.stdout).memories[0].content).toContain("third of May")
  }, 300_000)
})
