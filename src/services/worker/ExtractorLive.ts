import { Effect, Layer } from "effect"
import { chunk, type Locator, runExtraction } from "../extract/index.js"
import { type DocumentChunk, Extractor, ExtractorUnavailable } from "./Extractor.js"
import { WorkerConfig } from "./WorkerConfig.js"

/**
 * The locator header deep-memory's analyzer reads (`page`, `slide`, `section`, `chunk`): line,
 * paragraph and row ranges become the section label, and every chunk carries its number in the file,
 * so the header is always valid (an invalid one would stay in the stored text).
 */
export const headerOf = (locator: Locator, n: number): DocumentChunk["locator"] => {
  const range = (what: string, a?: number, b?: number) =>
    a === undefined ? undefined : b === undefined || b === a ? `${what} ${a}` : `${what} ${a}–${b}`
  const label = locator.section ?? locator.heading
  const where = range("lines", locator.line_start, locator.line_end) ??
    range("rows", locator.row_start, locator.row_end) ??
    (label === undefined ? range("paragraphs", locator.paragraph, locator.paragraph_end) : undefined)
  const section = [label, where].filter((x) => x !== undefined).join(", ")
  return {
    ...(locator.page === undefined ? {} : { page: locator.page }),
    ...(locator.slide === undefined ? {} : { slide: locator.slide }),
    ...(section === "" ? {} : { section: section.slice(0, 200) }),
    chunk: n
  }
}

/** Extraction in a child process with the worker's time, memory and page limits, then chunking. */
export const ExtractorLive = Layer.effect(
  Extractor,
  Effect.gen(function*() {
    const config = yield* WorkerConfig
    return {
      extract: (bytes, file, chunking) =>
        runExtraction(bytes, { filename: file.filename, declaredMime: file.declaredMime }, {
          maxBytes: config.maxDownloadBytes,
          maxPages: config.extractMaxPages,
          timeoutMs: config.extractTimeoutMs,
          maxMemoryMb: config.extractMaxMemoryMb
          // A child process, not a worker thread: a sudden huge allocation in a thread can abort the
          // whole worker (nodejs/node#47224); a process is bounded by --max-old-space-size alone.
        }, { isolation: "process" }).pipe(
          Effect.map((outcome) => {
            if (outcome._tag === "NotExtracted") {
              return { _tag: "NoText", kind: outcome.kind, reason: outcome.reason, extractor: outcome.extractor ?? outcome.docType } as const
            }
            const chunks = chunk(outcome.segments, chunking).map((c, i) => ({ text: c.text, locator: headerOf(c.locator, i + 1) }))
            if (chunks.length === 0) return { _tag: "NoText", kind: "empty", reason: "no text in the file", extractor: outcome.extractor } as const
            return {
              _tag: "Document",
              document: {
                extractor: outcome.extractor,
                docType: outcome.docType,
                language: outcome.language,
                chunks,
                warnings: outcome.warnings,
                stats: outcome.stats
              }
            } as const
          }),
          Effect.mapError((e) => new ExtractorUnavailable({ message: e.message }))
        )
    }
  })
)
