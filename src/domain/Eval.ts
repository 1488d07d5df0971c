import { Schema } from "effect"

/**
 * Retrieval-evaluation datasets: sessions are fed to `/update_memory_index` as-is, queries go to
 * `/retrieve_context`, and a retrieved memory counts as a hit when it comes from the expected session
 * and its content contains the expected substring (robust to how the analyzer splits sentences).
 */

export const EvalTag = Schema.Literal(
  "paraphrase",
  "distractor",
  "exact",
  "multi-hop",
  "scoped",
  "update",
  "cross-lingual"
)
export type EvalTag = typeof EvalTag.Type

export const EVAL_TAGS: ReadonlyArray<EvalTag> = EvalTag.literals

const NonEmpty = Schema.String.pipe(Schema.minLength(1))

export const DOCUMENT_SESSION_PATTERN = /^rustfs:file:[0-9a-f]{64}$/

/** A document chunk may open with a locator header such as `[page 3]` or `[section: Intro]`. */
export const LOCATOR_HEADER = /^\[(?:page \d+|slide \d+|chunk \d+|section: [^\]\n]+)\]\s*/

export const EvalMessage = Schema.Struct({
  role: Schema.Literal("user", "assistant", "system"),
  content: NonEmpty
})
export type EvalMessage = typeof EvalMessage.Type

export const EvalSession = Schema.Struct({
  session_id: NonEmpty,
  kind: Schema.Literal("conversation", "document"),
  messages: Schema.NonEmptyArray(EvalMessage)
}).pipe(
  Schema.filter((session) =>
    session.kind === "document" && !DOCUMENT_SESSION_PATTERN.test(session.session_id)
      ? `document session_id must look like rustfs:file:<64 hex>, got ${session.session_id}`
      : undefined
  )
)
export type EvalSession = typeof EvalSession.Type

/** One acceptable answer: a memory from `session_id` whose content contains `contains` verbatim. */
export const ExpectedMemory = Schema.Struct({
  session_id: NonEmpty,
  contains: NonEmpty
})
export type ExpectedMemory = typeof ExpectedMemory.Type

export const EvalQuery = Schema.Struct({
  id: NonEmpty,
  query: NonEmpty,
  /** Restricts retrieval to these sessions (e.g. one file); absent means the whole namespace. */
  session_ids: Schema.optional(Schema.NonEmptyArray(NonEmpty)),
  expected: Schema.NonEmptyArray(ExpectedMemory),
  /** Near-miss memories that must rank below the expected ones (other people, places, times, files). */
  distractors: Schema.optional(Schema.Array(ExpectedMemory)),
  tags: Schema.Array(EvalTag)
})
export type EvalQuery = typeof EvalQuery.Type

export const EvalDataset = Schema.Struct({
  name: NonEmpty,
  language: Schema.Literal("zh", "en", "mixed"),
  description: Schema.String,
  namespace: NonEmpty,
  sessions: Schema.NonEmptyArray(EvalSession),
  queries: Schema.NonEmptyArray(EvalQuery)
})
export type EvalDataset = typeof EvalDataset.Type

/** What a retriever returned for one query, best first. `session_id` is optional: without it, content alone decides. */
export interface RetrievedMemory {
  readonly session_id?: string | undefined
  readonly content: string
}

export const QueryScore = Schema.Struct({
  /** 1-based rank of the first retrieved memory matching any expected item; null when none matched. */
  rank: Schema.NullOr(Schema.Int),
  /** 1-based ranks of retrieved memories that matched an expected item not matched earlier. */
  hit_ranks: Schema.Array(Schema.Int),
  /** Number of expected items (the ideal for nDCG, capped at 10). */
  relevant: Schema.Int
})
export type QueryScore = typeof QueryScore.Type

export const QueryResult = Schema.Struct({
  id: Schema.String,
  tags: Schema.Array(Schema.String),
  ...QueryScore.fields
})
export type QueryResult = typeof QueryResult.Type

export const EvalMetrics = Schema.Struct({
  queries: Schema.Int,
  recall_at_1: Schema.Number,
  recall_at_5: Schema.Number,
  recall_at_10: Schema.Number,
  mrr: Schema.Number,
  ndcg_at_10: Schema.Number
})
export type EvalMetrics = typeof EvalMetrics.Type

export const EvalResult = Schema.Struct({
  dataset: Schema.String,
  retriever: Schema.String,
  queries: Schema.Array(QueryResult),
  overall: EvalMetrics,
  by_tag: Schema.Record({ key: Schema.String, value: EvalMetrics })
})
export type EvalResult = typeof EvalResult.Type
