import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Effect, FiberRef } from "effect"
import { currentRequestId } from "./RequestContext.js"
import { RustfsConfig } from "./RustfsConfig.js"

export interface AuditEvent {
  readonly action: string
  readonly tenant_id: string | null
  readonly namespace?: string
  readonly file_id?: string | null
  readonly key_id: string | null
  readonly outcome: "ok" | "denied" | "error"
  readonly detail?: Record<string, unknown>
}

/** Append-only JSON-lines audit trail at `file`; key ids only, never keys or message bodies. */
export const makeAuditLog = (file: string) =>
  Effect.gen(function*() {
    yield* Effect.promise(() => fs.promises.mkdir(path.dirname(file), { recursive: true }))
    const stream = yield* Effect.acquireRelease(
      Effect.sync(() => fs.createWriteStream(file, { flags: "a", mode: 0o600 })),
      (s) => Effect.async<void>((resume) => {
        s.end(() => resume(Effect.void))
      })
    )
    // A failing audit log must be loud: log the first error; later events are still attempted.
    let reported = false
    stream.on("error", (error) => {
      if (reported) return
      reported = true
      Effect.runFork(Effect.logError("audit log write failed; audit events are being lost", { path: file, error: String(error) }))
    })

    const record = (event: AuditEvent) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const requestId = yield* FiberRef.get(currentRequestId)
        const line = JSON.stringify({
          time: new Date(now).toISOString(),
          time_ms: now,
          action: event.action,
          tenant_id: event.tenant_id,
          ...(event.namespace === undefined ? {} : { namespace: event.namespace }),
          file_id: event.file_id ?? null,
          key_id: event.key_id,
          request_id: requestId,
          outcome: event.outcome,
          ...(event.detail ? { detail: event.detail } : {})
        })
        stream.write(line + "\n")
      })

    return { record, path: file } as const
  })

export class AuditLog extends Effect.Service<AuditLog>()("rustfs/AuditLog", {
  scoped: Effect.flatMap(RustfsConfig, (config) => makeAuditLog(config.auditLogPath))
}) {}
