import { createHash, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Console, Effect, Option, Schema, Stream } from "effect"
import type { FileMeta } from "../domain/Files.js"
import { ExtractStatus, FileId, LinkId } from "../domain/Ids.js"
import { type Rustfs, tenantParam, withRustfs } from "./client.js"
import { CliError, describeCause, failure, usage } from "./errors.js"
import { humanBytes, isoTime, localTime, printable, printJson, printLines, table } from "./format.js"
import { uploadFiles } from "./upload.js"

const statuses = ExtractStatus.literals

const idArg = Args.text({ name: "id" }).pipe(
  Args.withDescription("file id (64 hex characters) or a unique prefix of at least 4")
)

const isFileId = Schema.is(FileId)

/** A full id as given, or the one file whose id starts with the prefix (ls prints 12-character prefixes). */
const resolveId = (rustfs: Rustfs, input: string) =>
  Effect.gen(function*() {
    const given = input.trim().toLowerCase()
    if (isFileId(given)) return given
    if (!/^[0-9a-f]{4,63}$/.test(given)) {
      return yield* usage(`file id must be 64 hex characters or a prefix of at least 4, got ${JSON.stringify(input)}`)
    }
    const page = yield* rustfs.api.files.list({ urlParams: { ...tenantParam(rustfs.conn), q: given, limit: 200 } })
    const matches = page.items.filter((f) => f.file_id.startsWith(given))
    const [only, ...others] = matches
    if (only === undefined) return yield* failure(`not_found: no file id starts with ${given}`)
    if (others.length > 0) return yield* failure(`ambiguous id prefix ${given}: ${matches.length} files match`)
    return only.file_id as FileId
  })

// ---------------------------------------------------------------------------------------------
// upload

const upload = Command.make("upload", {
  paths: Args.path({ name: "path", exists: "yes" }).pipe(Args.atLeast(1)),
  sessionId: Options.text("session-id").pipe(Options.optional, Options.withDescription("session to file the uploads under")),
  source: Options.text("source").pipe(Options.optional, Options.withDescription("free-form origin recorded with each file")),
  includeHidden: Options.boolean("include-hidden").pipe(Options.withDescription("also upload dotfiles found in folders")),
  concurrency: Options.integer("concurrency").pipe(Options.withDefault(4), Options.withDescription("parallel uploads"))
}, (options) => withRustfs((rustfs) => uploadFiles(rustfs, options))).pipe(
  Command.withDescription("Upload files or whole folders (recursively), streaming from disk")
)

// ---------------------------------------------------------------------------------------------
// ls

const row = (f: FileMeta) => [
  f.file_id.slice(0, 12),
  humanBytes(f.size),
  f.extract_status,
  localTime(f.created_at_ms),
  printable(f.filename)
]
const LS_HEADER = ["ID", "SIZE", "STATUS", "CREATED", "FILENAME"]
const LS_WIDTHS = [12, 8, 10, 16]

const ls = Command.make("ls", {
  q: Options.text("query").pipe(
    Options.withAlias("q"),
    Options.optional,
    Options.withDescription("filename or id substring (also --q)")
  ),
  sessionId: Options.text("session-id").pipe(Options.optional),
  mime: Options.text("mime").pipe(Options.optional),
  status: Options.choice("status", statuses).pipe(Options.optional),
  limit: Options.integer("limit").pipe(Options.optional, Options.withDescription("page size, 1-200 (default 50)")),
  cursor: Options.text("cursor").pipe(Options.optional, Options.withDescription("continue from a next_cursor")),
  all: Options.boolean("all").pipe(Options.withDescription("follow next_cursor to the end"))
}, (o) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const { conn } = rustfs
      if (Option.isSome(o.limit) && (o.limit.value < 1 || o.limit.value > 200)) {
        return yield* usage("--limit must be between 1 and 200")
      }
      const query = {
        ...tenantParam(conn),
        ...Option.match(o.q, { onNone: () => ({}), onSome: (q) => ({ q }) }),
        ...Option.match(o.sessionId, { onNone: () => ({}), onSome: (session_id) => ({ session_id }) }),
        ...Option.match(o.mime, { onNone: () => ({}), onSome: (mime) => ({ mime }) }),
        ...Option.match(o.status, { onNone: () => ({}), onSome: (extract_status) => ({ extract_status }) }),
        ...Option.match(o.limit, { onNone: () => ({}), onSome: (limit) => ({ limit }) })
      }
      let cursor = Option.getOrUndefined(o.cursor)
      let first = true
      let count = 0
      while (true) {
        const page = yield* rustfs.api.files.list({
          urlParams: cursor === undefined ? query : { ...query, cursor }
        })
        count += page.items.length
        if (conn.json) {
          for (const item of page.items) yield* printJson(item)
        } else if (page.items.length > 0 || first) {
          const lines = table(LS_HEADER, page.items.map(row), LS_WIDTHS)
          yield* printLines(first ? lines : lines.slice(1))
        }
        first = false
        if (page.next_cursor === null) break
        if (!o.all) {
          if (!conn.json) yield* Console.error(`more files: use --all, or --cursor ${page.next_cursor}`)
          break
        }
        cursor = page.next_cursor
      }
      if (!conn.json && count === 0) yield* Console.error("no files")
    })
  )).pipe(Command.withDescription("List and search files, newest first"))

// ---------------------------------------------------------------------------------------------
// meta

const meta = Command.make("meta", { id: idArg }, ({ id }) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const fileId = yield* resolveId(rustfs, id)
      const m = yield* rustfs.api.files.meta({ path: { id: fileId }, urlParams: tenantParam(rustfs.conn) })
      if (rustfs.conn.json) return yield* printJson(m)
      const fields: Array<[string, string]> = [
        ["file_id", m.file_id],
        ["tenant_id", m.tenant_id],
        ["filename", printable(m.filename)],
        ["mime", m.mime],
        ["size", `${m.size} (${humanBytes(m.size)})`],
        ["sha256", m.sha256],
        ["created", isoTime(m.created_at_ms) ?? ""],
        ["session_id", m.session_id ?? "-"],
        ["source", m.source === null ? "-" : printable(m.source)],
        ["encrypted", String(m.encrypted)],
        ["extract_status", m.extract_status],
        ["extract_attempt", String(m.extract_attempt)],
        ["extract_updated", isoTime(m.extract_updated_at_ms) ?? "-"],
        ["extract_error", m.extract_error === null ? "-" : printable(m.extract_error)],
        ["annotations", m.annotations === null ? "-" : `version ${m.annotations_version}, ${JSON.stringify(m.annotations).length} bytes`]
      ]
      const width = Math.max(...fields.map(([k]) => k.length))
      yield* printLines(fields.map(([k, v]) => `${k.padEnd(width)}  ${v}`))
    })
  )).pipe(Command.withDescription("Show a file's metadata"))

// ---------------------------------------------------------------------------------------------
// get

/** The `filename*` (RFC 6266) of a Content-Disposition, else its plain `filename`. */
const dispositionFilename = (header: string | undefined): string | undefined => {
  if (header === undefined) return undefined
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header)
  if (star?.[1] !== undefined) {
    try {
      return decodeURIComponent(star[1])
    } catch {
      // fall through to the ASCII name
    }
  }
  return /filename="([^"]*)"/i.exec(header)?.[1]
}

const safeBasename = (name: string | undefined, fallback: string) => {
  const base = path.basename(name ?? "").replace(/[\u0000-\u001f\u007f]/g, "").trim()
  return base === "" || base === "." || base === ".." ? fallback : base
}

/**
 * One chunk to stdout, resuming once the pipe has room again. (NodeSink.fromWritable does not
 * wait for `drain` after the last item of a chunk, so a slow reader would make it buffer the file.)
 */
const writeStdout = (chunk: Uint8Array) =>
  Effect.async<void, CliError>((resume) => {
    const onError = (cause: unknown) => {
      process.stdout.off("drain", onDrain)
      resume(failure(`writing to stdout: ${describeCause(cause)}`))
    }
    const onDrain = () => {
      process.stdout.off("error", onError)
      resume(Effect.void)
    }
    if (process.stdout.write(chunk)) return resume(Effect.void)
    process.stdout.once("drain", onDrain)
    process.stdout.once("error", onError)
  })

const get = Command.make("get", {
  id: idArg,
  output: Options.text("output").pipe(
    Options.withAlias("o"),
    Options.optional,
    Options.withDescription("file or directory to write, `-` for stdout (default: the stored filename, not overwritten)")
  )
}, ({ id, output }) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const fileId = yield* resolveId(rustfs, id)
      const response = yield* rustfs.downloadResponse(fileId)
      const expected = response.headers["etag"]?.replace(/^W\//, "").replace(/"/g, "").toLowerCase()
      const hash = createHash("sha256")
      let size = 0
      const body = response.stream.pipe(Stream.map((chunk) => {
        hash.update(chunk)
        size += chunk.length
        return chunk
      }))
      const verify = Effect.suspend(() => {
        const actual = hash.digest("hex")
        return expected !== undefined && /^[0-9a-f]{64}$/.test(expected) && expected !== actual
          ? failure(`integrity: downloaded ${size} bytes with sha256 ${actual}, expected ${expected}`)
          : Effect.succeed(actual)
      })
      const target = Option.getOrUndefined(output)

      if (target === "-") {
        yield* Stream.runForEach(body, writeStdout)
        yield* verify
        return
      }

      const fsys = yield* FileSystem.FileSystem
      const stored = safeBasename(dispositionFilename(response.headers["content-disposition"]), fileId)
      const isDir = target !== undefined && (yield* fsys.stat(target).pipe(
        Effect.map((s) => s.type === "Directory"),
        Effect.orElseSucceed(() => false)
      ))
      const dest = target === undefined ? stored : isDir ? path.join(target, stored) : target
      if ((target === undefined || isDir) && fs.existsSync(dest)) {
        return yield* failure(`${dest} already exists (name it with -o to overwrite)`)
      }
      const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(4).toString("hex")}.part`)
      const sha256 = yield* Effect.gen(function*() {
        yield* Stream.run(body, fsys.sink(tmp))
        const actual = yield* verify
        yield* fsys.rename(tmp, dest)
        return actual
      }).pipe(
        Effect.onError(() => fsys.remove(tmp).pipe(Effect.ignore)),
        Effect.catchTag("SystemError", "BadArgument", (e) => failure(`writing ${dest}: ${e.message}`))
      )
      if (rustfs.conn.json) yield* printJson({ ok: true, file_id: fileId, path: dest, size, sha256 })
      else yield* Console.error(`saved ${dest} (${humanBytes(size)})`)
    })
  )).pipe(Command.withDescription("Download a file (streamed to disk or stdout, sha256 verified)"))

// ---------------------------------------------------------------------------------------------
// links

const link = Command.make("link", {
  id: idArg,
  ttl: Options.integer("ttl").pipe(Options.optional, Options.withDescription("seconds, 30-3600 (default 300)"))
}, ({ id, ttl }) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const fileId = yield* resolveId(rustfs, id)
      const r = yield* rustfs.api.files.link({
        path: { id: fileId },
        payload: { ...tenantParam(rustfs.conn), ttl_seconds: Option.getOrNull(ttl) }
      })
      const url = r.url ?? rustfs.conn.url + r.path
      if (rustfs.conn.json) return yield* printJson({ ...r, resolved_url: url })
      yield* Console.log(url)
      const minutes = Math.round((r.expires_at_ms - Date.now()) / 60_000)
      yield* Console.error(`path ${r.path}\nlink ${r.link_id}, expires ${isoTime(r.expires_at_ms)} (in ${minutes} min)`)
    })
  )).pipe(Command.withDescription("Create a short-lived public download link"))

const links = Command.make("links", { id: idArg }, ({ id }) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const fileId = yield* resolveId(rustfs, id)
      const r = yield* rustfs.api.files.links({ path: { id: fileId }, urlParams: tenantParam(rustfs.conn) })
      if (rustfs.conn.json) {
        for (const item of r.items) yield* printJson(item)
        return
      }
      const now = Date.now()
      const state = (l: (typeof r.items)[number]) =>
        l.revoked_at_ms !== null ? "revoked" : l.expires_at_ms <= now ? "expired" : "active"
      yield* printLines(table(
        ["LINK_ID", "CREATED", "EXPIRES", "STATE"],
        r.items.map((l) => [l.link_id, localTime(l.created_at_ms), localTime(l.expires_at_ms), state(l)])
      ))
    })
  )).pipe(Command.withDescription("List a file's share links"))

const revoke = Command.make("revoke", {
  id: idArg,
  linkId: Options.text("link-id").pipe(
    Options.withSchema(LinkId),
    Options.optional,
    Options.withDescription("one link (default: every link of the file)")
  )
}, ({ id, linkId }) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const fileId = yield* resolveId(rustfs, id)
      const r = yield* rustfs.api.files.revokeLinks({
        path: { id: fileId },
        payload: { ...tenantParam(rustfs.conn), link_id: Option.getOrNull(linkId) }
      })
      if (rustfs.conn.json) return yield* printJson(r)
      yield* Console.log(`revoked ${r.revoked} link(s) of ${r.file_id}`)
    })
  )).pipe(Command.withDescription("Revoke one share link, or all links of a file"))

// ---------------------------------------------------------------------------------------------
// tombstone, requeue, admin

const tombstone = Command.make("tombstone", {
  id: idArg,
  reason: Options.text("reason").pipe(Options.optional)
}, ({ id, reason }) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const fileId = yield* resolveId(rustfs, id)
      const r = yield* rustfs.api.files.tombstone({
        path: { id: fileId },
        payload: { ...tenantParam(rustfs.conn), reason: Option.getOrNull(reason) }
      })
      if (rustfs.conn.json) return yield* printJson(r)
      yield* Console.log(`tombstoned ${r.file_id}`)
    })
  )).pipe(Command.withDescription("Delete a file (its links are revoked, the blob is collected later)"))

const requeue = Command.make("requeue", {
  status: Options.choice("status", statuses).pipe(
    Options.repeated,
    Options.withDescription("statuses to requeue, repeatable (server default: failed, skipped, indexed)")
  ),
  mime: Options.text("mime").pipe(Options.optional),
  sessionId: Options.text("session-id").pipe(Options.optional),
  fileId: Options.text("file-id").pipe(
    Options.repeated,
    Options.withSchema(Schema.mutable(Schema.Array(FileId))),
    Options.withDescription("only these files (full ids), repeatable")
  )
}, (o) =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const r = yield* rustfs.api.admin.requeue({
        payload: {
          ...tenantParam(rustfs.conn),
          statuses: o.status.length > 0 ? o.status : null,
          mime: Option.getOrNull(o.mime),
          session_id: Option.getOrNull(o.sessionId),
          file_ids: o.fileId.length > 0 ? o.fileId : null
        }
      })
      if (rustfs.conn.json) return yield* printJson(r)
      yield* Console.log(`requeued ${r.requeued} file(s) for extraction`)
    })
  )).pipe(Command.withDescription("Send files back to extraction (pending) by status and filters"))

const usageCmd = Command.make("usage", {}, () =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const r = yield* rustfs.api.admin.usage()
      if (rustfs.conn.json) {
        for (const t of r.tenants) yield* printJson(t)
        return
      }
      const by = (t: (typeof r.tenants)[number], s: string) => String(t.by_status[s] ?? 0)
      yield* printLines(table(
        ["TENANT", "FILES", "BYTES", "TOMBSTONED", ...statuses.map((s) => s.toUpperCase())],
        r.tenants.map((t) => [
          t.tenant_id,
          String(t.files),
          humanBytes(t.bytes),
          String(t.tombstoned),
          ...statuses.map((s) => by(t, s))
        ])
      ))
    })
  )).pipe(Command.withDescription("Per-tenant file counts and bytes (admin)"))

const rotateKeys = Command.make("rotate-keys", {}, () =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const r = yield* rustfs.api.admin.rotateKeys()
      if (rustfs.conn.json) yield* printJson(r)
      else yield* Console.log(`rewrapped ${r.rewrapped}, already current ${r.already_current}, failed ${r.failed}`)
      if (r.failed > 0) return yield* new CliError({ message: `${r.failed} file key(s) could not be rewrapped`, exitCode: 1 })
    })
  )).pipe(Command.withDescription("Re-wrap file keys to the current master key (admin)"))

const gc = Command.make("gc", {}, () =>
  withRustfs((rustfs) =>
    Effect.gen(function*() {
      const r = yield* rustfs.api.admin.gc()
      if (rustfs.conn.json) return yield* printJson(r)
      yield* Console.log(`purged ${r.purged} blob(s) of tombstoned files past retention`)
    })
  )).pipe(Command.withDescription("Purge blobs of tombstoned files past retention now (admin)"))

export const filesCommand = Command.make("files").pipe(
  Command.withDescription("The RustFS file archive"),
  Command.withSubcommands([upload, ls, meta, get, link, links, revoke, tombstone, requeue, usageCmd, rotateKeys, gc])
)
