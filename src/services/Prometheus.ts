import { Effect, Metric, MetricBoundaries, MetricState } from "effect"
import type { MetricPair } from "effect/MetricPair"

export const httpRequests = Metric.counter("http_requests_total", {
  description: "HTTP requests served, by method, route template and status",
  incremental: true
})
export const httpDuration = Metric.histogram(
  "http_request_duration_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 4, count: 8 }),
  "HTTP request latency by route template"
)

export const uploadedBytes = Metric.counter("rustfs_upload_bytes_total", {
  description: "Bytes received in accepted uploads (before deduplication)",
  incremental: true
})
export const uploadsTotal = Metric.counter("rustfs_uploads_total", { description: "Accepted uploads", incremental: true })
export const claimedFiles = Metric.counter("rustfs_claimed_files_total", {
  description: "Files handed out by claim_extract",
  incremental: true
})

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n")
const labels = (tags: ReadonlyArray<{ key: string; value: string }>, extra?: [string, string]) => {
  const all = tags.map((t) => [t.key, t.value] as const).concat(extra ? [extra] : [])
  return all.length === 0 ? "" : "{" + all.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",") + "}"
}
const safeName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_")

/** Renders every metric of the running program in the Prometheus text exposition format. */
export const renderPrometheus = Effect.map(Metric.snapshot, (pairs) => {
  const byName = new Map<string, Array<MetricPair.Untyped>>()
  for (const pair of pairs) {
    const name = safeName(pair.metricKey.name)
    byName.set(name, [...(byName.get(name) ?? []), pair])
  }
  const out: Array<string> = []
  for (const [name, group] of [...byName.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const first = group[0]!
    const state = first.metricState
    const type = MetricState.isCounterState(state) ? "counter"
      : MetricState.isGaugeState(state) ? "gauge"
      : MetricState.isHistogramState(state) ? "histogram"
      : "untyped"
    const help = first.metricKey.description
    if (help._tag === "Some") out.push(`# HELP ${name} ${help.value.replace(/\n/g, " ")}`)
    out.push(`# TYPE ${name} ${type}`)
    for (const pair of group) {
      const s = pair.metricState
      const tags = pair.metricKey.tags
      if (MetricState.isCounterState(s)) {
        out.push(`${name}${labels(tags)} ${Number(s.count)}`)
      } else if (MetricState.isGaugeState(s)) {
        out.push(`${name}${labels(tags)} ${Number(s.value)}`)
      } else if (MetricState.isHistogramState(s)) {
        for (const [le, count] of s.buckets) {
          out.push(`${name}_bucket${labels(tags, ["le", Number.isFinite(le) ? String(le) : "+Inf"])} ${count}`)
        }
        if (!s.buckets.some(([le]) => !Number.isFinite(le))) {
          out.push(`${name}_bucket${labels(tags, ["le", "+Inf"])} ${s.count}`)
        }
        out.push(`${name}_sum${labels(tags)} ${s.sum}`)
        out.push(`${name}_count${labels(tags)} ${s.count}`)
      }
    }
  }
  return out.join("\n") + "\n"
})
