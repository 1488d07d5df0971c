import { createHash, randomUUID } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { finished as streamFinished, pipeline } from "node:stream/promises"
import type { Writable } from "node:stream"
import { Data, Effect, Option, Stream } from "effect"
import * as Age from "./Age.js"
import { RustfsConfig } from "./RustfsConfig.js"

export class BlobError extends Data.TaggedError("BlobError")<{ readonly op: string; readonly cause: unknown }> {}
export class BlobTooLarge extends Data.TaggedError("BlobTooLarge")<{ readonly limit: number }> {}

export interface Received {
  readonly tmp: string
  readonly sha256: string
  readonly size: number
  /** The first bytes of the plaintext, for content sniffing. */
  readonly head: Buffer
}

const HEAD_BYTES = 4100

/** Where the blob of a file lives under a data dir; the tenant id is hex-encoded, never used raw. */
export const blobPathFor = (dataDir: string, tenant: string, fileId: string) =>
  path.join(dataDir, "blobs", Buffer.from(tenant, "utf8").toString("hex"), fileId.slice(0, 2), fileId)

/**
 * Blobs on disk under the data dir: `blobs/<hex(tenant)>/<id[0:2]>/<id>`. Uploads stream into
 * `tmp/` (hashing on the way, encrypting when asked), are fsynced, then renamed into place, so a
 * crash never leaves a partial blob where a reader could see it; `tmp/` is emptied at start.
 */
export class BlobStore extends Effect.Service<BlobStore>()("rustfs/BlobStore", {
  effect: Effect.gen(function*() {
    const config = yield* RustfsConfig
    const blobsDir = path.join(config.dataDir, "blobs")
    const tmpDir = path.join(config.dataDir, "tmp")
    const io = <A>(op: string, f: () => Promise<A>) => Effect.tryPromise({ try: f, catch: (cause) => new BlobError({ op, cause }) })

    yield* io("init", async () => {
      await fs.promises.mkdir(blobsDir, { recursive: true, mode: 0o700 })
      await fs.promises.rm(tmpDir, { recursive: true, force: true })
      await fs.promises.mkdir(tmpDir, { recursive: true, mode: 0o700 })
    })

    const blobPath = (tenant: string, fileId: string) => blobPathFor(config.dataDir, tenant, fileId)

    const fsyncDir = (dir: string) =>
      fs.promises.open(dir, "r").then((fh) => fh.sync().finally(() => fh.close()))

    const receive = <E>(content: Stream.Stream<Uint8Array, E>, options: { readonly maxBytes: number; readonly encryptTo: Option.Option<string> }) =>
      Effect.gen(function*() {
        const tmp = path.join(tmpDir, randomUUID() + ".part")
        const hasher = createHash("sha256")
        const headChunks: Array<Buffer> = []
        let headLen = 0
        let size = 0
        const file = fs.createWriteStream(tmp, { flags: "wx", mode: 0o600, flush: true, highWaterMark: 1024 * 1024 })
        const encrypt = Option.map(options.encryptTo, (r) => Age.encryptStream([r]))
        const entry: Writable = Option.getOrElse(encrypt, () => file)
        const finished = Option.match(encrypt, { onNone: () => streamFinished(file), onSome: (t) => pipeline(t, file) })
        finished.catch(() => undefined)

        // A stream that failed between writes neither drains nor errors again: check before writing.
        const write = (chunk: Uint8Array) =>
          Effect.async<void, BlobError>((resume) => {
            if (entry.destroyed || entry.errored !== null) {
              return resume(Effect.fail(new BlobError({ op: "write", cause: entry.errored ?? new Error("stream closed") })))
            }
            if (entry.write(chunk)) return resume(Effect.void)
            const settle = (result: Effect.Effect<void, BlobError>) => {
              entry.off("drain", onDrain)
              entry.off("error", onError)
              entry.off("close", onClose)
              resume(result)
            }
            const onDrain = () => settle(Effect.void)
            const onError = (cause: unknown) => settle(Effect.fail(new BlobError({ op: "write", cause })))
            const onClose = () => settle(Effect.fail(new BlobError({ op: "write", cause: new Error("stream closed") })))
            entry.once("drain", onDrain)
            entry.once("error", onError)
            entry.once("close", onClose)
          })

        const body = Stream.runForEach(content, (chunk): Effect.Effect<void, BlobError | BlobTooLarge> => {
          size += chunk.length
          if (size > options.maxBytes) return Effect.fail(new BlobTooLarge({ limit: options.maxBytes }))
          hasher.update(chunk)
          if (headLen < HEAD_BYTES) {
            const part = Buffer.from(chunk.subarray(0, HEAD_BYTES - headLen))
            headChunks.push(part)
            headLen += part.length
          }
          return write(chunk)
        }).pipe(
          Effect.zipRight(io("finish", () => {
            entry.end()
            return finished
          }))
        )

        return yield* body.pipe(
          Effect.map(() => ({ tmp, sha256: hasher.digest("hex"), size, head: Buffer.concat(headChunks) })),
          Effect.onExit((exit) =>
            exit._tag === "Success" ? Effect.void : Effect.promise(async () => {
              entry.destroy()
              file.destroy()
              // The stream opens its file asynchronously: removing it before the stream has closed
              // could run before the open and leave the part file behind.
              if (!file.closed) await new Promise<void>((resolve) => file.once("close", () => resolve()))
              await fs.promises.rm(tmp, { force: true })
            })
          )
        )
      })

    /** Creates `dir` and makes every directory it had to create durable, then returns. */
    const mkdirDurable = async (dir: string) => {
      const first = await fs.promises.mkdir(dir, { recursive: true, mode: 0o700 })
      if (first === undefined) return
      const created: Array<string> = []
      for (let d = dir; d.length >= first.length; d = path.dirname(d)) created.push(d)
      for (const d of [path.dirname(first), ...created.reverse()]) await fsyncDir(d)
    }

    // Renames run to completion even if the request is interrupted: a half-observed rename could
    // otherwise leave a blob that no row (and so no GC) knows about.
    const commit = (tmp: string, tenant: string, fileId: string) =>
      Effect.uninterruptible(io("commit", async () => {
        const dest = blobPath(tenant, fileId)
        await mkdirDurable(path.dirname(dest))
        await fs.promises.rename(tmp, dest)
        await fsyncDir(path.dirname(dest))
      }))

    const discard = (tmp: string) => Effect.promise(() => fs.promises.rm(tmp, { force: true }))

    const remove = (tenant: string, fileId: string) => io("remove", () => fs.promises.rm(blobPath(tenant, fileId), { force: true }))

    /** Replaces a blob with new content written by `write`, atomically (used by key rotation). */
    const rewrite = (tenant: string, fileId: string, write: (tmp: string) => Promise<void>) =>
      Effect.uninterruptible(io("rewrite", async () => {
        const tmp = path.join(tmpDir, randomUUID() + ".part")
        try {
          await write(tmp)
          const dest = blobPath(tenant, fileId)
          await fs.promises.rename(tmp, dest)
          await fsyncDir(path.dirname(dest))
        } finally {
          await fs.promises.rm(tmp, { force: true })
        }
      }))

    const checkWritable = io("probe", async () => {
      const probe = path.join(tmpDir, ".probe-" + randomUUID())
      await fs.promises.writeFile(probe, "ok")
      await fs.promises.rm(probe, { force: true })
    })

    return { blobPath, receive, commit, discard, remove, rewrite, checkWritable, tmpDir } as const
  })
}) {}
