import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Numbered migrations of the RustFS schema, run by the @effect/sql migrator (table `rustfs_migrations`). */
export const rustfsMigrations = {
  "0001_files": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE rustfs_files (
        tenant_id text NOT NULL,
        file_id text NOT NULL,
        session_id text,
        filename text NOT NULL,
        mime text NOT NULL,
        size bigint NOT NULL,
        created_at_ms bigint NOT NULL,
        source text,
        encrypted boolean NOT NULL DEFAULT false,
        key_recipient text,
        extract_status text NOT NULL DEFAULT 'pending'
          CHECK (extract_status IN ('pending', 'processing', 'indexed', 'skipped', 'failed')),
        extract_updated_at_ms bigint,
        extract_attempt integer NOT NULL DEFAULT 0,
        extract_error text,
        lease_token uuid,
        lease_expires_at_ms bigint,
        retry_at_ms bigint,
        annotations jsonb,
        annotations_version integer NOT NULL DEFAULT 0,
        annotations_updated_at_ms bigint,
        deleted_at_ms bigint,
        deleted_reason text,
        blob_purged_at_ms bigint,
        PRIMARY KEY (tenant_id, file_id)
      )`
    yield* sql`CREATE INDEX rustfs_files_live ON rustfs_files (tenant_id, created_at_ms DESC, file_id DESC)
      WHERE deleted_at_ms IS NULL`
    yield* sql`CREATE INDEX rustfs_files_claimable ON rustfs_files (tenant_id, created_at_ms, file_id)
      WHERE deleted_at_ms IS NULL AND extract_status IN ('pending', 'processing')`
    yield* sql`CREATE INDEX rustfs_files_tombstoned ON rustfs_files (tenant_id, deleted_at_ms, file_id)
      WHERE deleted_at_ms IS NOT NULL`
    yield* sql`
      CREATE TABLE rustfs_links (
        link_id text PRIMARY KEY,
        tenant_id text NOT NULL,
        file_id text NOT NULL,
        created_at_ms bigint NOT NULL,
        expires_at_ms bigint NOT NULL,
        revoked_at_ms bigint,
        FOREIGN KEY (tenant_id, file_id) REFERENCES rustfs_files (tenant_id, file_id) ON DELETE CASCADE
      )`
    yield* sql`CREATE INDEX rustfs_links_file ON rustfs_links (tenant_id, file_id)`
  }),
  "0002_search_indexes": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE INDEX rustfs_files_session ON rustfs_files (tenant_id, session_id, created_at_ms DESC, file_id DESC)
      WHERE deleted_at_ms IS NULL`
    // Substring search (`q`) uses trigram indexes when pg_trgm can be created (a trusted extension
    // since PostgreSQL 13); without it search still works, by scanning the tenant.
    const trigram = yield* sql.withTransaction(sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`).pipe(
      Effect.as(true),
      Effect.catchAll((e) => Effect.logWarning("pg_trgm unavailable; substring search will scan", e).pipe(Effect.as(false)))
    )
    if (trigram) {
      yield* sql`CREATE INDEX rustfs_files_filename_trgm ON rustfs_files USING gin (filename gin_trgm_ops)
        WHERE deleted_at_ms IS NULL`
      yield* sql`CREATE INDEX rustfs_files_id_trgm ON rustfs_files USING gin (file_id gin_trgm_ops)
        WHERE deleted_at_ms IS NULL`
    }
  })
}
