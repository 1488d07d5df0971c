// chardet rather than jschardet: it is typed, dependency-free, ported from ICU's detectors (GB18030,
// Big5, EUC-JP/KR, Shift_JIS, ISO-8859-x, windows-125x) and returns ranked candidates, so a candidate
// that does not decode cleanly can be skipped for the next one.
import { analyse } from "chardet"

export interface Decoded {
  readonly text: string
  readonly encoding: string
}

const sampleBytes = 64 * 1024

const tryDecode = (label: string, bytes: Uint8Array, fatal: boolean): string | undefined => {
  try {
    return new TextDecoder(label, { fatal, ignoreBOM: false }).decode(bytes)
  } catch {
    return undefined
  }
}

/** UTF-16 without a BOM shows as NUL bytes on one side of most ASCII characters. */
const utf16WithoutBom = (bytes: Uint8Array): "utf-16le" | "utf-16be" | undefined => {
  const n = Math.min(bytes.length, sampleBytes) & ~1
  if (n < 4) return undefined
  let evenZeros = 0
  let oddZeros = 0
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) evenZeros++
    if (bytes[i + 1] === 0) oddZeros++
  }
  const pairs = n / 2
  if (oddZeros > pairs * 0.3 && evenZeros < pairs * 0.05) return "utf-16le"
  if (evenZeros > pairs * 0.3 && oddZeros < pairs * 0.05) return "utf-16be"
  return undefined
}

const chardetToLabel: Record<string, string> = {
  "GB18030": "gb18030",
  "Big5": "big5",
  "EUC-JP": "euc-jp",
  "EUC-KR": "euc-kr",
  "Shift_JIS": "shift_jis",
  "ISO-2022-JP": "iso-2022-jp",
  "KOI8-R": "koi8-r",
  "UTF-16LE": "utf-16le",
  "UTF-16BE": "utf-16be",
  "ISO-8859-1": "windows-1252",
  "ISO-8859-2": "iso-8859-2",
  "ISO-8859-5": "iso-8859-5",
  "ISO-8859-6": "iso-8859-6",
  "ISO-8859-7": "iso-8859-7",
  "ISO-8859-8": "iso-8859-8",
  "ISO-8859-9": "windows-1254",
  "windows-1250": "windows-1250",
  "windows-1251": "windows-1251",
  "windows-1252": "windows-1252",
  "windows-1253": "windows-1253",
  "windows-1254": "windows-1254",
  "windows-1255": "windows-1255",
  "windows-1256": "windows-1256"
}

/** Share of characters that no text file contains: C0 controls other than whitespace, and U+FFFD. */
export const garbageRatio = (text: string): number => {
  const n = Math.min(text.length, sampleBytes)
  if (n === 0) return 0
  let bad = 0
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f || c === 0xfffd) bad++
  }
  return bad / n
}

const acceptable = (text: string) => garbageRatio(text) < 0.02

/**
 * Decodes text in any common encoding: a BOM wins, then strict UTF-8, then UTF-16 without BOM,
 * then the detector's candidates in rank order. `undefined` means the bytes are not text.
 */
export const decodeText = (bytes: Uint8Array): Decoded | undefined => {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    const text = tryDecode("utf-8", bytes, false)
    return text !== undefined ? { text, encoding: "utf-8" } : undefined
  }
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    const text = tryDecode("utf-16le", bytes, false)
    return text !== undefined && acceptable(text) ? { text, encoding: "utf-16le" } : undefined
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const text = tryDecode("utf-16be", bytes, false)
    return text !== undefined && acceptable(text) ? { text, encoding: "utf-16be" } : undefined
  }
  const utf8 = tryDecode("utf-8", bytes, true)
  if (utf8 !== undefined) return acceptable(utf8) ? { text: utf8, encoding: "utf-8" } : undefined
  const utf16 = utf16WithoutBom(bytes)
  if (utf16 !== undefined) {
    const text = tryDecode(utf16, bytes, false)
    if (text !== undefined && acceptable(text)) return { text, encoding: utf16 }
  }
  // Random bytes contain NULs; single- and double-byte legacy encodings of text do not.
  const head = bytes.subarray(0, sampleBytes)
  if (head.includes(0)) return undefined
  for (const match of analyse(head)) {
    if (match.confidence < 10) continue
    const label = chardetToLabel[match.name]
    if (label === undefined) continue
    const text = tryDecode(label, bytes, true) ?? (match.confidence >= 50 ? tryDecode(label, bytes, false) : undefined)
    if (text !== undefined && acceptable(text)) return { text, encoding: label }
  }
  return undefined
}
