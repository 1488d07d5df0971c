import { Effect, Metric, MetricBoundaries, Ref } from "effect"

export const filesFinished = Metric.counter("rustfs_worker_files_total", {
  description: "Files the worker finished, by final status (indexed, skipped, failed, released, abandoned)",
  incremental: true
})
export const claimsTotal = Metric.counter("rustfs_worker_claimed_total", { description: "Files claimed", incremental: true })
export const backoffsTotal = Metric.counter("rustfs_worker_backoffs_total", {
  description: "Retries after deep-memory answered busy (503/429) or could not be reached",
  incremental: true
})
export const chunksWritten = Metric.counter("rustfs_worker_chunks_total", { description: "Chunks sent to deep-memory", incremental: true })
export const tombstonesForgotten = Metric.counter("rustfs_worker_tombstones_total", {
  description: "Tombstoned files whose memory was forgotten",
  incremental: true
})
export const fileSeconds = Metric.histogram(
  "rustfs_worker_file_seconds",
  MetricBoundaries.exponential({ start: 0.05, factor: 3, count: 9 }),
  "Time from claim to final status"
)

export interface AuthProblem {
  readonly service: "rustfs" | "deep-memory"
  readonly message: string
  readonly sinceMs: number
}

export interface Snapshot {
  readonly startedAtMs: number
  readonly inFlight: number
  readonly counts: Readonly<Record<"indexed" | "skipped" | "failed" | "released" | "abandoned", number>>
  readonly authProblem: AuthProblem | null
  /** Until when deep-memory is being waited for (a 503/429 or an outage), if it is. */
  readonly backoffUntilMs: number | null
  readonly lastClaimAtMs: number | null
  readonly lastFinishedAtMs: number | null
  readonly lastError: string | null
  readonly tombstoneSinceMs: number | null
}

/** What `/health` shows: counts, the auth problem that stopped claiming, back-off state and lag. */
export class WorkerState extends Effect.Service<WorkerState>()("rustfs-worker/WorkerState", {
  effect: Effect.gen(function*() {
    const now = Date.now()
    const ref = yield* Ref.make<Snapshot>({
      startedAtMs: now,
      inFlight: 0,
      counts: { indexed: 0, skipped: 0, failed: 0, released: 0, abandoned: 0 },
      authProblem: null,
      backoffUntilMs: null,
      lastClaimAtMs: null,
      lastFinishedAtMs: null,
      lastError: null,
      tombstoneSinceMs: null
    })
    const update = (f: (s: Snapshot) => Snapshot) => Ref.update(ref, f)
    return {
      get: Ref.get(ref),
      update,
      finished: (status: keyof Snapshot["counts"]) =>
        update((s) => ({ ...s, counts: { ...s.counts, [status]: s.counts[status] + 1 }, lastFinishedAtMs: Date.now() })).pipe(
          Effect.zipRight(Metric.increment(Metric.tagged(filesFinished, "status", status)))
        ),
      authFailed: (service: AuthProblem["service"], message: string) =>
        update((s) => ({ ...s, authProblem: s.authProblem ?? { service, message, sinceMs: Date.now() } })),
      authOk: update((s) => ({ ...s, authProblem: null }))
    } as const
  })
}) {}
