import { getDocumentProxy } from "unpdf"
import { ExtractAbort, type ExtractLimits, type Segment } from "./types.js"

export interface PdfText {
  readonly segments: Array<Segment>
  readonly warnings: Array<string>
  readonly truncated: boolean
}

interface TextItemLike {
  readonly str?: string
  readonly hasEOL?: boolean
}

/** PDF through pdf.js (unpdf's serverless build): one segment per page, at most `maxPages` pages. */
export const pdfSegments = async (bytes: Uint8Array, limits: ExtractLimits): Promise<PdfText> => {
  // pdf.js takes ownership of (detaches) the buffer it is given
  const data = new Uint8Array(bytes)
  let doc: Awaited<ReturnType<typeof getDocumentProxy>>
  try {
    doc = await getDocumentProxy(data, { verbosity: 0, isEvalSupported: false, stopAtErrors: true })
  } catch (cause) {
    const name = (cause as Error).name
    if (name === "PasswordException") throw new ExtractAbort("unsupported", "PDF is encrypted with a password")
    throw new ExtractAbort("corrupt", `PDF unreadable: ${(cause as Error).message}`)
  }
  try {
    const pages = doc.numPages
    const warnings: Array<string> = []
    const readable = Math.min(pages, limits.maxPages)
    if (pages > limits.maxPages) warnings.push(`only the first ${limits.maxPages} of ${pages} pages were read`)
    const segments: Array<Segment> = []
    let failed = 0
    let firstError = ""
    for (let n = 1; n <= readable; n++) {
      try {
        const page = await doc.getPage(n)
        const content = await page.getTextContent()
        const text = (content.items as ReadonlyArray<TextItemLike>)
          .map((item) => (item.str ?? "") + (item.hasEOL === true ? "\n" : ""))
          .join("")
          .replace(/[ \t]+\n/g, "\n")
          .trim()
        page.cleanup()
        if (text !== "") segments.push({ text, locator: { page: n } })
      } catch (cause) {
        failed++
        if (firstError === "") firstError = (cause as Error).message
      }
    }
    if (failed > 0 && failed === readable) throw new ExtractAbort("corrupt", `no PDF page readable: ${firstError}`)
    if (failed > 0) warnings.push(`${failed} of ${readable} pages unreadable (${firstError})`)
    return { segments, warnings, truncated: pages > limits.maxPages }
  } finally {
    await doc.destroy().catch(() => undefined)
  }
}
