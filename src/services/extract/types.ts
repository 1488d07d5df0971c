/** Where a piece of extracted text came from; only the fields that fit the format are set. */
export interface Locator {
  readonly page?: number
  readonly page_end?: number
  readonly slide?: number
  readonly paragraph?: number
  readonly paragraph_end?: number
  readonly section?: string
  readonly heading?: string
  readonly line_start?: number
  readonly line_end?: number
  readonly row_start?: number
  readonly row_end?: number
}

export interface Segment {
  readonly text: string
  readonly locator: Locator
}

export type Language = "zh" | "en" | "mixed" | "unknown"

export type DocType =
  | "text" | "markdown" | "json" | "yaml" | "toml" | "xml" | "csv" | "html" | "code"
  | "pdf" | "docx" | "pptx" | "binary"

export interface ExtractStats {
  readonly bytes: number
  readonly chars: number
  readonly segments: number
  readonly truncated: boolean
}

export interface Extracted {
  readonly _tag: "Extracted"
  readonly extractor: string
  readonly docType: DocType
  readonly language: Language
  readonly encoding?: string
  readonly segments: ReadonlyArray<Segment>
  readonly warnings: ReadonlyArray<string>
  readonly stats: ExtractStats
}

/**
 * `unsupported`: a type we do not read; `empty`: no text; `corrupt`: a permanent parse error;
 * `limit`: a time, memory, size, page or decompression limit was hit.
 */
export type NotExtractedKind = "unsupported" | "empty" | "corrupt" | "limit"

export interface NotExtracted {
  readonly _tag: "NotExtracted"
  readonly kind: NotExtractedKind
  readonly reason: string
  readonly docType: DocType
  readonly extractor?: string
  readonly warnings: ReadonlyArray<string>
}

/** Plain data only: an outcome crosses a worker thread by structured clone. */
export type Outcome = Extracted | NotExtracted

export interface SourceInfo {
  readonly filename?: string
  readonly declaredMime?: string
}

export interface ExtractLimits {
  /** Input larger than this is refused without parsing. */
  readonly maxBytes: number
  /** PDF pages read; the rest are dropped and the outcome is marked truncated. */
  readonly maxPages: number
  /** Extracted characters kept; the rest are dropped and the outcome is marked truncated. */
  readonly maxChars: number
  /** DOCX/PPTX: entries in the archive. */
  readonly maxZipEntries: number
  /** DOCX/PPTX: declared and actually inflated bytes, summed over the archive. */
  readonly maxInflatedBytes: number
  /** Wall-clock budget of a worker-thread extraction. */
  readonly timeoutMs: number
  /** V8 old-generation heap of the extraction worker. */
  readonly maxMemoryMb: number
}

export const defaultLimits: ExtractLimits = {
  maxBytes: 100 * 1024 * 1024,
  maxPages: 2_000,
  maxChars: 5_000_000,
  maxZipEntries: 10_000,
  maxInflatedBytes: 256 * 1024 * 1024,
  timeoutMs: 120_000,
  maxMemoryMb: 768
}

export const notExtracted = (
  kind: NotExtractedKind,
  reason: string,
  docType: DocType,
  extra: { readonly extractor?: string; readonly warnings?: ReadonlyArray<string> } = {}
): NotExtracted => ({
  _tag: "NotExtracted",
  kind,
  reason,
  docType,
  ...(extra.extractor !== undefined ? { extractor: extra.extractor } : {}),
  warnings: extra.warnings ?? []
})

/** Thrown inside extractors to end with a given outcome kind (caught by `extract`). */
export class ExtractAbort extends Error {
  constructor(readonly kind: NotExtractedKind, message: string) {
    super(message)
  }
}
