import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Fiber, TestClock } from "effect"
import { Busy, classify, Rejected, Unreachable } from "../src/services/worker/Clients.js"
import { headerOf } from "../src/services/worker/ExtractorLive.js"
import { chunkMessage, overloadSchedule } from "../src/services/worker/Ingest.js"
import { readCursor, writeCursor } from "../src/services/worker/Tombstones.js"
import { workerSettings } from "../src/services/worker/WorkerConfig.js"

const settings = (vars: Record<string, string>) =>
  Effect.withConfigProvider(workerSettings, ConfigProvider.fromMap(new Map(Object.entries({
    RUSTFS_BASE_URL: "http://127.0.0.1:8099",
    DEEP_MEMORY_BASE_URL: "http://127.0.0.1:8088",
    ...vars
  }))))

describe("rustfs-worker pieces", () => {
  it.effect("configuration: spec defaults, strict booleans, URLs checked, empty means unset", () =>
    Effect.gen(function*() {
      const s = yield* settings({ DEEP_MEMORY_ASYNC: "false", DEEP_MEMORY_API_KEY: "", RUSTFS_LEASE_MS: "" })
      expect(s).toMatchObject({
        pollIntervalMs: 5_000, leaseMs: 300_000, pendingLimit: 25, async: false, timeoutMs: 30_000,
        chunkMaxChars: 3_500, chunkOverlapChars: 200, backoffBaseMs: 10_000, maxReturnMemoryIds: 200, concurrency: 2
      })
      expect(s.memoryApiKey._tag).toBe("None")
      expect((yield* Effect.either(settings({ DEEP_MEMORY_ASYNC: "no" })))._tag).toBe("Left")
      expect((yield* Effect.either(settings({ RUSTFS_BASE_URL: "ftp://x" })))._tag).toBe("Left")
      expect((yield* Effect.either(settings({ DEEP_MEMORY_CHUNK_MAX_CHARS: "300", DEEP_MEMORY_CHUNK_OVERLAP_CHARS: "200" })))._tag).toBe("Left")
    }))

  it("classifies peer failures the way the worker acts on them", () => {
    const busy = classify("deep-memory")({ _tag: "QueueOverloaded", message: "busy", retryAfterSeconds: 7 })
    expect(busy).toBeInstanceOf(Busy)
    expect((busy as Busy).retryAfterMs).toBe(7_000)
    expect(classify("deep-memory")({ _tag: "RateLimited", message: "slow down", retryAfterSeconds: 2 })._tag).toBe("Busy")
    expect(classify("rustfs")({ _tag: "Unauthorized", message: "no" })._tag).toBe("AuthFailed")
    expect(classify("deep-memory")({ _tag: "ForbiddenNamespace", message: "no" })._tag).toBe("AuthFailed")
    expect(classify("rustfs")({ _tag: "RequestError", message: "ECONNREFUSED" })).toBeInstanceOf(Unreachable)
    expect(classify("rustfs")({ _tag: "TimeoutException", message: "timed out" })._tag).toBe("Unreachable")
    expect(classify("deep-memory")({ _tag: "InvalidRequest", message: "bad" })).toBeInstanceOf(Rejected)
  })

  it.effect("back-off: exponential with a cap, never shorter than retry-after, stops at the budget, only for transient faults", () =>
    Effect.gen(function*() {
      const schedule = overloadSchedule({ backoffBaseMs: 1_000, backoffMaxMs: 4_000, retryBudgetMs: 30_000 })
      let calls = 0
      const flaky = Effect.suspend(() => {
        calls++
        return Effect.fail(new Busy({ service: "deep-memory", retryAfterMs: calls === 1 ? 9_000 : 0, message: "busy" }))
      })
      const fiber = yield* Effect.fork(Effect.either(Effect.retry(flaky, schedule)))
      // first retry waits for retry-after (9 s), not the 1 s base
      yield* TestClock.adjust(Duration.seconds(8))
      expect(calls).toBe(1)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(calls).toBe(2)
      // then at most the 4 s cap between attempts, until 30 s have passed
      yield* TestClock.adjust(Duration.seconds(60))
      const result = yield* Fiber.join(fiber)
      expect(result._tag).toBe("Left")
      expect(calls).toBeGreaterThanOrEqual(6)
      expect(calls).toBeLessThanOrEqual(12)

      let rejected = 0
      const permanent = Effect.suspend(() => (rejected++, Effect.fail(new Rejected({ service: "deep-memory", message: "bad input" }))))
      const r2 = yield* Effect.fork(Effect.either(Effect.retry(permanent, schedule)))
      yield* TestClock.adjust(Duration.seconds(60))
      yield* Fiber.join(r2)
      expect(rejected).toBe(1)
    }))

  it("chunk locators become a header deep-memory reads, and every chunk carries its number", () => {
    expect(headerOf({ page: 3 }, 1)).toEqual({ page: 3, chunk: 1 })
    expect(headerOf({ slide: 2, heading: "Roadmap" }, 4)).toEqual({ slide: 2, section: "Roadmap", chunk: 4 })
    expect(headerOf({ section: "def load", line_start: 10, line_end: 42 }, 2)).toEqual({ section: "def load, lines 10–42", chunk: 2 })
    expect(headerOf({ row_start: 1, row_end: 50 }, 1)).toEqual({ section: "rows 1–50", chunk: 1 })
    expect(chunkMessage({ text: "hello", locator: { page: 1, chunk: 1 } })).toEqual({ role: "user", content: "{\"page\":1,\"chunk\":1}\nhello" })
  })

  it.effect("the tombstone cursor is written atomically and read back; a missing or broken file starts from zero", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "worker-state-"))
      const file = path.join(dir, "nested", "state.json")
      expect(yield* readCursor(file)).toEqual({ sinceMs: 0, doneAtSince: [] })
      yield* writeCursor(file, { sinceMs: 1234, doneAtSince: ["a", "b"] })
      expect(yield* readCursor(file)).toEqual({ sinceMs: 1234, doneAtSince: ["a", "b"] })
      expect(fs.readdirSync(path.dirname(file))).toEqual(["state.json"]) // no temporary file left behind
      fs.writeFileSync(file, "{not json")
      expect(yield* readCursor(file)).toEqual({ sinceMs: 0, doneAtSince: [] })
      fs.rmSync(dir, { recursive: true, force: true })
    }))
})
