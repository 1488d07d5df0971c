import * as http from "node:http"
import type * as net from "node:net"

/**
 * A FAKE deep-memory front: a plain HTTP proxy to the real deep-memory that can answer
 * `503 queue_overloaded` to the next `busy` update calls, and hold back the first update whose body
 * contains `slowMarker` for `slowDelayMs` (forwarding it afterwards even if the caller is gone).
 */
export interface FakeDeepMemoryProxy {
  readonly url: string
  /** Update calls answered 503 so far. */
  readonly refused: () => number
  /** Bodies of the update calls that reached deep-memory. */
  readonly forwardedUpdates: () => ReadonlyArray<any>
  setBusy(n: number): void
  setSlow(marker: string, delayMs: number): void
  /** Resolves when the held-back update has been forwarded (or at once if none is held). */
  readonly slowDone: () => Promise<void>
  /** Resolves when a held-back update has arrived. */
  readonly slowArrived: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startFakeDeepMemoryProxy = (target: string): Promise<FakeDeepMemoryProxy> => {
  let busy = 0
  let refused = 0
  let slow: { marker: string; delayMs: number; used: boolean } | null = null
  let slowDone: Promise<void> = Promise.resolve()
  let arrived!: () => void
  let slowArrived = new Promise<void>((r) => (arrived = r))
  const forwarded: Array<any> = []
  const sockets = new Set<net.Socket>()

  const forward = async (req: http.IncomingMessage, body: Buffer) => {
    const headers: Record<string, string> = {}
    for (const h of ["content-type", "x-api-key", "authorization"]) {
      const v = req.headers[h]
      if (typeof v === "string") headers[h] = v
    }
    const res = await fetch(target + req.url, {
      method: req.method ?? "GET",
      headers,
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body })
    })
    return { status: res.status, type: res.headers.get("content-type") ?? "application/json", text: await res.text() }
  }

  const server = http.createServer((req, res) => {
    const parts: Array<Buffer> = []
    req.on("data", (d: Buffer) => parts.push(d))
    req.on("end", async () => {
      const body = Buffer.concat(parts)
      const reply = (status: number, type: string, text: string, extra: Record<string, string> = {}) => {
        try {
          res.writeHead(status, { "content-type": type, ...extra }).end(text)
        } catch {
          // the caller is gone (a killed worker)
        }
      }
      try {
        const isUpdate = req.url?.startsWith("/update_memory_index") === true
        if (isUpdate && busy > 0) {
          busy--
          refused++
          return reply(503, "application/json", JSON.stringify({ error: "queue_overloaded", message: "busy", retryAfterSeconds: 1 }), { "retry-after": "1" })
        }
        if (isUpdate && slow !== null && !slow.used && body.toString("utf8").includes(slow.marker)) {
          slow.used = true
          const delay = slow.delayMs
          arrived()
          let done!: () => void
          slowDone = new Promise<void>((r) => (done = r))
          await new Promise((r) => setTimeout(r, delay))
          try {
            const r = await forward(req, body)
            forwarded.push(JSON.parse(body.toString("utf8")))
            reply(r.status, r.type, r.text)
          } finally {
            done()
          }
          return
        }
        const r = await forward(req, body)
        if (isUpdate) forwarded.push(JSON.parse(body.toString("utf8")))
        reply(r.status, r.type, r.text)
      } catch (e) {
        reply(502, "application/json", JSON.stringify({ error: "fake_proxy", message: String(e) }))
      }
    })
  })
  server.on("connection", (s) => {
    sockets.add(s)
    s.on("close", () => sockets.delete(s))
  })
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}`,
        refused: () => refused,
        forwardedUpdates: () => forwarded,
        setBusy: (n) => void (busy = n),
        setSlow: (marker, delayMs) => {
          slow = { marker, delayMs, used: false }
          slowArrived = new Promise<void>((r) => (arrived = r))
        },
        slowDone: () => slowDone,
        slowArrived: () => slowArrived,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy()
            server.close(() => r())
          })
      })
    })
  })
}
