import { Console } from "effect"

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]

export const humanBytes = (n: number): string => {
  if (!Number.isFinite(n) || n < 1024) return `${Math.max(0, Math.round(n))} B`
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)} ${UNITS[unit]}`
}

export const humanDuration = (seconds: number): string => {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--"
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = s % 60
  const mm = String(m).padStart(2, "0")
  const ss = String(sec).padStart(2, "0")
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

/** Local time, minute precision: `2025-01-31 14:05`. */
export const localTime = (ms: number): string => {
  const d = new Date(ms)
  const p = (n: number) => String(n).padStart(2, "0")
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

export const isoTime = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

/**
 * Aligned columns; the last column is not padded, so long values (file names) do not widen the
 * others. `minWidths` keeps columns steady across separately printed pages.
 */
export const table = (
  header: ReadonlyArray<string>,
  rows: ReadonlyArray<ReadonlyArray<string>>,
  minWidths: ReadonlyArray<number> = []
): Array<string> => {
  const widths = header.map((h, i) => Math.max(h.length, minWidths[i] ?? 0, ...rows.map((r) => (r[i] ?? "").length)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd()
  return [line(header), ...rows.map(line)]
}

export const printLines = (lines: ReadonlyArray<string>) => Console.log(lines.join("\n"))

/** One JSON document per line (`--json`). */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value))

/** Control characters in server-provided text would move the cursor or rewrite the terminal. */
export const printable = (s: string): string => s.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?")
