import type { MemoryKind } from "../../domain/Memory.js"
import { isStopWord } from "./stopwords.js"
import { normalizeText, segments, tokenize } from "./text.js"
import { chinesePredicate, englishLemma, englishPredicate, isKnownVerb } from "./verbs.js"

/**
 * Kind rules, first match wins:
 * 1. a sentence opening with an imperative always/never/don't/must/不要/必须 … is a `rule`
 *    (but "don't forget …"/"不要忘记 …" is a task);
 * 2. first-person likes and dislikes ("I prefer", "my favorite", "喜欢", "讨厌", "偏好") are a `preference`;
 * 3. reminders and obligations ("remind me", "todo", "need to", "记得", "明天要", "别忘了") are a `task`;
 * 4. rule words anywhere ("from now on", "make sure", "always", "以后都", "务必") are a `rule`;
 * 5. strong time-of-now words ("today", "this afternoon", "right now", "今天", "刚才") are `ephemeral`,
 *    and so are weak ones ("now", "currently", "现在", "目前") unless the sentence states a lasting fact
 *    (live, work, name: "I now live in Paris" is a fact);
 * 6. anything else is a `fact`.
 */

const RULE_OPENING = /^(?:please\s+)?(?:always|never|don't(?!\s+forget)|do\s+not(?!\s+forget)|must|you\s+must|you\s+should\s+(?:always|never)|from\s+now\s+on|make\s+sure|ensure|avoid)\b|^(?:请)?(?:不要(?!忘)|别再|必须|永远|始终|一律|务必|切勿|禁止|不许|不准|总是|以后(?:都|请|要|一律)?|每次都)/u
const PREFERENCE =
  /\b(?:i|we)\s+(?:really\s+|absolutely\s+|kind\s+of\s+|do\s+not\s+|don't\s+|do\s+)?(?:like|love|enjoy|prefer|hate|dislike|adore|detest|can't\s+stand|cannot\s+stand)\b|\bmy\s+(?:favou?rite|preferred)\b|\bi'd\s+rather\b|\bi\s+would\s+rather\b|\bi'm\s+(?:a\s+)?(?:big\s+)?fan\s+of\b|\b(?:i'm|i\s+am)\s+(?:not\s+)?(?:into|keen\s+on|fond\s+of)\b|喜欢|喜爱|热爱|讨厌|厌恶|偏好|偏爱|更爱|最爱|爱吃|爱喝|爱看|爱听|受不了|不爱|宁愿|宁可|倾向于/u
const TASK =
  /\bremind\s+me\b|\bto-?do\b|\b(?:i|we)\s+(?:need|have|must|got)\s+to\b|\bneed\s+to\b|\bhave\s+to\b|\bdon't\s+forget\b|\bdo\s+not\s+forget\b|\bremember\s+to\b|\bdeadline\b|\bdue\s+(?:on|by|tomorrow|next)\b|\b(?:tomorrow|next\s+(?:week|month|monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b.*\b(?:i|we)\s+(?:will|'ll|am\s+going\s+to|plan\s+to)\b|\b(?:i|we)\s+(?:will|'ll|am\s+going\s+to|plan\s+to)\b.*\b(?:tomorrow|next\s+(?:week|month))\b|\bschedule\b|提醒我|提醒一下|记得|别忘了?|不要忘(?:记|了)?|待办|要做|得去|需要去|需要在|截止|到期|(?:明天|后天|下周|下个月|周[一二三四五六日末]|星期[一二三四五六日天])(?:上午|下午|晚上)?(?:要|得|需要|准备|打算|计划)|我(?:要|得|需要|打算|计划)(?:在|去)/u
const RULE_ANYWHERE = /\b(?:always|never|from\s+now\s+on|make\s+sure|must(?!\s+have\s+been)|should\s+(?:always|never)|in\s+the\s+future|going\s+forward)\b|不要|必须|永远|始终|务必|一定要|以后都|以后请|每次都|一律|禁止|不许|不准|切勿/u
const EPHEMERAL_STRONG =
  /\b(?:today|tonight|this\s+(?:morning|afternoon|evening|week)|right\s+now|just\s+now|at\s+the\s+moment|at\s+this\s+moment|for\s+now|currently\s+(?:at|in|on|feeling|busy|waiting|working\s+on))\b|今天|今晚|今早|今儿|今天早上|刚才|刚刚|此刻|这会儿|眼下|当下|今天下午|今天上午|这周/u
const EPHEMERAL_WEAK = /\b(?:now|currently|at\s+present)\b|现在|目前|正在/u
const LASTING = /\b(?:live|lives|lived|living|work|works|working\s+(?:at|for)|name|born|married|moved)\b|住在|居住|定居|工作|上班|名字|叫|出生|结婚|搬到/u

export const classifyKind = (normalizedSentence: string): Exclude<MemoryKind, "document"> => {
  const s = normalizedSentence.trim()
  if (RULE_OPENING.test(s)) return "rule"
  if (PREFERENCE.test(s)) return "preference"
  if (TASK.test(s)) return "task"
  if (RULE_ANYWHERE.test(s)) return "rule"
  if (EPHEMERAL_STRONG.test(s)) return "ephemeral"
  if (EPHEMERAL_WEAK.test(s) && !LASTING.test(s)) return "ephemeral"
  return "fact"
}

const NOISE_WORDS = new Set(`
ok okay k kk okey alright allright sure yes yeah yep yup ya no nope nah thanks thank thx ty you very much so a lot
lots great good nice cool awesome perfect fine got it understood noted gotcha hi hello hey hiya morning evening
afternoon night bye goodbye cya see later lol haha hahaha lmao wow oh ah hmm hm uh um right indeed exactly
please welcome np problem sounds that's that works cheers will do done alrighty thumbs up
好 好的 好滴 好吧 好呀 好啊 谢谢 谢了 多谢 感谢 谢谢你 谢谢您 嗯 嗯嗯 哦 噢 哈 哈哈 哈哈哈 呵呵 收到 明白 明白了 了解 知道 知道了
懂了 行 可以 对 对的 是的 没错 没问题 ok了 你好 您好 早 早上好 晚上好 晚安 再见 拜拜 辛苦 辛苦了 不客气 不用谢 好嘞
太好了 不错 很好 非常 感谢你 了 啊 呀 吧 呢 的 您 你 我 也
`.split(/\s+/).filter((w) => w !== ""))

/** A message or sentence made only of greetings, thanks and acknowledgements ("ok thanks!", "好的，谢谢"). */
export const isNoise = (text: string): boolean => {
  const segs = segments(normalizeText(text))
  if (segs.length === 0) return !/[\p{L}\p{N}]/u.test(text) && text.trim() !== ""
  return segs.every((s) => NOISE_WORDS.has(s.text))
}

/** Assistant sentences kept: decisions, confirmations of something saved or scheduled, stated facts. */
const ASSISTANT_DECISION =
  /\b(?:i(?:'ve| have)\s+(?:set|saved|scheduled|noted|recorded|created|added|booked|updated|changed|stored)|(?:we|you)\s+(?:agreed|decided|chose|picked)|(?:it|this)\s+(?:is|has\s+been)\s+(?:set|scheduled|saved|booked|confirmed)|decided|confirmed|scheduled\s+for|(?:your|the)\s+[\w\s]{1,30}\s+(?:is|are|was)\s)|已(?:经)?(?:为你|帮你|给你)?(?:设置|保存|记录|记下|安排|预订|预约|创建|添加|更新|修改|确认)|决定|确定了|约定|你的[\p{Script=Han}\w]{1,12}是/u
const ASSISTANT_HEDGE =
  /\?|？|\b(?:maybe|perhaps|might|could\s+you|would\s+you|do\s+you|let\s+me\s+know|i\s+think|i'm\s+not\s+sure|here(?:'s| is| are)|you\s+(?:can|could|may|might)|hope\s+this|feel\s+free|i'm\s+sorry|sorry|as\s+an\s+ai)\b|可能|也许|或许|你可以|您可以|需要我|要不要|希望|抱歉|如果你/u

export const assistantStatesFact = (normalizedSentence: string): boolean =>
  ASSISTANT_DECISION.test(normalizedSentence) && !ASSISTANT_HEDGE.test(normalizedSentence)

const IMPORTANT = /\b(?:important|importantly|remember|crucial|critical|essential|key\s+point|note\s+that|must|never\s+forget|keep\s+in\s+mind)\b|重要|记住|牢记|务必|一定要|切记|关键|注意/u

const BASE_IMPORTANCE: Record<MemoryKind, number> = {
  rule: 0.75,
  preference: 0.65,
  task: 0.6,
  fact: 0.5,
  ephemeral: 0.3,
  document: 0.5
}

export const importanceOf = (kind: MemoryKind, normalizedSentence: string, tokenCount: number, fromAssistant: boolean) => {
  if (kind === "document") return BASE_IMPORTANCE.document
  let score = BASE_IMPORTANCE[kind]
  if (IMPORTANT.test(normalizedSentence)) score += 0.2
  score += Math.min(0.1, tokenCount * 0.01)
  if (tokenCount < 4) score -= 0.05
  if (fromAssistant) score -= 0.1
  return Math.round(Math.min(1, Math.max(0, score)) * 100) / 100
}

// ---------------------------------------------------------------------------------------------
// subject and memory key

export interface SubjectKey {
  readonly subject: string | null
  readonly memoryKey: string
}

const FIRST_PERSON = new Set(["i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "i'm", "i've", "i'd", "i'll", "we're", "we've", "we'll", "we'd"])
const SECOND_PERSON = new Set(["you", "your", "yours", "you're", "you've", "you'll", "you'd"])
const THIRD_PERSON = new Set(["he", "she", "it", "they", "him", "her", "them", "his", "its", "their", "this", "that", "these", "those", "there", "he's", "she's", "it's", "they're", "there's"])
const AUXILIARY = new Set([
  "do", "does", "did", "don't", "doesn't", "didn't", "not", "never", "always", "also", "really", "still", "usually",
  "often", "just", "now", "currently", "already", "will", "would", "can", "could", "should", "shall", "may", "might",
  "must", "won't", "wouldn't", "can't", "cannot", "couldn't", "shouldn't", "'ll", "'d", "no", "longer", "actually",
  "only", "recently", "sometimes", "mostly", "please", "to"
])
const LEAD_IN = new Set([
  "also", "btw", "so", "well", "and", "but", "anyway", "actually", "ok", "okay", "oh", "note", "fyi", "remember",
  "important", "please", "now", "today", "tomorrow", "yesterday", "tonight", "then", "hey", "hi", "always", "never"
])
const DETERMINERS = new Set(["the", "a", "an", "this", "that", "these", "those", "our", "some", "every", "each"])
const SUBJECT_PUNCT = /[^\p{L}\p{N}_'-]+/gu

const slug = (s: string) => normalizeText(s).replace(SUBJECT_PUNCT, "_").replace(/^_+|_+$/g, "")

const keyOf = (subject: string | null, parts: ReadonlyArray<string | undefined>) =>
  [subject === null ? "_" : slug(subject), ...parts.filter((p): p is string => p !== undefined && p !== "").map(slug)].join(":")

const englishWords = (sentence: string): Array<{ raw: string; lower: string }> =>
  (sentence.normalize("NFKC").replace(/[\u2018\u2019]/g, "'").match(/[\p{L}\p{N}][\p{L}\p{N}'_-]*/gu) ?? [])
    .flatMap((raw) => {
      const lower = raw.toLowerCase()
      const m = /^(.+?)('m|'re|'s|'ve|'ll|'d|n't)$/.exec(lower)
      if (m === null || lower === "can't" || lower === "won't") return [{ raw, lower }]
      return [{ raw: raw.slice(0, m[1]!.length), lower: m[1]! }, { raw: m[2]!, lower: m[2] === "n't" ? "not" : m[2]! }]
    })

interface Parsed {
  readonly subject: string | null | "first" | "second"
  readonly attribute?: string
  readonly predicate?: string
  readonly functional: boolean
  readonly object?: string
}

/** The first token that is not itself a verb: "drinking coffee" → coffee, "喝咖啡" → 咖啡. */
const objectHead = (tokens: ReadonlyArray<string>) => tokens.find((t) => !isKnownVerb(t)) ?? tokens[0]

const isCapitalized = (raw: string) => /^\p{Lu}/u.test(raw)

const LEAD_IN_PHRASE = /^\s*(?:(?:this\s+is\s+|it's\s+|very\s+)?important|note|remember|fyi|btw|by\s+the\s+way|reminder|update|correction|todo|to-do|task|记住|注意|重要|顺便说一下|更正)[^:：]{0,20}[:：]\s*/iu

const parseEnglish = (sentence: string): Parsed => {
  const words = englishWords(sentence.replace(LEAD_IN_PHRASE, ""))
  let i = 0
  while (i < words.length && (LEAD_IN.has(words[i]!.lower) || AUXILIARY.has(words[i]!.lower))) i++
  const start = i
  let verbAt = -1
  const possessiveAt = words.slice(start, start + 4).findIndex((w, k) => k === 0 ? /^(?:my|our|your)$/.test(w.lower) : w.lower === "'s")
  if (possessiveAt >= 0) {
    const copula = words.slice(start, start + 8).findIndex((w) => /^(?:is|are|was|were)$/.test(w.lower))
    if (copula > possessiveAt + 1) {
      verbAt = start + copula
      i = words.length
    }
  }
  for (; i < words.length; i++) {
    const w = words[i]!
    if (i > start && (AUXILIARY.has(w.lower) || w.lower === "'m" || w.lower === "'re")) {
      if (w.lower === "'m" || w.lower === "'re") {
        verbAt = i
        break
      }
      continue
    }
    if (i > start && englishLemma(w.lower) !== undefined && !FIRST_PERSON.has(w.lower)) {
      verbAt = i
      break
    }
    if (i === start && englishLemma(w.lower) !== undefined && !DETERMINERS.has(w.lower) && !FIRST_PERSON.has(w.lower)) {
      verbAt = i
      break
    }
  }
  // "remind me to call", "I need to buy": the verb after "to" is the predicate.
  if (verbAt >= 0 && CATENATIVE.has(englishLemma(words[verbAt]!.lower) ?? "")) {
    const to = words.slice(verbAt + 1, verbAt + 4).findIndex((w) => w.lower === "to")
    const next = to < 0 ? undefined : words[verbAt + 2 + to]
    if (next !== undefined && !isStopWord(next.lower)) {
      const subjectEnd = verbAt
      verbAt = verbAt + 2 + to
      const prefix = words.slice(start, subjectEnd)
      return finishEnglish(words, prefix, verbAt)
    }
  }
  return finishEnglish(words, words.slice(start, verbAt < 0 ? words.length : verbAt), verbAt)
}

const CATENATIVE = new Set(["remind", "remember", "forget", "need", "want", "plan", "have", "try", "go", "hope", "wish", "expect"])

const finishEnglish = (
  words: ReadonlyArray<{ raw: string; lower: string }>,
  prefix: ReadonlyArray<{ raw: string; lower: string }>,
  verbAt: number
): Parsed => {
  let subject: Parsed["subject"] = null
  let attribute: string | undefined
  const firstLower = prefix[0]?.lower
  if (prefix.length === 0) subject = null
  else if (FIRST_PERSON.has(firstLower!)) {
    subject = "first"
    if ((firstLower === "my" || firstLower === "our") && prefix.length > 1 && (verbAt < 0 || englishLemma(words[verbAt]!.lower) === "be")) {
      attribute = prefix.slice(1, verbAt < 0 ? 3 : 5).filter((w) => !isStopWord(w.lower)).map((w) => w.lower).join(" ")
    }
  } else if (SECOND_PERSON.has(firstLower!)) {
    subject = "second"
    if (firstLower === "your" && prefix.length > 1) attribute = prefix.slice(1).map((w) => w.lower).join(" ")
  } else if (THIRD_PERSON.has(firstLower!)) subject = null
  else {
    const possessive = prefix.findIndex((w) => w.lower === "'s")
    const head = possessive > 0 ? prefix.slice(0, possessive) : prefix
    if (possessive > 0 && possessive < prefix.length - 1) attribute = prefix.slice(possessive + 1).map((w) => w.lower).join(" ")
    const names = head.filter((w) => isCapitalized(w.raw) && !isStopWord(w.lower))
    if (names.length > 0 && names.length === head.filter((w) => !DETERMINERS.has(w.lower)).length) subject = names.map((w) => w.raw).join(" ")
    else {
      const content = head.filter((w) => !DETERMINERS.has(w.lower) && !isStopWord(w.lower))
      subject = content.length > 0 && content.length <= 3 ? content.map((w) => w.lower).join(" ") : null
    }
  }
  if (verbAt < 0) return { subject, ...(attribute === undefined ? {} : { attribute }), functional: false }

  let v = verbAt
  let lemma = englishLemma(words[v]!.lower) ?? (words[v]!.lower === "'m" || words[v]!.lower === "'re" ? "be" : words[v]!.lower)
  if (lemma === "call" && words[v + 1]?.lower === "me") lemma = "name"
  // "is running", "have moved", "was born": the participle carries the meaning.
  if ((lemma === "be" || lemma === "have" || lemma === "do") && v + 1 < words.length) {
    let j = v + 1
    while (j < words.length && AUXILIARY.has(words[j]!.lower)) j++
    const next = words[j]
    const nextLemma = next === undefined ? undefined : englishLemma(next.lower)
    if (next !== undefined && nextLemma !== undefined && nextLemma !== "be" && (/(?:ing|ed|en)$/.test(next.lower) || next.lower === "born" || lemma === "do")) {
      v = j
      lemma = nextLemma
    }
  }
  const predicate = englishPredicate(lemma)
  const rest = words.slice(v + 1)
  const preposition = rest[0] !== undefined && /^(?:in|at|for|as|from|to|on|with)$/.test(rest[0].lower) ? rest[0].lower : undefined
  let object = objectHead(tokenize(rest.map((w) => w.raw).join(" ")))
  if (lemma === "be") {
    const complement = rest.filter((w) => !AUXILIARY.has(w.lower))
    if (/^(?:from)$/.test(complement[0]?.lower ?? "")) return { subject, predicate: "from", functional: true }
    if (complement.some((w) => /^(?:years?|yrs?)$/.test(w.lower)) && complement.some((w) => /^\d+$/.test(w.lower))) {
      return { subject, predicate: "age", functional: true }
    }
    if (attribute !== undefined) return { subject, attribute, functional: true }
    if (complement[0] !== undefined && /^(?:a|an)$/.test(complement[0].lower)) {
      const phrase = complement.slice(1)
      const prep = phrase.findIndex((w) => /^(?:at|in|for|with|from|of|on|by)$/.test(w.lower))
      object = tokenize((prep < 0 ? phrase : phrase.slice(0, prep)).map((w) => w.raw).join(" ")).at(-1) ?? object
    }
    return { subject, predicate: "be", functional: false, ...(object === undefined ? {} : { object }) }
  }
  const canonical = predicate.functional && preposition !== undefined && predicate.canonical === "work" ? `work_${preposition}` : predicate.canonical
  return {
    subject,
    ...(attribute === undefined ? {} : { attribute }),
    predicate: canonical,
    functional: predicate.functional,
    ...(object === undefined ? {} : { object })
  }
}

const ZH_FIRST = /^(?:我们|咱们|我的|我)/u
const ZH_SECOND = /^(?:你的|您的|你|您)/u
const ZH_THIRD = /^(?:他们|她们|它们|他的|她的|它的|他|她|它|这|那)/u
const ZH_LEAD = /^(?:另外|还有|顺便说一下|顺便|对了|记住|请记住|注意|重要|其实|现在|目前|今天|明天|后天|以后|从现在起|以后都|请|始终|永远|总是|务必|一定要|必须|不要|千万|提醒我|提醒一下|记得|别忘了|别忘|不要忘记|不要忘了)[，,：:\s]*/u

const EN_TIME = new Set(["today", "tomorrow", "tonight", "yesterday", "morning", "afternoon", "evening", "week", "month", "year", "right", "moment"])
const ZH_NOUN_MARKERS = new Set(["里", "中", "时", "的", "内容"])
const ZH_TIME = /^(?:今天|明天|后天|昨天|前天|上午|下午|晚上|早上|中午|今晚|明晚|现在|刚才|刚刚|以后|之前|之后|周末|下周|下个月|每天|每周|最近|平时|\d+|[一二三四五六七八九十两]+[点号]?|点|号)$/u

const parseChinese = (sentence: string): Parsed => {
  let s = normalizeText(sentence).replace(/^[\s，,：:]+/u, "")
  for (let k = 0; k < 3; k++) s = s.replace(ZH_LEAD, "")
  const segs = segments(s)
  let verbAt = -1
  let predicate: ReturnType<typeof chinesePredicate>
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!
    const p = seg.cjk ? chinesePredicate(seg.text) : undefined
    const usedAsNoun = ZH_NOUN_MARKERS.has(segs[i + 1]?.text ?? "")
    const laterVerb = segs.slice(i + 1).some((x) => x.cjk && chinesePredicate(x.text) !== undefined && chinesePredicate(x.text)!.canonical !== "at")
    if (p !== undefined && !usedAsNoun && !(p.canonical === "at" && laterVerb)) {
      verbAt = i
      predicate = p
      break
    }
  }
  const prefixSegs = verbAt < 0 ? segs : segs.slice(0, verbAt)
  const prefix = prefixSegs.map((x) => x.text).join("")
  let subject: Parsed["subject"] = null
  let attribute: string | undefined
  if (ZH_FIRST.test(prefix) || prefix === "" && ZH_FIRST.test(s)) {
    subject = "first"
    const after = prefix.replace(/^(?:我们的|我的|我们|我在|我)/u, "")
    if (/^(?:我的|我们的)/u.test(prefix) && after !== "") attribute = after
  } else if (ZH_SECOND.test(prefix)) {
    subject = "second"
    const after = prefix.replace(/^(?:你的|您的|你|您)/u, "")
    if (/^(?:你的|您的)/u.test(prefix) && after !== "") attribute = after
  } else if (ZH_THIRD.test(prefix)) subject = null
  else {
    const named = prefixSegs.filter((x) => x.text !== "的" && x.text !== "在")
    const name = named.map((x) => x.text).join("")
    const plausible = named.length > 0 && named.length <= 2 && named.every((x) => x.cjk && !isStopWord(x.text) && !ZH_TIME.test(x.text))
    if (plausible && name.length >= 2 && name.length <= 6) subject = name
  }
  if (predicate === undefined) return { subject, ...(attribute === undefined ? {} : { attribute }), functional: false }
  const rest = segs.slice(verbAt + 1).map((x) => x.text).join("")
  const object = objectHead(tokenize(rest))
  if (predicate.canonical === "be") {
    if (attribute !== undefined) {
      const mapped = chinesePredicate(attribute)
      return mapped !== undefined && mapped.functional
        ? { subject, predicate: mapped.canonical, functional: true }
        : { subject, attribute, functional: true }
    }
    return { subject, predicate: "be", functional: false, ...(object === undefined ? {} : { object }) }
  }
  return {
    subject,
    ...(attribute === undefined ? {} : { attribute }),
    predicate: predicate.canonical,
    functional: predicate.functional,
    ...(object === undefined ? {} : { object })
  }
}

/**
 * Subject: first person → "user" (in assistant messages second person → "user" and first person →
 * unknown, since the assistant is never a subject); a named or noun-phrase subject → that phrase;
 * third-person pronouns → unknown (null). Rules, preferences, tasks and ephemera without a subject in a
 * user message belong to the user. Key: normalized subject (or "_") + attribute or predicate head, plus
 * the object head for set-valued predicates.
 */
export const subjectAndKey = (
  sentence: string,
  kind: Exclude<MemoryKind, "document">,
  fromAssistant: boolean,
  fallbackTokens: ReadonlyArray<string>
): SubjectKey => {
  const parsed = /[\u4e00-\u9fff]/u.test(sentence) ? parseChinese(sentence) : parseEnglish(sentence)
  let subject: string | null
  if (parsed.subject === "first") subject = fromAssistant ? null : "user"
  else if (parsed.subject === "second") subject = fromAssistant ? "user" : null
  else subject = parsed.subject
  if (parsed.subject !== "first" && parsed.subject !== "second" && subject !== null && isStopWord(subject.toLowerCase())) subject = null
  if (subject === null && !fromAssistant && (kind !== "fact" || (parsed.subject === null && /\b(?:me|my)\b|我/iu.test(sentence)))) subject = "user"
  const head = parsed.attribute ?? parsed.predicate
  const salient = fallbackTokens.filter((t) => !ZH_TIME.test(t) && !EN_TIME.has(t) && !isKnownVerb(t) && !/^\d/.test(t))
  if (head === undefined) return { subject, memoryKey: keyOf(subject, [salient.slice(0, 3).join("_") || fallbackTokens.slice(0, 3).join("_") || "note"]) }
  const object = parsed.functional || parsed.attribute !== undefined ? undefined : parsed.object
  const fallback = object === undefined && !parsed.functional && parsed.attribute === undefined ? salient[0] : undefined
  return { subject, memoryKey: keyOf(subject, [head, object ?? fallback]) }
}
