import { Effect, Schedule } from "effect"
import { humanBytes, humanDuration } from "./format.js"

export interface ProgressTotals {
  readonly files: number
  readonly bytes: number
}

interface Sample {
  readonly at: number
  readonly bytes: number
}

/** How far back the transfer rate looks: long enough to be steady, short enough to follow changes. */
const RATE_WINDOW_MS = 5_000

/**
 * Counters for a batch transfer and their rendering on stderr. Byte counts come from the upload
 * streams (hot path, plain mutation); a forked fiber redraws the bar in place on a terminal
 * (every 200 ms) or writes a plain line every `plainIntervalMs` when stderr is a pipe or file.
 *
 * Done = bytes sent + bytes of files that ended without being sent in full. Rate: bytes sent
 * within the last RATE_WINDOW_MS, divided by that time (from the start until the window has
 * filled); the final line gives the overall average. ETA: bytes not done yet / rate.
 */
export const makeProgress = (totals: ProgressTotals, options: {
  readonly stream?: NodeJS.WriteStream
  readonly plainIntervalMs?: number
  readonly now?: () => number
} = {}) => {
  const stream = options.stream ?? process.stderr
  const now = options.now ?? (() => Date.now())
  const tty = stream.isTTY === true
  const started = now()
  const samples: Array<Sample> = [{ at: started, bytes: 0 }]
  /** Bytes that went over the wire; `settled` adds those of files that ended early (failed). */
  let sent = 0
  let settled = 0
  let filesDone = 0
  let drawn = false

  const rate = (): number => {
    const t = now()
    while (samples.length > 1 && t - samples[1]!.at >= RATE_WINDOW_MS) samples.shift()
    const first = samples[0]!
    const elapsed = (t - first.at) / 1000
    return elapsed > 0.2 ? (sent - first.bytes) / elapsed : 0
  }

  const line = (final: boolean): string => {
    const bytes = sent + settled
    const r = final ? sent / Math.max(0.001, (now() - started) / 1000) : rate()
    const remaining = Math.max(0, totals.bytes - bytes)
    const eta = final ? `in ${humanDuration((now() - started) / 1000)}` : r > 0 ? `ETA ${humanDuration(remaining / r)}` : "ETA --:--"
    const pct = totals.bytes > 0 ? Math.min(100, Math.floor((bytes / totals.bytes) * 100)) : filesDone === totals.files ? 100 : 0
    const counts = `${filesDone}/${totals.files} files  ${humanBytes(bytes)}/${humanBytes(totals.bytes)}  ${humanBytes(r)}/s  ${eta}`
    if (!tty) return `upload: ${pct}%  ${counts}`
    const columns = stream.columns ?? 80
    const width = Math.min(30, columns - counts.length - 10)
    // A line wider than the terminal wraps, and `\r` would then redraw only its last row.
    if (width < 10) return `${pct}%  ${counts}`.slice(0, Math.max(0, columns - 1))
    const filled = Math.round((pct / 100) * width)
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}%  ${counts}`
  }

  const draw = (final = false) => {
    if (tty) {
      stream.write(`\r\x1b[2K${line(final)}${final ? "\n" : ""}`)
      drawn = !final
    } else {
      stream.write(line(final) + "\n")
    }
  }

  return {
    /** Counts bytes sent (may be called per chunk). */
    addBytes: (n: number) => {
      sent += n
    },
    /** Counts bytes of a file that will not be sent (it failed or was cut short) as done. */
    settleBytes: (n: number) => {
      settled += n
    },
    fileDone: () => {
      filesDone++
    },
    /** Writes a line (to stderr, or `to`) without garbling the bar. */
    message: (text: string, to: NodeJS.WritableStream = stream) =>
      Effect.sync(() => {
        if (tty && drawn) stream.write("\r\x1b[2K")
        to.write(text + "\n")
        if (tty && drawn) draw()
      }),
    /** Redraws until the enclosing scope closes, then writes the final line. */
    run: Effect.gen(function*() {
      const tick = Effect.sync(() => {
        samples.push({ at: now(), bytes: sent })
        draw()
      })
      yield* Effect.addFinalizer(() => Effect.sync(() => draw(true)))
      yield* Effect.forkScoped(
        Effect.repeat(tick, Schedule.spaced(tty ? 200 : (options.plainIntervalMs ?? 5_000))).pipe(
          Effect.delay(tty ? 0 : (options.plainIntervalMs ?? 5_000))
        )
      )
    }),
    snapshot: () => ({ files: filesDone, bytes: sent + settled, rate: rate() })
  }
}

export type Progress = ReturnType<typeof makeProgress>
