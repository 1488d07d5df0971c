import { fileTypeFromBuffer } from "file-type"

const byExtension: Record<string, string> = {
  txt: "text/plain", md: "text/markdown", markdown: "text/markdown", html: "text/html", htm: "text/html",
  css: "text/css", csv: "text/csv", tsv: "text/tab-separated-values", json: "application/json",
  yaml: "application/yaml", yml: "application/yaml", toml: "application/toml", xml: "application/xml",
  js: "text/javascript", mjs: "text/javascript", ts: "text/x-typescript", tsx: "text/x-typescript",
  py: "text/x-python", rs: "text/x-rust", go: "text/x-go", java: "text/x-java", c: "text/x-c", h: "text/x-c",
  cpp: "text/x-c++", cc: "text/x-c++", hpp: "text/x-c++", sh: "text/x-shellscript", rb: "text/x-ruby",
  sql: "application/sql", log: "text/plain", ini: "text/plain", conf: "text/plain"
}

const extensionOf = (filename: string) => {
  const dot = filename.lastIndexOf(".")
  return dot > 0 ? filename.slice(dot + 1).toLowerCase() : ""
}

const looksLikeText = (head: Buffer) => {
  if (head.length === 0) return true
  if (head.includes(0)) return false
  // The head may end inside a multi-byte character; ignore up to three trailing bytes.
  for (let cut = 0; cut <= Math.min(3, head.length - 1); cut++) {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, head.length - cut))
      return true
    } catch {
      continue
    }
  }
  return false
}

/**
 * The MIME type to store: the client's, unless it sent none or the generic octet-stream, in which
 * case the content decides (magic numbers, then text detection), with the extension as a hint.
 */
export const resolveMime = async (declared: string | undefined, head: Buffer, filename: string): Promise<string> => {
  const clean = declared?.split(";")[0]?.trim().toLowerCase() ?? ""
  if (clean !== "" && clean !== "application/octet-stream" && /^[a-z0-9.+-]+\/[a-z0-9.+-]+$/.test(clean)) {
    return clean
  }
  const sniffed = await fileTypeFromBuffer(head).catch(() => undefined)
  if (sniffed !== undefined) return sniffed.mime
  const byExt = byExtension[extensionOf(filename)]
  if (looksLikeText(head)) return byExt ?? "text/plain"
  return "application/octet-stream"
}

/** A display name safe to store and send: no directories, no control characters, bounded length. */
export const cleanFilename = (raw: string | undefined): string => {
  const base = (raw ?? "").split(/[\\/]/).pop() ?? ""
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\u0000-\u001f\u007f]/g, "").trim()
  const bounded = Array.from(cleaned).slice(0, 255).join("")
  return bounded === "" || bounded === "." || bounded === ".." ? "file" : bounded
}

/** RFC 6266 `Content-Disposition` with an ASCII fallback and the exact name in `filename*`. */
export const contentDisposition = (filename: string, kind: "attachment" | "inline" = "attachment"): string => {
  const ascii = filename.replace(/[^\x20-\x7e]/g, "_").replace(/["\\]/g, "_")
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encoded}`
}
