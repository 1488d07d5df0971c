import { describe, expect, it } from "vitest"
import { LexicalIndex } from "../src/services/vector-index/LexicalIndex.js"

const all = () => true

describe("LexicalIndex (in-process BM25)", () => {
  it("ranks rare terms above common ones and shorter documents above longer ones", () => {
    const index = new LexicalIndex()
    for (let i = 0; i < 50; i++) index.add(i, "ns", ["meeting", "room", `filler${i}`])
    index.add(100, "ns", ["meeting", "porto"])
    index.add(101, "ns", ["porto", "harbor", "boat", "pier", "seven", "evening", "tide"])
    const hits = index.search("ns", ["meeting", "Porto"], 5, all)
    expect(hits[0]!.key).toBe(100) // both terms
    expect(hits[1]!.key).toBe(101) // the rare term alone beats the common one alone
    expect(hits[1]!.score).toBeGreaterThan(hits[2]!.score)
    expect(hits).toHaveLength(5)
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score)
  })

  it("keeps namespaces apart: postings, document frequencies and lengths", () => {
    const index = new LexicalIndex()
    index.add(1, "teamA", ["launch", "date", "march"])
    index.add(2, "teamB", ["launch", "date", "april"])
    expect(index.search("teamA", ["launch"], 10, all).map((h) => h.key)).toEqual([1])
    expect(index.search("teamB", ["march"], 10, all)).toEqual([])
    expect(index.search("teamC", ["launch"], 10, all)).toEqual([])
    // teamB's many "launch" documents do not change how teamA scores its own
    const before = index.search("teamA", ["launch"], 1, all)[0]!.score
    for (let i = 10; i < 40; i++) index.add(i, "teamB", ["launch"])
    expect(index.search("teamA", ["launch"], 1, all)[0]!.score).toBe(before)
  })

  it("forgets removed and replaced documents, and filters through accept", () => {
    const index = new LexicalIndex()
    index.add(1, "ns", ["green", "tea", "morning"])
    index.add(2, "ns", ["black", "coffee", "morning"])
    index.add(1, "ns", ["herbal", "tea"]) // replaced
    expect(index.search("ns", ["green"], 10, all)).toEqual([])
    expect(index.search("ns", ["herbal"], 10, all).map((h) => h.key)).toEqual([1])
    expect(index.search("ns", ["morning"], 10, (k) => k !== 2)).toEqual([])
    index.remove(2)
    index.remove(2)
    expect(index.search("ns", ["morning", "coffee"], 10, all)).toEqual([])
    expect(index.size).toBe(1)
    index.remove(1)
    expect(index.search("ns", ["tea"], 10, all)).toEqual([])
    expect(index.size).toBe(0)
  })

  it("counts a repeated term, compares case-insensitively and ignores empty tokens", () => {
    const index = new LexicalIndex()
    index.add(1, "ns", ["Budget", "budget", "budget", "review", ""])
    index.add(2, "ns", ["budget", "review", "notes", "draft"])
    index.add(3, "ns", ["holiday", "plans"])
    const hits = index.search("ns", ["BUDGET", " "], 10, all)
    expect(hits.map((h) => h.key)).toEqual([1, 2])
    expect(index.search("ns", [], 10, all)).toEqual([])
    expect(index.search("ns", ["budget"], 0, all)).toEqual([])
  })
})
