import { type ChildProcess, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { SqlClient } from "@effect/sql"
import { describe, expect, it, layer } from "@effect/vitest"
import { Config, ConfigProvider, Context, Effect, Exit, Layer, Redacted } from "effect"
import { build } from "esbuild"
import { afterAll, beforeAll } from "vitest"
import * as Database from "../src/services/Database.js"
import * as EmbeddedPostgres from "../src/services/EmbeddedPostgres.js"
import { embeddedServer, SERVER_URL_VAR, testDatabases } from "./support/database.js"

const projectRoot = fileURLToPath(new URL("..", import.meta.url))
const isRoot = typeof process.getuid === "function" && process.getuid() === 0
const serverUrl = process.env[SERVER_URL_VAR]?.trim() || undefined

let tmpRoot = ""
let childScript = ""
let childDir = ""

const freshDir = (label: string) => path.join(tmpRoot, `${label}-${randomBytes(4).toString("hex")}`, "postgres")

/** A child Node process running OUR module: `Database.layerEmbedded(dir)` bundled by esbuild. */
const CHILD_SOURCE = `
import { Effect } from "effect"
import { SqlClient } from "@effect/sql"
import * as Database from "./src/services/Database.js"

const [dir, mode] = process.argv.slice(2)
const program = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  if (mode === "write") {
    yield* sql\`create table if not exists crash_test (v text not null)\`
    yield* sql\`insert into crash_test (v) values ('committed before kill -9')\`
  }
  const rows = yield* sql\`select inet_server_port() as port\`
  process.stdout.write("READY " + rows[0].port + "\\n")
  // clean shutdown (scope close -> pg_ctl stop) when the parent closes our stdin
  yield* Effect.async((resume) => {
    process.stdin.once("end", () => resume(Effect.void))
    process.stdin.resume()
  })
}).pipe(Effect.provide(Database.layerEmbedded(dir)))

Effect.runPromise(program).then(
  () => process.exit(0),
  (e) => { process.stderr.write("FAILED " + String(e) + "\\n"); process.exit(1) }
)
`

interface Child {
  readonly proc: ChildProcess
  /** "READY <port>" or the failure output */
  readonly outcome: Promise<{ readonly ready: true; readonly port: number } | { readonly ready: false; readonly output: string }>
  readonly exited: Promise<number | null>
}

const spawnChild = (dir: string, mode: "write" | "hold"): Child => {
  const proc = spawn(process.execPath, [childScript, dir, mode], { stdio: ["pipe", "pipe", "pipe"] })
  let out = ""
  let err = ""
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)))
  const outcome = new Promise<{ ready: true; port: number } | { ready: false; output: string }>((resolve) => {
    proc.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8")
      const m = /READY (\d+)/.exec(out)
      if (m?.[1] !== undefined) resolve({ ready: true, port: Number(m[1]) })
    })
    proc.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8")
    })
    void exited.then(() => resolve({ ready: false, output: out + err }))
  })
  return { proc, outcome, exited }
}

const readPostmasterPid = async (dir: string) => {
  const text = await fs.readFile(path.join(dir, "data", "postmaster.pid"), "utf8").catch(() => undefined)
  return text === undefined ? undefined : Number(text.split("\n")[0])
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  // an exited process not yet reaped by init is a zombie: as good as gone
  return !/^\d+ \(.*\) Z/s.test(readFileSyncOr(`/proc/${pid}/stat`))
}

const readFileSyncOr = (file: string) => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return ""
  }
}

/** The postmaster removes its pid file just before exiting: give it a moment. */
const waitGone = (pid: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50))
    return !alive(pid)
  })

/** Stop any server a failed test left behind (immediate shutdown). */
const killLeftovers = async (root: string) => {
  for (const entry of await fs.readdir(root).catch(() => [] as Array<string>)) {
    const pid = await readPostmasterPid(path.join(root, entry, "postgres"))
    if (pid !== undefined && alive(pid)) process.kill(pid, "SIGQUIT")
  }
}

beforeAll(async () => {
  tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), "openclaw-embedded-pg-"))
  await fs.chmod(tmpRoot, 0o755) // the postgres OS user must traverse it when we are root
  // the bundle must live inside the project so that its bare imports resolve to node_modules
  childDir = path.join(projectRoot, "node_modules", ".cache", "openclaw-embedded-pg-test", randomBytes(4).toString("hex"))
  childScript = path.join(childDir, "child.mjs")
  await build({
    stdin: { contents: CHILD_SOURCE, resolveDir: projectRoot, sourcefile: "child.ts", loader: "ts" },
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    outfile: childScript,
    logLevel: "error"
  })
})

afterAll(async () => {
  await killLeftovers(tmpRoot)
  await fs.rm(tmpRoot, { recursive: true, force: true })
  if (childDir !== "") {
    await fs.rm(childDir, { recursive: true, force: true })
    await fs.rmdir(path.dirname(childDir)).catch(() => undefined) // only when no other run uses it
  }
})

const query = <A extends object>(url: Redacted.Redacted<string>, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(Database.layerUrl(url)))

describe("EmbeddedPostgres", () => {
  it.live("start -> select 1 -> stop; a restart is fast and sees the data", () =>
    Effect.gen(function*() {
      const dir = freshDir("lifecycle")

      const t0 = Date.now()
      const first = yield* Effect.scoped(
        Effect.gen(function*() {
          const info = yield* EmbeddedPostgres.start({ dir })
          const startedMs = Date.now() - t0
          const rows = yield* query(info.url, (sql) =>
            Effect.gen(function*() {
              yield* sql`create table notes (id bigserial primary key, body text not null)`
              yield* sql`insert into notes (body) values ('hello')`
              return yield* sql<{ readonly one: number }>`select 1 as one`
            }))
          expect(rows).toEqual([{ one: 1 }])
          expect(info.initialised).toBe(true)
          expect(info.host).toBe("127.0.0.1")
          expect(info.database).toBe("openclaw")
          expect(info.version).toMatch(/^17\./)
          return { info, startedMs }
        })
      )
      // clean stop: no postmaster left
      expect(yield* Effect.promise(() => readPostmasterPid(dir))).toBeUndefined()

      // credentials: private, and the password is the one we connected with
      const credStat = yield* Effect.promise(() => fs.stat(path.join(dir, "credentials.json")))
      expect(credStat.mode & 0o777).toBe(0o600)
      const creds = JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(dir, "credentials.json"), "utf8")))
      expect(creds.password).toBe(Redacted.value(first.info.password))
      expect(String(first.info.password)).not.toContain(creds.password)

      const t1 = Date.now()
      const second = yield* Effect.scoped(
        Effect.gen(function*() {
          const info = yield* EmbeddedPostgres.start({ dir })
          const startedMs = Date.now() - t1
          expect(info.initialised).toBe(false)
          const rows = yield* query(info.url, (sql) => sql<{ readonly id: number; readonly body: string }>`select id, body from notes`)
          // bigserial (int8) comes back as a JS number
          expect(rows).toEqual([{ id: 1, body: "hello" }])
          return { startedMs }
        })
      )
      console.log(`embedded PostgreSQL: first start ${first.startedMs} ms, restart ${second.startedMs} ms`)
      expect(second.startedMs).toBeLessThan(5_000)
    }))

  it.live("int8 values: numbers when safe, strings beyond 2^53", () =>
    Effect.gen(function*() {
      const info = yield* embeddedServer
      const rows = yield* query(info.url, (sql) =>
        sql`select 42::int8 as small, 9007199254740993::int8 as big, array[1, null, 3]::int8[] as arr, count(*) as n from (values (1), (2)) v(x)`)
      expect(rows).toEqual([{ small: 42, big: "9007199254740993", arr: [1, null, 3], n: 2 }])
    }))

  it.live("a child killed with SIGKILL: the next start works and sees the committed data", () =>
    Effect.gen(function*() {
      const dir = freshDir("kill9")
      const child = spawnChild(dir, "write")
      const outcome = yield* Effect.promise(() => child.outcome)
      expect(outcome).toMatchObject({ ready: true })
      const orphan = yield* Effect.promise(() => readPostmasterPid(dir))
      expect(orphan).toBeDefined()

      child.proc.kill("SIGKILL")
      yield* Effect.promise(() => child.exited)
      // pg_ctl detached the postmaster: it outlives its owner
      expect(alive(orphan!)).toBe(true)

      yield* Effect.scoped(
        Effect.gen(function*() {
          const sql = yield* Layer.build(Database.layerEmbedded(dir)).pipe(
            Effect.map((ctx) => Context.get(ctx, SqlClient.SqlClient))
          )
          const rows = yield* sql<{ readonly v: string }>`select v from crash_test`
          expect(rows).toEqual([{ v: "committed before kill -9" }])
          // the orphan was stopped and a fresh server started
          expect(yield* waitGone(orphan!)).toBe(true)
          const current = yield* Effect.promise(() => readPostmasterPid(dir))
          expect(current).toBeDefined()
          expect(current).not.toBe(orphan)
        })
      )
      expect(yield* Effect.promise(() => readPostmasterPid(dir))).toBeUndefined()
    }))

  it.live("a stale postmaster.pid whose process is gone does not block start", () =>
    Effect.gen(function*() {
      const dir = freshDir("stale")
      yield* Effect.scoped(EmbeddedPostgres.start({ dir }))
      // a pid that is certainly dead: a child that already exited
      const dead = spawn(process.execPath, ["-e", ""])
      const deadPid = dead.pid!
      yield* Effect.promise(() => new Promise((resolve) => dead.once("exit", resolve)))
      const pidFile = path.join(dir, "data", "postmaster.pid")
      yield* Effect.promise(() =>
        fs.writeFile(pidFile, `${deadPid}\n${path.join(dir, "data")}\n1700000000\n5432\n\n127.0.0.1\n  1234  5678\nready   \n`)
      )
      const rows = yield* Effect.scoped(
        Effect.flatMap(EmbeddedPostgres.start({ dir }), (info) => query(info.url, (sql) => sql`select 1 as one`))
      )
      expect(rows).toEqual([{ one: 1 }])
    }))

  it.live("two processes starting on the same dir at once: one runs, the other fails cleanly", () =>
    Effect.gen(function*() {
      const dir = freshDir("concurrent")
      const a = spawnChild(dir, "hold")
      const b = spawnChild(dir, "hold")
      const [oa, ob] = yield* Effect.promise(() => Promise.all([a.outcome, b.outcome]))
      const winners = [oa, ob].filter((o) => o.ready)
      const losers = [oa, ob].flatMap((o) => (o.ready ? [] : [o.output]))
      expect(winners).toHaveLength(1)
      expect(losers).toHaveLength(1)
      expect(losers[0]).toContain("already running")

      // the winner shuts down cleanly when its stdin closes
      const winner = oa.ready ? a : b
      winner.proc.stdin?.end()
      expect(yield* Effect.promise(() => winner.exited)).toBe(0)
      expect(yield* Effect.promise(() => readPostmasterPid(dir))).toBeUndefined()

      // and the cluster is intact
      const rows = yield* Effect.scoped(
        Effect.flatMap(EmbeddedPostgres.start({ dir }), (info) => query(info.url, (sql) => sql`select count(*) as n from pg_database where datname = 'openclaw'`))
      )
      expect(rows).toEqual([{ n: 1 }])
    }))

  it.live("an explicit port already in use: a clear error with the log tail, no password", () =>
    Effect.gen(function*() {
      const blocker = net.createServer()
      const port = yield* Effect.promise(
        () => new Promise<number>((resolve) => blocker.listen(0, "127.0.0.1", () => resolve((blocker.address() as net.AddressInfo).port)))
      )
      const dir = freshDir("busyport")
      const exit = yield* Effect.exit(Effect.scoped(EmbeddedPostgres.start({ dir, port })))
      blocker.close()
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const message = String(exit.cause._tag === "Fail" ? exit.cause.error.message : exit.cause)
        expect(message).toContain(`failed to start on 127.0.0.1:${port}`)
        expect(message).toMatch(/could not bind|Address already in use/)
        const creds = JSON.parse(yield* Effect.promise(() => fs.readFile(path.join(dir, "credentials.json"), "utf8")))
        expect(message).not.toContain(creds.password)
      }
      // nothing left running, lock released
      expect(yield* Effect.promise(() => readPostmasterPid(dir))).toBeUndefined()
      expect(yield* Effect.promise(() => fs.stat(path.join(dir, ".lock")).then(() => true, () => false))).toBe(false)
    }))

  it.live("an invalid port is rejected up front", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.scoped(EmbeddedPostgres.start({ dir: freshDir("badport"), port: 70000 })))
      expect(error).toBeInstanceOf(EmbeddedPostgres.EmbeddedPostgresError)
      expect(error.message).toContain("invalid port 70000")
    }))

  it.live("a dir that cannot be created: a clear error naming it", () =>
    Effect.gen(function*() {
      const file = path.join(tmpRoot, `a-file-${randomBytes(4).toString("hex")}`)
      yield* Effect.promise(() => fs.writeFile(file, "not a directory"))
      const dir = path.join(file, "postgres")
      const error = yield* Effect.flip(Effect.scoped(EmbeddedPostgres.start({ dir })))
      expect(error.message).toContain(`cannot create the embedded PostgreSQL directory ${dir}`)
      expect(error.message).toContain("Choose a writable data dir")
    }))

  it.live.skipIf(!isRoot)("as root: a data dir the postgres user cannot reach gets its cluster relocated, with a note saying where", () =>
    Effect.gen(function*() {
      const privateDir = path.join(tmpRoot, `private-${randomBytes(4).toString("hex")}`)
      yield* Effect.promise(() => fs.mkdir(privateDir, { mode: 0o700 }))
      yield* Effect.promise(() => fs.chmod(privateDir, 0o700))
      const requested = path.join(privateDir, "deep", "postgres")
      const info = yield* Effect.scoped(Effect.gen(function*() {
        const info = yield* EmbeddedPostgres.start({ dir: requested })
        const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`select 1 as one`).pipe(
          Effect.provide(Database.layerUrl(info.url, { poolMax: 1 }))
        )
        expect(rows).toEqual([{ one: 1 }])
        return info
      }))
      try {
        expect(info.dir.startsWith("/var/lib/openclaw-stack/pg-")).toBe(true)
        const note = yield* Effect.promise(() => fs.readFile(path.join(privateDir, "deep", "postgres.LOCATION"), "utf8"))
        expect(note.trim()).toBe(info.dir)
      } finally {
        yield* Effect.promise(() => fs.rm(info.dir, { recursive: true, force: true }))
      }
    }))

  it.live.skipIf(isRoot)("as non-root: a read-only parent is refused with a clear message", () =>
    Effect.gen(function*() {
      const ro = path.join(tmpRoot, `ro-${randomBytes(4).toString("hex")}`)
      yield* Effect.promise(() => fs.mkdir(ro, { mode: 0o500 }))
      const dir = path.join(ro, "postgres")
      const error = yield* Effect.flip(Effect.scoped(EmbeddedPostgres.start({ dir })))
      expect(error.message).toContain(`cannot create the embedded PostgreSQL directory ${dir}`)
    }))
})

describe("Database.layerFromConfig", () => {
  const serverInfo = (sql: SqlClient.SqlClient) =>
    sql<{ readonly port: number; readonly version: string; readonly db: string }>`
      select inet_server_port() as port, current_setting('server_version') as version, current_database() as db`

  const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

  it.live("uses the URL when the variable is set (and never touches the embedded dir)", () =>
    Effect.gen(function*() {
      // any reachable PostgreSQL will do: the shared embedded one of this file
      const target = yield* embeddedServer
      const embeddedDir = freshDir("unused")
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, serverInfo).pipe(
        Effect.provide(Database.layerFromConfig({ urlVar: "TEST_DB_URL", embeddedDir })),
        withEnv({ TEST_DB_URL: Redacted.value(target.url) })
      )
      expect(rows[0]?.port).toBe(target.port)
      expect(yield* Effect.promise(() => fs.stat(embeddedDir).then(() => true, () => false))).toBe(false)
    }))

  it.live.skipIf(serverUrl === undefined)("uses OPENCLAW_TEST_DATABASE_URL's server when it is the URL", () =>
    Effect.gen(function*() {
      const url = new URL(serverUrl!)
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, serverInfo).pipe(
        Effect.provide(Database.layerFromConfig({ urlVar: "RUSTFS_DATABASE_URL", embeddedDir: freshDir("unused") })),
        withEnv({ RUSTFS_DATABASE_URL: serverUrl! })
      )
      expect(rows[0]?.port).toBe(Number(url.port || 5432))
      const db = decodeURIComponent(url.pathname.slice(1))
      if (db !== "") expect(rows[0]?.db).toBe(db)
    }))

  it.live("starts the embedded server when the variable is unset or empty, on an explicit port if configured", () =>
    Effect.gen(function*() {
      const embeddedDir = freshDir("fromconfig")
      const rows = yield* Effect.flatMap(SqlClient.SqlClient, serverInfo).pipe(
        Effect.provide(
          Database.layerFromConfig({ urlVar: "TEST_DB_URL", embeddedDir: Config.string("TEST_DATA_DIR"), poolMax: 2 })
        ),
        withEnv({ TEST_DB_URL: "", TEST_DATA_DIR: embeddedDir })
      )
      expect(rows[0]?.version).toMatch(/^17\./)
      expect(rows[0]?.db).toBe("openclaw")
      expect(yield* Effect.promise(() => fs.stat(path.join(embeddedDir, "data", "PG_VERSION")).then(() => true))).toBe(true)

      const port = yield* Effect.promise(
        () =>
          new Promise<number>((resolve) => {
            const s = net.createServer().listen(0, "127.0.0.1", () => {
              const p = (s.address() as net.AddressInfo).port
              s.close(() => resolve(p))
            })
          })
      )
      const again = yield* Effect.flatMap(SqlClient.SqlClient, serverInfo).pipe(
        Effect.provide(
          Database.layerFromConfig({ urlVar: "TEST_DB_URL", embeddedDir, embeddedPortVar: "TEST_PG_PORT" })
        ),
        withEnv({ TEST_PG_PORT: String(port) })
      )
      expect(again[0]?.port).toBe(port)
    }))
})

// the shared helper: every suite gets its own fresh database
for (const db of testDatabases()) {
  for (const suite of ["first", "second"]) {
    layer(db.layer, { timeout: "120 seconds" })(`test/support/database (${db.name}, ${suite} suite)`, (it) => {
      it.effect("starts from an empty database and keeps its own rows", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const before = yield* sql<{ readonly n: number }>`select count(*) as n from pg_tables where tablename = 'isolation_probe'`
          expect(before).toEqual([{ n: 0 }])
          yield* sql`create table isolation_probe (suite text not null)`
          yield* sql`insert into isolation_probe (suite) values (${suite})`
        }))

      it.effect("sees only its own rows in the next test", () =>
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          const rows = yield* sql<{ readonly suite: string }>`select suite from isolation_probe`
          expect(rows).toEqual([{ suite }])
        }))
    })
  }
}
