import { HttpApi, HttpIncomingMessage, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { HttpApp } from "@effect/platform"
import { randomUUID } from "node:crypto"
import { Clock, Effect, Metric, Option } from "effect"
import { currentRequestId } from "./RequestContext.js"
import { httpDuration, httpRequests } from "./Prometheus.js"

/** Maps a request to its route template (`/v1/files/:id/meta`), so metric labels stay bounded. */
export const routeTemplates = (api: HttpApi.HttpApi.Any) => {
  const routes: Array<{ method: string; re: RegExp; template: string; static: boolean }> = []
  HttpApi.reflect(api as any, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      const pattern = endpoint.path.split("/").map((seg) => seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("/")
      routes.push({ method: endpoint.method, re: new RegExp(`^${pattern}$`), template: endpoint.path, static: !endpoint.path.includes(":") })
    }
  })
  routes.sort((a, b) => Number(b.static) - Number(a.static))
  return (method: string, url: string) => {
    const path = url.split("?")[0] ?? "/"
    return routes.find((r) => r.method === method && r.re.test(path))?.template ?? "unmatched"
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/**
 * Outermost middleware: request ids (taken from `x-request-id` when sane, echoed back), one JSON log
 * line per request, Prometheus counters and latency histograms labelled by route template, and the
 * request body limit (uploads get their own, larger cap).
 */
export const observe = (options: {
  readonly routeOf: (method: string, url: string) => string
  readonly maxJsonBytes: number
  readonly uploadLimit: (method: string, route: string) => number | undefined
}) =>
<E, R>(app: HttpApp.Default<E, R>) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const given = request.headers["x-request-id"]
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID()
    const route = options.routeOf(request.method, request.url)
    const limit = options.uploadLimit(request.method, route) ?? options.maxJsonBytes
    // The response is written before this middleware regains control, so the id goes in as a pre-response hook.
    yield* HttpApp.appendPreResponseHandler((_req, res) => Effect.succeed(HttpServerResponse.setHeader(res, "x-request-id", requestId)))
    const start = yield* Clock.currentTimeNanos
    const declared = Number(request.headers["content-length"] ?? "0")
    const response = declared > limit
      ? HttpServerResponse.unsafeJson(
        { error: "payload_too_large", message: `request body exceeds ${limit} bytes` },
        { status: 413, headers: { connection: "close", "x-request-id": requestId } }
      )
      : yield* app.pipe(
      HttpIncomingMessage.withMaxBodySize(Option.some(limit)),
      Effect.locally(currentRequestId, requestId),
      Effect.annotateLogs({ request_id: requestId })
    )
    const end = yield* Clock.currentTimeNanos
    const seconds = Number(end - start) / 1e9
    yield* Metric.update(
      httpRequests.pipe(
        Metric.tagged("method", request.method),
        Metric.tagged("route", route),
        Metric.tagged("status", String(response.status))
      ),
      1
    )
    yield* Metric.update(httpDuration.pipe(Metric.tagged("method", request.method), Metric.tagged("route", route)), seconds)
    if (route !== "/health" && route !== "/readyz" && route !== "/metrics") {
      yield* Effect.logInfo("request").pipe(
        Effect.annotateLogs({
          request_id: requestId,
          method: request.method,
          route,
          status: response.status,
          duration_ms: Math.round(seconds * 1000 * 10) / 10
        })
      )
    }
    return response
  })
