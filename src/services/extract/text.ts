import type { Segment } from "./types.js"

const lines = (text: string) => text.replace(/\r\n?/g, "\n").split("\n")

const block = (ls: ReadonlyArray<string>, from: number, to: number) => ls.slice(from, to).join("\n").trim()

/** Paragraphs separated by blank lines, each with its line range (1-based, inclusive). */
export const plainSegments = (text: string): Array<Segment> => {
  const ls = lines(text)
  const out: Array<Segment> = []
  let start = -1
  const flush = (end: number) => {
    if (start < 0) return
    const body = block(ls, start, end)
    if (body !== "") out.push({ text: body, locator: { line_start: start + 1, line_end: end } })
    start = -1
  }
  ls.forEach((line, i) => {
    if (line.trim() === "") flush(i)
    else if (start < 0) start = i
  })
  flush(ls.length)
  return out
}

/** Splits at lines that open a section; `label` names the section opened by line `i`, if any. */
const sectioned = (text: string, label: (line: string, i: number, ls: ReadonlyArray<string>) => string | undefined, first?: string) => {
  const ls = lines(text)
  const out: Array<Segment> = []
  let start = 0
  let current = first
  const flush = (end: number) => {
    const body = block(ls, start, end)
    if (body !== "") {
      out.push({
        text: body,
        locator: { ...(current !== undefined ? { section: current } : {}), line_start: start + 1, line_end: end }
      })
    }
  }
  ls.forEach((line, i) => {
    const next = label(line, i, ls)
    if (next === undefined || i === 0 && start === 0 && current === next) return
    flush(i)
    start = i
    current = next
  })
  flush(ls.length)
  return out
}

/** Markdown: one segment per section, labelled with its heading path ("Guide > Install"). */
export const markdownSegments = (text: string): Array<Segment> => {
  const ls = lines(text)
  const out: Array<Segment> = []
  const path: Array<string> = []
  let start = 0
  let fence: string | undefined
  let heading: string | undefined
  const flush = (end: number) => {
    const body = block(ls, start, end)
    if (body === "") return
    out.push({
      text: body,
      locator: {
        ...(path.length > 0 ? { section: path.join(" > ") } : {}),
        ...(heading !== undefined ? { heading } : {}),
        line_start: start + 1,
        line_end: end
      }
    })
  }
  const open = (i: number, level: number, title: string) => {
    flush(i)
    start = i
    path.length = Math.min(path.length, level - 1)
    while (path.length < level - 1) path.push("")
    path.push(title)
    heading = title
  }
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!
    const fenceMark = /^\s{0,3}(```|~~~)/.exec(line)?.[1]
    if (fenceMark !== undefined) {
      fence = fence === undefined ? fenceMark : fence === fenceMark ? undefined : fence
      continue
    }
    if (fence !== undefined) continue
    const atx = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (atx !== null) {
      open(i, atx[1]!.length, atx[2]!)
      continue
    }
    const next = ls[i + 1]
    if (line.trim() !== "" && next !== undefined && /^\s{0,3}(=+|-+)\s*$/.test(next) && !/^\s*[-*+>]|^\s*$/.test(line)) {
      open(i, next.trim().startsWith("=") ? 1 : 2, line.trim())
      i++
    }
  }
  flush(ls.length)
  // A heading path with a skipped level carries an empty element; drop it from the label.
  return out.map((s) =>
    s.locator.section === undefined ? s : { ...s, locator: { ...s.locator, section: s.locator.section.split(" > ").filter((p) => p !== "").join(" > ") } }
  )
}

const jsonBlockChars = 3000

/** JSON: one segment per top-level key (or per run of array items), pretty-printed to stay readable. */
export const jsonSegments = (text: string): Array<Segment> | undefined => {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return undefined
  }
  if (Array.isArray(value)) {
    const out: Array<Segment> = []
    let parts: Array<string> = []
    let size = 0
    let first = 0
    value.forEach((item, i) => {
      const s = JSON.stringify(item, null, 2)
      if (parts.length > 0 && size + s.length > jsonBlockChars) {
        out.push({ text: parts.join("\n"), locator: { section: `[${first}..${i - 1}]` } })
        parts = []
        size = 0
        first = i
      }
      parts.push(s)
      size += s.length
    })
    if (parts.length > 0) out.push({ text: parts.join("\n"), locator: { section: `[${first}..${value.length - 1}]` } })
    return out
  }
  if (value !== null && typeof value === "object") {
    return Object.entries(value as Record<string, unknown>).map(([key, v]) => ({
      text: `${key}: ${typeof v === "string" ? v : JSON.stringify(v, null, 2)}`,
      locator: { section: key }
    }))
  }
  return [{ text: String(value), locator: {} }]
}

/** YAML: a section per top-level key or document; comments and layout are kept as written. */
export const yamlSegments = (text: string): Array<Segment> =>
  sectioned(text, (line) => {
    if (/^---(\s|$)/.test(line)) return "---"
    const key = /^([^\s#:-][^:]*?|"[^"]*"|'[^']*'):(\s|$)/.exec(line)?.[1]
    return key?.replace(/^["']|["']$/g, "")
  })

/** TOML: a section per table header; keys before the first header are the root section. */
export const tomlSegments = (text: string): Array<Segment> =>
  sectioned(text, (line) => /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line)?.[1])

/** RFC 4180 rows: quoted fields may hold separators, quotes ("") and newlines. */
export const parseDelimited = (text: string, sep: string): Array<Array<string>> => {
  const rows: Array<Array<string>> = []
  let row: Array<string> = []
  let field = ""
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"'
          i++
        } else quoted = false
      } else field += c
    } else if (c === '"' && field === "") quoted = true
    else if (c === sep) {
      row.push(field)
      field = ""
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++
      row.push(field)
      rows.push(row)
      row = []
      field = ""
    } else field += c
  }
  if (field !== "" || row.length > 0) {
    row.push(field)
    rows.push(row)
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ""))
}

const csvRowsPerBlock = 25

/** CSV/TSV: blocks of rows, each row written "column: value; …" so a block reads on its own. */
export const csvSegments = (text: string, filename: string | undefined): Array<Segment> => {
  const firstLine = text.slice(0, text.indexOf("\n") >>> 0)
  const sep = /\.tsv$/i.test(filename ?? "") || (firstLine.split("\t").length > firstLine.split(",").length) ? "\t" : ","
  const rows = parseDelimited(text, sep)
  const header = rows[0]
  if (header === undefined) return []
  const out: Array<Segment> = []
  for (let i = 1; i < rows.length; i += csvRowsPerBlock) {
    const body = rows.slice(i, i + csvRowsPerBlock).map((r) =>
      r.map((v, j) => `${header[j]?.trim() || `column ${j + 1}`}: ${v.trim()}`).join("; ")
    )
    out.push({ text: body.join("\n"), locator: { row_start: i + 1, row_end: Math.min(i + csvRowsPerBlock, rows.length - 1) + 1 } })
  }
  return out.length > 0 ? out : [{ text: header.join(", "), locator: { row_start: 1, row_end: 1 } }]
}

const modifiers = String.raw`(?:(?:export|default|public|private|protected|internal|static|abstract|final|async|override|virtual|inline|pub(?:\([^)]*\))?|unsafe|const|extern|open|sealed|data|suspend)\s+)*`

const definitionPatterns: ReadonlyArray<RegExp> = [
  // JS/TS/Java/C#/Kotlin/Swift/PHP classes and functions
  new RegExp(String.raw`^\s*${modifiers}(?:class|interface|enum|struct|trait|object|record|protocol|extension|impl(?:<[^>]*>)?|mod|module|namespace)\s+[\w$.:<>]+`),
  /^type\s+\w+(?:\[[^\]]*\])?\s+(?:struct|interface)\b/,
  new RegExp(String.raw`^\s*${modifiers}(?:function\*?|fn|func|def|fun|sub|proc)\s*(?:\([^)]*\)\s*)?[\w$.:!?]+`),
  // const foo = (...) => / function expressions
  new RegExp(String.raw`^\s*${modifiers}(?:const|let|var)\s+[\w$]+\s*(?::[^=]+)?=\s*(?:async\s+)?(?:function\b|\([^)]*\)\s*(?::[^=]+)?=>|[\w$]+\s*=>)`),
  // shell: name() { / function name {
  /^\s*(?:function\s+)?[\w.-]+\s*\(\)\s*\{?\s*$/,
  // C/C++/Java/C# methods: return type, name, parameters, opening brace (possibly on the next line)
  /^(?:[\w:<>,*&\s[\]]+?\s+)?[*&]?[A-Za-z_][\w:~]*\s*\([^;{}]*\)\s*(?:const\s*)?(?:noexcept\s*)?(?:throws\s+[\w.,\s]+)?\{?\s*$/
]

const maxDefinitionLine = 300

const notDefinition = /^\s*(?:if|for|while|switch|catch|return|else|do|try|case|sizeof|new|throw)\b/

const definitionName = (line: string) => line.trim().replace(/\s*[{:]\s*$/, "").slice(0, 120)

/**
 * Source code split where a function or class starts (a line heuristic over common languages), so a
 * segment is one definition with its line range; comments and decorators just above stay with it.
 */
export const codeSegments = (text: string): Array<Segment> => {
  const ls = lines(text)
  const starts: Array<{ readonly line: number; readonly name: string }> = []
  const indentOf = (l: string) => /^\s*/.exec(l)![0].replace(/\t/g, "    ").length
  ls.forEach((line, i) => {
    // long lines (minified code, data) are never definitions; skipping them keeps the patterns linear
    if (line.length > maxDefinitionLine || line.trim() === "" || notDefinition.test(line) || indentOf(line) > 4) return
    if (!definitionPatterns.some((p) => p.test(line))) return
    // the C-like pattern needs a brace on this or the next line, else it is a call statement
    const cLike = !definitionPatterns.slice(0, 5).some((p) => p.test(line))
    if (cLike && !line.trimEnd().endsWith("{") && !(ls[i + 1]?.trim().startsWith("{") ?? false)) return
    let from = i
    while (from > 0 && /^\s*(\/\/|#(?!include)|\*|\/\*|@|\/\/\/|--|"""|\*\/)/.test(ls[from - 1]!) && from - 1 > (starts.at(-1)?.line ?? -1)) from--
    starts.push({ line: from, name: definitionName(line) })
  })
  const out: Array<Segment> = []
  const push = (from: number, to: number, section?: string) => {
    const body = block(ls, from, to)
    if (body !== "") out.push({ text: body, locator: { ...(section !== undefined ? { section } : {}), line_start: from + 1, line_end: to } })
  }
  if (starts.length === 0) return plainSegmentsOfLines(ls)
  push(0, starts[0]!.line)
  starts.forEach((s, k) => push(s.line, starts[k + 1]?.line ?? ls.length, s.name))
  return out
}

const plainSegmentsOfLines = (ls: ReadonlyArray<string>) => plainSegments(ls.join("\n"))
