import { Effect } from "effect"
import type { EvalDataset, QueryResult } from "../domain/Eval.js"
import { aggregate, scoreQuery } from "./EvalScorer.js"
import { MemoryService } from "./MemoryService.js"

/**
 * Runs a dataset against the memory service: every session is ingested in order (`between` runs
 * after each, so later statements are newer), then every query is retrieved (top 10) and scored.
 */
export const runEval = (
  dataset: EvalDataset,
  options: { readonly namespace?: string; readonly between?: Effect.Effect<void> } = {}
) =>
  Effect.gen(function*() {
    const memory = yield* MemoryService
    const namespace = options.namespace ?? dataset.namespace
    for (const session of dataset.sessions) {
      yield* memory.update(namespace, session.session_id, session.messages)
      if (options.between !== undefined) yield* options.between
    }
    const results: Array<QueryResult> = []
    for (const q of dataset.queries) {
      const items = yield* memory.retrieve({ namespace, query: q.query, sessionIds: q.session_ids, limit: 10, explain: false })
      const score = scoreQuery(q.expected, items.map((i) => ({ session_id: i.memory.sessionId, content: i.memory.payload.content })))
      results.push({ id: q.id, tags: q.tags, ...score })
    }
    return aggregate(results, dataset.name, "deep-memory")
  }).pipe(Effect.withSpan("runEval"))
