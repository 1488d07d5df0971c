import { Context, Data, type Effect } from "effect"

/** One piece of a document with where it came from (page, slide, section, lines…). */
export interface DocumentChunk {
  readonly text: string
  readonly locator: Readonly<Record<string, string | number>>
}

export interface ExtractedDocument {
  readonly extractor: string
  readonly docType: string
  readonly language: string
  readonly chunks: ReadonlyArray<DocumentChunk>
  readonly warnings: ReadonlyArray<string>
  readonly stats: { readonly bytes: number; readonly chars: number; readonly segments: number; readonly truncated: boolean }
}

/**
 * What extraction made of a file: a document, or why not — `unsupported` type, `empty` text,
 * `limit` (time, memory, pages, archive size) and `corrupt` (a permanent parse error).
 */
export type ExtractionResult =
  | { readonly _tag: "Document"; readonly document: ExtractedDocument }
  | { readonly _tag: "NoText"; readonly kind: "unsupported" | "empty" | "limit" | "corrupt"; readonly reason: string; readonly extractor: string }

export interface ExtractorShape {
  readonly extract: (
    bytes: Uint8Array,
    file: { readonly filename: string; readonly declaredMime: string },
    chunking: { readonly maxChars: number; readonly overlapChars: number }
  ) => Effect.Effect<ExtractionResult, ExtractorUnavailable>
}

/** Extraction itself could not run (its thread failed to start or crashed): not the file's fault. */
export class ExtractorUnavailable extends Data.TaggedError("ExtractorUnavailable")<{ readonly message: string }> {}

/** Turns file bytes into chunks, isolated from the worker (thread, time and memory limits). */
export class Extractor extends Context.Tag("rustfs-worker/Extractor")<Extractor, ExtractorShape>() {}
