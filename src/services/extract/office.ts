import { Parser } from "htmlparser2"
import mammoth from "mammoth"
import { ExtractAbort, type ExtractLimits, type Segment } from "./types.js"
import { openZip } from "./zip.js"

export interface OfficeText {
  readonly segments: Array<Segment>
  readonly warnings: Array<string>
  readonly truncated?: boolean
}

const squash = (s: string) => s.replace(/\s+/g, " ").trim()

/**
 * DOCX through mammoth (Word styles → h1–h6/p/li), one segment per paragraph labelled with the
 * heading path above it. Every entry is inflated once under the budget before mammoth sees it.
 */
export const docxSegments = async (bytes: Uint8Array, limits: ExtractLimits): Promise<OfficeText> => {
  const zip = await openZip(bytes, limits)
  if (!zip.names.includes("word/document.xml")) throw new ExtractAbort("corrupt", "DOCX without word/document.xml")
  await zip.verifyAll()
  let result: { value: string; messages: Array<{ type: string; message: string }> }
  try {
    result = await mammoth.convertToHtml({ buffer: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) })
  } catch (cause) {
    throw new ExtractAbort("corrupt", `DOCX unreadable: ${(cause as Error).message}`)
  }
  const segments: Array<Segment> = []
  const path: Array<string> = []
  let paragraph = 0
  let buffer: string | undefined
  let level = 0
  const close = () => {
    if (buffer === undefined) return
    const text = squash(buffer)
    buffer = undefined
    if (text === "") return
    paragraph++
    if (level > 0) {
      path.length = Math.min(path.length, level - 1)
      while (path.length < level - 1) path.push("")
      path.push(text)
    }
    const section = path.filter((p) => p !== "").join(" > ")
    const heading = path.at(-1)
    segments.push({
      text,
      locator: {
        paragraph,
        ...(section !== "" ? { section } : {}),
        ...(heading !== undefined && heading !== "" ? { heading } : {})
      }
    })
  }
  const parser = new Parser({
    onopentag(name) {
      const h = /^h([1-6])$/.exec(name)
      if (h !== null || name === "p" || name === "li" || name === "td" || name === "th") {
        close()
        buffer = ""
        level = h !== null ? Number(h[1]) : 0
      } else if (name === "br" && buffer !== undefined) buffer += " "
    },
    ontext(text) {
      if (buffer !== undefined) buffer += text
    },
    onclosetag(name) {
      if (/^(h[1-6]|p|li|td|th)$/.test(name)) close()
    }
  }, { decodeEntities: true })
  parser.write(result.value)
  parser.end()
  close()
  const warnings = result.messages.filter((m) => m.type === "error").slice(0, 20).map((m) => `docx: ${m.message}`)
  return { segments, warnings }
}

interface SlideText {
  readonly title?: string
  readonly text: string
}

const excludedPlaceholders = new Set(["sldNum", "dt", "ftr", "hdr", "sldImg"])

/** Paragraphs of DrawingML text (a:p / a:t), with the title placeholder's text picked out. */
const slideText = (xml: string): SlideText => {
  const paragraphs: Array<string> = []
  let title: string | undefined
  let shape: { text: Array<string>; kind?: string } | undefined
  let paragraph: string | undefined
  let inText = false
  const parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === "p:sp") shape = { text: [] }
        else if (name === "p:ph" && shape !== undefined) shape.kind = attrs["type"] ?? "body"
        else if (name === "a:p") paragraph = ""
        else if (name === "a:t") inText = true
        else if (name === "a:br" && paragraph !== undefined) paragraph += "\n"
      },
      ontext(text) {
        if (inText && paragraph !== undefined) paragraph += text
      },
      onclosetag(name) {
        if (name === "a:t") inText = false
        else if (name === "a:p") {
          const p = (paragraph ?? "").trim()
          paragraph = undefined
          if (p === "") return
          if (shape !== undefined) shape.text.push(p)
          else paragraphs.push(p)
        } else if (name === "p:sp" && shape !== undefined) {
          const kind = shape.kind
          if (kind === undefined || !excludedPlaceholders.has(kind)) {
            if ((kind === "title" || kind === "ctrTitle") && title === undefined) title = shape.text.join(" ")
            paragraphs.push(...shape.text)
          }
          shape = undefined
        }
      }
    },
    { xmlMode: true, decodeEntities: true }
  )
  parser.write(xml)
  parser.end()
  return { ...(title !== undefined ? { title } : {}), text: paragraphs.join("\n") }
}

const slideNumber = (name: string) => Number(/slide(\d+)\.xml$/.exec(name)?.[1] ?? 0)

/** PPTX through JSZip and htmlparser2: one segment per slide, its speaker notes appended. */
export const pptxSegments = async (bytes: Uint8Array, limits: ExtractLimits): Promise<OfficeText> => {
  const zip = await openZip(bytes, limits)
  // slideN.xml numbering follows the deck order for files written by PowerPoint and pptxgenjs
  const slides = zip.names.filter((n) => /^ppt\/slides\/slide\d+\.xml$/.test(n)).sort((a, b) => slideNumber(a) - slideNumber(b))
  if (slides.length === 0 && !zip.names.includes("ppt/presentation.xml")) throw new ExtractAbort("corrupt", "PPTX without ppt/presentation.xml")
  const segments: Array<Segment> = []
  const warnings: Array<string> = []
  const truncated = slides.length > limits.maxPages
  if (truncated) warnings.push(`only the first ${limits.maxPages} of ${slides.length} slides were read`)
  let index = 0
  for (const name of slides.slice(0, limits.maxPages)) {
    index++
    const xml = await zip.text(name)
    if (xml === undefined) continue
    const slide = slideText(xml)
    const rels = await zip.text(name.replace(/slides\/(slide\d+\.xml)$/, "slides/_rels/$1.rels"))
    const notesTarget = rels === undefined ? undefined : /Target="\.\.\/notesSlides\/([^"]+)"/.exec(rels)?.[1]
    const notesXml = notesTarget === undefined ? undefined : await zip.text(`ppt/notesSlides/${notesTarget}`)
    const notes = notesXml === undefined ? "" : slideText(notesXml).text
    const text = [slide.text, notes !== "" ? `Notes:\n${notes}` : ""].filter((t) => t !== "").join("\n\n")
    if (text === "") continue
    segments.push({ text, locator: { slide: index, ...(slide.title !== undefined ? { heading: slide.title, section: slide.title } : {}) } })
  }
  return { segments, warnings, truncated }
}
