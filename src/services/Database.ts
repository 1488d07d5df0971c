/**
 * The SQL layer, chosen by configuration: an external PostgreSQL when `<urlVar>` is set,
 * otherwise the embedded PostgreSQL under `embeddedDir`. Both go through `PgClient.layer`
 * from `@effect/sql-pg` with the same options, so the rest of the code cannot tell them apart.
 *
 * Column names are returned as-is (snake_case, no `transformResultNames`).
 *
 * Type parsing (`types`): pg's defaults, except int8 (`bigint`, `count(*)`, `sum(int)`...)
 * and int8[] which come back as JS numbers when the value is a safe integer
 * (|n| <= 2^53 - 1) and as pg's usual decimal string otherwise, so precision is never lost
 * silently. `numeric` stays a string, `timestamptz` a `Date`, `json`/`jsonb` parsed.
 * This is a per-pool setting: pg's global type registry is left untouched.
 */
import { createRequire } from "node:module"
import { PgClient } from "@effect/sql-pg"
import type { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Config, Effect, Layer, Option, Redacted } from "effect"
import type { ConfigError } from "effect/ConfigError"
import * as EmbeddedPostgres from "./EmbeddedPostgres.js"
import type { EmbeddedPostgresError } from "./EmbeddedPostgres.js"

type TypeParser = (value: string) => unknown

interface PgTypes {
  readonly getTypeParser: (oid: number, format?: "text" | "binary") => TypeParser
}

/**
 * pg's default type parsers, taken from the very `pg` that @effect/sql-pg uses (it is not a
 * direct dependency of ours, and ships no typings).
 */
const pgDefaultTypes: PgTypes = (() => {
  const require = createRequire(import.meta.url)
  const fromSqlPg = createRequire(require.resolve("@effect/sql-pg"))
  return (fromSqlPg("pg") as { readonly types: PgTypes }).types
})()

const INT8 = 20
const INT8_ARRAY = 1016

const parseInt8: TypeParser = (value) => {
  const n = Number(value)
  return Number.isSafeInteger(n) ? n : value
}

const mapDeep = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(mapDeep) : typeof v === "string" ? parseInt8(v) : v

/** The `types` option given to every pool (see the module comment). */
export const pgTypes: PgTypes = {
  getTypeParser: (oid, format) => {
    if (format === undefined || format === "text") {
      if (oid === INT8) return parseInt8
      if (oid === INT8_ARRAY) {
        const parseArray = pgDefaultTypes.getTypeParser(INT8_ARRAY, "text")
        return (value) => mapDeep(parseArray(value))
      }
    }
    return pgDefaultTypes.getTypeParser(oid, format)
  }
}

export interface PoolOptions {
  /** Maximum connections in the pool (pg's default is 10). */
  readonly poolMax?: number | undefined
  readonly applicationName?: string | undefined
}

const common = (opts: PoolOptions) => ({
  types: pgTypes,
  applicationName: opts.applicationName ?? "openclaw",
  ...(opts.poolMax === undefined ? {} : { maxConnections: opts.poolMax })
})

/** Connect to an existing PostgreSQL. */
export const layerUrl = (
  url: Redacted.Redacted<string>,
  opts: PoolOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> => PgClient.layer({ url, ...common(opts) })

export interface EmbeddedOptions extends PoolOptions, Omit<EmbeddedPostgres.EmbeddedPostgresOptions, "dir"> {}

/** Start the embedded PostgreSQL in `dir` (see EmbeddedPostgres.ts) and connect to it. */
export const layerEmbedded = (
  dir: string,
  opts: EmbeddedOptions = {}
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError | EmbeddedPostgresError> => {
  const { applicationName, poolMax, ...server } = opts
  return Layer.unwrapEffect(
    Effect.map(EmbeddedPostgres.EmbeddedPostgres, (pg) =>
      PgClient.layer({
        host: pg.host,
        port: pg.port,
        username: pg.user,
        password: pg.password,
        database: pg.database,
        ...common({ applicationName, poolMax })
      }))
  ).pipe(Layer.provide(EmbeddedPostgres.layer({ ...server, dir })))
}

export interface FromConfigOptions {
  /** Name of the env var holding the PostgreSQL URL, e.g. `RUSTFS_DATABASE_URL`. Empty counts as unset. */
  readonly urlVar: string
  /** Where the embedded server lives when `urlVar` is unset, e.g. `<dataDir>/postgres`. */
  readonly embeddedDir: Config.Config<string> | string
  /** Optional env var with an explicit port for the embedded server (default: a free port). */
  readonly embeddedPortVar?: string | undefined
  readonly poolMax?: number | undefined
  readonly applicationName?: string | undefined
}

/**
 * `PgClient` + `SqlClient` from configuration: `<urlVar>` when set, the embedded PostgreSQL
 * under `embeddedDir` otherwise.
 */
export const layerFromConfig = (
  opts: FromConfigOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, ConfigError | SqlError | EmbeddedPostgresError> =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const pool: PoolOptions = { poolMax: opts.poolMax, applicationName: opts.applicationName }
      const url = yield* Config.redacted(opts.urlVar).pipe(
        Config.option,
        Config.map(Option.filter((u) => Redacted.value(u).trim() !== ""))
      )
      if (Option.isSome(url)) {
        yield* Effect.logDebug(`database: ${opts.urlVar}`)
        return layerUrl(url.value, pool)
      }
      const dir = typeof opts.embeddedDir === "string" ? opts.embeddedDir : yield* opts.embeddedDir
      const port = opts.embeddedPortVar === undefined
        ? Option.none<number>()
        : yield* Config.option(Config.port(opts.embeddedPortVar))
      yield* Effect.logDebug(`database: embedded PostgreSQL in ${dir}`)
      return layerEmbedded(dir, { ...pool, port: Option.getOrUndefined(port) })
    })
  )
