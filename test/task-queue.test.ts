import { NodeContext } from "@effect/platform-node"
import { Migrator, SqlClient } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { expect, layer } from "@effect/vitest"
import { Chunk, Clock, Effect, Layer, Option, Ref, Stream, TestClock, TestServices } from "effect"
import { backoffBounds, backoffDelayMs, makeTaskQueue, type ClaimedTask, type TaskQueueOptions } from "../src/services/TaskQueue.js"
import { taskQueueMigrations } from "../src/services/migrations/taskQueue.js"
import { testDatabases } from "./support/database.js"

const options: TaskQueueOptions = { maxAttempts: 3, backoff: { baseMs: 1_000, capMs: 60_000 } }
const claimOpts = (over: Partial<{ limit: number; leaseMs: number; perNamespaceLimit: number; workerId: string }> = {}) => ({
  limit: 10,
  leaseMs: 30_000,
  perNamespaceLimit: 100,
  workerId: "w1",
  ...over
})
const addTasks = (q: Effect.Effect.Success<ReturnType<typeof makeTaskQueue>>, namespace: string, n: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    (i) => q.enqueue({ namespace, sessionId: `s-${i}`, kind: "update", payload: { i } }),
    { concurrency: 8 }
  )
const realPause = (ms: number) => TestServices.provideLive(Effect.sleep(`${ms} millis`))

for (const db of testDatabases()) {
  const migrated = PgMigrator.layer({ loader: Migrator.fromRecord(taskQueueMigrations), table: "test_task_migrations" }).pipe(
    Layer.provide(NodeContext.layer)
  )
  const dbLayer = Layer.provideMerge(migrated, db.layer)
  // A fresh database per test: claims are not namespace-scoped, so tests must not see each other's tasks.
  const test = (name: string, body: () => Effect.Effect<void, unknown, SqlClient.SqlClient>) =>
    layer(dbLayer, { timeout: "120 seconds" })(`TaskQueue (${db.name})`, (it) => {
      it.effect(name, body, 120_000)
    })

  test("enqueue is committed and visible in stats and depth immediately", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      const first = yield* q.enqueue({ namespace: "ns1", sessionId: "a", kind: "update", payload: { messages: [] } })
      expect(first.coalesced).toBe(false)
      // Seen from a different connection than the one that inserted it.
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ status: string }>`SELECT status FROM dm_tasks WHERE id = ${first.taskId}`
      expect(rows).toEqual([{ status: "pending" }])
      yield* TestClock.adjust("5 seconds")
      yield* q.enqueue({ namespace: "ns2", sessionId: "b", kind: "update", payload: {} })
      const stats = yield* q.stats()
      expect(stats).toMatchObject({ pending: 2, running: 0, failed: 0, done_last_hour: 0, oldest_pending_age_ms: 5_000 })
      expect(stats.by_namespace).toEqual({ ns1: { pending: 1, failed: 0 }, ns2: { pending: 1, failed: 0 } })
      expect((yield* q.stats("ns2")).pending).toBe(1)
      expect(yield* q.depth()).toBe(2)
      expect(yield* q.depth("ns1")).toBe(1)
      // The other queue shares the table but not the tasks.
      const forget = yield* makeTaskQueue("forget", options)
      expect(yield* forget.depth()).toBe(0)
    }))

  test("coalescing replaces a pending task's payload but never a running one", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      const key = "ns:sess"
      const a = yield* q.enqueue({ namespace: "ns", sessionId: "sess", kind: "update", payload: { messages: ["v1"] }, coalesceKey: key })
      const b = yield* q.enqueue({ namespace: "ns", sessionId: "sess", kind: "update", payload: { messages: ["v1", "v2"] }, coalesceKey: key })
      expect(b).toEqual({ taskId: a.taskId, coalesced: true })
      const other = yield* q.enqueue({ namespace: "ns2", sessionId: "sess", kind: "update", payload: {}, coalesceKey: key })
      expect(other.coalesced).toBe(false)
      expect(yield* q.depth("ns")).toBe(1)

      const [running] = yield* q.claim(claimOpts({ perNamespaceLimit: 5 })).pipe(Effect.map((ts) => ts.filter((t) => t.namespace === "ns")))
      expect(running?.id).toBe(a.taskId)
      expect(running?.payload).toEqual({ messages: ["v1", "v2"] })

      const c = yield* q.enqueue({ namespace: "ns", sessionId: "sess", kind: "update", payload: { messages: ["v1", "v2", "v3"] }, coalesceKey: key })
      expect(c.coalesced).toBe(false)
      expect(c.taskId).not.toBe(a.taskId)
      const d = yield* q.enqueue({ namespace: "ns", sessionId: "sess", kind: "update", payload: { messages: ["v1", "v2", "v3", "v4"] }, coalesceKey: key })
      expect(d).toEqual({ taskId: c.taskId, coalesced: true })
      // The session's newer task waits while the older one runs.
      expect(yield* q.claim(claimOpts())).toEqual([])

      // A failing task whose session already has a newer pending task is superseded by it.
      const outcome = yield* q.fail(running!.id, running!.leaseToken, "boom")
      expect(outcome._tag).toBe("Superseded")
      expect(Option.isNone(yield* q.get(a.taskId))).toBe(true)
      const [next] = yield* q.claim(claimOpts())
      expect(next?.id).toBe(c.taskId)
      expect(next?.payload).toEqual({ messages: ["v1", "v2", "v3", "v4"] })
    }))

  test("8 concurrent claimers never claim a task twice", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      for (const ns of ["n1", "n2", "n3", "n4"]) yield* addTasks(q, ns, 75)
      const seen = new Map<string, string>()
      let duplicates = 0
      const claimer = (w: number) =>
        Effect.gen(function*() {
          while (true) {
            const batch = yield* q.claim(claimOpts({ limit: 7, workerId: `w${w}`, perNamespaceLimit: 1_000 }))
            if (batch.length === 0) return
            for (const t of batch) {
              if (seen.has(t.id)) duplicates++
              seen.set(t.id, `w${w}`)
              expect(t.attempts).toBe(1)
            }
          }
        })
      yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), claimer, { concurrency: 8, discard: true })
      expect(duplicates).toBe(0)
      expect(seen.size).toBe(300)
      expect(new Set(seen.values()).size).toBeGreaterThan(1)
      expect((yield* q.stats()).running).toBe(300)
    }))

  test("the per-namespace limit holds under 8 concurrent claimers", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      for (const ns of ["a", "b", "c"]) yield* addTasks(q, ns, 20)
      const claimed: Array<ClaimedTask> = []
      const claimer = (w: number) =>
        Effect.gen(function*() {
          for (let round = 0; round < 6; round++) {
            claimed.push(...(yield* q.claim(claimOpts({ limit: 4, workerId: `w${w}`, perNamespaceLimit: 3 }))))
          }
        })
      yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i), claimer, { concurrency: 8, discard: true })
      const perNs = (ns: string) => claimed.filter((t) => t.namespace === ns)
      expect([perNs("a").length, perNs("b").length, perNs("c").length]).toEqual([3, 3, 3])
      const sql = yield* SqlClient.SqlClient
      const running = yield* sql<{ namespace: string; n: number }>`SELECT namespace, count(*)::int AS n FROM dm_tasks
        WHERE status = 'running' GROUP BY namespace ORDER BY namespace`
      expect(running).toEqual([{ namespace: "a", n: 3 }, { namespace: "b", n: 3 }, { namespace: "c", n: 3 }])

      // Oldest first within a namespace, and a finished task frees exactly one slot.
      const doneOne = perNs("a")[0]!
      yield* q.complete(doneOne.id, doneOne.leaseToken)
      const more = yield* q.claim(claimOpts({ limit: 10, perNamespaceLimit: 3 }))
      expect(more.map((t) => t.namespace)).toEqual(["a"])
      expect((yield* q.stats()).done_last_hour).toBe(1)
    }))

  test("an expired lease makes a task claimable again and fences off the old owner", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      yield* addTasks(q, "ns", 1)
      const [mine] = yield* q.claim(claimOpts({ leaseMs: 10_000, perNamespaceLimit: 1 }))
      expect(mine?.attempts).toBe(1)
      yield* TestClock.adjust("8 seconds")
      expect(yield* q.renewLease(mine!.id, mine!.leaseToken, 10_000)).toBe(18_000)
      yield* TestClock.adjust("9 seconds")
      expect(yield* q.claim(claimOpts({ leaseMs: 10_000, perNamespaceLimit: 1 }))).toEqual([])
      yield* TestClock.adjust("2 seconds")
      const [theirs] = yield* q.claim(claimOpts({ leaseMs: 10_000, perNamespaceLimit: 1, workerId: "w2" }))
      expect(theirs?.id).toBe(mine!.id)
      expect(theirs?.attempts).toBe(2)
      expect(theirs?.leaseToken).not.toBe(mine!.leaseToken)
      expect((yield* Effect.flip(q.complete(mine!.id, mine!.leaseToken)))._tag).toBe("TaskLeaseLost")
      expect((yield* Effect.flip(q.fail(mine!.id, mine!.leaseToken, "x")))._tag).toBe("TaskLeaseLost")
      expect((yield* Effect.flip(q.renewLease(mine!.id, mine!.leaseToken, 10_000)))._tag).toBe("TaskLeaseLost")
      yield* q.complete(theirs!.id, theirs!.leaseToken)
      expect(Option.map(yield* q.get(mine!.id), (t) => t.status)).toEqual(Option.some("done"))

      // A task whose last allowed attempt loses its lease ends failed, not claimed a 4th time.
      yield* addTasks(q, "crash", 1)
      for (let i = 1; i <= 3; i++) {
        const [t] = yield* q.claim(claimOpts({ leaseMs: 1_000 }))
        expect(t?.attempts).toBe(i)
        yield* TestClock.adjust("2 seconds")
      }
      expect(yield* q.claim(claimOpts())).toEqual([])
      expect((yield* q.cleanup()).failedExpired).toBe(1)
      const [failed] = yield* q.listFailed({ limit: 10 })
      expect(failed).toMatchObject({ namespace: "crash", attempts: 3, last_error: "lease expired on the last attempt" })
    }))

  test("a failure retries after an exponential backoff with jitter, then ends failed after maxAttempts", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      const { taskId } = yield* q.enqueue({ namespace: "ns", sessionId: "s", kind: "update", payload: {} })
      let now = 0
      for (const attempt of [1, 2]) {
        const [t] = yield* q.claim(claimOpts())
        expect(t).toMatchObject({ id: taskId, attempts: attempt })
        const outcome = yield* q.fail(t!.id, t!.leaseToken, `error ${attempt}`)
        if (outcome._tag !== "Retrying") return expect.fail(`expected a retry, got ${outcome._tag}`)
        const { max, min } = backoffBounds(attempt, options.backoff)
        expect(min).toBe(500 * 2 ** (attempt - 1))
        expect(outcome.runAfterMs - now).toBeGreaterThanOrEqual(min)
        expect(outcome.runAfterMs - now).toBeLessThanOrEqual(max)
        const info = Option.getOrThrow(yield* q.get(taskId))
        expect(info).toMatchObject({ status: "pending", run_after_ms: outcome.runAfterMs, last_error: `error ${attempt}` })
        yield* TestClock.adjust(outcome.runAfterMs - now - 1)
        expect(yield* q.claim(claimOpts())).toEqual([])
        yield* TestClock.adjust(1)
        now = outcome.runAfterMs
      }
      const [last] = yield* q.claim(claimOpts())
      expect(last?.attempts).toBe(3)
      const outcome = yield* q.fail(last!.id, last!.leaseToken, "x".repeat(800))
      expect(outcome).toEqual({ _tag: "Failed", attempts: 3 })
      yield* TestClock.adjust("1 hour")
      expect(yield* q.claim(claimOpts())).toEqual([])
      const info = Option.getOrThrow(yield* q.get(taskId))
      expect(info.status).toBe("failed")
      expect(info.last_error).toBe("x".repeat(500))
      expect((yield* q.stats()).failed).toBe(1)
    }))

  test("backoff: equal jitter within [d/2, d], doubling, capped", () =>
    Effect.sync(() => {
      const policy = { baseMs: 1_000, capMs: 10_000 }
      expect([1, 2, 3, 4, 5, 6].map((a) => backoffBounds(a, policy).max)).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000])
      for (let i = 0; i < 1_000; i++) {
        const u = Math.random()
        const attempt = 1 + (i % 8)
        const { max, min } = backoffBounds(attempt, policy)
        const d = backoffDelayMs(attempt, policy, u)
        expect(d).toBeGreaterThanOrEqual(min)
        expect(d).toBeLessThanOrEqual(max)
      }
      expect(backoffDelayMs(3, policy, 0)).toBe(2_000)
      expect(backoffDelayMs(3, policy, 0.999999)).toBe(3_999)
    }))

  test("failed tasks are listed and exported without payload bodies, and retryFailed brings them back", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", { ...options, maxAttempts: 1 })
      const secret = "SECRET-sk-live-do-not-leak"
      const payload = { messages: [{ role: "user", content: secret }, { role: "assistant", content: "ok" }], note: secret }
      const withMessages = yield* q.enqueue({ namespace: "ns", sessionId: "s1", kind: "update", payload, coalesceKey: "ns:s1" })
      const noMessages = yield* q.enqueue({ namespace: "other", sessionId: "s2", kind: "forget_session", payload: { secret } })
      for (const t of yield* q.claim(claimOpts())) yield* q.fail(t.id, t.leaseToken, "extract_failed")
      yield* TestClock.adjust("1 second")

      const listed = yield* q.listFailed({ limit: 10 })
      expect(JSON.stringify(listed)).not.toContain(secret)
      expect(listed.find((t) => t.id === withMessages.taskId)).toEqual({
        id: withMessages.taskId, namespace: "ns", session_id: "s1", kind: "update", attempts: 1,
        last_error: "extract_failed", failed_at_ms: 0, message_count: 2
      })
      expect(listed.find((t) => t.id === noMessages.taskId)).not.toHaveProperty("message_count")
      expect((yield* q.listFailed({ namespace: "other", limit: 10 })).map((t) => t.id)).toEqual([noMessages.taskId])

      const exported = Chunk.toReadonlyArray(yield* Stream.runCollect(q.exportFailed())).join("")
      expect(exported).not.toContain(secret)
      const lines = exported.trim().split("\n").map((l) => JSON.parse(l) as { id: string })
      expect(lines.map((l) => l.id).sort()).toEqual([withMessages.taskId, noMessages.taskId].sort())

      expect(yield* q.retryFailed({ namespace: "ns" })).toBe(1)
      expect(yield* q.stats()).toMatchObject({ pending: 1, failed: 1 })
      const [again] = yield* q.claim(claimOpts())
      expect(again).toMatchObject({ id: withMessages.taskId, attempts: 1, payload })
      expect(yield* q.retryFailed({ taskIds: ["not-a-uuid"] })).toBe(0)
      expect(yield* q.retryFailed({ taskIds: [noMessages.taskId] })).toBe(1)
      expect((yield* q.stats()).failed).toBe(0)
    }))

  test("cancelSession removes that session's pending and failed tasks only", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", { ...options, maxAttempts: 1 })
      const forget = yield* makeTaskQueue("forget", options)
      const enq = (namespace: string, sessionId: string) => q.enqueue({ namespace, sessionId, kind: "update", payload: {} })
      const failing = yield* enq("ns", "doomed")
      const [t] = yield* q.claim(claimOpts({ limit: 1 }))
      expect(t?.id).toBe(failing.taskId)
      yield* q.fail(t!.id, t!.leaseToken, "x")
      yield* enq("ns", "doomed")
      yield* enq("ns", "doomed")
      const running = yield* enq("ns", "doomed")
      const keepOtherSession = yield* enq("ns", "kept")
      const keepOtherNs = yield* enq("ns2", "doomed")
      yield* forget.enqueue({ namespace: "ns", sessionId: "doomed", kind: "forget", payload: {} })
      const sql = yield* SqlClient.SqlClient
      yield* sql`UPDATE dm_tasks SET status = 'running', lease_expires_at_ms = 999999 WHERE id = ${running.taskId}`

      expect(yield* q.cancelSession("ns", "doomed")).toBe(3)
      expect(yield* q.cancelSession("ns", "doomed")).toBe(0)
      const left = yield* sql<{ id: string }>`SELECT id FROM dm_tasks WHERE queue = 'update' ORDER BY seq`
      expect(left.map((r) => r.id)).toEqual([running.taskId, keepOtherSession.taskId, keepOtherNs.taskId])
      expect(yield* forget.depth("ns")).toBe(1)
    }))

  test("runWorkers processes a batch end to end; a handler failing once is retried after its backoff", () =>
    Effect.gen(function*() {
      const q = yield* makeTaskQueue("update", options)
      const ids = (yield* addTasks(q, "ns", 6)).map((r) => r.taskId)
      const calls = yield* Ref.make(new Map<string, Array<number>>())
      let maxConcurrent = 0
      let current = 0
      const handler = (task: ClaimedTask) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const seen = yield* Ref.modify(calls, (m) => {
            const list = [...(m.get(task.id) ?? []), now]
            return [list.length, new Map(m).set(task.id, list)]
          })
          current++
          maxConcurrent = Math.max(maxConcurrent, current)
          yield* realPause(5).pipe(Effect.ensuring(Effect.sync(() => current--)))
          if (seen === 1) return yield* Effect.fail({ safeMessage: "transient" })
        })
      yield* Effect.scoped(Effect.gen(function*() {
        yield* q.runWorkers({ concurrency: 2, pollInterval: "100 millis", leaseMs: 30_000, handler })
        for (let i = 0; i < 400; i++) {
          const stats = yield* q.stats()
          if (stats.done_last_hour === 6) break
          yield* realPause(10)
          yield* TestClock.adjust("100 millis")
        }
      }))
      const stats = yield* q.stats()
      expect(stats).toMatchObject({ pending: 0, running: 0, failed: 0, done_last_hour: 6 })
      const m = yield* Ref.get(calls)
      expect([...m.keys()].sort()).toEqual([...ids].sort())
      for (const id of ids) {
        const times = m.get(id)!
        expect(times.length).toBe(2)
        // first retry: equal jitter over a 1 s base, so never sooner than 500 ms
        expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(500)
      }
      expect(maxConcurrent).toBeLessThanOrEqual(2)
      expect(maxConcurrent).toBeGreaterThan(0)
    }))

}
