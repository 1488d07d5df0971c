import { HttpApiBuilder, HttpApiSwagger } from "@effect/platform"
import { Migrator } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { NodeContext } from "@effect/platform-node"
import * as path from "node:path"
import { Config, Effect, Layer, Schedule } from "effect"
import { RustfsApi } from "../domain/RustfsApi.js"
import { ApiKeys } from "./ApiKeys.js"
import { AuditLog } from "./AuditLog.js"
import { BlobStore } from "./BlobStore.js"
import { Cipher } from "./Cipher.js"
import * as Database from "./Database.js"
import { FileRepo } from "./FileRepo.js"
import { toApiError } from "./HttpErrors.js"
import { observe, routeTemplates } from "./HttpObservability.js"
import { KeyRotation } from "./KeyRotation.js"
import { LinkSigner } from "./LinkSigner.js"
import { rustfsMigrations } from "./migrations/rustfs.js"
import { listen } from "./NodeListener.js"
import { RustfsConfig, rustfsConfig } from "./RustfsConfig.js"
import { RustfsHandlersLive } from "./RustfsHandlers.js"

export const RUSTFS_MIGRATIONS_TABLE = "rustfs_migrations"

export const RustfsMigrationsLive = PgMigrator.layer({
  loader: Migrator.fromRecord(rustfsMigrations),
  table: RUSTFS_MIGRATIONS_TABLE
}).pipe(Layer.provide(NodeContext.layer))

/** The RustFS database: `RUSTFS_DATABASE_URL`, or the embedded PostgreSQL under the data dir. */
export const RustfsDatabaseLive = Database.layerFromConfig({
  urlVar: "RUSTFS_DATABASE_URL",
  embeddedDir: Config.string("RUSTFS_DATA_DIR").pipe(
    Config.withDefault("./data/rustfs"),
    Config.map((dir) => path.join(path.resolve(dir), "postgres"))
  ),
  embeddedPortVar: "RUSTFS_EMBEDDED_PG_PORT",
  applicationName: "rustfs"
})

const blobGc = Layer.scopedDiscard(
  Effect.gen(function*() {
    const config = yield* RustfsConfig
    const repo = yield* FileRepo
    const blobs = yield* BlobStore
    const sweep = repo.purgeTombstoned(config.tombstoneRetentionMs, (t, id) => blobs.remove(t, id)).pipe(
      Effect.tap((n) => n > 0 ? Effect.logInfo("blob gc", { purged: n }) : Effect.void),
      Effect.catchAll((e) => Effect.logWarning("blob gc failed", e))
    )
    yield* Effect.forkScoped(Effect.repeat(sweep, Schedule.spaced(config.gcIntervalMs)))
  })
)

/**
 * Everything RustFS needs above the SQL client: services, migrations, background GC and the
 * HttpApi implementation. The SQL client (server or embedded) is provided from outside.
 */
export const RustfsAppLive = (() => {
  const core = Layer.mergeAll(BlobStore.Default, Cipher.Default, LinkSigner.Default, AuditLog.Default, ApiKeys.Default)
  const repo = FileRepo.Default.pipe(Layer.provide(RustfsMigrationsLive))
  const services = KeyRotation.Default.pipe(Layer.provideMerge(Layer.merge(core, repo)))
  const api = HttpApiBuilder.api(RustfsApi).pipe(Layer.provide(RustfsHandlersLive))
  const errors = HttpApiBuilder.middleware(RustfsApi, (app) => Effect.catchAllCause(app, toApiError), { withContext: true })
  return Layer.mergeAll(errors, blobGc, HttpApiSwagger.layer({ path: "/docs" })).pipe(
    Layer.provideMerge(api),
    Layer.provideMerge(services),
    Layer.provideMerge(RustfsConfig.Default)
  )
})()

/** The HTTP server middleware stack for RustFS, given its config. */
export const rustfsServe = (maxUploadBytes: number) =>
  HttpApiBuilder.serve(
    observe({
      routeOf: routeTemplates(RustfsApi),
      maxJsonBytes: 4 * 1024 * 1024,
      uploadLimit: (method, route) => (method === "POST" && route === "/v1/files" ? maxUploadBytes + 1024 * 1024 : undefined)
    })
  )

/**
 * The RustFS role: database, migrations and services, then the listener (it opens only after the
 * app is built, so no request reaches a port whose handler is not attached yet).
 */
export const RustfsRoleLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* rustfsConfig
    const server = listen({ port: config.port, host: config.host, shutdownGraceMs: config.shutdownGraceMs })
    const announce = Layer.effectDiscard(
      Effect.gen(function*() {
        const c = yield* RustfsConfig
        yield* Effect.logInfo("rustfs listening", {
          url: `http://${c.host}:${c.port}`,
          auth: c.requireApiKey ? "api keys" : "off (development)",
          encryption: c.masterKey._tag === "Some" ? "age (X25519)" : "off",
          share_links: c.signingKey._tag === "Some" ? "on" : "off (RUSTFS_SIGNING_KEY unset)"
        })
      })
    )
    return rustfsServe(config.maxUploadBytes).pipe(
      Layer.merge(announce),
      Layer.provide(server.pipe(Layer.provideMerge(RustfsAppLive))),
      Layer.provide(RustfsDatabaseLive)
    )
  })
)
