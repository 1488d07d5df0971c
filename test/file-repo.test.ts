import { createHash } from "node:crypto"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import type { FileId, TenantId } from "../src/domain/Ids.js"
import { FileRepo } from "../src/services/FileRepo.js"
import { RustfsMigrationsLive } from "../src/services/RustfsServer.js"
import { testDatabases } from "./support/database.js"

const idOf = (s: string) => createHash("sha256").update(s).digest("hex")
const addFiles = (T: TenantId, prefix: string, n: number) =>
  Effect.gen(function*() {
    const repo = yield* FileRepo
    const ids: Array<string> = []
    yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => {
        const fileId = idOf(`${prefix}-${i}`)
        ids.push(fileId)
        return repo.ingest(
          { tenantId: T, fileId, sessionId: prefix, filename: `${i}.txt`, mime: "text/plain", size: 1, source: null, encrypted: false, keyRecipient: null },
          Effect.void
        )
      },
      { concurrency: 8, discard: true }
    )
    return ids
  })

for (const db of testDatabases()) {
  const repoLayer = FileRepo.Default.pipe(Layer.provide(RustfsMigrationsLive), Layer.provideMerge(db.layer))

  layer(repoLayer, { timeout: "300 seconds" })(`FileRepo claims (${db.name})`, (it) => {
    it.effect("16 concurrent claimers over 2,000 pending files never claim a file twice", () =>
      Effect.gen(function*() {
        const repo = yield* FileRepo
        const T = "tenant-bulk" as TenantId
        const ids = yield* addFiles(T, "bulk", 2000)
        const claimedBy = new Map<string, number>()
        let duplicates = 0
        const claimer = (worker: number) =>
          Effect.gen(function*() {
            while (true) {
              const batch = yield* repo.claim(T, 25, 60_000, 5)
              if (batch.items.length === 0) return
              for (const item of batch.items) {
                if (claimedBy.has(item.file_id)) duplicates++
                claimedBy.set(item.file_id, worker)
                expect(item.extract_attempt).toBe(1)
              }
            }
          })
        yield* Effect.forEach(Array.from({ length: 16 }, (_, i) => i), claimer, { concurrency: 16, discard: true })
        expect(duplicates).toBe(0)
        expect(claimedBy.size).toBe(ids.length)
        expect(new Set(claimedBy.values()).size).toBeGreaterThan(1)
        const left = yield* repo.pending(T, 200)
        expect(left.filter((f) => f.session_id === "bulk")).toEqual([])
      }))

    it.effect("a lease expires, another worker takes over, and the first owner is fenced off", () =>
      Effect.gen(function*() {
        const repo = yield* FileRepo
        const T = "tenant-lease" as TenantId
        const [id] = (yield* addFiles(T, "lease", 1)) as [string]
        const fileId = id as FileId
        const clean = yield* repo.claim(T, 200, 30_000, 5)
        expect(clean.items.map((f) => f.file_id)).toEqual([id])
        const mine = clean.items[0]!
        expect(mine.extract_attempt).toBe(1)

        yield* TestClock.adjust("20 seconds")
        const renewedUntil = yield* repo.renewLease(T, fileId, mine.lease_token, 30_000)
        expect(renewedUntil).toBe(20_000 + 30_000)
        yield* TestClock.adjust("25 seconds")
        expect((yield* repo.claim(T, 10, 30_000, 5)).items).toEqual([])

        yield* TestClock.adjust("10 seconds")
        const taken = yield* repo.claim(T, 10, 30_000, 5)
        expect(taken.items.map((f) => f.file_id)).toEqual([id])
        const theirs = taken.items[0]!
        expect(theirs.extract_attempt).toBe(2)
        expect(theirs.lease_token).not.toBe(mine.lease_token)

        const stale = yield* Effect.flip(repo.renewLease(T, fileId, mine.lease_token, 30_000))
        expect(stale._tag).toBe("LeaseMismatch")
        const staleStatus = yield* Effect.flip(repo.setStatus(T, fileId, { status: "indexed", error: null, leaseToken: mine.lease_token, retryAfterMs: null }))
        expect(staleStatus._tag).toBe("LeaseMismatch")
        const staleNotes = yield* Effect.flip(repo.annotate(T, fileId, { patch: { a: 1 }, mode: "merge", ifVersion: null, leaseToken: mine.lease_token, source: null }))
        expect(staleNotes._tag).toBe("LeaseMismatch")

        yield* repo.setStatus(T, fileId, { status: "indexed", error: null, leaseToken: theirs.lease_token, retryAfterMs: null })
        const done = yield* repo.get(T, fileId)
        expect(done.meta).toMatchObject({ extract_status: "indexed", extract_attempt: 2 })
      }))

    it.effect("a file that keeps crashing its worker ends failed with max_attempts_exceeded; a release does not count", () =>
      Effect.gen(function*() {
        const repo = yield* FileRepo
        const T = "tenant-crashy" as TenantId
        const [id] = (yield* addFiles(T, "crashy", 1)) as [string]
        const fileId = id as FileId
        const first = yield* repo.claim(T, 10, 5_000, 3)
        const lease = first.items.find((f) => f.file_id === id)!
        yield* repo.setStatus(T, fileId, { status: "pending", error: null, leaseToken: lease.lease_token, retryAfterMs: 60_000 })
        expect((yield* repo.get(T, fileId)).meta.extract_attempt).toBe(0)
        expect((yield* repo.claim(T, 10, 5_000, 3)).items.some((f) => f.file_id === id)).toBe(false)
        yield* TestClock.adjust("61 seconds")

        for (let attempt = 1; attempt <= 3; attempt++) {
          const batch = yield* repo.claim(T, 10, 5_000, 3)
          expect(batch.items.find((f) => f.file_id === id)?.extract_attempt).toBe(attempt)
          yield* TestClock.adjust("6 seconds")
        }
        expect((yield* repo.claim(T, 10, 5_000, 3)).items.some((f) => f.file_id === id)).toBe(false)
        const meta = (yield* repo.get(T, fileId)).meta
        expect(meta).toMatchObject({ extract_status: "failed", extract_error: "max_attempts_exceeded", extract_attempt: 3 })
      }))
  })
}
