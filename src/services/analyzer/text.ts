import { CHINESE_STOP_WORDS, isStopWord } from "./stopwords.js"

/** Han ideographs (incl. extension A and compatibility), kana; what the spec calls a "CJK run". */
const CJK_CHAR = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/u
const CJK_RUN = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+/gu
const LATIN_LETTER = /^[a-z]$/
const NUMBER = /^\d+(?:[.,]\d+)*$/
const CJK_ASPECT_SUFFIX = /^(.+?)[了着过]$/u

const zhSegmenter = new Intl.Segmenter("zh", { granularity: "word" })
const enSegmenter = new Intl.Segmenter("en", { granularity: "word" })

export const isCjk = (ch: string): boolean => CJK_CHAR.test(ch)
export const hasCjk = (text: string): boolean => CJK_CHAR.test(text)

/** NFKC, lower case, typographic apostrophes folded so "don’t" and "don't" are one token. */
export const normalizeText = (text: string): string =>
  text.normalize("NFKC").replace(/[\u2018\u2019\u02bc]/g, "'").toLowerCase()

export interface Segment {
  readonly text: string
  readonly cjk: boolean
}

/**
 * Word-like segments of already-normalized text, segmenting CJK runs with the "zh" segmenter and
 * everything between them with "en", so a Chinese clause never comes back as one blob.
 */
export const segments = (normalized: string): ReadonlyArray<Segment> => {
  const cached = segmentCache.get(normalized)
  if (cached !== undefined) return cached
  const out = segmentUncached(normalized)
  if (segmentCache.size >= SEGMENT_CACHE_MAX) segmentCache.clear()
  segmentCache.set(normalized, out)
  return out
}

// One analysis segments the same sentence several times (noise check, tokens, entities, keys).
const SEGMENT_CACHE_MAX = 4096
const segmentCache = new Map<string, ReadonlyArray<Segment>>()

const segmentUncached = (normalized: string): ReadonlyArray<Segment> => {
  const out: Array<Segment> = []
  const push = (run: string, cjk: boolean) => {
    const segmenter = cjk ? zhSegmenter : enSegmenter
    for (const s of segmenter.segment(run)) {
      if (s.isWordLike) out.push({ text: s.segment, cjk })
    }
  }
  let last = 0
  for (const m of normalized.matchAll(CJK_RUN)) {
    const start = m.index
    if (start > last) push(normalized.slice(last, start), false)
    push(m[0], true)
    last = start + m[0].length
  }
  if (last < normalized.length) push(normalized.slice(last), false)
  return out
}

const contentToken = (seg: Segment): string | undefined => {
  let t = seg.text
  if (seg.cjk) {
    if (isStopWord(t)) return undefined
    const aspect = t.length > 1 ? CJK_ASPECT_SUFFIX.exec(t) : null
    if (aspect !== null && !CHINESE_STOP_WORDS.has(aspect[1]!)) t = aspect[1]!
    return isStopWord(t) ? undefined : t
  }
  if (NUMBER.test(t)) return t
  if (LATIN_LETTER.test(t)) return undefined
  t = t.replace(/'s$/, "").replace(/^'+|'+$/g, "")
  if (t.length < 2 && !/\d/.test(t)) return undefined
  if (isStopWord(t)) return undefined
  return t
}

/** Content tokens: segmented, NFKC + lower case, stop and role words removed, numbers kept. */
export const tokenize = (text: string): Array<string> => tokensOfSegments(segments(normalizeText(text)))

export const tokensOfSegments = (segs: ReadonlyArray<Segment>): Array<string> => {
  const out: Array<string> = []
  for (const seg of segs) {
    const t = contentToken(seg)
    if (t !== undefined) out.push(t)
  }
  return out
}

/**
 * Tokens for the lexical (BM25) index: the content tokens plus character bigrams of every CJK run,
 * which recover Chinese words the segmenter split differently at index and query time. Bigrams made
 * of two single-character stop words ("我的", "是在") are skipped.
 */
export const lexicalTokens = (text: string): Array<string> => {
  const normalized = normalizeText(text)
  const out = tokensOfSegments(segments(normalized))
  for (const m of normalized.matchAll(CJK_RUN)) {
    const run = Array.from(m[0])
    for (let i = 0; i + 1 < run.length; i++) {
      const a = run[i]!, b = run[i + 1]!
      if (CHINESE_STOP_WORDS.has(a) && CHINESE_STOP_WORDS.has(b)) continue
      out.push(a + b)
    }
  }
  return out
}

/** Word-like segments that count as "meaningful" for the too-short test (stop words included). */
export const meaningfulCount = (segs: ReadonlyArray<Segment>): number => {
  let n = 0
  for (const s of segs) if (s.cjk || !LATIN_LETTER.test(s.text) || s.text === "i") n++
  return n
}

export type Language = "zh" | "en" | "mixed"

/**
 * zh/en by the share of words: a CJK word is counted per 1.5 characters (the average Chinese word),
 * a Latin word per segment; either side below 15% does not make the text mixed.
 */
export const detectLanguage = (segs: ReadonlyArray<Segment>): Language => {
  let cjkChars = 0
  let latinWords = 0
  for (const s of segs) {
    if (s.cjk) cjkChars += s.text.length
    else if (/\p{L}/u.test(s.text)) latinWords++
  }
  if (cjkChars === 0) return "en"
  if (latinWords === 0) return "zh"
  const cjkWords = cjkChars / 1.5
  const share = cjkWords / (cjkWords + latinWords)
  return share >= 0.85 ? "zh" : share <= 0.15 ? "en" : "mixed"
}

const ABBREVIATIONS = new Set(["mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd", "jr", "sr", "no", "fig", "approx"])

/**
 * Sentences: newlines, CJK 。！？；… anywhere, and English . ! ? only when followed by white space or
 * the end, so "v1.2", "example.com" and "3.5" stay whole; common abbreviations ("Dr.", "e.g.") do not end one.
 */
export const splitSentences = (text: string): Array<string> => {
  const out: Array<string> = []
  for (const line of text.split(/\r?\n+/)) {
    let start = 0
    const re = /[。！？；…]+|[.!?]+(?=\s|$)/gu
    for (const m of line.matchAll(re)) {
      const end = m.index + m[0].length
      if (m[0] === ".") {
        const word = /([\p{L}.]+)$/u.exec(line.slice(start, m.index))?.[1]?.toLowerCase()
        const initial = word?.length === 1 && /^\p{Lu}$/u.test(line.charAt(m.index - 1))
        if (word !== undefined && (ABBREVIATIONS.has(word) || initial)) continue
      }
      const sentence = line.slice(start, end).trim()
      if (sentence !== "") out.push(sentence)
      start = end
    }
    const rest = line.slice(start).trim()
    if (rest !== "") out.push(rest)
  }
  return out
}
