/**
 * The built-in embedder: signed feature hashing ("hashing trick") into a fixed number of dimensions.
 * Deterministic, offline, and the same function for queries and documents.
 *
 * Features, after NFKC + lowercase:
 * - word tokens from `Intl.Segmenter` (word-like segments only); Latin words go through a light
 *   English stemmer, CJK dictionary words of two or more characters are kept as words too;
 * - CJK character unigrams and bigrams over runs of Han/kana characters, ignoring word boundaries,
 *   so that paraphrases segmented differently still share most bigrams;
 * - character trigrams of each non-stop-word non-numeric token with boundary marks, for
 *   inflections and typos (`^re`, `ret`, …, `al$`).
 * Each feature kind has its own seed and weight; a feature's value is weight × (1 + ln tf)
 * (sublinear: repeating a word does not drown the others); function words weigh 0.1 (no corpus
 * IDF is available). Each feature goes to one bucket with a hash-derived sign, so collisions
 * cancel out on average instead of adding up; the vector is then L2-normalized. Text without any
 * word-like content gives the all-zero vector (cosine 0 with everything, never NaN here).
 */
import { ENGLISH_STOP_WORDS, CHINESE_STOP_CHARS, CHINESE_STOP_WORDS } from "./stopwords.js"

export const HASH_EMBEDDER_VERSION = "builtin-hash-v1"

// Feature weights before sublinear tf. Words carry the meaning; character n-grams are the fallback
// that matches inflections, typos and unsegmented CJK text, so each n-gram weighs less than a word.
const WORD = 1.0
const CJK_WORD = 0.8
const CJK_BIGRAM = 0.5
const CJK_UNIGRAM = 0.3
const TRIGRAM = 0.25
// Function words are down-weighted rather than dropped, so a text made only of them still embeds.
const STOP = 0.1
const HALF_STOP = 0.5

// Seeds keep feature kinds apart: the word "ab" and the trigram "ab" land in different buckets.
const SEED_WORD = 0x811c9dc5
const SEED_TRIGRAM = 0x3a8f05c5
const SEED_UNIGRAM = 0x6b43a9b5
const SEED_BIGRAM = 0x1b873593

const FNV_PRIME = 16777619

const fnvString = (seed: number, s: string): number => {
  let h = seed
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME)
  }
  return h
}

const fnvRange = (seed: number, s: string, start: number, end: number): number => {
  let h = seed
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, FNV_PRIME)
  }
  return h
}

const fnvInt = (h: number, value: number): number => {
  h ^= value & 0xffff
  h = Math.imul(h, FNV_PRIME)
  h ^= value >>> 16
  return Math.imul(h, FNV_PRIME)
}

/** murmur3's finalizer: FNV alone leaves the low bits (used for the bucket) poorly mixed. */
const fmix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export const isCjk = (cp: number): boolean =>
  (cp >= 0x4e00 && cp <= 0x9fff) ||
  (cp >= 0x3400 && cp <= 0x4dbf) ||
  (cp >= 0x3040 && cp <= 0x30ff) ||
  (cp >= 0x31f0 && cp <= 0x31ff) ||
  (cp >= 0xf900 && cp <= 0xfaff) ||
  (cp >= 0x20000 && cp <= 0x3134f)

const hasCjk = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x3040 && (isCjk(c) || (c >= 0xd840 && c <= 0xd884))) return true
  }
  return false
}

const isAsciiDigits = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return false
  }
  return true
}

const isVowel = (c: string) => c === "a" || c === "e" || c === "i" || c === "o" || c === "u"

/**
 * A deliberately small English suffix stripper for the word feature (trigrams catch the rest):
 * possessives, plurals, -ing/-ed with consonant undoubling, and a final -e, so that
 * store/stores/stored/storing and run/running share one word feature.
 */
export const lightStem = (word: string): string => {
  let w = word
  if (w.endsWith("'s")) w = w.slice(0, -2)
  if (w.length <= 3 || !/^[a-z]+$/.test(w)) return w
  if (w.endsWith("ies") && w.length > 4) w = w.slice(0, -3) + "y"
  else if (w.endsWith("sses")) w = w.slice(0, -2)
  else if (w.endsWith("ches") || w.endsWith("shes") || w.endsWith("xes")) w = w.slice(0, -2)
  else if (w.endsWith("s") && !w.endsWith("ss") && !w.endsWith("us") && !w.endsWith("is")) w = w.slice(0, -1)
  let stripped = false
  if (w.endsWith("ing") && w.length >= 6) {
    w = w.slice(0, -3)
    stripped = true
  } else if (w.endsWith("ed") && w.length >= 5) {
    w = w.slice(0, -2)
    stripped = true
  }
  if (stripped) {
    const last = w[w.length - 1]!
    if (w.length >= 3 && last === w[w.length - 2] && !isVowel(last) && last !== "l" && last !== "s" && last !== "z") {
      w = w.slice(0, -1)
    }
  }
  if (w.length > 3 && w.endsWith("e")) w = w.slice(0, -1)
  return w
}

/** Reused between calls: embedding is synchronous, so one text at a time owns them. */
const counts = new Map<number, number>()
const weights = new Map<number, number>()

const add = (feature: number, weight: number) => {
  const c = counts.get(feature)
  if (c === undefined) {
    counts.set(feature, 1)
    weights.set(feature, weight)
  } else {
    counts.set(feature, c + 1)
  }
}

const addTrigrams = (word: string) => {
  const padded = "\u0002" + word + "\u0003"
  for (let i = 0; i + 3 <= padded.length; i++) add(fnvRange(SEED_TRIGRAM, padded, i, i + 3), TRIGRAM)
}

const addWord = (segment: string) => {
  const word = segment.includes("\u2019") ? segment.replaceAll("\u2019", "'") : segment
  if (hasCjk(word)) {
    // Single characters are already unigram features; a dictionary word adds what bigrams miss.
    if ([...word].length >= 2) add(fnvString(SEED_WORD, word), CHINESE_STOP_WORDS.has(word) ? STOP : CJK_WORD)
    return
  }
  const stop = ENGLISH_STOP_WORDS.has(word)
  add(fnvString(SEED_WORD, stop ? word : lightStem(word)), stop ? STOP : WORD)
  if (!stop && !isAsciiDigits(word)) addTrigrams(word)
}

const addCjkNgrams = (text: string) => {
  let prev = -1
  let prevStop = false
  for (const ch of text) {
    const cp = ch.codePointAt(0)!
    if (!isCjk(cp)) {
      prev = -1
      continue
    }
    const stop = CHINESE_STOP_CHARS.has(ch)
    add(fnvInt(SEED_UNIGRAM, cp), stop ? STOP : CJK_UNIGRAM)
    if (prev >= 0) {
      const factor = stop && prevStop ? STOP : stop || prevStop ? HALF_STOP : 1
      add(fnvInt(fnvInt(SEED_BIGRAM, prev), cp), CJK_BIGRAM * factor)
    }
    prev = cp
    prevStop = stop
  }
}

const segmenter = new Intl.Segmenter(undefined, { granularity: "word" })

/**
 * Embeds one text into a fresh vector of `dimensions` floats: L2-normalized, or all zeros when the
 * text has no word-like content (empty, whitespace, punctuation only).
 */
export const hashEmbed = (text: string, dimensions: number): Float32Array => {
  const vector = new Float32Array(dimensions)
  const normalized = text.normalize("NFKC").toLowerCase()
  counts.clear()
  weights.clear()
  for (const segment of segmenter.segment(normalized)) {
    if (segment.isWordLike === true) addWord(segment.segment)
  }
  addCjkNgrams(normalized)
  let sumSquares = 0
  for (const [feature, count] of counts) {
    const bucket = fmix32(feature)
    const index = bucket % dimensions
    const sign = fmix32(bucket ^ 0x9e3779b9) & 1 ? 1 : -1
    const value = weights.get(feature)! * (1 + Math.log(count))
    vector[index] = vector[index]! + sign * value
  }
  for (let i = 0; i < dimensions; i++) sumSquares += vector[i]! * vector[i]!
  if (sumSquares > 0) {
    const inv = 1 / Math.sqrt(sumSquares)
    for (let i = 0; i < dimensions; i++) vector[i] = vector[i]! * inv
  }
  return vector
}
