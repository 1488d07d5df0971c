import type { Locator, Segment } from "./types.js"

export interface ChunkOptions {
  readonly maxChars: number
  readonly overlapChars: number
}

export interface Chunk {
  readonly text: string
  readonly locator: Locator
}

export const defaultChunkOptions: ChunkOptions = { maxChars: 3500, overlapChars: 200 }

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff

/** Moves `i` back off the middle of a surrogate pair. */
const onCharBoundary = (text: string, i: number) => (i > 0 && i < text.length && isLow(text.charCodeAt(i)) && isHigh(text.charCodeAt(i - 1)) ? i - 1 : i)

const sentenceEnd = /[。！？；!?;…]["'”’」』）)]*|[.](?=["'”’)\]]*\s)|\n/g

/** The last cut position in text[from, to) after which a new piece may start, by boundary strength. */
const bestCut = (text: string, from: number, to: number): number => {
  const window = text.slice(from, to)
  const paragraph = window.lastIndexOf("\n\n")
  if (paragraph > 0) return from + paragraph + 2
  let sentence = -1
  for (const m of window.matchAll(sentenceEnd)) sentence = m.index + m[0].length
  if (sentence > 0) return from + sentence
  const space = window.search(/\s\S*$/)
  if (space > 0) return from + space + 1
  return onCharBoundary(text, to)
}

/** Where the overlap starts: at a word or sentence start inside the last `overlap` characters if there is one. */
const overlapStart = (text: string, end: number, overlap: number, floor: number): number => {
  if (overlap <= 0) return end
  const from = Math.max(floor, end - overlap)
  const window = text.slice(from, end)
  const m = /[\s。！？；，、]/.exec(window)
  const at = m !== null && m.index < window.length - 1 ? from + m.index + 1 : from
  let start = at
  if (start < text.length && isLow(text.charCodeAt(start))) start++
  return start
}

/** Splits one text into pieces of at most `maxChars`, cut at the strongest boundary in the back half. */
export const splitText = (text: string, options: ChunkOptions): Array<string> => {
  const { maxChars } = options
  if (maxChars < 2) throw new Error("maxChars must be at least 2")
  const overlap = Math.max(0, Math.min(options.overlapChars, Math.floor(maxChars / 4)))
  const out: Array<string> = []
  let start = 0
  while (start < text.length) {
    if (text.length - start <= maxChars) {
      out.push(text.slice(start))
      break
    }
    const limit = onCharBoundary(text, start + maxChars)
    let end = bestCut(text, start + Math.floor(maxChars / 2), limit)
    if (end <= start) end = limit
    out.push(text.slice(start, end))
    const next = overlapStart(text, end, overlap, start + 1)
    start = next > start ? next : end
  }
  return out.filter((p) => p.trim() !== "")
}

const groupKey = (l: Locator) => JSON.stringify([l.slide, l.section, l.heading, l.page === undefined ? undefined : "page"])

const mergeLocators = (first: Locator, last: Locator): Locator => ({
  ...first,
  ...(last.page !== undefined && last.page !== first.page ? { page_end: last.page_end ?? last.page } : {}),
  ...(last.paragraph !== undefined && last.paragraph !== first.paragraph ? { paragraph_end: last.paragraph_end ?? last.paragraph } : {}),
  ...(last.line_end !== undefined ? { line_end: last.line_end } : {}),
  ...(last.row_end !== undefined ? { row_end: last.row_end } : {})
})

/**
 * Chunks for indexing: consecutive small segments under the same label are packed together (their
 * locator becomes a range), a long segment is split on paragraph, then sentence (CJK 。！？ included)
 * or line, then whitespace boundaries, with `overlapChars` repeated between its consecutive pieces.
 * No chunk exceeds `maxChars` and no cut falls inside a surrogate pair.
 */
export const chunk = (segments: ReadonlyArray<Segment>, options: ChunkOptions = defaultChunkOptions): Array<Chunk> => {
  const units: Array<Chunk> = []
  let open: { text: string; first: Locator; last: Locator } | undefined
  const close = () => {
    if (open !== undefined) units.push({ text: open.text, locator: mergeLocators(open.first, open.last) })
    open = undefined
  }
  for (const s of segments) {
    const text = s.text.trim()
    if (text === "") continue
    if (open !== undefined && groupKey(open.first) === groupKey(s.locator) && open.text.length + 2 + text.length <= options.maxChars) {
      open.text += "\n\n" + text
      open.last = s.locator
      continue
    }
    close()
    open = { text, first: s.locator, last: s.locator }
  }
  close()
  return units.flatMap((u) => splitText(u.text, options).map((text) => ({ text, locator: u.locator })))
}
