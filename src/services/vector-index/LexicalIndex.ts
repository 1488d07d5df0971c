import { TopK } from "./topk.js"

/** Documents are the embedded store's `index_key`s. */
type Key = number

/** BM25 parameters (the usual defaults: term-frequency saturation and length normalisation). */
const K1 = 1.2
const B = 0.75

interface Posting {
  /** `namespace \0 term`: postings, document frequencies and lengths are all per namespace. */
  readonly id: string
  readonly docs: Map<Key, number>
}

interface NamespaceStats {
  docs: number
  totalLength: number
}

/**
 * An in-process inverted index over the analyzer's tokens, scored with BM25 (IDF and document
 * length per namespace, so one tenant's vocabulary never weighs on another's ranking). It is the
 * embedded store's lexical side: PostgreSQL keeps the tokens, this index is rebuilt from them at
 * start. A query touches only the postings of its own terms in its own namespace.
 */
export class LexicalIndex {
  private readonly postings = new Map<string, Posting>()
  private readonly docs = new Map<Key, { readonly namespace: string; readonly length: number; readonly postings: ReadonlyArray<Posting> }>()
  private readonly namespaces = new Map<string, NamespaceStats>()

  get size(): number {
    return this.docs.size
  }

  /** Adds (or replaces) the document `key` of `namespace` with its tokens. */
  add(key: Key, namespace: string, tokens: ReadonlyArray<string>): void {
    this.remove(key)
    const counts = new Map<string, number>()
    for (const t of lexicalTerms(tokens)) counts.set(t, (counts.get(t) ?? 0) + 1)
    const own: Array<Posting> = []
    let length = 0
    for (const [term, tf] of counts) {
      const id = `${namespace}\u0000${term}`
      let posting = this.postings.get(id)
      if (posting === undefined) this.postings.set(id, posting = { id, docs: new Map() })
      posting.docs.set(key, tf)
      own.push(posting)
      length += tf
    }
    this.docs.set(key, { namespace, length, postings: own })
    const stats = this.namespaces.get(namespace)
    if (stats === undefined) this.namespaces.set(namespace, { docs: 1, totalLength: length })
    else {
      stats.docs += 1
      stats.totalLength += length
    }
  }

  remove(key: Key): void {
    const doc = this.docs.get(key)
    if (doc === undefined) return
    this.docs.delete(key)
    for (const posting of doc.postings) {
      posting.docs.delete(key)
      if (posting.docs.size === 0) this.postings.delete(posting.id)
    }
    const stats = this.namespaces.get(doc.namespace)!
    stats.docs -= 1
    stats.totalLength -= doc.length
    if (stats.docs === 0) this.namespaces.delete(doc.namespace)
  }

  /** The `limit` best documents of `namespace` for any of `tokens`, among those `accept` lets through. */
  search(
    namespace: string,
    tokens: ReadonlyArray<string>,
    limit: number,
    accept: (key: Key) => boolean
  ): Array<{ key: Key; score: number }> {
    const stats = this.namespaces.get(namespace)
    if (stats === undefined || limit <= 0) return []
    const avgLength = stats.totalLength / stats.docs
    const terms = new Set(lexicalTerms(tokens))
    const scores = new Map<Key, number>()
    for (const term of terms) {
      const posting = this.postings.get(`${namespace}\u0000${term}`)
      if (posting === undefined) continue
      const df = posting.docs.size
      const idf = Math.log(1 + (stats.docs - df + 0.5) / (df + 0.5))
      for (const [key, tf] of posting.docs) {
        const doc = this.docs.get(key)!
        const norm = tf + K1 * (1 - B + B * doc.length / avgLength)
        const s = idf * tf * (K1 + 1) / norm
        const before = scores.get(key)
        if (before === undefined) {
          if (!accept(key)) {
            scores.set(key, -Infinity)
            continue
          }
          scores.set(key, s)
        } else scores.set(key, before + s)
      }
    }
    const top = new TopK(limit)
    const keys: Array<Key> = []
    for (const [key, score] of scores) {
      if (score === -Infinity || score <= top.threshold) continue
      keys.push(key)
      top.offer(score, keys.length - 1)
    }
    return top.sorted().map(({ slot, score }) => ({ key: keys[slot]!, score }))
  }
}

/**
 * The terms of a token list, the same for stored and query tokens in both vector stores: lower-cased
 * and split at anything but letters, digits, marks and `_`, so query punctuation cannot miss a word.
 */
export const lexicalTerms = (tokens: ReadonlyArray<string>): Array<string> =>
  tokens.flatMap((t) => t.toLowerCase().split(/[^\p{L}\p{N}\p{M}_]+/u)).filter((t) => t !== "")
