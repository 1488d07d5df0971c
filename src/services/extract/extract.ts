import { decodeText } from "./decode.js"
import { detectContainer, detectTextKind } from "./detect.js"
import { guessLanguage } from "./language.js"
import { htmlSegments, xmlSegments } from "./markup.js"
import { docxSegments, pptxSegments } from "./office.js"
import { pdfSegments } from "./pdf.js"
import {
  codeSegments, csvSegments, jsonSegments, markdownSegments, plainSegments, tomlSegments, yamlSegments
} from "./text.js"
import {
  defaultLimits, ExtractAbort, notExtracted, type DocType, type ExtractLimits, type Outcome, type Segment, type SourceInfo
} from "./types.js"

interface Parsed {
  readonly extractor: string
  readonly docType: DocType
  readonly encoding?: string
  readonly segments: ReadonlyArray<Segment>
  readonly warnings: ReadonlyArray<string>
  readonly truncated?: boolean
}

const parseText = (bytes: Uint8Array, info: SourceInfo): Parsed | Outcome => {
  const decoded = decodeText(bytes)
  if (decoded === undefined) return notExtracted("unsupported", "binary content of an unknown type", "binary")
  const text = decoded.text.replace(/^\uFEFF/, "")
  const kind = detectTextKind(text, info)
  const base = { docType: kind.docType, encoding: decoded.encoding, warnings: [] as Array<string> }
  switch (kind.docType) {
    case "markdown":
      return { ...base, extractor: "markdown", segments: markdownSegments(text) }
    case "html": {
      const html = htmlSegments(text)
      return { ...base, extractor: "htmlparser2", segments: html.segments }
    }
    case "xml":
      return { ...base, extractor: "htmlparser2-xml", segments: xmlSegments(text) }
    case "json": {
      const segments = jsonSegments(text)
      if (segments !== undefined) return { ...base, extractor: "json", segments }
      return { ...base, docType: "text", extractor: "text", segments: plainSegments(text), warnings: ["invalid JSON, read as plain text"] }
    }
    case "yaml":
      return { ...base, extractor: "yaml-sections", segments: yamlSegments(text) }
    case "toml":
      return { ...base, extractor: "toml-sections", segments: tomlSegments(text) }
    case "csv":
      return { ...base, extractor: "csv", segments: csvSegments(text, info.filename) }
    case "code":
      return { ...base, extractor: `code${kind.codeLanguage !== undefined ? `:${kind.codeLanguage}` : ""}`, segments: codeSegments(text) }
    default:
      return { ...base, extractor: "text", segments: plainSegments(text) }
  }
}

const isOutcome = (p: Parsed | Outcome): p is Outcome => "_tag" in p

/** Keeps whole segments up to `maxChars`, then a cut last one; the rest is dropped. */
const capChars = (segments: ReadonlyArray<Segment>, maxChars: number) => {
  const kept: Array<Segment> = []
  let total = 0
  for (const s of segments) {
    if (total + s.text.length <= maxChars) {
      kept.push(s)
      total += s.text.length
      continue
    }
    let room = maxChars - total
    if (room > 0) {
      if (/[\uD800-\uDBFF]/.test(s.text[room - 1] ?? "")) room--
      if (room > 0) kept.push({ ...s, text: s.text.slice(0, room) })
      total += room
    }
    return { kept, total, truncated: true }
  }
  return { kept, total, truncated: false }
}

/**
 * Extracts text segments from a document, in this thread and without limits on time or memory (see
 * `runExtraction` for those). Never rejects: every failure is an outcome.
 */
export const extract = async (bytes: Uint8Array, info: SourceInfo = {}, overrides: Partial<ExtractLimits> = {}): Promise<Outcome> => {
  const limits: ExtractLimits = { ...defaultLimits, ...overrides }
  if (bytes.length > limits.maxBytes) {
    return notExtracted("limit", `file is ${bytes.length} bytes (limit ${limits.maxBytes})`, "binary")
  }
  let docType: DocType = "binary"
  try {
    const container = await detectContainer(bytes, info)
    let parsed: Parsed | Outcome
    switch (container._tag) {
      case "binary":
        return notExtracted("unsupported", `unsupported type ${container.mime}`, "binary")
      case "pdf": {
        docType = "pdf"
        const pdf = await pdfSegments(bytes, limits)
        parsed = { extractor: "unpdf", docType, segments: pdf.segments, warnings: pdf.warnings, truncated: pdf.truncated }
        break
      }
      case "docx": {
        docType = "docx"
        const docx = await docxSegments(bytes, limits)
        parsed = { extractor: "mammoth", docType, segments: docx.segments, warnings: docx.warnings }
        break
      }
      case "pptx": {
        docType = "pptx"
        const pptx = await pptxSegments(bytes, limits)
        parsed = { extractor: "pptx", docType, segments: pptx.segments, warnings: pptx.warnings, truncated: pptx.truncated === true }
        break
      }
      case "text":
        parsed = parseText(bytes, info)
    }
    if (isOutcome(parsed)) return parsed
    docType = parsed.docType
    const nonEmpty = parsed.segments.filter((s) => s.text.trim() !== "")
    if (nonEmpty.length === 0) {
      return notExtracted("empty", "no text found", parsed.docType, { extractor: parsed.extractor, warnings: parsed.warnings })
    }
    const capped = capChars(nonEmpty, limits.maxChars)
    const warnings = capped.truncated ? [...parsed.warnings, `text cut at ${limits.maxChars} characters`] : parsed.warnings
    return {
      _tag: "Extracted",
      extractor: parsed.extractor,
      docType: parsed.docType,
      language: guessLanguage(capped.kept.map((s) => s.text)),
      ...(parsed.encoding !== undefined ? { encoding: parsed.encoding } : {}),
      segments: capped.kept,
      warnings,
      stats: { bytes: bytes.length, chars: capped.total, segments: capped.kept.length, truncated: capped.truncated || parsed.truncated === true }
    }
  } catch (cause) {
    if (cause instanceof ExtractAbort) return notExtracted(cause.kind, cause.message, docType)
    if (cause instanceof RangeError && /memory|allocation|Invalid (array|string) length/i.test(cause.message)) {
      return notExtracted("limit", `out of memory: ${cause.message}`, docType)
    }
    return notExtracted("corrupt", `${docType} unreadable: ${(cause as Error)?.message ?? String(cause)}`, docType)
  }
}
