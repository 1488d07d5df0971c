/**
 * The SQL layers every repository / HTTP test runs against.
 *
 *   import { layer } from "@effect/vitest"
 *   import { testDatabases } from "./support/database.js"
 *
 *   for (const db of testDatabases()) {          // call it at the top level of the test file
 *     layer(db.layer, { timeout: "120 seconds" })(`FileRepo (${db.name})`, (it) => {
 *       it.effect("...", () => Effect.gen(function*() { const sql = yield* SqlClient.SqlClient ... }))
 *     })
 *   }
 *
 * - `embedded`: one embedded PostgreSQL per test file (started lazily by the first suite that
 *   needs it, in a fresh directory under os.tmpdir(), stopped and removed after the file).
 * - `server`: the PostgreSQL at OPENCLAW_TEST_DATABASE_URL (must be allowed to CREATE DATABASE).
 *   Unset: the server suites are skipped (a skipped test names the reason), unless
 *   OPENCLAW_REQUIRE_INTEGRATION=1, which makes `testDatabases()` throw.
 *
 * Every build of `db.layer` (i.e. every `layer(...)` / `describe`) gets a FRESH database
 * (`CREATE DATABASE t_<time>_<random>`, dropped when the layer is released), so suites never
 * see each other's rows. Nested `it.layer(...)` inside one suite share its database.
 * The pool uses the production settings of Database.layerUrl (int8 as numbers, snake_case).
 *
 * No template cluster is cached: a first start (initdb --no-sync + start) measured ~0.6-0.9 s,
 * against ~0.2 s for copying a cached cluster, not worth a cache keyed by version to maintain.
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { readFileSync, rmSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import type { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Exit, Layer, Redacted, Scope } from "effect"
import { afterAll, it } from "vitest"
import * as Database from "../../src/services/Database.js"
import * as EmbeddedPostgres from "../../src/services/EmbeddedPostgres.js"

export type TestDatabaseKind = "embedded" | "server"

export interface TestDatabase {
  readonly name: TestDatabaseKind
  readonly layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown>
}

export const SERVER_URL_VAR = "OPENCLAW_TEST_DATABASE_URL"
export const REQUIRE_INTEGRATION_VAR = "OPENCLAW_REQUIRE_INTEGRATION"

/** Settings trading durability for speed: test clusters are thrown away. */
export const FAST_TEST_SETTINGS: Readonly<Record<string, string>> = {
  fsync: "off",
  synchronous_commit: "off",
  full_page_writes: "off"
}

const serverUrl = (): string | undefined => {
  const v = process.env[SERVER_URL_VAR]?.trim()
  return v === undefined || v === "" ? undefined : v
}

// -------------------------------------------------------------------------------------------
// the embedded cluster shared by the suites of one test file

interface SharedCluster {
  readonly root: string
  readonly scope: Scope.CloseableScope
  readonly info: Promise<EmbeddedPostgres.EmbeddedPostgresInfo>
}

let shared: SharedCluster | undefined

/** Last resort if the worker exits without running afterAll: immediate shutdown + cleanup. */
const killOnExit = (root: string) => () => {
  try {
    const pid = Number(readFileSync(path.join(root, "postgres", "data", "postmaster.pid"), "utf8").split("\n")[0])
    if (Number.isInteger(pid) && pid > 0) process.kill(pid, "SIGQUIT")
    spawnSync("sleep", ["0.3"])
  } catch {
    // not running
  }
  rmSync(root, { recursive: true, force: true })
}

const startShared = (): SharedCluster => {
  const scope = Effect.runSync(Scope.make())
  let root = ""
  const info = (async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "openclaw-pg-test-"))
    // mkdtemp makes it 0700; as root the server's OS user must be able to traverse it
    await fs.chmod(root, 0o755)
    process.once("exit", killOnExit(root))
    return Effect.runPromise(
      EmbeddedPostgres.start({
        dir: path.join(root, "postgres"),
        initdbNoSync: true,
        settings: FAST_TEST_SETTINGS
      }).pipe(Scope.extend(scope))
    )
  })()
  info.catch(() => undefined) // reported to whoever awaits it
  return {
    get root() {
      return root
    },
    scope,
    info
  }
}

const stopShared = async () => {
  const s = shared
  shared = undefined
  if (s === undefined) return
  await s.info.catch(() => undefined)
  await Effect.runPromise(Scope.close(s.scope, Exit.void))
  if (s.root !== "") await fs.rm(s.root, { recursive: true, force: true })
}

try {
  // registered when a test file imports this module: the file's cluster dies with the file
  afterAll(stopShared, 120_000)
} catch {
  // imported outside a vitest collection phase
}

/** The embedded PostgreSQL of the current test file, started on first use. */
export const embeddedServer: Effect.Effect<EmbeddedPostgres.EmbeddedPostgresInfo, unknown> = Effect.suspend(() => {
  shared ??= startShared()
  const { info } = shared
  return Effect.tryPromise({ try: () => info, catch: (e) => e })
})

// -------------------------------------------------------------------------------------------
// fresh databases

const withDatabase = (dbUrl: string, name: string) => {
  const u = new URL(dbUrl)
  u.pathname = `/${name}`
  return u.toString()
}

/** Run `f` with a short-lived admin client. */
const admin = <A, E>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, E>) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(Database.layerUrl(Redacted.make(url), { poolMax: 1, applicationName: "openclaw-test-admin" }))
    return yield* f(Context.get(ctx, PgClient.PgClient))
  }).pipe(Effect.scoped)

const STALE_AFTER_SECONDS = 6 * 3600
let serverSwept = false

/** Drop test databases left behind on the shared server by killed runs (older than 6 h). */
const sweepServer = (url: string) =>
  admin(url, (sql) =>
    Effect.gen(function*() {
      const rows = yield* sql<{ readonly datname: string }>`select datname from pg_database where datname ~ '^t_[0-9]+_[0-9a-f]+$'`
      const now = Math.floor(Date.now() / 1000)
      for (const { datname } of rows) {
        const m = /^t_(\d+)_[0-9a-f]+$/.exec(datname)
        if (m?.[1] !== undefined && now - Number(m[1]) > STALE_AFTER_SECONDS) {
          yield* sql`drop database if exists ${sql(datname)} with (force)`.pipe(Effect.ignore)
        }
      }
    })).pipe(Effect.ignore)

/** A layer that creates a new, empty database on every build and drops it on release. */
export const freshDatabaseLayer = (
  kind: TestDatabaseKind,
  opts: { readonly poolMax?: number } = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown> =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      let adminUrl: string
      if (kind === "embedded") {
        const info = yield* embeddedServer
        adminUrl = withDatabase(Redacted.value(info.url), "postgres")
      } else {
        const url = serverUrl()
        if (url === undefined) return yield* Effect.fail(new Error(`${SERVER_URL_VAR} is not set`))
        adminUrl = url
        if (!serverSwept) {
          serverSwept = true
          yield* sweepServer(url)
        }
      }
      const name = `t_${Math.floor(Date.now() / 1000)}_${randomBytes(5).toString("hex")}`
      yield* Effect.acquireRelease(
        admin(adminUrl, (sql) => sql`create database ${sql(name)}`),
        () => admin(adminUrl, (sql) => sql`drop database if exists ${sql(name)} with (force)`).pipe(Effect.ignore)
      )
      return Database.layerUrl(Redacted.make(withDatabase(adminUrl, name)), opts)
    })
  )

let skipRegistered = false

/**
 * The databases to run a suite against: always `embedded`, plus `server` when
 * OPENCLAW_TEST_DATABASE_URL is set. Call at the top level of a test file.
 */
export const testDatabases = (): ReadonlyArray<TestDatabase> => {
  const out: Array<TestDatabase> = [{ name: "embedded", layer: freshDatabaseLayer("embedded") }]
  if (serverUrl() !== undefined) {
    out.push({ name: "server", layer: freshDatabaseLayer("server") })
  } else if (process.env[REQUIRE_INTEGRATION_VAR] === "1") {
    throw new Error(
      `${REQUIRE_INTEGRATION_VAR}=1 but ${SERVER_URL_VAR} is not set: the PostgreSQL server suites cannot run. ` +
        `Set it to a URL allowed to CREATE DATABASE, e.g. postgres://user:pass@127.0.0.1:5432/postgres`
    )
  } else if (!skipRegistered) {
    skipRegistered = true
    const reason = `${SERVER_URL_VAR} is not set: PostgreSQL server suites skipped (embedded suites still run)`
    console.warn(`[test databases] ${reason}`)
    try {
      it.skip(`[server] ${reason}`, () => undefined)
    } catch {
      // called outside a collection phase
    }
  }
  return out
}
