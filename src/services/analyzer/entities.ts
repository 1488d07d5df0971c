import { isStopWord } from "./stopwords.js"
import { normalizeText, segments } from "./text.js"
import { isKnownVerb } from "./verbs.js"

/**
 * Entity heuristics, in this order, de-duplicated case-insensitively, in order of first appearance:
 * URLs, e-mail addresses, @handles, file names and paths, code identifiers (camelCase, PascalCase
 * with two humps, snake_case, `backticked`, call()s), dates and times, numbers with units or currency,
 * runs of Capitalized Words (single capitalized words too, unless sentence-initial common words),
 * ACRONYMS; Chinese: terms in 「」『』“”《》 quotes, words right after place/person cue words
 * (在/去/到/住在/来自/位于/叫/和/跟/与 …) and multi-character words repeated in the text or ending in an
 * organisation/place suffix (公司, 大学, 市 …).
 */

const URL = /\bhttps?:\/\/[^\s<>"'`，。）)\]]+|\bwww\.[^\s<>"'`，。）)\]]+/giu
const EMAIL = /\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b/g
const HANDLE = /(?<![\w.@])@[A-Za-z0-9_][A-Za-z0-9_.-]{1,38}[A-Za-z0-9_]/g
const FILE_EXT =
  "pdf|docx?|xlsx?|pptx?|odt|rtf|txt|md|csv|tsv|json|ya?ml|toml|ini|xml|html?|css|s?css|jsx?|tsx?|mjs|cjs|py|rb|rs|go|java|kt|swift|c|cc|cpp|h|hpp|cs|php|sh|sql|log|png|jpe?g|gif|svg|webp|mp3|mp4|mov|wav|zip|tar|gz|tgz|7z|epub|ipynb|lock|env|conf"
const FILE = new RegExp(`(?<![\\w/.-])(?:[\\w.-]*\\/)*[\\w-][\\w.-]*\\.(?:${FILE_EXT})(?![\\w])`, "gi")
const BACKTICK = /`([^`\n]{2,60})`/g
const CAMEL = /\b[a-z]+(?:[A-Z][a-z0-9]+)+\b|\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+\b/g
const SNAKE = /\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g
const CALL = /\b[A-Za-z_][\w.]*\(\)/g
const MONTHS = "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
const DATE = new RegExp(
  [
    "\\b\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2})?)?\\b",
    "\\b\\d{1,2}/\\d{1,2}(?:/\\d{2,4})?\\b",
    `\\b(?:${MONTHS})\\.? \\d{1,2}(?:st|nd|rd|th)?(?:,? \\d{4})?\\b`,
    `\\b\\d{1,2}(?:st|nd|rd|th)? (?:${MONTHS})(?:,? \\d{4})?\\b`,
    `\\b(?:${MONTHS}) \\d{4}\\b`,
    "\\d{4}年\\d{1,2}月(?:\\d{1,2}[日号])?",
    "\\d{1,2}月\\d{1,2}[日号]",
    "\\b\\d{1,2}:\\d{2}(?:\\s?[ap]\\.?m\\.?)?\\b",
    "\\b\\d{1,2}\\s?[ap]\\.?m\\b"
  ].join("|"),
  "giu"
)
const UNIT =
  "kg|g|mg|lbs?|km|cm|mm|m|mi|miles?|ft|gb|mb|kb|tb|ghz|mhz|ms|sec(?:onds?)?|s|min(?:utes?)?|h|hrs?|hours?|days?|weeks?|months?|years?|yrs?|%|°c|°f|usd|eur|gbp|cny|rmb|元|块|公斤|千克|克|公里|千米|米|厘米|岁|年|个月|周|天|小时|分钟|秒|人|次|页|倍"
const QUANTITY = new RegExp(`(?:[$€£¥]\\s?\\d[\\d,]*(?:\\.\\d+)?(?:\\s?[kmb]\\b)?)|(?:\\b\\d[\\d,]*(?:\\.\\d+)?\\s?(?:${UNIT})(?![a-z]))`, "giu")
const CAPITALIZED = /\b\p{Lu}[\p{L}'’-]*(?:\s+(?:(?:of|de|van|von|der|da|la|du|and|&)\s+)?\p{Lu}[\p{L}'’-]*)*/gu
const ACRONYM = /\b[A-Z]{2,6}\d{0,2}\b/g
const ZH_QUOTED = /「([^」]{1,30})」|『([^』]{1,30})』|“([^”]{1,30})”|《([^》]{1,30})》/gu
const ZH_CUES = new Set(["在", "去", "到", "住在", "来自", "位于", "叫", "名叫", "叫做", "和", "跟", "与", "同", "给", "于", "从", "回", "飞往", "搬到", "搬去"])
const ZH_NAME_CUES = new Set(["叫", "名叫", "叫做", "姓"])
const ZH_SUFFIX = /.(?:公司|集团|大学|学院|中学|小学|医院|银行|科技|研究所|实验室|部门|团队|项目|市|省|县|区|镇|村|路|街|站|机场|酒店|餐厅|国)$/u
const ZH_NOT_ENTITY = new Set([
  "今天", "明天", "昨天", "后天", "前天", "现在", "刚才", "以后", "之前", "之后", "上午", "下午", "晚上", "早上", "中午",
  "今晚", "明早", "周末", "时候", "时间", "一下", "一起", "这里", "那里", "家里", "这边", "那边", "东西", "事情", "问题",
  "回答", "回复", "使用", "工作", "开会", "吃饭", "睡觉", "上班", "下班", "打电话", "起床", "学习", "记得", "提醒"
])

const COMMON_CAPITALIZED = new Set([
  "i", "i'm", "i've", "i'd", "i'll", "please", "remember", "note", "today", "tomorrow", "yesterday", "tonight",
  "always", "never", "don't", "do", "make", "remind", "todo", "also", "btw", "ok", "okay", "thanks", "yes", "no",
  "important", "when", "what", "where", "why", "how", "who", "which", "if", "then", "so", "but", "and", "or",
  "my", "our", "your", "the", "a", "an", "this", "that", "these", "those", "it", "we", "you", "he", "she", "they",
  "hi", "hello", "hey", "sure", "great", "currently", "now", "just", "right", "every", "from", "in", "on", "at"
])

const trimTrailing = (s: string) => s.replace(/[.,;:!?)\]}'"’]+$/u, "")

const isSentenceStart = (text: string, index: number) => {
  const before = text.slice(0, index).trimEnd()
  return before === "" || /[.!?。！？；:\n"“(\[-]$/u.test(before)
}

export const extractEntities = (text: string): Array<string> => {
  const seen = new Set<string>()
  const out: Array<{ value: string; at: number }> = []
  const add = (value: string, at: number) => {
    const v = value.trim()
    if (v.length < 2 && !/[\u4e00-\u9fff]/u.test(v)) return
    const key = v.toLowerCase()
    if (seen.has(key)) return
    seen.add(key)
    out.push({ value: v, at })
  }
  const taken: Array<[number, number]> = []
  const overlaps = (s: number, e: number) => taken.some(([a, b]) => s < b && e > a)
  const scan = (re: RegExp, pick: (m: RegExpExecArray) => string | undefined = (m) => m[0]) => {
    for (const m of text.matchAll(re)) {
      const start = m.index
      const end = start + m[0].length
      if (overlaps(start, end)) continue
      const value = pick(m)
      if (value === undefined) continue
      taken.push([start, end])
      add(value, start)
    }
  }

  scan(URL, (m) => trimTrailing(m[0]))
  scan(EMAIL)
  scan(HANDLE)
  scan(FILE)
  scan(BACKTICK, (m) => m[1])
  scan(DATE)
  scan(QUANTITY)
  scan(CALL)
  scan(CAMEL)
  scan(SNAKE)
  scan(CAPITALIZED, (m) => {
    const words = m[0].split(/\s+/)
    let offset = m.index
    // Sentence-initial capitals are not evidence of a name: drop leading verbs and common words.
    while (words.length > 0) {
      const lower = words[0]!.toLowerCase()
      const initial = isSentenceStart(text, offset)
      if (!(COMMON_CAPITALIZED.has(lower) || isStopWord(lower) || (initial && isKnownVerb(lower)))) break
      offset += words[0]!.length + 1
      words.shift()
      while (words[0] !== undefined && /^(?:of|de|van|von|der|da|la|du|and|&)$/.test(words[0])) {
        offset += words[0].length + 1
        words.shift()
      }
    }
    if (words.length === 0) return undefined
    if (words.length === 1 && /^[A-Z]{7,}$/.test(words[0]!)) return undefined
    return words.join(" ").replace(/['’]s$/u, "")
  })
  scan(ACRONYM)
  scan(ZH_QUOTED, (m) => m[1] ?? m[2] ?? m[3] ?? m[4])

  if (/[\u4e00-\u9fff]/u.test(text)) {
    const segs = segments(normalizeText(text)).filter((s) => s.cjk)
    const counts = new Map<string, number>()
    for (const s of segs) counts.set(s.text, (counts.get(s.text) ?? 0) + 1)
    segs.forEach((s, i) => {
      const prev = segs[i - 1]?.text
      if (prev !== undefined && ZH_NAME_CUES.has(prev) && s.text.length === 1) {
        let name = ""
        for (let j = i; j < segs.length && segs[j]!.text.length === 1 && name.length < 4; j++) name += segs[j]!.text
        if (name.length >= 2 && !isStopWord(name)) add(name, Math.max(0, text.indexOf(name)))
        return
      }
      const t = s.text
      if (t.length < 2 || isStopWord(t) || ZH_NOT_ENTITY.has(t) || isKnownVerb(t)) return
      const cued = prev !== undefined && ZH_CUES.has(prev)
      if (out.some((e) => e.value.includes(t))) return
      if (cued || ZH_SUFFIX.test(t) || (counts.get(t) ?? 0) >= 2) add(t, Math.max(0, text.indexOf(t)))
    })
  }
  return out.sort((a, b) => a.at - b.at).map((e) => e.value)
}
