import * as path from "node:path"
import { Config, Effect } from "effect"
import { makeAuditLog } from "./AuditLog.js"

/** deep-memory's audit log (`AUDIT_LOG_PATH`, default `<DATA_DIR>/audit/audit.jsonl`): writes, forgets, admin calls. */
export class MemoryAudit extends Effect.Service<MemoryAudit>()("deep-memory/MemoryAudit", {
  scoped: Effect.gen(function*() {
    const dataDir = yield* Config.string("DATA_DIR").pipe(Config.withDefault("./data/deep-memory"))
    const file = yield* Config.string("AUDIT_LOG_PATH").pipe(
      Config.withDefault(path.join(path.resolve(dataDir), "audit", "audit.jsonl"))
    )
    return yield* makeAuditLog(path.resolve(file))
  })
}) {}
