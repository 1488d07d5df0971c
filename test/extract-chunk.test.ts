import { describe, expect, it } from "vitest"
import { chunk, splitText } from "../src/services/extract/chunk.js"
import { guessLanguage } from "../src/services/extract/language.js"
import type { Segment } from "../src/services/extract/types.js"

const hasSplitSurrogate = (s: string) => /^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/.test(s)

/** The longest suffix of `a` (up to `max`) that `b` starts with. */
const sharedOverlap = (a: string, b: string, max: number) => {
  for (let n = Math.min(max, a.length, b.length); n > 0; n--) if (b.startsWith(a.slice(a.length - n))) return n
  return 0
}

const prng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32)

describe("chunk", () => {
  it("keeps chunks within maxChars, overlaps consecutive pieces, and covers all the text", () => {
    const rand = prng(7)
    const words = ["alpha", "beta", "gamma", "delta", "记忆", "系统", "😀", "𠀋"]
    const sentences = Array.from({ length: 400 }, () => {
      const n = 3 + Math.floor(rand() * 12)
      return Array.from({ length: n }, () => words[Math.floor(rand() * words.length)]).join(rand() < 0.5 ? " " : "") + (rand() < 0.5 ? "." : "。")
    })
    const text = sentences.map((s, i) => (i % 9 === 8 ? s + "\n\n" : s + " ")).join("")
    const options = { maxChars: 500, overlapChars: 80 }
    const pieces = splitText(text, options)
    expect(pieces.length).toBeGreaterThan(text.length / 500)
    for (const p of pieces) {
      expect(p.length).toBeLessThanOrEqual(500)
      expect(hasSplitSurrogate(p)).toBe(false)
    }
    for (let i = 1; i < pieces.length; i++) {
      const shared = sharedOverlap(pieces[i - 1]!, pieces[i]!, 80)
      expect(shared).toBeGreaterThan(0)
      expect(shared).toBeLessThanOrEqual(80)
    }
    // dropping each piece's overlap and concatenating gives the text back
    let rebuilt = pieces[0]!
    for (let i = 1; i < pieces.length; i++) rebuilt += pieces[i]!.slice(sharedOverlap(pieces[i - 1]!, pieces[i]!, 80))
    expect(rebuilt).toBe(text)
  })

  it("cuts at paragraph breaks first, then at sentence ends including CJK 。！？", () => {
    const para = "First paragraph sentence one. Sentence two.\n\nSecond paragraph here and more words."
    expect(splitText(para, { maxChars: 60, overlapChars: 0 })[0]).toBe("First paragraph sentence one. Sentence two.\n\n")
    const zh = "今天天气很好。我们去公园散步吧！你觉得怎么样？好的我们走吧没有标点符号的很长的一句话继续写下去"
    const pieces = splitText(zh, { maxChars: 20, overlapChars: 0 })
    expect(pieces[0]).toBe("今天天气很好。我们去公园散步吧！")
    // no boundary in the back half of the window: a hard cut at maxChars
    expect(pieces[1]).toBe("你觉得怎么样？好的我们走吧没有标点符号的")
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(20)
    expect(pieces.join("")).toBe(zh)
  })

  it("never splits a surrogate pair even in text without any boundary", () => {
    const emoji = "😀".repeat(1000)
    for (const maxChars of [7, 8, 99, 100]) {
      const pieces = splitText(emoji, { maxChars, overlapChars: 3 })
      for (const p of pieces) {
        expect(p.length).toBeLessThanOrEqual(maxChars)
        expect(hasSplitSurrogate(p)).toBe(false)
      }
    }
  })

  it("packs small segments under one label into one chunk with a locator range, and carries locators", () => {
    const segments: Array<Segment> = [
      { text: "Para one.", locator: { paragraph: 1, section: "Intro" } },
      { text: "Para two.", locator: { paragraph: 2, section: "Intro" } },
      { text: "Other section.", locator: { paragraph: 3, section: "Body" } },
      { text: "Page one.", locator: { page: 1 } },
      { text: "Page two.", locator: { page: 2 } },
      { text: "x".repeat(250), locator: { slide: 4, heading: "Long" } }
    ]
    const chunks = chunk(segments, { maxChars: 100, overlapChars: 10 })
    expect(chunks.slice(0, 3)).toEqual([
      { text: "Para one.\n\nPara two.", locator: { paragraph: 1, paragraph_end: 2, section: "Intro" } },
      { text: "Other section.", locator: { paragraph: 3, section: "Body" } },
      { text: "Page one.\n\nPage two.", locator: { page: 1, page_end: 2 } }
    ])
    const long = chunks.slice(3)
    expect(long.length).toBe(3)
    for (const c of long) {
      expect(c.locator).toEqual({ slide: 4, heading: "Long" })
      expect(c.text.length).toBeLessThanOrEqual(100)
    }
  })

  it("uses the configured defaults of the worker (3500/200)", () => {
    const text = "句子。".repeat(5000)
    const chunks = chunk([{ text, locator: {} }])
    expect(chunks.every((c) => c.text.length <= 3500 && c.text.endsWith("。"))).toBe(true)
    expect(sharedOverlap(chunks[0]!.text, chunks[1]!.text, 200)).toBeGreaterThan(150)
  })
})

describe("guessLanguage", () => {
  it("tells Chinese, English and mixed text apart", () => {
    expect(guessLanguage(["这是一个中文句子，没有英文。"])).toBe("zh")
    expect(guessLanguage(["This is an English sentence with no Chinese."])).toBe("en")
    expect(guessLanguage(["The 深度记忆 system stores 文件 and retrieves them 很快 later."])).toBe("mixed")
    expect(guessLanguage(["12345 !!!"])).toBe("unknown")
  })
})
