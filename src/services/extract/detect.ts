import { fileTypeFromBuffer } from "file-type"
import { decodeText } from "./decode.js"
import type { DocType, SourceInfo } from "./types.js"

export type Container =
  | { readonly _tag: "pdf" }
  | { readonly _tag: "docx" }
  | { readonly _tag: "pptx" }
  | { readonly _tag: "text" }
  | { readonly _tag: "binary"; readonly mime: string }

export const extensionOf = (filename: string | undefined): string => {
  const base = (filename ?? "").split(/[\\/]/).pop() ?? ""
  const dot = base.lastIndexOf(".")
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : ""
}

const cleanMime = (mime: string | undefined) => mime?.split(";")[0]?.trim().toLowerCase() ?? ""

// file-type reports these for content that is really text; the text extractors handle them.
const textualMagic = new Set(["application/xml", "image/svg+xml", "text/html", "application/rtf"])

/**
 * The container decided by magic bytes first; the name and declared MIME only break ties that the
 * content cannot (a bare ZIP named .docx), so a mislabelled upload never picks the wrong parser.
 */
export const detectContainer = async (bytes: Uint8Array, info: SourceInfo): Promise<Container> => {
  // FF FE / FE FF also read as an MPEG frame sync; a byte order mark means text
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return { _tag: "text" }
  const sniffed = await fileTypeFromBuffer(bytes).catch(() => undefined)
  if (sniffed === undefined) return { _tag: "text" }
  if (sniffed.ext === "pdf") return { _tag: "pdf" }
  if (sniffed.ext === "docx") return { _tag: "docx" }
  if (sniffed.ext === "pptx") return { _tag: "pptx" }
  if (sniffed.ext === "zip") {
    const ext = extensionOf(info.filename)
    const mime = cleanMime(info.declaredMime)
    if (ext === "docx" || mime.endsWith("wordprocessingml.document")) return { _tag: "docx" }
    if (ext === "pptx" || mime.endsWith("presentationml.presentation")) return { _tag: "pptx" }
  }
  if (textualMagic.has(sniffed.mime)) return { _tag: "text" }
  // Weak signatures (a two-byte MPEG sync, a short ASCII tag) also match real text; text that decodes
  // cleanly wins over them, while true binaries fail to decode (NUL and control bytes).
  if (decodeText(bytes) !== undefined) return { _tag: "text" }
  return { _tag: "binary", mime: sniffed.mime }
}

const codeExtensions: Record<string, string> = {
  js: "javascript", mjs: "javascript", cjs: "javascript", jsx: "javascript",
  ts: "typescript", tsx: "typescript", mts: "typescript", cts: "typescript",
  py: "python", go: "go", rs: "rust", java: "java", kt: "kotlin", scala: "scala", cs: "csharp",
  c: "c", h: "c", cpp: "cpp", cc: "cpp", cxx: "cpp", hpp: "cpp", hh: "cpp",
  rb: "ruby", php: "php", sh: "shell", bash: "shell", zsh: "shell", swift: "swift", sql: "sql"
}

const textExtensions: Record<string, DocType> = {
  md: "markdown", markdown: "markdown", mdx: "markdown",
  json: "json", jsonl: "text", ndjson: "text", yaml: "yaml", yml: "yaml", toml: "toml",
  xml: "xml", svg: "xml", xsd: "xml", xsl: "xml", rss: "xml", atom: "xml", plist: "xml",
  csv: "csv", tsv: "csv", html: "html", htm: "html", xhtml: "html"
}

const mimeKinds: ReadonlyArray<readonly [RegExp, DocType]> = [
  [/^text\/markdown$/, "markdown"],
  [/^text\/html$|^application\/xhtml\+xml$/, "html"],
  [/json$/, "json"],
  [/yaml$/, "yaml"],
  [/toml$/, "toml"],
  [/xml$/, "xml"],
  [/^text\/(csv|tab-separated-values)$/, "csv"],
  [/^text\/(x-|javascript)|^application\/(javascript|x-sh)/, "code"]
]

export interface TextKind {
  readonly docType: DocType
  readonly codeLanguage?: string
}

const sniffText = (text: string): DocType | undefined => {
  const head = text.slice(0, 2048).trimStart()
  if (/^<!doctype html|^<html[\s>]/i.test(head)) return "html"
  if (head.startsWith("<?xml")) return /<html[\s>]/i.test(head) ? "html" : "xml"
  if (/^[{[]/.test(head)) {
    try {
      JSON.parse(text)
      return "json"
    } catch {
      return undefined
    }
  }
  if (/^#!.*\b(ba|z)?sh\b/.test(head)) return "code"
  if (/^#!.*\bpython/.test(head)) return "code"
  if (/^#{1,6} \S/m.test(head) && /^(#{1,6} |[-*] |\d+\. |```)/m.test(text.slice(0, 20_000))) return "markdown"
  return undefined
}

/** The text format: extension, then the content itself, then the declared MIME as a last hint. */
export const detectTextKind = (text: string, info: SourceInfo): TextKind => {
  const ext = extensionOf(info.filename)
  const code = codeExtensions[ext]
  if (code !== undefined) return { docType: "code", codeLanguage: code }
  const byExt = textExtensions[ext]
  if (byExt !== undefined) return { docType: byExt }
  const sniffed = sniffText(text)
  if (sniffed === "code") return { docType: "code", codeLanguage: /python/.test(text.slice(0, 100)) ? "python" : "shell" }
  if (sniffed !== undefined) return { docType: sniffed }
  const mime = cleanMime(info.declaredMime)
  for (const [pattern, docType] of mimeKinds) {
    if (pattern.test(mime)) return { docType }
  }
  return { docType: "text" }
}
