/**
 * Document chunk locators. A chunk may start with one header, which is removed from the content:
 *
 * - bracket tags, alone or several in a row or comma-separated in one bracket:
 *   `[page 3]`, `[p. 3]`, `[page: 3]`, `[slide 2]`, `[section: Intro]`, `[section Intro]`, `[chunk 7]`,
 *   `[page 3, section: Intro]`, `[第3页]`, `[第2张幻灯片]`, `[章节: 引言]`;
 * - a JSON object on the first line: `{"page":3,"section":"Intro"}` (keys page, slide, section, chunk;
 *   numbers may be given as numeric strings; other keys are ignored).
 *
 * Numbers must be positive integers; a header that yields nothing valid is left in the content.
 */

export interface Locator {
  page?: number
  slide?: number
  section?: string
  chunk?: number
}

const positiveInt = (v: unknown): number | undefined => {
  const n = typeof v === "number" ? v : typeof v === "string" && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN
  return Number.isSafeInteger(n) && n > 0 ? n : undefined
}

const cleanSection = (v: unknown): string | undefined => {
  if (typeof v !== "string") return undefined
  const t = v.trim().slice(0, 200)
  return t === "" ? undefined : t
}

const assign = (loc: Locator, key: string, value: unknown): boolean => {
  switch (key) {
    case "page":
    case "p":
    case "p.":
    case "页": {
      const n = positiveInt(value)
      if (n === undefined) return false
      loc.page = n
      return true
    }
    case "slide":
    case "幻灯片": {
      const n = positiveInt(value)
      if (n === undefined) return false
      loc.slide = n
      return true
    }
    case "chunk": {
      const n = positiveInt(value)
      if (n === undefined) return false
      loc.chunk = n
      return true
    }
    case "section":
    case "章节":
    case "节": {
      const s = cleanSection(value)
      if (s === undefined) return false
      loc.section = s
      return true
    }
    default:
      return false
  }
}

const BRACKET = /^\s*\[([^\]\n]{1,240})\]/u

const parseTag = (loc: Locator, tag: string): boolean => {
  const t = tag.trim()
  const zhPage = /^第\s*(\d+)\s*页$/u.exec(t)
  if (zhPage !== null) return assign(loc, "page", zhPage[1])
  const zhSlide = /^第\s*(\d+)\s*(?:张幻灯片|张|页幻灯片)$/u.exec(t)
  if (zhSlide !== null) return assign(loc, "slide", zhSlide[1])
  const m = /^(page|p\.?|slide|section|chunk|章节|节)\s*[:：=]?\s*(.+)$/iu.exec(t)
  if (m === null) return false
  return assign(loc, m[1]!.toLowerCase().replace(/\.$/, "") === "p" ? "page" : m[1]!.toLowerCase(), m[2])
}

export const parseLocator = (text: string): { locator: Locator | null; body: string } => {
  const loc: Locator = {}
  let rest = text
  let found = false

  const json = /^\s*(\{[^\n]*?\})\s*(?:\n|$)/u.exec(rest) ?? /^\s*(\{[^{}\n]*\})/u.exec(rest)
  if (json !== null) {
    try {
      const parsed: unknown = JSON.parse(json[1]!)
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        let any = false
        for (const [k, v] of Object.entries(parsed)) any = assign(loc, k.toLowerCase(), v) || any
        if (any) {
          found = true
          rest = rest.slice(json[0].length)
        }
      }
    } catch {
      // not a header: leave the text alone
    }
  }

  if (!found) {
    for (let m = BRACKET.exec(rest); m !== null; m = BRACKET.exec(rest)) {
      const attempt: Locator = { ...loc }
      const ok = m[1]!.split(/[,;，；]/u).map((part) => parseTag(attempt, part))
      if (!ok.every(Boolean)) break
      Object.assign(loc, attempt)
      found = true
      rest = rest.slice(m[0].length)
    }
  }
  return found ? { locator: loc, body: rest.replace(/^\s+/, "") } : { locator: null, body: text }
}
