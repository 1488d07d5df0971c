import { Clock, Effect } from "effect"
import { RateLimited } from "../domain/DeepMemoryErrors.js"
import { integerAtLeast, strictBoolean } from "./ConfigValues.js"

export type RateClass = "retrieve" | "update" | "forget" | "queue_admin"

/**
 * Fixed-window request limits per caller (key id, or `anonymous` with auth off) and class:
 * `RATE_LIMIT_ENABLED` (false), `RATE_LIMIT_WINDOW_MS` (60000) and
 * `RATE_LIMIT_{RETRIEVE,UPDATE,FORGET,QUEUE_ADMIN}_PER_WINDOW`. Over the limit: 429 `rate_limited`
 * with the seconds until the window rolls over (sent as `retry-after`).
 */
export class RateLimiter extends Effect.Service<RateLimiter>()("deep-memory/RateLimiter", {
  effect: Effect.gen(function*() {
    const enabled = yield* strictBoolean("RATE_LIMIT_ENABLED", false)
    const windowMs = yield* integerAtLeast("RATE_LIMIT_WINDOW_MS", 60_000, 1)
    const limits: Record<RateClass, number> = {
      retrieve: yield* integerAtLeast("RATE_LIMIT_RETRIEVE_PER_WINDOW", 600, 1),
      update: yield* integerAtLeast("RATE_LIMIT_UPDATE_PER_WINDOW", 120, 1),
      forget: yield* integerAtLeast("RATE_LIMIT_FORGET_PER_WINDOW", 60, 1),
      queue_admin: yield* integerAtLeast("RATE_LIMIT_QUEUE_ADMIN_PER_WINDOW", 60, 1)
    }
    const windows = new Map<string, { start: number; count: number }>()

    const check = (caller: string | null, cls: RateClass) =>
      Effect.gen(function*() {
        if (!enabled) return
        const now = yield* Clock.currentTimeMillis
        const key = `${caller ?? "anonymous"}\u0000${cls}`
        let w = windows.get(key)
        if (w === undefined || now - w.start >= windowMs) {
          w = { start: now - ((now - (w?.start ?? now)) % windowMs), count: 0 }
          windows.set(key, w)
          if (windows.size > 100_000) windows.clear()
        }
        if (w.count >= limits[cls]) {
          const retryAfterSeconds = Math.max(1, Math.ceil((w.start + windowMs - now) / 1000))
          return yield* new RateLimited({ message: `rate limit for ${cls} exceeded (${limits[cls]} per ${windowMs} ms)`, retryAfterSeconds })
        }
        w.count++
      })

    return { check, enabled } as const
  })
}) {}
