/**
 * Near-duplicate detection within one batch: Jaccard similarity of token sets at or above a threshold.
 * Prefix filtering keeps it sub-quadratic in practice: with tokens ordered rarest first, two sets with
 * Jaccard ≥ t must share a token among the first |s| − ⌈t·|s|⌉ + 1 tokens of each.
 */

export const jaccard = (a: ReadonlySet<string>, b: ReadonlySet<string>): number => {
  if (a.size === 0 && b.size === 0) return 1
  let inter = 0
  const [small, large] = a.size <= b.size ? [a, b] : [b, a]
  for (const t of small) if (large.has(t)) inter++
  return inter / (a.size + b.size - inter)
}

/** Pairs (i, j), i < j, of sets with Jaccard ≥ threshold. Empty sets never pair. */
export const similarPairs = (sets: ReadonlyArray<ReadonlySet<string>>, threshold: number): Array<readonly [number, number]> => {
  const df = new Map<string, number>()
  for (const s of sets) for (const t of s) df.set(t, (df.get(t) ?? 0) + 1)
  const order = (t: string) => df.get(t) ?? 0
  const index = new Map<string, Array<number>>()
  const pairs: Array<readonly [number, number]> = []
  sets.forEach((set, j) => {
    if (set.size === 0) return
    const sorted = [...set].sort((x, y) => order(x) - order(y) || (x < y ? -1 : x > y ? 1 : 0))
    const prefix = sorted.length - Math.ceil(threshold * sorted.length) + 1
    const candidates = new Set<number>()
    for (let k = 0; k < prefix; k++) {
      const posting = index.get(sorted[k]!)
      if (posting !== undefined) for (const i of posting) candidates.add(i)
    }
    for (const i of candidates) {
      const other = sets[i]!
      const ratio = Math.min(other.size, set.size) / Math.max(other.size, set.size)
      if (ratio >= threshold && jaccard(other, set) >= threshold) pairs.push([i, j])
    }
    for (let k = 0; k < prefix; k++) {
      const t = sorted[k]!
      const posting = index.get(t)
      if (posting === undefined) index.set(t, [j])
      else posting.push(j)
    }
  })
  return pairs
}
