/**
 * deep-memory's durable task queue (UpdateQueue and ForgetQueue) in PostgreSQL table `dm_tasks`.
 *
 * - A task is committed before `enqueue` returns. At most one *pending* task exists per coalesce key
 *   (a unique partial index); enqueueing with the key of a pending task replaces its payload. A task
 *   that is running is never touched: a new pending task is added and waits for it (claims skip a
 *   task whose key has a live running task, so one session is processed by one worker at a time).
 *   When a failing or retried task meets a pending task with its key, the pending one carries the
 *   newer payload and the older task is dropped ("superseded").
 * - Per-namespace concurrency: a claim takes a transaction-scoped advisory lock per namespace with
 *   due work (`pg_advisory_xact_lock`, in key order so claimers cannot deadlock), then, in a later
 *   statement whose snapshot includes every earlier claim of that namespace, counts the live leases
 *   and locks at most `perNamespaceLimit - running` due tasks with `FOR UPDATE SKIP LOCKED`. Only a
 *   claim raises the running count, and claims of one namespace are serialised by the lock, so the
 *   limit holds for any number of claimers (a slot table would need its own bookkeeping and repair
 *   after crashes; lease expiry already frees slots here).
 * - Retries: equal jitter, `d = min(cap, base * 2^(attempt-1))`, delay uniform in `[d/2, d]`, so a
 *   retry never comes sooner than half its backoff and retries of many tasks still spread out.
 *   The delay is stored as `run_after_ms` (it survives restarts), which is why it is computed here
 *   rather than with `Schedule`.
 * - All times come from `Clock`.
 */
import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import type { Scope } from "effect"
import { Cause, Chunk, Clock, Data, Duration, Effect, Exit, Option, Queue, Random, Ref, Stream } from "effect"

export type QueueName = "update" | "forget"

export class TaskQueueError extends Data.TaggedError("TaskQueueError")<{ readonly cause: unknown }> {}
export class TaskLeaseLost extends Data.TaggedError("TaskLeaseLost")<{ readonly taskId: string }> {}

export interface BackoffPolicy {
  readonly baseMs: number
  readonly capMs: number
}

export interface TaskQueueOptions {
  readonly maxAttempts: number
  readonly backoff: BackoffPolicy
  /** How long done tasks are kept (for `done_last_hour`); default one hour. */
  readonly doneRetentionMs?: number
}

/** The backoff before retry number `attempt` (1 = first retry), for `u` uniform in [0, 1). */
export const backoffDelayMs = (attempt: number, policy: BackoffPolicy, u: number): number => {
  const { max, min } = backoffBounds(attempt, policy)
  return Math.floor(min + u * (max - min))
}

export const backoffBounds = (attempt: number, policy: BackoffPolicy): { readonly min: number; readonly max: number } => {
  const max = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt - 1))
  return { min: Math.floor(max / 2), max }
}

export const LAST_ERROR_MAX = 500

export interface NewTask {
  readonly namespace: string
  readonly sessionId: string
  readonly kind: string
  readonly payload: unknown
  readonly coalesceKey?: string
  /** Not before this many ms from now (backlog delay); a coalesced task keeps the later of the two. */
  readonly delayMs?: number
}

export interface ClaimedTask {
  readonly id: string
  readonly queue: QueueName
  readonly namespace: string
  readonly sessionId: string
  readonly kind: string
  readonly payload: unknown
  readonly attempts: number
  readonly leaseToken: string
  readonly leaseExpiresAtMs: number
  readonly createdAtMs: number
}

export type TaskStatus = "pending" | "running" | "done" | "failed"

/** A task's state, without its payload. */
export interface TaskInfo {
  readonly id: string
  readonly namespace: string
  readonly session_id: string
  readonly kind: string
  readonly status: TaskStatus
  readonly attempts: number
  readonly run_after_ms: number
  readonly lease_expires_at_ms: number | null
  readonly last_error: string | null
  readonly created_at_ms: number
}

export interface FailedTask {
  readonly id: string
  readonly namespace: string
  readonly session_id: string
  readonly kind: string
  readonly attempts: number
  readonly last_error: string | null
  readonly failed_at_ms: number
  readonly message_count?: number
}

export interface QueueStats {
  readonly pending: number
  /** Pending but not due yet (retry back-off or the backlog delay). */
  readonly delayed: number
  readonly running: number
  readonly failed: number
  readonly done_last_hour: number
  readonly oldest_pending_age_ms: number | null
  readonly by_namespace: Record<string, { readonly pending: number; readonly failed: number }>
}

export type FailOutcome =
  | { readonly _tag: "Retrying"; readonly runAfterMs: number; readonly attempts: number }
  | { readonly _tag: "Failed"; readonly attempts: number }
  | { readonly _tag: "Superseded" }

export interface RunWorkersOptions<R> {
  readonly concurrency: number
  /** First idle poll delay; doubles while idle up to `maxPollInterval` (default 10x). */
  readonly pollInterval: Duration.DurationInput
  readonly maxPollInterval?: Duration.DurationInput
  readonly leaseMs?: number
  readonly perNamespaceLimit?: number
  readonly workerId?: string
  readonly cleanupInterval?: Duration.DurationInput
  readonly handler: (task: ClaimedTask) => Effect.Effect<void, { readonly safeMessage: string }, R>
}

type Row = Record<string, unknown>

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v))
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const HOUR_MS = 3_600_000
const EXPORT_PAGE = 500

/** First key of the advisory locks of each queue (the second is the namespace's hash). */
const LOCK_CLASS: Record<QueueName, number> = { update: 0x646d5401, forget: 0x646d5402 }

const isUniqueViolation = (e: unknown): boolean => {
  if (typeof e !== "object" || e === null || (e as { _tag?: unknown })._tag !== "SqlError") return false
  const cause = (e as { cause?: unknown }).cause
  return typeof cause === "object" && cause !== null && (cause as { code?: unknown }).code === "23505"
}

const toFailed = (r: Row): FailedTask => {
  const base = {
    id: String(r.id),
    namespace: String(r.namespace),
    session_id: String(r.session_id),
    kind: String(r.kind),
    attempts: num(r.attempts),
    last_error: strOrNull(r.last_error),
    failed_at_ms: num(r.failed_at_ms)
  }
  return r.message_count === null || r.message_count === undefined ? base : { ...base, message_count: num(r.message_count) }
}

const toInfo = (r: Row): TaskInfo => ({
  id: String(r.id),
  namespace: String(r.namespace),
  session_id: String(r.session_id),
  kind: String(r.kind),
  status: String(r.status) as TaskStatus,
  attempts: num(r.attempts),
  run_after_ms: num(r.run_after_ms),
  lease_expires_at_ms: numOrNull(r.lease_expires_at_ms),
  last_error: strOrNull(r.last_error),
  created_at_ms: num(r.created_at_ms)
})

export const makeTaskQueue = (queue: QueueName, options: TaskQueueOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const retentionMs = options.doneRetentionMs ?? HOUR_MS
    const repo = <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>): Effect.Effect<A, Exclude<E, SqlError> | TaskQueueError, R> =>
      Effect.catchIf(
        effect,
        (e): e is SqlError => (e as { _tag?: string })._tag === "SqlError",
        (cause) => Effect.fail(new TaskQueueError({ cause }))
      ) as any
    // A concurrent enqueue can create the pending task a retry would collide with; run again and see it.
    const retryOnKeyRace = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.retry(effect, { times: 3, while: isUniqueViolation })
    const nsFilter = (namespace: string | undefined) => (namespace === undefined ? sql`TRUE` : sql`namespace = ${namespace}`)
    const dueWhere = (alias: string, now: number) =>
      sql.unsafe(`((${alias}.status = 'pending' AND ${alias}.run_after_ms <= ${now})
        OR (${alias}.status = 'running' AND ${alias}.lease_expires_at_ms <= ${now} AND ${alias}.attempts < ${options.maxAttempts}))`)

    const enqueue = Effect.fn("TaskQueue.enqueue")(function*(task: NewTask) {
      const now = yield* Clock.currentTimeMillis
      const id = randomUUID()
      const rows = yield* repo(sql<Row>`
        INSERT INTO dm_tasks (id, queue, namespace, session_id, kind, payload, coalesce_key, status,
          run_after_ms, created_at_ms, updated_at_ms)
        VALUES (${id}, ${queue}, ${task.namespace}, ${task.sessionId}, ${task.kind}, ${JSON.stringify(task.payload ?? null)}::jsonb,
          ${task.coalesceKey ?? null}, 'pending', ${now + (task.delayMs ?? 0)}, ${now}, ${now})
        ON CONFLICT (queue, namespace, coalesce_key) WHERE status = 'pending' AND coalesce_key IS NOT NULL
        DO UPDATE SET payload = EXCLUDED.payload, kind = EXCLUDED.kind, session_id = EXCLUDED.session_id,
          updated_at_ms = EXCLUDED.updated_at_ms, run_after_ms = GREATEST(dm_tasks.run_after_ms, EXCLUDED.run_after_ms)
        RETURNING id`)
      const taskId = String(rows[0]!.id)
      return { taskId, coalesced: taskId !== id }
    })

    const claim = Effect.fn("TaskQueue.claim")(function*(input: {
      readonly limit: number
      readonly workerId: string
      readonly leaseMs: number
      readonly perNamespaceLimit: number
    }) {
      const now = yield* Clock.currentTimeMillis
      if (input.limit <= 0 || input.perNamespaceLimit <= 0) return [] as Array<ClaimedTask>
      const liveRunning = (ns: string) =>
        sql`(SELECT count(*) FROM dm_tasks r WHERE r.queue = ${queue} AND r.namespace = ${ns}
          AND r.status = 'running' AND r.lease_expires_at_ms > ${now})`
      const claimed = yield* repo(sql.withTransaction(Effect.gen(function*() {
        // Which namespaces to take from; the count here is only a filter, the authoritative one runs
        // below, after the lock. Locks are taken in one global order (by key) so claimers cannot deadlock.
        const locked = yield* sql<Row>`
          WITH due AS MATERIALIZED (
            SELECT d.namespace, min(d.seq) AS first_seq FROM dm_tasks d
            WHERE d.queue = ${queue} AND ${dueWhere("d", now)}
            GROUP BY d.namespace
            HAVING (SELECT count(*) FROM dm_tasks r WHERE r.queue = ${queue} AND r.namespace = d.namespace
              AND r.status = 'running' AND r.lease_expires_at_ms > ${now}) < ${input.perNamespaceLimit}
            ORDER BY first_seq
            LIMIT ${input.limit}
          )
          SELECT s.namespace, s.first_seq, pg_advisory_xact_lock(${LOCK_CLASS[queue]}::int4, s.lock_key)::text AS locked
          FROM (SELECT namespace, first_seq, hashtext(namespace) AS lock_key FROM due
            ORDER BY lock_key, namespace OFFSET 0) AS s`
        const namespaces = [...locked].sort((a, b) => num(a.first_seq) - num(b.first_seq))
        const out: Array<Row> = []
        for (const nsRow of namespaces) {
          const remaining = input.limit - out.length
          if (remaining <= 0) break
          const ns = String(nsRow.namespace)
          const rows = yield* sql<Row>`
            UPDATE dm_tasks t SET status = 'running', attempts = t.attempts + 1, lease_token = gen_random_uuid(),
              lease_expires_at_ms = ${now + input.leaseMs}::bigint, worker_id = ${input.workerId}, updated_at_ms = ${now}
            FROM (
              SELECT c.id FROM dm_tasks c
              WHERE c.queue = ${queue} AND c.namespace = ${ns} AND ${dueWhere("c", now)}
                AND (c.coalesce_key IS NULL OR NOT EXISTS (
                  SELECT 1 FROM dm_tasks b WHERE b.queue = c.queue AND b.namespace = c.namespace
                    AND b.coalesce_key = c.coalesce_key AND b.status = 'running'
                    AND b.lease_expires_at_ms > ${now} AND b.id <> c.id))
              ORDER BY c.seq
              LIMIT GREATEST(0, LEAST(${remaining}::bigint, ${input.perNamespaceLimit}::bigint - ${liveRunning(ns)}))
              FOR UPDATE SKIP LOCKED
            ) AS picked
            WHERE t.id = picked.id
            RETURNING t.*`
          out.push(...rows)
        }
        return out
      })))
      return claimed
        .sort((a, b) => num(a.seq) - num(b.seq))
        .map((r): ClaimedTask => ({
          id: String(r.id),
          queue,
          namespace: String(r.namespace),
          sessionId: String(r.session_id),
          kind: String(r.kind),
          payload: r.payload,
          attempts: num(r.attempts),
          leaseToken: String(r.lease_token),
          leaseExpiresAtMs: num(r.lease_expires_at_ms),
          createdAtMs: num(r.created_at_ms)
        }))
    })

    const renewLease = Effect.fn("TaskQueue.renewLease")(function*(taskId: string, leaseToken: string, leaseMs: number) {
      const now = yield* Clock.currentTimeMillis
      if (!UUID.test(taskId) || !UUID.test(leaseToken)) return yield* new TaskLeaseLost({ taskId })
      const rows = yield* repo(sql<Row>`UPDATE dm_tasks SET lease_expires_at_ms = ${now + leaseMs}::bigint
        WHERE id = ${taskId} AND queue = ${queue} AND status = 'running' AND lease_token = ${leaseToken}
        RETURNING lease_expires_at_ms`)
      if (rows[0] === undefined) return yield* new TaskLeaseLost({ taskId })
      return num(rows[0].lease_expires_at_ms)
    })

    const complete = Effect.fn("TaskQueue.complete")(function*(taskId: string, leaseToken: string) {
      const now = yield* Clock.currentTimeMillis
      if (!UUID.test(taskId) || !UUID.test(leaseToken)) return yield* new TaskLeaseLost({ taskId })
      // The payload (message bodies) is not kept once the work is done.
      const rows = yield* repo(sql<Row>`UPDATE dm_tasks SET status = 'done', done_at_ms = ${now}, updated_at_ms = ${now},
          payload = 'null'::jsonb, lease_token = NULL, lease_expires_at_ms = NULL, last_error = NULL
        WHERE id = ${taskId} AND queue = ${queue} AND status = 'running' AND lease_token = ${leaseToken}
        RETURNING id`)
      if (rows[0] === undefined) return yield* new TaskLeaseLost({ taskId })
    })

    const fail = Effect.fn("TaskQueue.fail")(function*(taskId: string, leaseToken: string, error: string) {
      if (!UUID.test(taskId) || !UUID.test(leaseToken)) return yield* new TaskLeaseLost({ taskId })
      const lastError = error.slice(0, LAST_ERROR_MAX)
      const u = yield* Random.next
      const attempt = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const current = yield* sql<Row>`SELECT * FROM dm_tasks
          WHERE id = ${taskId} AND queue = ${queue} AND status = 'running' AND lease_token = ${leaseToken} FOR UPDATE`
        const row = current[0]
        if (row === undefined) return yield* new TaskLeaseLost({ taskId })
        const attempts = num(row.attempts)
        if (attempts >= options.maxAttempts) {
          yield* sql`UPDATE dm_tasks SET status = 'failed', last_error = ${lastError}, failed_at_ms = ${now},
              updated_at_ms = ${now}, lease_token = NULL, lease_expires_at_ms = NULL
            WHERE id = ${taskId}`
          return { _tag: "Failed", attempts } as FailOutcome
        }
        const key = strOrNull(row.coalesce_key)
        if (key !== null) {
          const newer = yield* sql<Row>`SELECT 1 FROM dm_tasks WHERE queue = ${queue} AND namespace = ${String(row.namespace)}
            AND coalesce_key = ${key} AND status = 'pending' LIMIT 1`
          if (newer.length > 0) {
            yield* sql`DELETE FROM dm_tasks WHERE id = ${taskId}`
            return { _tag: "Superseded" } as FailOutcome
          }
        }
        const runAfterMs = now + backoffDelayMs(attempts, options.backoff, u)
        yield* sql`UPDATE dm_tasks SET status = 'pending', run_after_ms = ${runAfterMs}, last_error = ${lastError},
            updated_at_ms = ${now}, lease_token = NULL, lease_expires_at_ms = NULL
          WHERE id = ${taskId}`
        return { _tag: "Retrying", runAfterMs, attempts } as FailOutcome
      })
      return yield* repo(retryOnKeyRace(sql.withTransaction(attempt)))
    })

    const get = Effect.fn("TaskQueue.get")(function*(taskId: string) {
      if (!UUID.test(taskId)) return Option.none<TaskInfo>()
      const rows = yield* repo(sql<Row>`SELECT id, namespace, session_id, kind, status, attempts, run_after_ms,
          lease_expires_at_ms, last_error, created_at_ms
        FROM dm_tasks WHERE id = ${taskId} AND queue = ${queue}`)
      return Option.map(Option.fromNullable(rows[0]), toInfo)
    })

    const stats = Effect.fn("TaskQueue.stats")(function*(namespace?: string) {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* repo(sql<Row>`SELECT namespace,
          count(*) FILTER (WHERE status = 'pending') AS pending,
          count(*) FILTER (WHERE status = 'pending' AND run_after_ms > ${now}) AS delayed,
          count(*) FILTER (WHERE status = 'running') AS running,
          count(*) FILTER (WHERE status = 'failed') AS failed,
          count(*) FILTER (WHERE status = 'done' AND done_at_ms > ${now - HOUR_MS}) AS done_last_hour,
          min(created_at_ms) FILTER (WHERE status = 'pending') AS oldest_pending
        FROM dm_tasks WHERE queue = ${queue} AND ${nsFilter(namespace)}
        GROUP BY namespace ORDER BY namespace`)
      let pending = 0, delayed = 0, running = 0, failed = 0, doneLastHour = 0
      let oldest: number | null = null
      const byNamespace: Record<string, { pending: number; failed: number }> = {}
      for (const r of rows) {
        pending += num(r.pending)
        delayed += num(r.delayed)
        running += num(r.running)
        failed += num(r.failed)
        doneLastHour += num(r.done_last_hour)
        const o = numOrNull(r.oldest_pending)
        if (o !== null && (oldest === null || o < oldest)) oldest = o
        if (num(r.pending) > 0 || num(r.failed) > 0) {
          byNamespace[String(r.namespace)] = { pending: num(r.pending), failed: num(r.failed) }
        }
      }
      const result: QueueStats = {
        pending,
        delayed,
        running,
        failed,
        done_last_hour: doneLastHour,
        oldest_pending_age_ms: oldest === null ? null : Math.max(0, now - oldest),
        by_namespace: byNamespace
      }
      return result
    })

    const depth = Effect.fn("TaskQueue.depth")(function*(namespace?: string) {
      const rows = yield* repo(sql<Row>`SELECT count(*) AS n FROM dm_tasks
        WHERE queue = ${queue} AND status = 'pending' AND ${nsFilter(namespace)}`)
      return num(rows[0]?.n ?? 0)
    })

    // Selects only safe columns: the payload itself is never read here.
    const failedPage = (namespace: string | undefined, limit: number, afterSeq: number | null, order: "newest" | "oldest") =>
      repo(sql<Row>`SELECT id, seq, namespace, session_id, kind, attempts, last_error, failed_at_ms,
          CASE WHEN jsonb_typeof(payload->'messages') = 'array' THEN jsonb_array_length(payload->'messages') END AS message_count
        FROM dm_tasks
        WHERE queue = ${queue} AND status = 'failed' AND ${nsFilter(namespace)}
          AND ${afterSeq === null ? sql`TRUE` : sql`seq > ${afterSeq}`}
        ORDER BY ${order === "newest" ? sql`failed_at_ms DESC, seq DESC` : sql`seq ASC`}
        LIMIT ${limit}`)

    const listFailed = Effect.fn("TaskQueue.listFailed")(function*(input: { readonly namespace?: string; readonly limit: number }) {
      const rows = yield* failedPage(input.namespace, Math.max(0, input.limit), null, "newest")
      return rows.map(toFailed)
    })

    /** NDJSON, one failed task per line (same fields as `listFailed`), read page by page. */
    const exportFailed = (input: { readonly namespace?: string } = {}): Stream.Stream<string, TaskQueueError> =>
      Stream.paginateChunkEffect(null as number | null, (after) =>
        failedPage(input.namespace, EXPORT_PAGE, after, "oldest").pipe(
          Effect.map((rows) => {
            const lines = rows.map((r) => JSON.stringify(toFailed(r)) + "\n")
            const last = rows[rows.length - 1]
            const next = rows.length === EXPORT_PAGE && last !== undefined ? Option.some(num(last.seq)) : Option.none()
            return [Chunk.fromIterable(lines), next] as const
          })
        )).pipe(Stream.withSpan("TaskQueue.exportFailed"))

    /**
     * Failed tasks go back to pending with their attempts reset. One whose coalesce key already has a
     * pending task (or a newer failed task being retried) is merged into it: its work is pending again
     * in that task. The count includes both.
     */
    const retryFailed = Effect.fn("TaskQueue.retryFailed")(function*(input: {
      readonly namespace?: string
      readonly taskIds?: ReadonlyArray<string>
    }) {
      const ids = input.taskIds?.filter((id) => UUID.test(id))
      if (ids !== undefined && ids.length === 0) return 0
      const attempt = Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const picked = yield* sql<Row>`SELECT id, namespace, coalesce_key FROM dm_tasks
          WHERE queue = ${queue} AND status = 'failed' AND ${nsFilter(input.namespace)}
            AND ${ids === undefined ? sql`TRUE` : sql`id IN ${sql.in(ids)}`}
          ORDER BY seq DESC FOR UPDATE`
        if (picked.length === 0) return 0
        const keys = [...new Set(picked.map((r) => strOrNull(r.coalesce_key)).filter((k): k is string => k !== null))]
        const taken = new Set<string>()
        if (keys.length > 0) {
          const pendingKeys = yield* sql<Row>`SELECT namespace, coalesce_key FROM dm_tasks
            WHERE queue = ${queue} AND status = 'pending' AND coalesce_key IN ${sql.in(keys)}`
          for (const r of pendingKeys) taken.add(JSON.stringify([String(r.namespace), String(r.coalesce_key)]))
        }
        const revive: Array<string> = []
        const merged: Array<string> = []
        for (const r of picked) {
          const key = strOrNull(r.coalesce_key)
          if (key === null) {
            revive.push(String(r.id))
            continue
          }
          const k = JSON.stringify([String(r.namespace), key])
          if (taken.has(k)) {
            merged.push(String(r.id))
          } else {
            taken.add(k)
            revive.push(String(r.id))
          }
        }
        if (merged.length > 0) yield* sql`DELETE FROM dm_tasks WHERE id IN ${sql.in(merged)}`
        if (revive.length > 0) {
          yield* sql`UPDATE dm_tasks SET status = 'pending', attempts = 0, run_after_ms = ${now}, updated_at_ms = ${now},
              failed_at_ms = NULL
            WHERE id IN ${sql.in(revive)}`
        }
        return picked.length
      })
      return yield* repo(retryOnKeyRace(sql.withTransaction(attempt)))
    })

    /** Removes the session's pending and failed tasks; a running task finishes (forget runs after it). */
    const cancelSession = Effect.fn("TaskQueue.cancelSession")(function*(namespace: string, sessionId: string) {
      const rows = yield* repo(sql<Row>`DELETE FROM dm_tasks
        WHERE queue = ${queue} AND namespace = ${namespace} AND session_id = ${sessionId}
          AND status IN ('pending', 'failed')
        RETURNING id`)
      return rows.length
    })

    /** Deletes done tasks past retention and fails tasks whose last allowed attempt lost its lease. */
    const cleanup = Effect.fn("TaskQueue.cleanup")(function*() {
      const now = yield* Clock.currentTimeMillis
      const deleted = yield* repo(sql<Row>`DELETE FROM dm_tasks
        WHERE queue = ${queue} AND status = 'done' AND done_at_ms <= ${now - retentionMs} RETURNING id`)
      const expired = yield* repo(sql<Row>`UPDATE dm_tasks SET status = 'failed', failed_at_ms = ${now}, updated_at_ms = ${now},
          last_error = 'lease expired on the last attempt', lease_token = NULL, lease_expires_at_ms = NULL
        WHERE queue = ${queue} AND status = 'running' AND lease_expires_at_ms <= ${now}
          AND attempts >= ${options.maxAttempts}
        RETURNING id`)
      return { deletedDone: deleted.length, failedExpired: expired.length }
    })

    const runWorkers = <R>(opts: RunWorkersOptions<R>): Effect.Effect<void, never, Scope.Scope | R> =>
      Effect.gen(function*() {
        const leaseMs = opts.leaseMs ?? 60_000
        const workerId = opts.workerId ?? `worker-${randomUUID()}`
        const perNamespaceLimit = opts.perNamespaceLimit ?? opts.concurrency
        const minPoll = Duration.toMillis(opts.pollInterval)
        const maxPoll = Math.max(minPoll, opts.maxPollInterval === undefined ? minPoll * 10 : Duration.toMillis(opts.maxPollInterval))
        const renewEvery = Duration.millis(Math.max(1, Math.floor(leaseMs / 3)))
        const inFlight = yield* Ref.make(0)
        const slotFreed = yield* Queue.sliding<void>(1)

        const keepLease = (task: ClaimedTask) =>
          Effect.sleep(renewEvery).pipe(
            Effect.zipRight(renewLease(task.id, task.leaseToken, leaseMs)),
            Effect.catchTag("TaskQueueError", (e) => Effect.logWarning("task lease renewal failed", e.cause)),
            Effect.forever
          )

        const settle = <A, E>(effect: Effect.Effect<A, E>) =>
          effect.pipe(Effect.catchAll((e) => Effect.logWarning("task outcome not recorded", e)), Effect.asVoid)

        const process = (task: ClaimedTask) =>
          Effect.gen(function*() {
            const handled = yield* Effect.raceFirst(
              Effect.exit(opts.handler(task)),
              Effect.flip(keepLease(task)).pipe(Effect.map((lost) => ({ lost })))
            )
            if ("lost" in handled) {
              return yield* Effect.logWarning("task lease lost; another worker owns the task").pipe(
                Effect.annotateLogs({ task_id: task.id, queue })
              )
            }
            if (Exit.isSuccess(handled)) return yield* settle(complete(task.id, task.leaseToken))
            if (Cause.isInterruptedOnly(handled.cause)) return
            const safeMessage = Option.match(Cause.failureOption(handled.cause), {
              onNone: () => "internal error",
              onSome: (e) => e.safeMessage
            })
            yield* settle(fail(task.id, task.leaseToken, safeMessage))
          }).pipe(
            Effect.annotateLogs({ task_id: task.id, queue }),
            Effect.ensuring(Ref.update(inFlight, (n) => n - 1).pipe(Effect.zipRight(Queue.offer(slotFreed, undefined))))
          )

        const dispatch = Effect.gen(function*() {
          let idleMs = minPoll
          while (true) {
            const free = opts.concurrency - (yield* Ref.get(inFlight))
            if (free <= 0) {
              yield* Queue.take(slotFreed)
              continue
            }
            const tasks = yield* claim({ limit: free, workerId, leaseMs, perNamespaceLimit }).pipe(
              Effect.catchAll((e) => Effect.logWarning("task claim failed", e.cause).pipe(Effect.as([] as Array<ClaimedTask>)))
            )
            if (tasks.length === 0) {
              yield* Effect.sleep(Duration.millis(idleMs))
              idleMs = Math.min(maxPoll, idleMs * 2)
              continue
            }
            idleMs = minPoll
            yield* Ref.update(inFlight, (n) => n + tasks.length)
            for (const task of tasks) yield* Effect.fork(process(task))
          }
        })

        yield* Effect.forkScoped(dispatch)
        const cleanupEvery = Duration.decode(opts.cleanupInterval ?? Duration.minutes(1))
        yield* Effect.forkScoped(
          cleanup().pipe(
            Effect.catchAll((e) => Effect.logWarning("task cleanup failed", e.cause)),
            Effect.zipRight(Effect.sleep(cleanupEvery)),
            Effect.forever
          )
        )
      }).pipe(Effect.annotateLogs({ queue }))

    return {
      queue,
      enqueue,
      claim,
      renewLease,
      complete,
      fail,
      get,
      stats,
      depth,
      listFailed,
      exportFailed,
      retryFailed,
      cancelSession,
      cleanup,
      runWorkers
    } as const
  })

export type TaskQueue = Effect.Effect.Success<ReturnType<typeof makeTaskQueue>>
