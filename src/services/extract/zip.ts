import JSZip from "jszip"
import { ExtractAbort, type ExtractLimits } from "./types.js"

export interface SafeZip {
  readonly zip: JSZip
  readonly names: ReadonlyArray<string>
  /** Inflates one entry, counting its bytes against the archive budget. */
  readonly text: (name: string) => Promise<string | undefined>
  /** Inflates every entry once (within the budget), so a later full parse cannot exceed it. */
  readonly verifyAll: () => Promise<void>
}

// JSZip keeps the central directory's sizes on a private field; reading it lets a bomb be refused
// before anything is inflated. The inflate budget below still holds if the declared sizes lie.
interface CompressedObject {
  readonly uncompressedSize?: number
}
const declaredSize = (file: JSZip.JSZipObject): number =>
  (file as unknown as { readonly _data?: CompressedObject })._data?.uncompressedSize ?? 0

/** Opens a ZIP (DOCX, PPTX) without inflating; refuses too many entries or too large a declared size. */
export const openZip = async (bytes: Uint8Array, limits: ExtractLimits): Promise<SafeZip> => {
  let zip: JSZip
  try {
    zip = await JSZip.loadAsync(bytes, { checkCRC32: false })
  } catch (cause) {
    throw new ExtractAbort("corrupt", `not a readable ZIP archive: ${(cause as Error).message}`)
  }
  const files = Object.values(zip.files).filter((f) => !f.dir)
  if (files.length > limits.maxZipEntries) {
    throw new ExtractAbort("limit", `archive has ${files.length} entries (limit ${limits.maxZipEntries})`)
  }
  const declared = files.reduce((sum, f) => sum + declaredSize(f), 0)
  if (declared > limits.maxInflatedBytes) {
    throw new ExtractAbort("limit", `archive declares ${declared} uncompressed bytes (limit ${limits.maxInflatedBytes})`)
  }
  let inflated = 0
  const read = (file: JSZip.JSZipObject): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const parts: Array<Buffer> = []
      const stream = file.nodeStream("nodebuffer") as NodeJS.ReadableStream & { destroy?: () => void }
      let done = false
      const fail = (error: ExtractAbort) => {
        if (done) return
        done = true
        stream.removeAllListeners("data")
        stream.pause()
        stream.destroy?.()
        reject(error)
      }
      stream.on("data", (chunk: Buffer) => {
        inflated += chunk.length
        if (inflated > limits.maxInflatedBytes) {
          fail(new ExtractAbort("limit", `archive inflates past ${limits.maxInflatedBytes} bytes (zip bomb?)`))
        } else parts.push(chunk)
      })
      stream.on("error", (cause: Error) => fail(new ExtractAbort("corrupt", `cannot inflate ${file.name}: ${cause.message}`)))
      stream.on("end", () => {
        if (done) return
        done = true
        resolve(Buffer.concat(parts))
      })
    })
  return {
    zip,
    names: files.map((f) => f.name),
    text: async (name) => {
      const file = zip.file(name)
      return file === null ? undefined : (await read(file)).toString("utf8")
    },
    verifyAll: async () => {
      for (const f of files) await read(f)
    }
  }
}
