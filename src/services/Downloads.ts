import * as fs from "node:fs"
import { Readable } from "node:stream"
import { HttpServerResponse } from "@effect/platform"
import { Data, Effect } from "effect"
import type { FileMeta } from "../domain/Files.js"
import * as Age from "./Age.js"
import { BlobStore } from "./BlobStore.js"
import { Cipher } from "./Cipher.js"
import { contentDisposition } from "./Mime.js"

export class BlobUnreadable extends Data.TaggedError("BlobUnreadable")<{ readonly reason: string; readonly cause: unknown }> {}

type Range = { readonly start: number; readonly end: number } | "unsatisfiable" | null

/** One `bytes=` range (first-last, first-, or -suffix); anything else is served whole, as RFC 9110 allows. */
export const parseRange = (header: string | undefined, size: number): Range => {
  if (header === undefined) return null
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (m === null) return null
  const [, a, b] = m as unknown as [string, string, string]
  if (a === "" && b === "") return null
  if (a === "") {
    const suffix = Number(b)
    if (suffix === 0) return "unsatisfiable"
    return size === 0 ? "unsatisfiable" : { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(a)
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1)
  if (start >= size) return "unsatisfiable"
  if (b !== "" && Number(b) < start) return null
  return { start, end }
}

const randomAccess = (fh: fs.promises.FileHandle, size: number): Age.RandomAccess => ({
  size,
  read: async (position, length) => {
    const buf = Buffer.allocUnsafe(length)
    const { bytesRead } = await fh.read(buf, 0, length, position)
    return buf.subarray(0, bytesRead)
  }
})

/**
 * Serves a stored file with `Content-Length`, `ETag`, ranges and an RFC 6266 filename. Encrypted
 * blobs are authenticated over the requested range before the status line is sent, so corruption
 * is an error response, never a truncated 200.
 */
export const serveFile = Effect.fn("Downloads.serveFile")(function*(
  meta: FileMeta,
  headers: Record<string, string | undefined>,
  method = "GET"
) {
  const blobs = yield* BlobStore
  const cipher = yield* Cipher
  const etag = `"${meta.sha256}"`
  const base = {
    "etag": etag,
    "accept-ranges": "bytes",
    "content-disposition": contentDisposition(meta.filename),
    "x-content-type-options": "nosniff",
    "cache-control": "private, no-cache"
  }
  const inm = headers["if-none-match"]
  if (inm !== undefined && inm.split(",").some((t) => t.trim() === etag || t.trim() === "*")) {
    return HttpServerResponse.empty({ status: 304, headers: base })
  }
  const ifRange = headers["if-range"]
  const range = ifRange !== undefined && ifRange.trim() !== etag ? null : parseRange(headers["range"], meta.size)
  if (range === "unsatisfiable") {
    return HttpServerResponse.unsafeJson(
      { error: "range_not_satisfiable", message: `file has ${meta.size} bytes` },
      { status: 416, headers: { ...base, "content-range": `bytes */${meta.size}` } }
    )
  }
  const start = range?.start ?? 0
  const end = range?.end ?? meta.size - 1
  const length = meta.size === 0 ? 0 : end - start + 1
  const responseHeaders = {
    ...base,
    "content-length": String(length),
    ...(range === null ? {} : { "content-range": `bytes ${start}-${end}/${meta.size}` })
  }
  if (method === "HEAD") {
    // Nothing is opened for HEAD: a body nobody reads would hold a file handle.
    return HttpServerResponse.empty({ status: range === null ? 200 : 206, headers: { ...responseHeaders, "content-type": meta.mime } })
  }
  const path = blobs.blobPath(meta.tenant_id, meta.file_id)
  const fh = yield* Effect.tryPromise({
    try: () => fs.promises.open(path, "r"),
    catch: (cause) => new BlobUnreadable({ reason: "blob missing", cause })
  })
  const closeOnError = <A, E, R>(eff: Effect.Effect<A, E, R>) =>
    Effect.tapErrorCause(eff, () => Effect.promise(() => fh.close().catch(() => undefined)))

  const body = yield* closeOnError(Effect.gen(function*() {
    if (!meta.encrypted) {
      return length === 0 ? Readable.from([]) : fh.createReadStream({ start, end, autoClose: true })
    }
    const stat = yield* Effect.tryPromise({ try: () => fh.stat(), catch: (cause) => new BlobUnreadable({ reason: "stat", cause }) })
    const ra = randomAccess(fh, stat.size)
    yield* Effect.tryPromise({
      try: async () => {
        const plain = Age.plaintextSize((await Age.readHeader(ra)).length, stat.size)
        if (plain !== meta.size) throw new Age.AgeError("truncated", "stored size does not match")
        if (length === 0) return
        for await (const _ of Age.decryptRange(cipher.identities, ra, start, end, { verifyFinalChunk: true })) {
          // authenticate every chunk of the range before answering
        }
      },
      catch: (cause) => new BlobUnreadable({ reason: "integrity check failed", cause })
    })
    const stream = length === 0 ? Readable.from([]) : Readable.from(Age.decryptRange(cipher.identities, ra, start, end))
    stream.once("close", () => void fh.close().catch(() => undefined))
    return stream
  }))
  if (!meta.encrypted && length === 0) yield* Effect.promise(() => fh.close().catch(() => undefined))

  return HttpServerResponse.raw(body, {
    status: range === null ? 200 : 206,
    contentType: meta.mime,
    headers: responseHeaders
  })
})
