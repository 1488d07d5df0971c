import { integerAtLeast, invalidConfig, parseJsonArray, strictBoolean } from "./ConfigValues.js"
import { Config, ConfigError, Effect, Either, Option, type Types } from "effect"
import type { ExtractedMemory, FilteredMessage, Locator, MemoryKind, NormalizedMessage } from "../domain/Memory.js"
import { assistantStatesFact, classifyKind, importanceOf, isNoise, subjectAndKey } from "./analyzer/classify.js"
import { similarPairs } from "./analyzer/dedupe.js"
import { extractEntities } from "./analyzer/entities.js"
import { parseLocator } from "./analyzer/locator.js"
import { makeSensitiveFilter, type SensitiveFilter, type SensitiveVerdict } from "./analyzer/sensitive.js"
import { isStopWord } from "./analyzer/stopwords.js"
import {
  detectLanguage,
  lexicalTokens,
  meaningfulCount,
  normalizeText,
  segments,
  splitSentences,
  tokenize,
  tokensOfSegments
} from "./analyzer/text.js"

export const DOCUMENT_SESSION_PREFIX = "rustfs:file:"
export const DEFAULT_EPHEMERAL_TTL_MS = 7 * 24 * 60 * 60 * 1000
export const DUPLICATE_JACCARD = 0.85
export const DOCUMENT_IMPORTANCE = 0.5
const MEMORY_TOPICS = 3
const MIN_MEANINGFUL_TOKENS = 3
const REDACTED = "[redacted]"

export interface AnalyzerOptions {
  readonly sensitiveFilterEnabled: boolean
  readonly sensitiveDeny: ReadonlyArray<RegExp>
  readonly sensitiveAllow: ReadonlyArray<RegExp>
  readonly ephemeralTtlMs: number
}

export interface AnalyzeInput {
  readonly sessionId: string
  readonly messages: ReadonlyArray<Pick<NormalizedMessage, "index" | "role" | "text" | "hash">>
  readonly nowMs: number
}

export interface AnalyzeResult {
  readonly memories: Array<ExtractedMemory>
  readonly filtered: Array<FilteredMessage>
}

const STRUCTURAL = /^[\s\p{P}\p{S}]*$/u

/** Salient tokens by tf · log(1 + N/df); numbers, single CJK characters, stop and role words never count. */
const rankTopics = (
  tokens: ReadonlyArray<string>,
  df: ReadonlyMap<string, number>,
  docs: number,
  k: number
): Array<string> => {
  const tf = new Map<string, number>()
  for (const t of tokens) {
    if (isStopWord(t) || /^\d+(?:[.,]\d+)*$/.test(t) || (t.length === 1 && !/\d/.test(t))) continue
    tf.set(t, (tf.get(t) ?? 0) + 1)
  }
  return [...tf.entries()]
    .map(([t, n]) => ({ t, score: n * Math.log(1 + docs / (df.get(t) ?? 1)) }))
    .sort((a, b) => b.score - a.score || (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))
    .slice(0, k)
    .map((x) => x.t)
}

const documentFrequency = (docs: ReadonlyArray<ReadonlyArray<string>>) => {
  const df = new Map<string, number>()
  for (const d of docs) for (const t of new Set(d)) df.set(t, (df.get(t) ?? 0) + 1)
  return df
}

/** Top-k salient tokens of a batch of texts (tf-idf-like: frequent in the batch, concentrated in few texts). */
export const topics = (texts: ReadonlyArray<string>, k = 8): Array<string> => {
  const docs = texts.map(tokenize)
  return rankTopics(docs.flat(), documentFrequency(docs), docs.length, k)
}

const joinSentences = (a: string, b: string) =>
  a === "" ? b : a + (/[\u3000-\u303f\uff00-\uffef\u4e00-\u9fff]$/u.test(a) ? "" : " ") + b

const canonicalRole = (role: string): "user" | "assistant" | "other" =>
  role === "user" || role === "human" ? "user" : role === "assistant" || role === "ai" || role === "model" || role === "bot" ? "assistant" : "other"

const locatorKey = (loc: Locator | null) =>
  loc === null ? "" : [loc.page && `p${loc.page}`, loc.slide && `s${loc.slide}`, loc.section && `sec-${loc.section}`, loc.chunk && `c${loc.chunk}`]
    .filter((x) => typeof x === "string" && x !== "")
    .join("-")

interface Candidate {
  readonly messageIndex: number
  readonly order: number
  readonly content: string
  readonly contentTokens: Array<string>
  readonly memory: Types.Mutable<ExtractedMemory>
}

/** The analysis core, without Effect: used by the service and directly by tests and benchmarks. */
export const makeAnalyzer = (options: AnalyzerOptions) => {
  const filter: SensitiveFilter = makeSensitiveFilter({
    enabled: options.sensitiveFilterEnabled,
    deny: options.sensitiveDeny,
    allow: options.sensitiveAllow
  })

  const isSensitive = (text: string): SensitiveVerdict => filter.isSensitive(text)

  /** Secrets in a document chunk: PEM blocks and every sentence (within its line) holding a match become "[redacted]". */
  const redactDocument = (text: string): string => {
    const found = filter.matches(text)
    if (found.length === 0) return text
    let out = text
    const blocks = found.filter((m) => m.reason === "private_key").sort((a, b) => b.start - a.start)
    for (const b of blocks) out = out.slice(0, b.start) + REDACTED + out.slice(b.end)
    return out
      .split("\n")
      .map((line) => {
        if (filter.matches(line).length === 0) return line
        let redacted = line
        for (const sentence of splitSentences(line)) {
          if (filter.matches(sentence).length > 0) redacted = redacted.replace(sentence, REDACTED)
        }
        return filter.matches(redacted).length > 0 ? REDACTED : redacted
      })
      .join("\n")
  }

  const analyzeDocument = (input: AnalyzeInput): AnalyzeResult => {
    const fileId = input.sessionId.slice(DOCUMENT_SESSION_PREFIX.length)
    const filtered: Array<FilteredMessage> = []
    const chunks: Array<{ message: AnalyzeInput["messages"][number]; body: string; locator: Locator | null; tokens: Array<string> }> = []
    for (const message of input.messages) {
      const { body, locator } = parseLocator(message.text)
      const content = redactDocument(body).trim()
      const tokens = tokenize(content)
      if (STRUCTURAL.test(content) || segments(normalizeText(content)).length === 0) {
        filtered.push({ reason: "too_short", message_index: message.index })
        continue
      }
      chunks.push({ message, body: content, locator, tokens })
    }
    const df = documentFrequency(chunks.map((c) => c.tokens))
    const memories = chunks.map(({ body, locator, message, tokens }): ExtractedMemory => {
      const segs = segments(normalizeText(body))
      const where = locatorKey(locator)
      return {
        content: body,
        kind: "document",
        importance: DOCUMENT_IMPORTANCE,
        subject: null,
        memory_key: ["doc", fileId, where === "" ? undefined : where, message.hash.slice(0, 16)].filter((x) => x !== undefined).join(":"),
        entities: extractEntities(body),
        topics: rankTopics(tokens, df, chunks.length, MEMORY_TOPICS),
        tokens: lexicalTokens(body),
        language: detectLanguage(segs),
        expires_at_ms: null,
        locator,
        source_message_hash: message.hash
      }
    })
    return { memories, filtered }
  }

  const analyzeConversation = (input: AnalyzeInput): AnalyzeResult => {
    const filtered: Array<FilteredMessage> = []
    const candidates: Array<Candidate> = []
    for (const message of input.messages) {
      const role = canonicalRole(message.role)
      if (role === "other") {
        filtered.push({ reason: "noise", message_index: message.index })
        continue
      }
      if (filter.isSensitive(message.text).sensitive) {
        filtered.push({ reason: "sensitive", message_index: message.index })
        continue
      }
      if (isNoise(message.text)) {
        filtered.push({ reason: "noise", message_index: message.index })
        continue
      }
      const units: Array<string> = []
      let pending = ""
      let sawContent = false
      for (const sentence of splitSentences(message.text)) {
        if (isNoise(sentence)) continue
        const segs = segments(normalizeText(sentence))
        const substantial = meaningfulCount(segs) >= MIN_MEANINGFUL_TOKENS && tokensOfSegments(segs).length > 0
        if (!substantial) {
          if (units.length > 0) units[units.length - 1] = joinSentences(units[units.length - 1]!, sentence)
          else pending = joinSentences(pending, sentence)
          continue
        }
        units.push(joinSentences(pending, sentence))
        pending = ""
        sawContent = true
      }
      const fromAssistant = role === "assistant"
      const kept = fromAssistant ? units.filter((u) => assistantStatesFact(normalizeText(u))) : units
      if (kept.length === 0) {
        filtered.push({ reason: sawContent ? "noise" : "too_short", message_index: message.index })
        continue
      }
      for (const unit of kept) {
        const normalized = normalizeText(unit)
        const segs = segments(normalized)
        const contentTokens = tokensOfSegments(segs)
        const kind: Exclude<MemoryKind, "document"> = classifyKind(normalized)
        const { subject, memoryKey } = subjectAndKey(unit, kind, fromAssistant, contentTokens)
        candidates.push({
          messageIndex: message.index,
          order: candidates.length,
          content: unit,
          contentTokens,
          memory: {
            content: unit,
            kind,
            importance: importanceOf(kind, normalized, contentTokens.length, fromAssistant),
            subject,
            memory_key: memoryKey,
            entities: extractEntities(unit),
            topics: [],
            tokens: lexicalTokens(unit),
            language: detectLanguage(segs),
            expires_at_ms: kind === "ephemeral" ? input.nowMs + options.ephemeralTtlMs : null,
            locator: null,
            source_message_hash: message.hash
          }
        })
      }
    }

    const alive = candidates.map(() => true)
    const pairs = similarPairs(candidates.map((c) => new Set(c.contentTokens)), DUPLICATE_JACCARD)
    for (const [i, j] of pairs) {
      if (!alive[i] || !alive[j]) continue
      const a = candidates[i]!, b = candidates[j]!
      const keepNewer = b.content.length >= a.content.length
      const [winner, loser, loserAt] = keepNewer ? [b, a, i] : [a, b, j]
      alive[loserAt] = false
      winner.memory.importance = Math.max(winner.memory.importance, loser.memory.importance)
      filtered.push({ reason: "duplicate", message_index: loser.messageIndex })
    }

    const survivors = candidates.filter((_, k) => alive[k])
    const df = documentFrequency(survivors.map((c) => c.contentTokens))
    const memories = survivors.map((c): ExtractedMemory => ({
      ...c.memory,
      topics: rankTopics(c.contentTokens, df, survivors.length, MEMORY_TOPICS)
    }))
    filtered.sort((a, b) => a.message_index - b.message_index)
    return { memories, filtered }
  }

  const analyze = (input: AnalyzeInput): AnalyzeResult =>
    input.sessionId.startsWith(DOCUMENT_SESSION_PREFIX) ? analyzeDocument(input) : analyzeConversation(input)

  return {
    tokenize,
    lexicalTokens,
    entities: extractEntities,
    topics,
    isSensitive,
    redactDocument,
    analyze,
    ephemeralTtlMs: options.ephemeralTtlMs
  } as const
}

// ---------------------------------------------------------------------------------------------
// configuration

const invalid = invalidConfig
const positiveInt = (name: string, fallback: number) => integerAtLeast(name, fallback, 1)

/**
 * A JSON array of regular expressions: plain sources (compiled without flags) or `/source/flags`
 * literals. Bad JSON, a non-string entry or a pattern that does not compile fails start-up, naming
 * the variable and the entry.
 */
export const parseRegexList = (name: string, json: string): Either.Either<Array<RegExp>, ConfigError.ConfigError> => {
  const array = parseJsonArray(name, json, "a JSON array of regular expression strings")
  if (Either.isLeft(array)) return Either.left(array.left)
  const parsed = array.right
  const out: Array<RegExp> = []
  for (const [i, entry] of parsed.entries()) {
    if (typeof entry !== "string" || entry === "") return Either.left(invalid(name, `entry ${i} is not a non-empty string`))
    const literal = /^\/(.+)\/([dimsuy]*)$/su.exec(entry)
    try {
      out.push(literal === null ? new RegExp(entry) : new RegExp(literal[1]!, literal[2]))
    } catch (e) {
      return Either.left(invalid(name, `entry ${i} is not a valid regular expression (${e instanceof Error ? e.message : String(e)})`))
    }
  }
  return Either.right(out)
}

const regexList = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.mapOrFail((value) => {
      const raw = Option.getOrUndefined(value)?.trim()
      return raw === undefined || raw === "" ? Either.right<Array<RegExp>>([]) : parseRegexList(name, raw)
    })
  )

export const AnalyzerConfig: Config.Config<AnalyzerOptions> = Config.all({
  sensitiveFilterEnabled: strictBoolean("SENSITIVE_FILTER_ENABLED", true),
  sensitiveDeny: regexList("SENSITIVE_DENY_REGEX_JSON"),
  sensitiveAllow: regexList("SENSITIVE_ALLOW_REGEX_JSON"),
  ephemeralTtlMs: positiveInt("EPHEMERAL_TTL_MS", DEFAULT_EPHEMERAL_TTL_MS)
})

/**
 * Deterministic text analysis for deep-memory: tokens, entities, topics, secret filtering and memory
 * extraction. Every method is synchronous and pure given the configuration; it sits on the hot path.
 */
export class Analyzer extends Effect.Service<Analyzer>()("deep-memory/Analyzer", {
  effect: Effect.map(AnalyzerConfig, makeAnalyzer)
}) {}
