import { describe, expect, it } from "vitest"
import { extract } from "../src/services/extract/extract.js"
import type { Extracted, Outcome } from "../src/services/extract/types.js"
import {
  cjkFontPath, encodeBig5, encodeGbk, encodeUtf16le, makeDocx, makePdf, makePptx, makeZipBombDocx
} from "./fixtures/extract/make.js"

const utf8 = (s: string) => new TextEncoder().encode(s)

const extracted = (outcome: Outcome): Extracted => {
  if (outcome._tag !== "Extracted") throw new Error(`expected Extracted, got ${outcome.kind}: ${outcome.reason}`)
  return outcome
}
const allText = (o: Extracted) => o.segments.map((s) => s.text).join("\n")

const zhParagraph =
  "深度记忆系统把归档文件转换为可检索的记忆。每个文件都会被下载、解析并切分成片段，然后写入长期记忆。" +
  "我们需要正确处理中文编码，例如国标码和大五码，否则文本会变成乱码。这个测试检查检测器是否能够识别编码并正确解码全部内容。"
const zhTraditional =
  "深度記憶系統把歸檔文件轉換為可檢索的記憶。每個文件都會被下載、解析並切分成片段，然後寫入長期記憶。" +
  "我們需要正確處理中文編碼，例如國標碼和大五碼，否則文本會變成亂碼。這個測試檢查偵測器是否能夠識別編碼並正確解碼全部內容。"

describe("text encodings", () => {
  it("decodes GBK", async () => {
    const o = extracted(await extract(encodeGbk(zhParagraph), { filename: "notes.txt" }))
    expect(o.encoding).toBe("gb18030")
    expect(allText(o)).toBe(zhParagraph)
    expect(o.language).toBe("zh")
  })

  it("decodes Big5", async () => {
    const o = extracted(await extract(encodeBig5(zhTraditional), { filename: "notes.txt" }))
    expect(o.encoding).toBe("big5")
    expect(allText(o)).toBe(zhTraditional)
    expect(o.language).toBe("zh")
  })

  it("decodes UTF-16LE with and without a BOM, and UTF-16BE with a BOM", async () => {
    const text = "Mixed 中文 and English text.\n\nSecond paragraph 第二段。"
    const withBom = extracted(await extract(encodeUtf16le(text, true), { filename: "a.txt" }))
    expect(withBom.encoding).toBe("utf-16le")
    const paragraphs = ["Mixed 中文 and English text.", "Second paragraph 第二段。"]
    expect(withBom.segments.map((s) => s.text)).toEqual(paragraphs)
    const bare = extracted(await extract(encodeUtf16le(text, false), { filename: "a.txt" }))
    expect(bare.encoding).toBe("utf-16le")
    expect(bare.segments.map((s) => s.text)).toEqual(paragraphs)
    const le = encodeUtf16le(text, false)
    const be = new Uint8Array(le.length + 2)
    be.set([0xfe, 0xff])
    for (let i = 0; i < le.length; i += 2) be.set([le[i + 1]!, le[i]!], i + 2)
    const big = extracted(await extract(be, { filename: "a.txt" }))
    expect(big.encoding).toBe("utf-16be")
    expect(big.segments.map((s) => s.text)).toEqual(paragraphs)
  })

  it("strips a UTF-8 BOM and keeps line ranges of paragraphs", async () => {
    const o = extracted(await extract(new Uint8Array([0xef, 0xbb, 0xbf, ...utf8("one\ntwo\n\n\nthree")]), { filename: "x.txt" }))
    expect(o.segments).toEqual([
      { text: "one\ntwo", locator: { line_start: 1, line_end: 2 } },
      { text: "three", locator: { line_start: 5, line_end: 5 } }
    ])
    expect(o.language).toBe("en")
  })

  it("refuses binary garbage and known binary types, whatever the declared MIME says", async () => {
    const garbage = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24)
    const g = await extract(garbage, { filename: "x.txt", declaredMime: "text/plain" })
    expect(g).toMatchObject({ _tag: "NotExtracted", kind: "unsupported" })
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, ...new Uint8Array(64)])
    expect(await extract(png, { filename: "a.txt", declaredMime: "text/plain" })).toMatchObject({ kind: "unsupported", reason: expect.stringContaining("image/png") })
  })

  it("reports empty text as empty", async () => {
    expect(await extract(utf8("  \n\n \t\n"), { filename: "blank.txt" })).toMatchObject({ _tag: "NotExtracted", kind: "empty" })
    expect(await extract(new Uint8Array(0), {})).toMatchObject({ _tag: "NotExtracted", kind: "empty" })
  })

  it("refuses input over the byte limit without parsing", async () => {
    expect(await extract(utf8("x".repeat(2000)), {}, { maxBytes: 1000 })).toMatchObject({ kind: "limit" })
  })

  it("cuts text at maxChars and marks the outcome truncated", async () => {
    const o = extracted(await extract(utf8(Array.from({ length: 50 }, (_, i) => `Paragraph ${i} text.`).join("\n\n")), { filename: "a.txt" }, { maxChars: 100 }))
    expect(o.stats.truncated).toBe(true)
    expect(o.stats.chars).toBe(100)
    expect(allText(o).replace(/\n/g, "").length).toBeLessThanOrEqual(100)
  })
})

describe("text formats", () => {
  it("Markdown: sections labelled with the heading path; fenced # lines are not headings", async () => {
    const md = "Intro line.\n\n# Guide\n\nStart here.\n\n## Install\n\n```sh\n# not a heading\nnpm i\n```\n\n## 配置\n\n中文说明。\n\n# FAQ\n\nQ and A."
    const o = extracted(await extract(utf8(md), { filename: "README.md" }))
    expect(o.docType).toBe("markdown")
    expect(o.segments.map((s) => s.locator.section)).toEqual([undefined, "Guide", "Guide > Install", "Guide > 配置", "FAQ"])
    expect(o.segments[2]!.text).toContain("# not a heading")
    expect(o.segments[3]!.locator).toMatchObject({ heading: "配置", line_start: 14, line_end: 17 })
  })

  it("Markdown is recognised from content when the name says nothing", async () => {
    const o = extracted(await extract(utf8("# Title\n\n- item one\n- item two\n"), { filename: "notes" }))
    expect(o.docType).toBe("markdown")
  })

  it("HTML: title and headings label sections; script, style and noscript are dropped", async () => {
    const html = `<!doctype html><html><head><title>Report 报告</title><style>body{color:red}</style>
      <script>var secret = "SCRIPT_TEXT"</script></head><body><p>Lead &amp; intro</p>
      <h1>Results</h1><p>Revenue grew.</p><noscript>NOSCRIPT_TEXT</noscript>
      <h2>Details</h2><div>Line one<br>Line two</div><script>alert("x")</script>
      <h1>结论</h1><p>一切正常。</p></body></html>`
    const o = extracted(await extract(utf8(html), { filename: "page.html" }))
    const text = allText(o)
    expect(text).not.toMatch(/SCRIPT_TEXT|NOSCRIPT_TEXT|color:red|alert/)
    expect(text).toContain("Lead & intro")
    expect(o.segments.map((s) => s.locator.section)).toEqual(["Report 报告", "Results", "Results > Details", "结论"])
    expect(o.segments[2]!.text).toBe("Details\n\nLine one\nLine two")
    expect(o.language).toBe("mixed")
  })

  it("JSON: one readable segment per top-level key", async () => {
    const o = extracted(await extract(utf8(JSON.stringify({ name: "demo", tags: ["a", "b"], nested: { x: 1 } })), { filename: "conf.json" }))
    expect(o.docType).toBe("json")
    expect(o.segments.map((s) => s.locator.section)).toEqual(["name", "tags", "nested"])
    expect(o.segments[0]!.text).toBe("name: demo")
    expect(o.segments[2]!.text).toBe('nested: {\n  "x": 1\n}')
  })

  it("YAML and TOML: sections per top-level key / table, text as written", async () => {
    const yaml = extracted(await extract(utf8("# config\nserver:\n  port: 80\n  host: a\ndatabase:\n  url: pg://x\n"), { filename: "c.yaml" }))
    expect(yaml.segments.map((s) => [s.locator.section, s.text])).toEqual([
      [undefined, "# config"], ["server", "server:\n  port: 80\n  host: a"], ["database", "database:\n  url: pg://x"]
    ])
    const toml = extracted(await extract(utf8('title = "x"\n\n[owner]\nname = "Tom"\n\n[[products]]\nname = "Hammer"\n'), { filename: "c.toml" }))
    expect(toml.segments.map((s) => s.locator.section)).toEqual([undefined, "owner", "products"])
    expect(toml.segments[1]).toMatchObject({ text: '[owner]\nname = "Tom"', locator: { line_start: 3, line_end: 5 } })
  })

  it("XML: a section per child of the root, markup dropped", async () => {
    const xml = `<?xml version="1.0"?><library><book id="b1"><title>Dune</title><author>Herbert</author></book><book id="b2"><title>三体</title></book></library>`
    const o = extracted(await extract(utf8(xml), { filename: "lib.xml" }))
    expect(o.segments).toEqual([
      { text: "Dune\nHerbert", locator: { section: "book b1" } },
      { text: "三体", locator: { section: "book b2" } }
    ])
  })

  it("CSV: rows written as column: value, quoted separators and newlines kept", async () => {
    const csv = 'name,city,note\nAda,London,"likes, commas"\n张三,北京,"two\nlines"\n'
    const o = extracted(await extract(utf8(csv), { filename: "people.csv" }))
    expect(o.segments).toEqual([{
      text: "name: Ada; city: London; note: likes, commas\nname: 张三; city: 北京; note: two\nlines",
      locator: { row_start: 2, row_end: 3 }
    }])
  })

  it("code: split at function and class definitions with line ranges (TypeScript)", async () => {
    const ts = [
      'import { x } from "./x.js"', "", "/** Adds. */", "export function add(a: number, b: number) {", "  return a + b", "}", "",
      "export class Counter {", "  private n = 0", "  inc() {", "    this.n++", "  }", "}", "",
      "export const double = (v: number) => v * 2", ""
    ].join("\n")
    const o = extracted(await extract(utf8(ts), { filename: "m.ts" }))
    expect(o.extractor).toBe("code:typescript")
    expect(o.segments.map((s) => [s.locator.line_start, s.locator.line_end])).toEqual([[1, 2], [3, 7], [8, 16 - 7], [10, 14], [15, 16]].map(([a, b]) => [a, b]))
    expect(o.segments[1]!.text).toBe("/** Adds. */\nexport function add(a: number, b: number) {\n  return a + b\n}")
    expect(o.segments[4]!.locator.section).toBe("export const double = (v: number) => v * 2")
  })

  it("code: Python, Go and C split at their definitions", async () => {
    const py = "import os\n\n@decorator\ndef load(path):\n    return open(path)\n\nclass Store:\n    def get(self, k):\n        return k\n"
    const p = extracted(await extract(utf8(py), { filename: "s.py" }))
    expect(p.segments.map((s) => s.locator.section)).toEqual([undefined, "def load(path)", "class Store", "def get(self, k)"])
    expect(p.segments[1]!.text.startsWith("@decorator\ndef load")).toBe(true)
    const go = "package main\n\ntype Server struct {\n\tport int\n}\n\nfunc (s *Server) Run() error {\n\treturn nil\n}\n\nfunc main() {\n\tfmt.Println(1)\n}\n"
    expect(extracted(await extract(utf8(go), { filename: "main.go" })).segments.map((s) => s.locator.section)).toEqual([
      undefined, "type Server struct", "func (s *Server) Run() error", "func main()"
    ])
    const c = "#include <stdio.h>\n\nstatic int square(int x)\n{\n  return x * x;\n}\n\nint main(void) {\n  printf(\"%d\", square(3));\n  return 0;\n}\n"
    expect(extracted(await extract(utf8(c), { filename: "a.c" })).segments.map((s) => s.locator.line_start)).toEqual([1, 3, 8])
  })
})

describe("PDF", () => {
  it("one segment per page (English)", async () => {
    const pdf = await makePdf(["Quarterly report\nRevenue grew by ten percent.", "", "Appendix with tables."])
    const o = extracted(await extract(pdf, { filename: "report.bin", declaredMime: "application/octet-stream" }))
    expect(o).toMatchObject({ extractor: "unpdf", docType: "pdf", language: "en" })
    expect(o.segments).toEqual([
      { text: "Quarterly report\nRevenue grew by ten percent.", locator: { page: 1 } },
      { text: "Appendix with tables.", locator: { page: 3 } }
    ])
  })

  it.skipIf(cjkFontPath === undefined)("Chinese text with an embedded CJK font", async () => {
    const pdf = await makePdf(["深度记忆系统", "第二页：中文内容。"], { cjk: true })
    const o = extracted(await extract(pdf, { filename: "zh.pdf" }))
    expect(o.segments.map((s) => s.text)).toEqual(["深度记忆系统", "第二页：中文内容。"])
    expect(o.language).toBe("zh")
  })

  it("a truncated PDF is corrupt", async () => {
    const pdf = await makePdf(["Some text on page one.", "Page two."])
    const o = await extract(pdf.subarray(0, Math.floor(pdf.length * 0.4)), { filename: "cut.pdf" })
    expect(o).toMatchObject({ _tag: "NotExtracted", kind: "corrupt", docType: "pdf" })
  })

  it("3,000 pages stop at the page cap, truncated, in bounded time", async () => {
    const pdf = await makePdf(Array.from({ length: 3000 }, (_, i) => `p${i + 1}`))
    const started = Date.now()
    const o = extracted(await extract(pdf, { filename: "many.pdf" }, { maxPages: 2000 }))
    expect(Date.now() - started).toBeLessThan(45_000)
    expect(o.stats.truncated).toBe(true)
    expect(o.segments).toHaveLength(2000)
    expect(o.segments.at(-1)).toEqual({ text: "p2000", locator: { page: 2000 } })
    expect(o.warnings).toContain("only the first 2000 of 3000 pages were read")
  }, 60_000)
})

describe("DOCX", () => {
  it("one segment per paragraph, headings as labels (English and Chinese)", async () => {
    const docx = await makeDocx([["p", "Preface text."], ["h1", "Overview"], ["p", "The system stores files."], ["h2", "存储"], ["p", "文件被加密保存。"], ["h1", "Next"], ["p", "Done."]])
    const o = extracted(await extract(docx, { filename: "spec.docx" }))
    expect(o).toMatchObject({ extractor: "mammoth", docType: "docx", language: "mixed" })
    expect(o.segments.map((s) => [s.text, s.locator.section, s.locator.paragraph])).toEqual([
      ["Preface text.", undefined, 1],
      ["Overview", "Overview", 2],
      ["The system stores files.", "Overview", 3],
      ["存储", "Overview > 存储", 4],
      ["文件被加密保存。", "Overview > 存储", 5],
      ["Next", "Next", 6],
      ["Done.", "Next", 7]
    ])
  })

  it("is recognised by content even when named and declared as something else", async () => {
    const docx = await makeDocx([["p", "内容在这里。"]])
    const o = extracted(await extract(docx, { filename: "upload.txt", declaredMime: "text/plain" }))
    expect(o.docType).toBe("docx")
    expect(o.language).toBe("zh")
  })

  it("a zip bomb is refused from its declared size before inflating", async () => {
    const bomb = await makeZipBombDocx(64 * 1024 * 1024)
    expect(bomb.length).toBeLessThan(1024 * 1024)
    const started = Date.now()
    const o = await extract(bomb, { filename: "bomb.docx" }, { maxInflatedBytes: 16 * 1024 * 1024 })
    expect(o).toMatchObject({ _tag: "NotExtracted", kind: "limit", reason: expect.stringContaining("declares") })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it("a zip bomb lying about its size is stopped by the inflate budget", async () => {
    const bomb = await makeZipBombDocx(64 * 1024 * 1024, true)
    const started = Date.now()
    const o = await extract(bomb, { filename: "bomb.docx" }, { maxInflatedBytes: 16 * 1024 * 1024 })
    expect(o).toMatchObject({ _tag: "NotExtracted", kind: "limit", reason: expect.stringContaining("inflates past") })
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  it("a damaged archive is corrupt", async () => {
    const docx = await makeDocx([["p", "text"]])
    expect(await extract(docx.subarray(0, docx.length - 200), { filename: "x.docx" })).toMatchObject({ kind: "corrupt" })
  })
})

describe("PPTX", () => {
  it("one segment per slide with its title and notes (English and Chinese)", async () => {
    const pptx = await makePptx([
      { title: "Roadmap", body: "Ship the worker in May.", notes: "Mention the deadline." },
      { title: "路线图", body: "五月发布。" }
    ])
    const o = extracted(await extract(pptx, { filename: "deck.pptx" }))
    expect(o).toMatchObject({ extractor: "pptx", docType: "pptx" })
    expect(o.segments).toEqual([
      { text: "Roadmap\nShip the worker in May.\n\nNotes:\nMention the deadline.", locator: { slide: 1, heading: "Roadmap", section: "Roadmap" } },
      { text: "路线图\n五月发布。", locator: { slide: 2, heading: "路线图", section: "路线图" } }
    ])
  })
})
