import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "..", "..")

/** Builds dist/ once per test run when it is missing or older than the sources. */
export const ensureBuilt = (role: string) => {
  const out = path.join(root, "dist", `${role}.js`)
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name)
      return Math.max(m, e.isDirectory() ? newest(p) : fs.statSync(p).mtimeMs)
    }, 0)
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < newest(path.join(root, "src"))) {
    const r = spawnSync(process.execPath, [path.join(root, "scripts", "build.mjs")], { cwd: root, encoding: "utf8" })
    if (r.status !== 0) throw new Error(`build failed: ${r.stderr}`)
  }
  return out
}

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer()
    srv.once("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })

export interface Role {
  readonly child: ChildProcess
  readonly url: string
  readonly output: () => string
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Starts `node dist/<role>.js` with `env` and waits until `readyPath` answers 200. */
export const startRole = async (
  role: string,
  env: Record<string, string>,
  options: { readonly port: number; readonly readyPath?: string; readonly timeoutMs?: number }
): Promise<Role> => {
  const script = ensureBuilt(role)
  let out = ""
  const child = spawn(process.execPath, [script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout!.on("data", (d) => (out += d))
  child.stderr!.on("data", (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const url = `http://127.0.0.1:${options.port}`
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  while (true) {
    if (child.exitCode !== null) throw new Error(`${role} exited with ${child.exitCode}:\n${out}`)
    try {
      const res = await fetch(url + (options.readyPath ?? "/readyz"), { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`${role} not ready in time:\n${out}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return {
    child,
    url,
    output: () => out,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    }
  }
}

/** Runs a role expecting it to exit (a start-up failure), returning its exit code and output. */
export const runToExit = (role: string, env: Record<string, string>, timeoutMs = 30_000) => {
  const script = ensureBuilt(role)
  const r = spawnSync(process.execPath, [script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    encoding: "utf8",
    timeout: timeoutMs
  })
  return { code: r.status, output: (r.stdout ?? "") + (r.stderr ?? "") }
}

/** Peak and current resident memory of a process, in bytes. */
export const memoryOf = (pid: number) => {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? "0") * 1024
  return { rss: kb("VmRSS"), peak: kb("VmHWM") }
}
