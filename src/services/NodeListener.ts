import { createServer, type Server } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"

/**
 * The HTTP listener of a role. Requests have no total time limit (uploads of many GiB are
 * legitimate), so shutdown bounds them instead: after SIGTERM, in-flight requests get
 * `shutdownGraceMs` to finish, then the remaining connections are closed.
 */
export const listen = (options: { readonly port: number; readonly host: string; readonly shutdownGraceMs?: number }) => {
  let server: Server | undefined
  const http = NodeHttpServer.layer(() => (server = createServer({ requestTimeout: 0 })), {
    port: options.port,
    host: options.host
  })
  const deadline = Layer.scopedDiscard(
    Effect.addFinalizer(() =>
      Effect.sync(() => {
        const timer = setTimeout(() => server?.closeAllConnections(), options.shutdownGraceMs ?? 10_000)
        timer.unref()
      })
    )
  )
  return deadline.pipe(Layer.provideMerge(http))
}
