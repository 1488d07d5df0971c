import { readFileSync } from "node:fs"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { EVAL_TAGS, EvalDataset, LOCATOR_HEADER, type QueryResult } from "../src/domain/Eval.js"
import {
  aggregate,
  bm25Baseline,
  countStatements,
  ndcgAt,
  scoreQuery,
  splitSentences,
  tokenize
} from "../src/services/EvalScorer.js"

const load = (name: string): EvalDataset =>
  Schema.decodeUnknownSync(EvalDataset)(
    JSON.parse(readFileSync(new URL(`../eval/datasets/${name}.json`, import.meta.url), "utf8"))
  )

const datasets = [
  { file: "en-personal", language: "en" },
  { file: "zh-personal", language: "zh" }
] as const

const gain = (rank: number) => 1 / Math.log2(rank + 1)

describe.each(datasets)("dataset $file", ({ file, language }) => {
  const dataset = load(file)
  const sessions = new Map(dataset.sessions.map((session, order) => [session.session_id, { session, order }]))

  it("decodes with the schema, with unique ids", () => {
    expect(dataset.language).toBe(language)
    expect(sessions.size).toBe(dataset.sessions.length)
    expect(new Set(dataset.queries.map((query) => query.id)).size).toBe(dataset.queries.length)
  })

  it("meets the minimum size and covers every tag", () => {
    expect(countStatements(dataset)).toBeGreaterThanOrEqual(300)
    expect(dataset.queries.length).toBeGreaterThanOrEqual(40)
    const tags = new Set(dataset.queries.flatMap((query) => query.tags))
    for (const tag of EVAL_TAGS) expect(tags, tag).toContain(tag)
    const conversations = dataset.sessions.filter((session) => session.kind === "conversation")
    const documents = dataset.sessions.filter((session) => session.kind === "document")
    expect(conversations.length).toBeGreaterThanOrEqual(40)
    expect(documents.length).toBeGreaterThanOrEqual(5)
    for (const document of documents) {
      expect(document.messages.length).toBeGreaterThanOrEqual(3)
      for (const chunk of document.messages) expect(chunk.content, document.session_id).toMatch(LOCATOR_HEADER)
    }
  })

  it("names each expected and distractor memory by a substring found in exactly one message and one sentence", () => {
    for (const query of dataset.queries) {
      for (const item of [...query.expected, ...(query.distractors ?? [])]) {
        const label = `${query.id}: ${item.contains}`
        const session = sessions.get(item.session_id)?.session
        expect(session, label).toBeDefined()
        const messages = session?.messages.filter((message) => message.content.includes(item.contains)) ?? []
        expect(messages.length, label).toBe(1)
        const sentences = splitSentences(messages[0]?.content ?? "").filter((s) => s.includes(item.contains))
        expect(sentences.length, label).toBe(1)
      }
    }
  })

  it("makes scoping matter: a same-topic memory lives in a session outside the scope", () => {
    const scoped = dataset.queries.filter((query) => query.tags.includes("scoped"))
    expect(scoped.length).toBeGreaterThanOrEqual(5)
    for (const query of scoped) {
      const scope = new Set<string>(query.session_ids ?? [])
      expect(scope.size, query.id).toBeGreaterThan(0)
      for (const id of scope) expect(sessions.has(id), query.id).toBe(true)
      for (const item of query.expected) expect(scope.has(item.session_id), query.id).toBe(true)
      const outside = (query.distractors ?? []).filter((item) => !scope.has(item.session_id))
      expect(outside.length, query.id).toBeGreaterThan(0)
    }
  })

  it("lists the superseded fact for updates, and it comes earlier than the expected one", () => {
    const position = (item: { session_id: string; contains: string }) => {
      const entry = sessions.get(item.session_id)
      const index = entry?.session.messages.findIndex((message) => message.content.includes(item.contains)) ?? -1
      return (entry?.order ?? -1) * 1000 + index
    }
    for (const query of dataset.queries.filter((q) => q.tags.includes("update"))) {
      const older = query.distractors ?? []
      if (older.length === 0) continue
      const newest = Math.min(...query.expected.map(position))
      for (const item of older) expect(position(item), query.id).toBeLessThan(newest)
    }
    for (const query of dataset.queries.filter((q) => q.tags.includes("distractor"))) {
      expect(query.distractors?.length ?? 0, query.id).toBeGreaterThan(0)
    }
  })

  it("is neither trivial nor impossible for the BM25 baseline", () => {
    const result = bm25Baseline(dataset)
    const all = [result.overall, ...Object.values(result.by_tag)]
    for (const metrics of all) {
      for (const value of [metrics.recall_at_1, metrics.recall_at_5, metrics.recall_at_10, metrics.mrr, metrics.ndcg_at_10]) {
        expect(value).toBeGreaterThanOrEqual(0)
        expect(value).toBeLessThanOrEqual(1)
      }
    }
    expect(result.overall.queries).toBe(dataset.queries.length)
    expect(result.overall.recall_at_5).toBeGreaterThan(0)
    expect(result.overall.recall_at_5).toBeLessThan(1)
    const paraphrase = result.by_tag["paraphrase"]
    const exact = result.by_tag["exact"]
    expect(paraphrase?.recall_at_5).toBeLessThan(0.5)
    expect(paraphrase?.recall_at_5).toBeLessThan(exact?.recall_at_5 ?? 0)
    expect(result.by_tag["cross-lingual"]?.recall_at_10).toBe(0)
  })
})

describe("scoreQuery", () => {
  const expected = [
    { session_id: "a", contains: "nurse at St. Mary's" },
    { session_id: "b", contains: "night shifts" }
  ]

  it("matches by session and substring, each expected item once", () => {
    const score = scoreQuery(expected, [
      { session_id: "b", content: "Lena is a nurse at St. Mary's." },
      { session_id: "a", content: "Lena works nights." },
      { session_id: "a", content: "Lena is a  NURSE at st. mary's hospital." },
      { session_id: "a", content: "Lena is a nurse at St. Mary's." },
      { content: "She prefers night shifts." }
    ])
    expect(score).toEqual({ rank: 3, hit_ranks: [3, 5], relevant: 2 })
  })

  it("returns null when nothing matches", () => {
    expect(scoreQuery(expected, [{ session_id: "a", content: "unrelated" }])).toEqual({
      rank: null,
      hit_ranks: [],
      relevant: 2
    })
  })
})

describe("aggregate", () => {
  const results: Array<QueryResult> = [
    { id: "q1", tags: ["exact"], rank: 1, hit_ranks: [1], relevant: 1 },
    { id: "q2", tags: ["paraphrase", "multi-hop"], rank: 3, hit_ranks: [3, 4], relevant: 2 },
    { id: "q3", tags: ["paraphrase"], rank: null, hit_ranks: [], relevant: 1 },
    { id: "q4", tags: ["exact"], rank: 7, hit_ranks: [7, 12], relevant: 12 }
  ]

  it("computes recall@k, MRR and nDCG@10 by hand", () => {
    const q2 = (0.5 + gain(4)) / (1 + gain(2))
    let ideal12 = 0
    for (let rank = 1; rank <= 10; rank++) ideal12 += gain(rank)
    const q4 = (1 / 3) / ideal12
    expect(ndcgAt(results[1]!)).toBeCloseTo(q2, 12)
    expect(ndcgAt(results[3]!)).toBeCloseTo(q4, 12)

    const result = aggregate(results, "hand", "fixed")
    expect(result.overall.queries).toBe(4)
    expect(result.overall.recall_at_1).toBe(0.25)
    expect(result.overall.recall_at_5).toBe(0.5)
    expect(result.overall.recall_at_10).toBe(0.75)
    expect(result.overall.mrr).toBeCloseTo((1 + 1 / 3 + 0 + 1 / 7) / 4, 12)
    expect(result.overall.ndcg_at_10).toBeCloseTo((1 + q2 + 0 + q4) / 4, 12)

    expect(Object.keys(result.by_tag)).toEqual(["exact", "multi-hop", "paraphrase"])
    expect(result.by_tag["exact"]).toMatchObject({ queries: 2, recall_at_1: 0.5, recall_at_5: 0.5, recall_at_10: 1 })
    expect(result.by_tag["exact"]?.mrr).toBeCloseTo((1 + 1 / 7) / 2, 12)
    expect(result.by_tag["paraphrase"]).toMatchObject({ queries: 2, recall_at_1: 0, recall_at_5: 0.5, mrr: 1 / 6 })
    expect(result.by_tag["multi-hop"]?.ndcg_at_10).toBeCloseTo(q2, 12)
  })

  it("gives zeros for no queries", () => {
    expect(aggregate([]).overall).toEqual({
      queries: 0,
      recall_at_1: 0,
      recall_at_5: 0,
      recall_at_10: 0,
      mrr: 0,
      ndcg_at_10: 0
    })
  })
})

describe("text helpers", () => {
  it("splits sentences without breaking on titles, and drops locator headers", () => {
    expect(splitSentences("[page 2] Dr. Okafor works at St. Mary's. The fee is 1.5 pounds! Ok?")).toEqual([
      "Dr. Okafor works at St. Mary's.",
      "The fee is 1.5 pounds!",
      "Ok?"
    ])
    expect(splitSentences("[section: 预算] 批准预算八十万元。服务器费用每月上限十二万元；明天再议\n第二行")).toEqual([
      "批准预算八十万元。",
      "服务器费用每月上限十二万元；",
      "明天再议",
      "第二行"
    ])
  })

  it("tokenizes words in lowercase and adds Han bigrams", () => {
    expect(tokenize("Lena's NURSE job")).toEqual(["lena's", "nurse", "job"])
    const zh = tokenize("我妹妹当护士")
    expect(zh).toEqual(expect.arrayContaining(["妹妹", "护士", "我妹", "妹当", "当护"]))
  })
})
