import { Parser } from "htmlparser2"
import type { Segment } from "./types.js"

const dropped = new Set(["script", "style", "noscript", "template", "svg", "head"])
const blocks = new Set([
  "p", "div", "li", "ul", "ol", "br", "tr", "td", "th", "table", "section", "article", "aside", "header", "footer",
  "nav", "main", "blockquote", "pre", "dd", "dt", "dl", "figcaption", "figure", "hr", "form", "address", "details", "summary"
])
const headingLevel = (name: string) => (/^h[1-6]$/.test(name) ? Number(name[1]) : 0)

const squash = (s: string) => s.replace(/[ \t\f\v\u00a0]+/g, " ").replace(/ *\n */g, "\n").replace(/\n{3,}/g, "\n\n").trim()

export interface HtmlText {
  readonly title?: string
  readonly segments: Array<Segment>
}

/**
 * HTML: text split into sections at h1–h6, each labelled with its heading path; script, style,
 * noscript and template content never reach the text. The document title labels text before the
 * first heading.
 */
export const htmlSegments = (html: string): HtmlText => {
  const segments: Array<Segment> = []
  const path: Array<string> = []
  let title: string | undefined
  let inTitle = false
  let titleText = ""
  let skipDepth = 0
  let headingText: string | undefined
  let buffer = ""
  const flush = () => {
    const text = squash(buffer)
    buffer = ""
    if (text === "") return
    const section = path.filter((p) => p !== "").join(" > ")
    const heading = path.at(-1)
    segments.push({
      text,
      locator: {
        ...(section !== "" ? { section } : title !== undefined ? { section: title } : {}),
        ...(heading !== undefined && heading !== "" ? { heading } : {})
      }
    })
  }
  const parser = new Parser(
    {
      onopentag(name) {
        if (name === "title") {
          inTitle = true
          return
        }
        if (dropped.has(name)) {
          skipDepth++
          return
        }
        if (skipDepth > 0) return
        if (headingLevel(name) > 0) {
          flush()
          headingText = ""
        } else if (name === "br") {
          if (headingText !== undefined) headingText += " "
          else buffer += "\n"
        } else if (blocks.has(name)) {
          if (headingText !== undefined) headingText += " "
          else buffer += "\n\n"
        }
      },
      ontext(text) {
        if (inTitle) {
          titleText += text
          return
        }
        if (skipDepth > 0) return
        if (headingText !== undefined) headingText += text
        else buffer += text
      },
      onclosetag(name) {
        if (name === "title") {
          inTitle = false
          const t = squash(titleText)
          if (t !== "" && title === undefined) title = t
          return
        }
        if (dropped.has(name)) {
          skipDepth = Math.max(0, skipDepth - 1)
          return
        }
        if (skipDepth > 0) return
        const level = headingLevel(name)
        if (level > 0 && headingText !== undefined) {
          const text = squash(headingText).replace(/\n/g, " ")
          headingText = undefined
          path.length = Math.min(path.length, level - 1)
          while (path.length < level - 1) path.push("")
          path.push(text)
          buffer = text + "\n\n"
        } else if (blocks.has(name) && name !== "br" && headingText === undefined) buffer += "\n\n"
      }
    },
    { decodeEntities: true, lowerCaseTags: true, recognizeSelfClosing: true }
  )
  parser.write(html)
  parser.end()
  flush()
  return { ...(title !== undefined ? { title } : {}), segments }
}

/**
 * XML: one segment per child of the root element, labelled with the element name (and its
 * id/name/title attribute when it has one); text content only, markup dropped.
 */
export const xmlSegments = (xml: string): Array<Segment> => {
  const segments: Array<Segment> = []
  let depth = 0
  let label: string | undefined
  let buffer = ""
  let rootText = ""
  const flush = () => {
    const text = squash(buffer)
    buffer = ""
    if (text !== "") segments.push({ text, locator: label !== undefined ? { section: label } : {} })
  }
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        depth++
        if (depth === 2) {
          flush()
          const tag = attrs["id"] ?? attrs["name"] ?? attrs["title"] ?? attrs["key"]
          label = tag !== undefined ? `${name} ${tag}` : name
        }
      },
      ontext(text) {
        if (depth >= 2) buffer += text
        else rootText += text
      },
      onclosetag() {
        if (depth >= 2) buffer += "\n"
        if (depth === 2) flush()
        depth--
      }
    },
    { xmlMode: true, decodeEntities: true }
  )
  parser.write(xml)
  parser.end()
  flush()
  const loose = squash(rootText)
  if (loose !== "") segments.unshift({ text: loose, locator: {} })
  return segments
}
