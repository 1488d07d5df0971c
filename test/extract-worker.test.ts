import { it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { describe, expect } from "vitest"
import { resolveWorkerPath, runExtraction } from "../src/services/extract/runner.js"
import { makeDocx, makePdf } from "./fixtures/extract/make.js"
import { ensureBuilt } from "./support/process.js"

// the bundled worker script, as the rustfs-worker role starts it
const workerPath = ensureBuilt("extract-worker")

// it.live: the timeout runs on the real clock (it.effect would use the TestClock)
describe("runExtraction (worker thread)", () => {
  it.live("extracts a document in the bundled worker thread", () =>
    Effect.gen(function* () {
      const docx = yield* Effect.promise(() => makeDocx([["h1", "Title"], ["p", "Body text."]]))
      const outcome = yield* runExtraction(docx, { filename: "a.docx" }, {}, { workerPath })
      expect(outcome).toMatchObject({
        _tag: "Extracted",
        extractor: "mammoth",
        segments: [{ text: "Title", locator: { section: "Title" } }, { text: "Body text.", locator: { section: "Title", paragraph: 2 } }]
      })
    }))

  it.live("a timeout terminates the worker and yields a limit outcome", () =>
    Effect.gen(function* () {
      const pdf = yield* Effect.promise(() => makePdf(Array.from({ length: 1500 }, (_, i) => `page ${i}`)))
      const started = Date.now()
      const outcome = yield* runExtraction(pdf, { filename: "big.pdf" }, { timeoutMs: 50 }, { workerPath })
      expect(outcome).toMatchObject({ _tag: "NotExtracted", kind: "limit", reason: "extraction took longer than 50 ms" })
      expect(Date.now() - started).toBeLessThan(5_000)
    }))

  it.live("a heap over the memory limit terminates the worker and yields a limit outcome", () =>
    Effect.gen(function* () {
      // 8M CSV rows grow the heap row by row far past 128 MB. (A single huge allocation can still
      // abort the whole process instead, nodejs/node#47224: the byte and char caps guard that.)
      const csv = new TextEncoder().encode("a,b\n".repeat(8_000_000))
      const outcome = yield* runExtraction(csv, { filename: "huge.csv" }, { maxMemoryMb: 128, timeoutMs: 60_000 }, { workerPath })
      expect(outcome).toMatchObject({ _tag: "NotExtracted", kind: "limit", reason: "extraction exceeded the 128 MB memory limit" })
    }), 60_000)

  it.live("process isolation: extracts, and survives a single allocation past the heap limit", () =>
    Effect.gen(function* () {
      const docx = yield* Effect.promise(() => makeDocx([["p", "进程隔离。"]]))
      const ok = yield* runExtraction(docx, { filename: "a.docx" }, {}, { workerPath, isolation: "process" })
      expect(ok).toMatchObject({ _tag: "Extracted", language: "zh", segments: [{ text: "进程隔离。" }] })
      // 20M short lines split at once: in a worker thread with a 48 MB heap this aborted the whole
      // test process (nodejs/node#47224); a child process just dies and is reported
      const text = new TextEncoder().encode("ab\n\n".repeat(10_000_000))
      const outcome = yield* runExtraction(text, { filename: "a.txt" }, { maxMemoryMb: 48, timeoutMs: 60_000 }, { workerPath, isolation: "process" })
      expect(outcome).toMatchObject({ _tag: "NotExtracted", kind: "limit", reason: "extraction exceeded the 48 MB memory limit" })
    }), 60_000)

  it.live("a missing worker script is a typed error, not an outcome", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(runExtraction(new Uint8Array([0x61]), {}, {}, { workerPath: "/nonexistent/extract-worker.js" }))
      expect(Exit.isFailure(exit)).toBe(true)
    }))

  it("the worker script is found from OPENCLAW_EXTRACT_WORKER, an explicit path winning", () => {
    const saved = process.env["OPENCLAW_EXTRACT_WORKER"]
    process.env["OPENCLAW_EXTRACT_WORKER"] = workerPath
    try {
      expect(resolveWorkerPath()).toBe(workerPath)
      expect(resolveWorkerPath({ workerPath: "/x/extract-worker.js" })).toBe("/x/extract-worker.js")
    } finally {
      if (saved === undefined) delete process.env["OPENCLAW_EXTRACT_WORKER"]
      else process.env["OPENCLAW_EXTRACT_WORKER"] = saved
    }
  })
})
