import { Command } from "@effect/cli"
import { SqlClient } from "@effect/sql"
import { Console, Effect, Layer } from "effect"
import { rustfsMigrations } from "../services/migrations/rustfs.js"
import { RUSTFS_MIGRATIONS_TABLE, RustfsDatabaseLive, RustfsMigrationsLive } from "../services/RustfsServer.js"
import { describeCause, failure } from "./errors.js"
import { root } from "./root.js"

/** The migrator's bookkeeping table as configured in RustfsMigrationsLive. */

interface Applied {
  readonly migration_id: number
  readonly name: string
}

/** Migrations already recorded; none when the table does not exist yet. */
const applied = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const [exists] = yield* sql<{ readonly table: string | null }>`SELECT to_regclass(${RUSTFS_MIGRATIONS_TABLE})::text AS table`
  if (exists?.table === null || exists === undefined) return [] as ReadonlyArray<Applied>
  return yield* sql<Applied>`SELECT migration_id, name FROM ${sql(RUSTFS_MIGRATIONS_TABLE)} ORDER BY migration_id`
})

const known = Object.keys(rustfsMigrations).sort()

const migrate = Command.make("migrate", {}, () =>
  Effect.gen(function*() {
    const { json } = yield* root
    const result = yield* Effect.scoped(Effect.gen(function*() {
      const before = yield* applied
      yield* Layer.build(RustfsMigrationsLive)
      const after = yield* applied
      const had = new Set(before.map((m) => m.migration_id))
      return { ran: after.filter((m) => !had.has(m.migration_id)), after }
    })).pipe(
      Effect.provide(RustfsDatabaseLive),
      Effect.mapError((e) => failure(`db migrate: ${describeCause(e)}`))
    )
    const label = (m: Applied) => `${String(m.migration_id).padStart(4, "0")}_${m.name}`
    if (json) {
      return yield* Console.log(JSON.stringify({
        ok: true,
        ran: result.ran.map(label),
        applied: result.after.map(label),
        known
      }))
    }
    for (const m of result.ran) yield* Console.log(`applied ${label(m)}`)
    yield* Console.log(
      result.ran.length === 0
        ? `rustfs schema is up to date (${result.after.length} migration(s))`
        : `rustfs schema migrated: ${result.ran.length} migration(s) ran, ${result.after.length} applied in total`
    )
  })).pipe(
    Command.withDescription(
      "Run the RustFS migrations against RUSTFS_DATABASE_URL, or the embedded PostgreSQL under RUSTFS_DATA_DIR"
    )
  )

export const dbCommand = Command.make("db").pipe(
  Command.withDescription("Database administration"),
  Command.withSubcommands([migrate])
)
