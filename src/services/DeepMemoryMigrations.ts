import { NodeContext } from "@effect/platform-node"
import { Migrator } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { Layer } from "effect"
import { deepMemoryMigrations } from "./migrations/deepMemory.js"

export const DEEP_MEMORY_MIGRATIONS_TABLE = "deep_memory_migrations"

export const DeepMemoryMigrationsLive = PgMigrator.layer({
  loader: Migrator.fromRecord(deepMemoryMigrations),
  table: DEEP_MEMORY_MIGRATIONS_TABLE
}).pipe(Layer.provide(NodeContext.layer))
