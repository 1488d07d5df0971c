import {
  type EvalDataset,
  type EvalMetrics,
  type EvalResult,
  type ExpectedMemory,
  LOCATOR_HEADER,
  type QueryResult,
  type QueryScore,
  type RetrievedMemory
} from "../domain/Eval.js"

export const CUTOFF = 10

const normalize = (text: string): string => text.normalize("NFKC").replace(/\s+/g, " ").trim().toLowerCase()

/**
 * Walks the ranking once; each expected item can be matched by one retrieved memory only, so listing
 * several acceptable answers never inflates nDCG beyond 1.
 */
export const scoreQuery = (
  expected: ReadonlyArray<ExpectedMemory>,
  retrieved: ReadonlyArray<RetrievedMemory>
): QueryScore => {
  const wanted = expected.map((item) => ({ session_id: item.session_id, contains: normalize(item.contains) }))
  const matched = new Set<number>()
  const hit_ranks: Array<number> = []
  retrieved.forEach((memory, index) => {
    const content = normalize(memory.content)
    const hit = wanted.findIndex(
      (item, i) =>
        !matched.has(i) &&
        (memory.session_id === undefined || memory.session_id === item.session_id) &&
        content.includes(item.contains)
    )
    if (hit >= 0) {
      matched.add(hit)
      hit_ranks.push(index + 1)
    }
  })
  return { rank: hit_ranks[0] ?? null, hit_ranks, relevant: expected.length }
}

const gain = (rank: number): number => 1 / Math.log2(rank + 1)

export const ndcgAt = (score: QueryScore, k: number = CUTOFF): number => {
  let ideal = 0
  for (let rank = 1; rank <= Math.min(score.relevant, k); rank++) ideal += gain(rank)
  if (ideal === 0) return 0
  const dcg = score.hit_ranks.filter((rank) => rank <= k).reduce((sum, rank) => sum + gain(rank), 0)
  return dcg / ideal
}

const metricsOf = (results: ReadonlyArray<QueryResult>): EvalMetrics => {
  const n = results.length
  const mean = (value: (result: QueryResult) => number) =>
    n === 0 ? 0 : results.reduce((sum, result) => sum + value(result), 0) / n
  const within = (k: number) => (result: QueryResult) => (result.rank !== null && result.rank <= k ? 1 : 0)
  return {
    queries: n,
    recall_at_1: mean(within(1)),
    recall_at_5: mean(within(5)),
    recall_at_10: mean(within(10)),
    mrr: mean((result) => (result.rank === null ? 0 : 1 / result.rank)),
    ndcg_at_10: mean((result) => ndcgAt(result))
  }
}

/** recall@k here is the share of queries with at least one expected memory in the top k (success@k). */
export const aggregate = (
  results: ReadonlyArray<QueryResult>,
  dataset = "",
  retriever = ""
): EvalResult => {
  const tags = [...new Set(results.flatMap((result) => result.tags))].sort()
  return {
    dataset,
    retriever,
    queries: results,
    overall: metricsOf(results),
    by_tag: Object.fromEntries(tags.map((tag) => [tag, metricsOf(results.filter((r) => r.tags.includes(tag)))]))
  }
}

const ABBREVIATION = /(?:^|[\s(])(?:dr|mr|mrs|ms|st|prof|mt|vs|approx|e\.g|i\.e|etc|a\.m|p\.m)\.$/i
const BOUNDARY = /[。！？；]+[”’」』）)]*|[.!?]+["'”’)]*(?=\s|$)/g

/** A deliberately simple splitter: newlines, CJK terminators, and `.!?` before whitespace (not after common abbreviations). */
export const splitSentences = (text: string): Array<string> => {
  const sentences: Array<string> = []
  for (const line of text.replace(LOCATOR_HEADER, "").split(/\n+/)) {
    let start = 0
    for (const match of line.matchAll(BOUNDARY)) {
      const end = match.index + match[0].length
      const candidate = line.slice(start, end).trim()
      if (match[0].startsWith(".") && ABBREVIATION.test(candidate)) continue
      if (candidate !== "") sentences.push(candidate)
      start = end
    }
    const rest = line.slice(start).trim()
    if (rest !== "") sentences.push(rest)
  }
  return sentences
}

const HAN_RUN = /\p{Script=Han}{2,}/gu
const HAN = /\p{Script=Han}/u

/** A sentence that states something: not a question and long enough to carry a fact. */
export const isStatement = (sentence: string): boolean =>
  !/[?？]["'”’)]*$/.test(sentence) && (HAN.test(sentence) ? sentence.length >= 6 : sentence.split(/\s+/).length >= 4)

export const countStatements = (dataset: EvalDataset): number =>
  dataset.sessions.reduce(
    (total, session) =>
      total +
      session.messages
        .filter((message) => message.role === "user")
        .reduce((sum, message) => sum + splitSentences(message.content).filter(isStatement).length, 0),
    0
  )

const segmenter = new Intl.Segmenter("zh", { granularity: "word" })

/** Word tokens (lowercased, NFKC) plus character bigrams over runs of Han characters. */
export const tokenize = (text: string): Array<string> => {
  const normalized = text.normalize("NFKC").toLowerCase()
  const tokens: Array<string> = []
  for (const segment of segmenter.segment(normalized)) {
    if (segment.isWordLike) tokens.push(segment.segment)
  }
  for (const run of normalized.match(HAN_RUN) ?? []) {
    const chars = [...run]
    for (let i = 0; i + 1 < chars.length; i++) tokens.push(`${chars[i]}${chars[i + 1]}`)
  }
  return tokens
}

interface IndexedSentence {
  readonly session_id: string
  readonly content: string
  readonly length: number
  readonly tf: ReadonlyMap<string, number>
}

/**
 * Plain BM25 over every message split into sentences, ranking sentences per query (top 10); scoped
 * queries rank only their sessions' sentences, with corpus statistics from the whole dataset.
 */
export const bm25Baseline = (dataset: EvalDataset, k1 = 1.2, b = 0.75): EvalResult => {
  const sentences: Array<IndexedSentence> = dataset.sessions.flatMap((session) =>
    session.messages.flatMap((message) =>
      splitSentences(message.content).map((content) => {
        const tokens = tokenize(content)
        const tf = new Map<string, number>()
        for (const token of tokens) tf.set(token, (tf.get(token) ?? 0) + 1)
        return { session_id: session.session_id, content, length: tokens.length, tf }
      })
    )
  )
  const total = sentences.length
  const averageLength = total === 0 ? 0 : sentences.reduce((sum, s) => sum + s.length, 0) / total
  const documentFrequency = new Map<string, number>()
  for (const sentence of sentences) {
    for (const term of sentence.tf.keys()) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1)
  }
  const idf = (term: string): number => {
    const df = documentFrequency.get(term) ?? 0
    return Math.log(1 + (total - df + 0.5) / (df + 0.5))
  }

  const results = dataset.queries.map((query): QueryResult => {
    const terms = [...new Set(tokenize(query.query))]
    const scope = query.session_ids === undefined ? undefined : new Set<string>(query.session_ids)
    const ranked = sentences
      .flatMap((sentence, order) => {
        if (scope !== undefined && !scope.has(sentence.session_id)) return []
        let score = 0
        for (const term of terms) {
          const f = sentence.tf.get(term) ?? 0
          if (f === 0) continue
          score += (idf(term) * f * (k1 + 1)) / (f + k1 * (1 - b + (b * sentence.length) / (averageLength || 1)))
        }
        return score > 0 ? [{ sentence, score, order }] : []
      })
      .sort((left, right) => right.score - left.score || left.order - right.order)
      .slice(0, CUTOFF)
      .map(({ sentence }) => ({ session_id: sentence.session_id, content: sentence.content }))
    return { id: query.id, tags: [...query.tags], ...scoreQuery(query.expected, ranked) }
  })
  return aggregate(results, dataset.name, `bm25(k1=${k1},b=${b})`)
}
