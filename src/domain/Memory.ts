import { createHash } from "node:crypto"
import { Schema } from "effect"

/** Messages arrive in several client shapes; each is validated by `normalizeMessages`, not here. */
export const TranscriptMessage = Schema.Unknown

export const TextPart = Schema.Struct({
  type: Schema.Literal("text", "input_text", "output_text"),
  text: Schema.String
})

export const ChatMessage = Schema.Struct({
  role: Schema.String,
  content: Schema.Union(Schema.String, Schema.Array(Schema.Unknown))
})
export type ChatMessage = typeof ChatMessage.Type

/** An OpenClaw transcript line (`session.jsonl`): `{type:"message", message:{role, content}}`. */
export const TranscriptLine = Schema.Struct({
  type: Schema.Literal("message"),
  message: ChatMessage
})

export type Role = "user" | "assistant" | "system" | "tool" | (string & {})

export interface NormalizedMessage {
  /** Position in the request's `messages` array, ignored entries included. */
  readonly index: number
  readonly role: Role
  readonly text: string
  /** sha256 hex of `role + "\n" + text`: the identity used to skip already-indexed messages. */
  readonly hash: string
}

export const messageHash = (role: string, text: string): string =>
  createHash("sha256").update(role).update("\n").update(text).digest("hex")

const isChatMessage = Schema.is(ChatMessage)
const isTranscriptLine = Schema.is(TranscriptLine)
const isTextPart = Schema.is(TextPart)

const textOf = (content: ChatMessage["content"]): string =>
  typeof content === "string"
    ? content
    : content.flatMap((part) => (isTextPart(part) ? [part.text] : typeof part === "string" ? [part] : [])).join("\n")

/**
 * Accepts `{role, content}` (content a string or parts, non-text parts skipped) and transcript lines;
 * anything else, and messages with no text, are counted in `ignored` rather than rejected.
 */
export const normalizeMessages = (
  input: ReadonlyArray<unknown>
): { messages: Array<NormalizedMessage>; ignored: number } => {
  const messages: Array<NormalizedMessage> = []
  let ignored = 0
  input.forEach((item, index) => {
    const message = isTranscriptLine(item) ? item.message : isChatMessage(item) ? item : undefined
    if (message === undefined) {
      ignored++
      return
    }
    const role = message.role.trim().toLowerCase()
    const text = textOf(message.content).trim()
    if (role === "" || text === "") {
      ignored++
      return
    }
    messages.push({ index, role, text, hash: messageHash(role, text) })
  })
  return { messages, ignored }
}

export const MemoryKind = Schema.Literal("rule", "preference", "fact", "task", "ephemeral", "document")
export type MemoryKind = typeof MemoryKind.Type

export const Language = Schema.Literal("zh", "en", "mixed")
export type Language = typeof Language.Type

export const Locator = Schema.Struct({
  page: Schema.optional(Schema.Int),
  slide: Schema.optional(Schema.Int),
  section: Schema.optional(Schema.String),
  chunk: Schema.optional(Schema.Int)
})
export type Locator = typeof Locator.Type

export const ExtractedMemory = Schema.Struct({
  content: Schema.String,
  kind: MemoryKind,
  importance: Schema.Number.pipe(Schema.between(0, 1)),
  subject: Schema.NullOr(Schema.String),
  /** Normalized `<subject>:<attribute or predicate>[:<object>]`; the newest memory per key wins. */
  memory_key: Schema.String,
  entities: Schema.Array(Schema.String),
  topics: Schema.Array(Schema.String),
  /** Lexical tokens (content tokens plus CJK bigrams) for the BM25 index. */
  tokens: Schema.Array(Schema.String),
  language: Language,
  expires_at_ms: Schema.NullOr(Schema.Number),
  locator: Schema.NullOr(Locator),
  source_message_hash: Schema.String
})
export type ExtractedMemory = typeof ExtractedMemory.Type

export const FilterReason = Schema.Literal("sensitive", "too_short", "duplicate", "noise")
export type FilterReason = typeof FilterReason.Type

export interface FilteredMessage {
  readonly reason: FilterReason
  readonly message_index: number
}
