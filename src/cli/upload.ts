import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Exit, Option } from "effect"
import * as E from "../domain/Errors.js"
import { type Rustfs, tenantParam, uploadBytesSink } from "./client.js"
import { CliError, describeCause, describeError, failure, isUnreachable, usage } from "./errors.js"
import { humanBytes, humanDuration, printable } from "./format.js"
import { makeProgress } from "./progress.js"

export interface LocalFile {
  /** As found on disk (relative to the working directory when the argument was relative). */
  readonly path: string
  readonly size: number
}

export interface WalkProblem {
  readonly path: string
  readonly message: string
}

const isHidden = (name: string) => name.startsWith(".")

/**
 * The regular files under the given paths, depth first in name order. Dotfiles and dot-directories
 * inside folders are skipped unless `includeHidden`; a path named explicitly is always taken.
 * Symbolic links to files are followed, links to directories are not (no cycles).
 */
export const collectFiles = (roots: ReadonlyArray<string>, includeHidden: boolean) =>
  Effect.promise(async () => {
    const files: Array<LocalFile> = []
    const problems: Array<WalkProblem> = []
    const visit = async (p: string, explicit: boolean): Promise<void> => {
      let stat: fs.Stats
      try {
        const lstat = await fs.promises.lstat(p)
        stat = lstat.isSymbolicLink() ? await fs.promises.stat(p) : lstat
        if (lstat.isSymbolicLink() && stat.isDirectory() && !explicit) return
      } catch (e) {
        problems.push({ path: p, message: describeCause(e) })
        return
      }
      if (stat.isFile()) {
        files.push({ path: p, size: stat.size })
        return
      }
      if (!stat.isDirectory()) {
        if (explicit) problems.push({ path: p, message: "not a regular file or directory" })
        return
      }
      let entries: Array<fs.Dirent>
      try {
        entries = await fs.promises.readdir(p, { withFileTypes: true })
      } catch (e) {
        problems.push({ path: p, message: describeCause(e) })
        return
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      for (const entry of entries) {
        if (!includeHidden && isHidden(entry.name)) continue
        await visit(path.join(p, entry.name), false)
      }
    }
    for (const root of roots) await visit(root, true)
    return { files, problems }
  })

export type UploadOutcome =
  | {
    readonly path: string
    readonly ok: true
    readonly file_id: string
    readonly size: number
    readonly deduplicated: boolean
    readonly encrypted: boolean
  }
  | { readonly path: string; readonly ok: false; readonly error: string }

/** Errors that would fail every other file the same way: stop the batch instead. */
const isFatal = (e: unknown) => e instanceof E.Unauthorized || e instanceof E.Forbidden || isUnreachable(e)

export interface UploadOptions {
  readonly paths: ReadonlyArray<string>
  readonly sessionId: Option.Option<string>
  readonly source: Option.Option<string>
  readonly includeHidden: boolean
  readonly concurrency: number
}

export const uploadFiles = (rustfs: Rustfs, options: UploadOptions) =>
  Effect.gen(function*() {
    const { conn } = rustfs
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1 || options.concurrency > 64) {
      return yield* usage("--concurrency must be between 1 and 64")
    }
    const { files, problems } = yield* collectFiles(options.paths, options.includeHidden)
    if (files.length === 0 && problems.length === 0) return yield* failure("no files to upload")

    // Fail fast on a wrong key or an unreachable server, before streaming anything.
    yield* rustfs.api.files.list({ urlParams: { ...tenantParam(conn), limit: 1 } })

    const totalBytes = files.reduce((n, f) => n + f.size, 0)
    const progress = makeProgress({ files: files.length, bytes: totalBytes })
    const outcomes: Array<UploadOutcome> = problems.map((p) => ({ path: p.path, ok: false, error: p.message }))

    const report = (outcome: UploadOutcome) => {
      outcomes.push(outcome)
      if (conn.json) return progress.message(JSON.stringify(outcome), process.stdout)
      if (outcome.ok) {
        const what = outcome.deduplicated ? "deduplicated" : "uploaded"
        return progress.message(`${outcome.file_id}  ${what.padEnd(12)}  ${printable(outcome.path)}`, process.stdout)
      }
      return progress.message(`failed: ${printable(outcome.path)}: ${outcome.error}`)
    }

    const uploadOne = (file: LocalFile) =>
      Effect.gen(function*() {
        let counted = 0
        // The first chunk also carries the multipart headers: never count more than the file.
        const count = (n: number) => {
          const add = Math.min(n, file.size - counted)
          if (add > 0) {
            counted += add
            progress.addBytes(add)
          }
        }
        const blob = yield* Effect.tryPromise({
          try: () => fs.openAsBlob(file.path),
          catch: (e) => failure(`cannot read: ${describeCause(e)}`)
        })
        const form = new FormData()
        // Text fields before the file part: the server reads the parts in order.
        const fields = [["tenant_id", conn.tenant], ["session_id", options.sessionId], ["source", options.source]] as const
        for (const [name, value] of fields) if (Option.isSome(value)) form.append(name, value.value)
        form.append("file", blob, path.basename(file.path))
        return yield* rustfs.api.files.upload({ payload: form }).pipe(
          Effect.locally(uploadBytesSink, count),
          Effect.onExit((exit) =>
            Exit.isInterrupted(exit) ? Effect.void : Effect.sync(() => {
              progress.settleBytes(file.size - counted)
              counted = file.size
              progress.fileDone()
            })
          )
        )
      }).pipe(
        Effect.matchEffect({
          onSuccess: (r) =>
            report({
              path: file.path,
              ok: true,
              file_id: r.file_id,
              size: r.size,
              deduplicated: r.deduplicated,
              encrypted: r.encrypted
            }),
          onFailure: (e) =>
            isFatal(e)
              ? Effect.fail(e)
              : report({ path: file.path, ok: false, error: describeError(e, conn.url).message })
        })
      )

    for (const p of problems) {
      if (conn.json) yield* progress.message(JSON.stringify({ path: p.path, ok: false, error: p.message }), process.stdout)
      else yield* progress.message(`failed: ${printable(p.path)}: ${p.message}`)
    }
    const started = Date.now()
    yield* Effect.scoped(Effect.zipRight(
      progress.run,
      Effect.forEach(files, uploadOne, { concurrency: options.concurrency, discard: true })
    ))

    const uploaded = outcomes.filter((o) => o.ok && !o.deduplicated).length
    const deduplicated = outcomes.filter((o) => o.ok && o.deduplicated).length
    const failed = outcomes.filter((o) => !o.ok).length
    const summary = { uploaded, deduplicated, failed, bytes: totalBytes, seconds: (Date.now() - started) / 1000 }
    if (conn.json) {
      yield* Effect.sync(() => process.stdout.write(JSON.stringify({ summary }) + "\n"))
    } else {
      yield* Effect.sync(() =>
        process.stderr.write(
          `uploaded ${uploaded}, deduplicated ${deduplicated}, failed ${failed} ` +
            `(${humanBytes(totalBytes)} in ${humanDuration(summary.seconds)})\n`
        )
      )
    }
    if (failed > 0) {
      return yield* new CliError({ message: `${failed} of ${outcomes.length} file(s) failed`, exitCode: 1 })
    }
  })
