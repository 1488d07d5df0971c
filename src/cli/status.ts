import { Command } from "@effect/cli"
import { Console, Effect, Either, Schema } from "effect"
import { ReadyResponse } from "../domain/RustfsApi.js"
import { connection, makeRustfs } from "./client.js"
import { CliError, describeError } from "./errors.js"
import { table } from "./format.js"

const isReadyBody = Schema.is(ReadyResponse)

/** Health and readiness of each role. Only RustFS for now; later roles add rows. */
const rustfsStatus = Effect.gen(function*() {
  const conn = yield* connection
  const rustfs = yield* makeRustfs(conn)
  const health = yield* Effect.either(rustfs.api.system.health())
  const ready = yield* Effect.either(rustfs.api.system.ready())
  const problem = (e: unknown) => describeError(e, conn.url).message
  const readiness = Either.match(ready, {
    onRight: (r) => ({ ready: r.ok, checks: r.checks as Record<string, string>, error: null }),
    // 503 carries the same body as the 200: which checks failed.
    onLeft: (e) =>
      isReadyBody(e)
        ? { ready: false, checks: e.checks as Record<string, string>, error: null }
        : { ready: false, checks: {}, error: problem(e) }
  })
  return {
    role: "rustfs",
    url: conn.url,
    healthy: Either.isRight(health) && health.right.ok,
    health_error: Either.isLeft(health) ? problem(health.left) : null,
    ...readiness
  }
})

const status = Command.make("status", {}, () =>
  Effect.gen(function*() {
    const { json } = yield* connection
    const rows = [yield* rustfsStatus]
    if (json) {
      for (const r of rows) yield* Console.log(JSON.stringify(r))
    } else {
      const describeChecks = (r: (typeof rows)[number]) =>
        r.error ?? (Object.entries(r.checks).map(([k, v]) => `${k} ${v}`).join(", ") || "-")
      yield* Console.log(table(
        ["ROLE", "URL", "HEALTH", "READY", "CHECKS"],
        rows.map((r) => [
          r.role,
          r.url,
          r.healthy ? "ok" : "down",
          r.ready ? "ready" : "not ready",
          describeChecks(r)
        ])
      ).join("\n"))
      for (const r of rows) if (r.health_error !== null && r.error === null) yield* Console.error(`${r.role}: ${r.health_error}`)
    }
    const notReady = rows.filter((r) => !r.ready).map((r) => r.role)
    if (notReady.length > 0) {
      return yield* new CliError({ message: `not ready: ${notReady.join(", ")}`, exitCode: 1 })
    }
  })).pipe(Command.withDescription("Health and readiness of the stack's services"))

export { status as statusCommand }
