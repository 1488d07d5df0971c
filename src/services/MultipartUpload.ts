import type { IncomingMessage } from "node:http"
import { pipeline, type Readable } from "node:stream"
import * as MP from "multipasta/node"
import { Data } from "effect"

export class MultipartInvalid extends Data.TaggedError("MultipartInvalid")<{ readonly reason: string }> {}
export class MultipartTooLarge extends Data.TaggedError("MultipartTooLarge")<{ readonly reason: string }> {}

export interface DispositionParams {
  readonly name: string | undefined
  readonly filename: string | undefined
}

const header = (h: string | ReadonlyArray<string> | undefined) => (typeof h === "string" ? h : h?.[0])

const PARAM = /;\s*([!#$%&'*+.^\w`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)/g

/**
 * `Content-Disposition` parameters, accepting the raw UTF-8 that browsers and fetch put in
 * `filename` (the HTML form encoding, which percent-encodes only `"`, CR and LF). The parser
 * bundled with the platform rejects non-Latin-1 values and would silently turn a file named in
 * Chinese into an anonymous part.
 */
export const parseDisposition = (header: string | undefined): DispositionParams => {
  const params: Record<string, string> = {}
  if (header !== undefined) {
    for (const m of header.matchAll(PARAM)) {
      const key = m[1]!.toLowerCase()
      const rawValue = m[2]!.trim()
      params[key] = rawValue.startsWith("\"") ? rawValue.slice(1, -1).replace(/\\(.)/g, "$1") : rawValue
    }
  }
  let filename = params["filename"]
  const extended = params["filename*"]
  if (extended !== undefined) {
    const match = /^([\w-]+)'[^']*'(.*)$/.exec(extended)
    try {
      if (match !== null && match[1]!.toLowerCase() === "utf-8") filename = decodeURIComponent(match[2]!)
    } catch {
      // keep the plain filename
    }
  } else if (filename !== undefined) {
    filename = filename.replace(/%22/g, "\"").replace(/%0D|%0A/gi, "")
  }
  return { name: params["name"], filename }
}

export type UploadPart =
  | { readonly _tag: "Field"; readonly name: string; readonly value: string }
  | { readonly _tag: "File"; readonly name: string; readonly filename: string; readonly contentType: string; readonly content: Readable }

/**
 * Streams the parts of a multipart request. File contents arrive as Node readables that must be
 * consumed (or drained) before the next part is produced; memory stays bounded by the parser.
 */
export const readParts = (
  request: IncomingMessage,
  limits: { readonly maxTotalBytes: number; readonly maxParts: number; readonly maxFieldBytes: number }
): AsyncIterable<UploadPart> => ({
  async *[Symbol.asyncIterator]() {
    let parser: MP.MultipastaStream
    try {
      parser = MP.make({
        headers: request.headers,
        maxParts: limits.maxParts,
        maxFieldSize: limits.maxFieldBytes,
        maxTotalSize: limits.maxTotalBytes,
        isFile: (info) => parseDisposition(header(info.headers["content-disposition"])).filename !== undefined
      })
    } catch (cause) {
      throw new MultipartInvalid({ reason: describe(cause) })
    }
    let failure: unknown
    parser.on("error", (e) => {
      failure = e
    })
    pipeline(request, parser, (error) => {
      if (error) failure ??= error
    })
    try {
      for await (const part of parser as AsyncIterable<MP.Part>) {
        const disposition = parseDisposition(header(part.info.headers["content-disposition"]))
        if (part._tag === "Field") {
          yield { _tag: "Field", name: disposition.name ?? part.info.name, value: MP.decodeField(part.info, part.value) }
        } else {
          yield {
            _tag: "File",
            name: disposition.name ?? part.info.name,
            filename: disposition.filename ?? "",
            contentType: part.info.contentType,
            content: part
          }
        }
      }
    } catch (cause) {
      throw classify(failure ?? cause)
    }
    if (failure !== undefined) throw classify(failure)
  }
})

const describe = (e: unknown) =>
  typeof e === "object" && e !== null && "_tag" in e ? String((e as { _tag: unknown })._tag) : "malformed body"

/** Maps parser failures (also those surfacing on a file part's stream) to our two errors. */
export const classify = (e: unknown): MultipartInvalid | MultipartTooLarge => {
  if (typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "ReachedLimit") {
    const limit = String((e as { limit?: unknown }).limit)
    return limit === "MaxParts"
      ? new MultipartInvalid({ reason: "too many parts" })
      : new MultipartTooLarge({ reason: limit })
  }
  if (e instanceof MultipartInvalid || e instanceof MultipartTooLarge) return e
  return new MultipartInvalid({ reason: describe(e) })
}
