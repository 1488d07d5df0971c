import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Clock, Data, Effect, Option } from "effect"
import type { ListQuery, RequeueRequest } from "../domain/RustfsApi.js"
import { ClaimedFile, FileMeta, ShareLinkInfo, TenantUsage, Tombstone } from "../domain/Files.js"
import type { ExtractStatus, FileId, TenantId } from "../domain/Ids.js"
import { decodeCursor, encodeCursor } from "./Cursor.js"
import { mergePatch } from "./MergePatch.js"

/** A repository failure; SQL text never leaves this file except as a logged cause. */
export class RepoError extends Data.TaggedError("RepoError")<{ readonly cause: unknown }> {}
export class FileMissing extends Data.TaggedError("FileMissing")<{ readonly fileId: string }> {}
export class LeaseMismatch extends Data.TaggedError("LeaseMismatch")<{ readonly fileId: string }> {}
export class VersionMismatch extends Data.TaggedError("VersionMismatch")<{ readonly expected: number; readonly actual: number }> {}
export class BadCursor extends Data.TaggedError("BadCursor")<{}> {}

type Row = Record<string, unknown>

const num = (v: unknown): number => (typeof v === "number" ? v : Number(v))
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v))
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v))

const metaFields = (r: Row) => ({
  file_id: String(r.file_id),
  tenant_id: String(r.tenant_id),
  session_id: strOrNull(r.session_id),
  filename: String(r.filename),
  mime: String(r.mime),
  size: num(r.size),
  sha256: String(r.file_id),
  created_at_ms: num(r.created_at_ms),
  source: strOrNull(r.source),
  encrypted: Boolean(r.encrypted),
  extract_status: r.extract_status as ExtractStatus,
  extract_updated_at_ms: numOrNull(r.extract_updated_at_ms),
  extract_attempt: num(r.extract_attempt),
  extract_error: strOrNull(r.extract_error),
  annotations: r.annotations ?? null,
  annotations_version: num(r.annotations_version),
  deleted_at_ms: numOrNull(r.deleted_at_ms)
})
const toMeta = (r: Row) => new FileMeta(metaFields(r))

export interface StoredFile {
  readonly meta: FileMeta
  readonly keyRecipient: string | null
  readonly blobPurged: boolean
}
const toStored = (r: Row): StoredFile => ({
  meta: toMeta(r),
  keyRecipient: strOrNull(r.key_recipient),
  blobPurged: r.blob_purged_at_ms !== null && r.blob_purged_at_ms !== undefined
})

export interface NewFile {
  readonly tenantId: TenantId
  readonly fileId: string
  readonly sessionId: string | null
  readonly filename: string
  readonly mime: string
  readonly size: number
  readonly source: string | null
  readonly encrypted: boolean
  readonly keyRecipient: string | null
}

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => "\\" + c)

const claimableWhere = `deleted_at_ms IS NULL AND (
  (extract_status = 'pending' AND COALESCE(retry_at_ms, 0) <= $now)
  OR (extract_status = 'processing' AND COALESCE(lease_expires_at_ms, 0) < $now))`

export class FileRepo extends Effect.Service<FileRepo>()("rustfs/FileRepo", {
  effect: Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const repo = <A, E, R>(effect: Effect.Effect<A, E | SqlError, R>): Effect.Effect<A, Exclude<E, SqlError> | RepoError, R> =>
      Effect.catchIf(effect, (e): e is SqlError => (e as { _tag?: string })._tag === "SqlError", (cause) => Effect.fail(new RepoError({ cause }))) as any

    const findStored = (tenant: TenantId, fileId: string) =>
      sql<Row>`SELECT * FROM rustfs_files WHERE tenant_id = ${tenant} AND file_id = ${fileId}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toStored))
      )

    const get = Effect.fn("FileRepo.get")(function*(tenant: TenantId, fileId: FileId, includeDeleted = false) {
      const found = yield* repo(findStored(tenant, fileId))
      if (Option.isNone(found) || (!includeDeleted && found.value.meta.deleted_at_ms !== null)) {
        return yield* new FileMissing({ fileId })
      }
      return found.value
    })

    /**
     * Stores a new file, or returns the live file with the same content. `placeBlob` runs while the
     * row is locked (or before the row exists), so garbage collection cannot remove a blob that is
     * being brought back.
     */
    const ingest = Effect.fn("FileRepo.ingest")(function*<E, R>(file: NewFile, placeBlob: Effect.Effect<void, E, R>) {
      const now = yield* Clock.currentTimeMillis
      return yield* repo(sql.withTransaction(Effect.gen(function*() {
        const existing = yield* sql<Row>`SELECT * FROM rustfs_files
          WHERE tenant_id = ${file.tenantId} AND file_id = ${file.fileId} FOR UPDATE`
        const row = existing[0]
        if (row !== undefined && row.deleted_at_ms === null) {
          return { meta: toMeta(row), deduplicated: true }
        }
        yield* placeBlob
        const inserted = yield* sql<Row>`
          INSERT INTO rustfs_files (tenant_id, file_id, session_id, filename, mime, size, created_at_ms, source,
            encrypted, key_recipient, extract_status, extract_updated_at_ms)
          VALUES (${file.tenantId}, ${file.fileId}, ${file.sessionId}, ${file.filename}, ${file.mime}, ${file.size},
            ${now}, ${file.source}, ${file.encrypted}, ${file.keyRecipient}, 'pending', ${now})
          ON CONFLICT (tenant_id, file_id) DO UPDATE SET
            session_id = EXCLUDED.session_id, filename = EXCLUDED.filename, mime = EXCLUDED.mime,
            size = EXCLUDED.size, created_at_ms = EXCLUDED.created_at_ms, source = EXCLUDED.source,
            encrypted = EXCLUDED.encrypted, key_recipient = EXCLUDED.key_recipient,
            extract_status = 'pending', extract_updated_at_ms = EXCLUDED.extract_updated_at_ms,
            extract_attempt = 0, extract_error = NULL, lease_token = NULL, lease_expires_at_ms = NULL,
            retry_at_ms = NULL, annotations = NULL, annotations_version = 0, annotations_updated_at_ms = NULL,
            deleted_at_ms = NULL, deleted_reason = NULL, blob_purged_at_ms = NULL
          WHERE rustfs_files.deleted_at_ms IS NOT NULL
          RETURNING *`
        if (inserted[0] !== undefined) return { meta: toMeta(inserted[0]), deduplicated: false }
        // A concurrent upload of the same bytes won the insert.
        const winner = yield* sql<Row>`SELECT * FROM rustfs_files WHERE tenant_id = ${file.tenantId} AND file_id = ${file.fileId}`
        return { meta: toMeta(winner[0]!), deduplicated: true }
      })))
    })

    const list = Effect.fn("FileRepo.list")(function*(tenant: TenantId, q: ListQuery) {
      const limit = q.limit ?? 50
      const cursor = q.cursor === undefined ? Option.none() : Option.some(yield* decodeCursor(q.cursor))
      const conditions = [sql`tenant_id = ${tenant}`, sql`deleted_at_ms IS NULL`]
      if (q.session_id !== undefined) conditions.push(sql`session_id = ${q.session_id}`)
      if (q.mime !== undefined) conditions.push(sql`mime = ${q.mime}`)
      if (q.extract_status !== undefined) conditions.push(sql`extract_status = ${q.extract_status}`)
      if (q.q !== undefined && q.q !== "") {
        const pattern = "%" + escapeLike(q.q) + "%"
        conditions.push(sql`(filename ILIKE ${pattern} ESCAPE '\\' OR file_id LIKE ${pattern.toLowerCase()} ESCAPE '\\')`)
      }
      if (Option.isSome(cursor)) {
        conditions.push(sql`(created_at_ms, file_id) < (${cursor.value.t}, ${cursor.value.id})`)
      }
      const rows = yield* repo(sql<Row>`SELECT * FROM rustfs_files WHERE ${sql.and(conditions)}
        ORDER BY created_at_ms DESC, file_id DESC LIMIT ${limit + 1}`)
      const items = rows.slice(0, limit).map(toMeta)
      const last = items[items.length - 1]
      const next = rows.length > limit && last !== undefined ? encodeCursor({ t: last.created_at_ms, id: last.file_id }) : null
      return { items, next_cursor: next }
    })

    const pending = Effect.fn("FileRepo.pending")(function*(tenant: TenantId, limit: number) {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* repo(sql<Row>`SELECT * FROM rustfs_files WHERE tenant_id = ${tenant} AND
        ${sql.unsafe(claimableWhere.replaceAll("$now", String(now)))}
        ORDER BY created_at_ms, file_id LIMIT ${limit}`)
      return rows.map(toMeta)
    })

    const claim = Effect.fn("FileRepo.claim")(function*(tenant: TenantId, limit: number, leaseMs: number, maxAttempts: number) {
      const now = yield* Clock.currentTimeMillis
      const where = sql.unsafe(claimableWhere.replaceAll("$now", String(now)))
      // One statement: the oldest claimable rows are locked (skipping rows other claimers hold);
      // those out of attempts end failed, the others become this claimer's, with a fresh lease.
      const rows = yield* repo(sql<Row>`UPDATE rustfs_files AS f SET
          extract_status = CASE WHEN f.extract_attempt >= ${maxAttempts} THEN 'failed' ELSE 'processing' END,
          extract_error = CASE WHEN f.extract_attempt >= ${maxAttempts} THEN 'max_attempts_exceeded' ELSE f.extract_error END,
          extract_attempt = CASE WHEN f.extract_attempt >= ${maxAttempts} THEN f.extract_attempt ELSE f.extract_attempt + 1 END,
          lease_token = CASE WHEN f.extract_attempt >= ${maxAttempts} THEN NULL ELSE gen_random_uuid() END,
          lease_expires_at_ms = CASE WHEN f.extract_attempt >= ${maxAttempts} THEN NULL ELSE ${now + leaseMs}::bigint END,
          extract_updated_at_ms = ${now}, retry_at_ms = NULL
        FROM (SELECT tenant_id, file_id FROM rustfs_files
          WHERE tenant_id = ${tenant} AND ${where}
          ORDER BY created_at_ms, file_id LIMIT ${limit} FOR UPDATE SKIP LOCKED) AS c
        WHERE f.tenant_id = c.tenant_id AND f.file_id = c.file_id
        RETURNING f.*`)
      return {
        claimedAt: now,
        items: rows
          .filter((r) => r.extract_status === "processing")
          .map((r) => new ClaimedFile({ ...metaFields(r), lease_token: String(r.lease_token), lease_expires_at_ms: num(r.lease_expires_at_ms) }))
          .sort((a, b) => a.created_at_ms - b.created_at_ms || (a.file_id < b.file_id ? -1 : 1))
      }
    })

    const renewLease = Effect.fn("FileRepo.renewLease")(function*(tenant: TenantId, fileId: FileId, token: string, leaseMs: number) {
      const now = yield* Clock.currentTimeMillis
      const rows = yield* repo(sql<Row>`UPDATE rustfs_files SET lease_expires_at_ms = ${now + leaseMs}
        WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND deleted_at_ms IS NULL
          AND extract_status = 'processing' AND lease_token::text = ${token}
        RETURNING lease_expires_at_ms`)
      if (rows[0] === undefined) {
        yield* get(tenant, fileId)
        return yield* new LeaseMismatch({ fileId })
      }
      return num(rows[0].lease_expires_at_ms)
    })

    const setStatus = Effect.fn("FileRepo.setStatus")(function*(
      tenant: TenantId,
      fileId: FileId,
      input: { status: ExtractStatus; error: string | null; leaseToken: string | null; retryAfterMs: number | null }
    ) {
      const now = yield* Clock.currentTimeMillis
      return yield* repo(sql.withTransaction(Effect.gen(function*() {
        const current = yield* sql<Row>`SELECT * FROM rustfs_files
          WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND deleted_at_ms IS NULL FOR UPDATE`
        const row = current[0]
        if (row === undefined) return yield* new FileMissing({ fileId })
        const leased = row.extract_status === "processing"
        if (input.leaseToken !== null && (!leased || String(row.lease_token) !== input.leaseToken)) {
          return yield* new LeaseMismatch({ fileId })
        }
        const release = input.status === "pending" && leased && input.retryAfterMs !== null
        const retryAt = input.status === "pending" && input.retryAfterMs !== null ? now + input.retryAfterMs : null
        const keepsLease = input.status === "processing"
        yield* sql`UPDATE rustfs_files SET extract_status = ${input.status}, extract_error = ${input.error},
            extract_updated_at_ms = ${now}, retry_at_ms = ${retryAt},
            extract_attempt = ${release ? Math.max(num(row.extract_attempt) - 1, 0) : num(row.extract_attempt)},
            lease_token = ${keepsLease ? (row.lease_token as string | null) : null},
            lease_expires_at_ms = ${keepsLease ? numOrNull(row.lease_expires_at_ms) : null}
          WHERE tenant_id = ${tenant} AND file_id = ${fileId}`
        return input.status
      })))
    })

    const annotate = Effect.fn("FileRepo.annotate")(function*(
      tenant: TenantId,
      fileId: FileId,
      input: { patch: unknown; mode: "merge" | "replace"; ifVersion: number | null; leaseToken: string | null; source: string | null }
    ) {
      const now = yield* Clock.currentTimeMillis
      return yield* repo(sql.withTransaction(Effect.gen(function*() {
        const current = yield* sql<Row>`SELECT * FROM rustfs_files
          WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND deleted_at_ms IS NULL FOR UPDATE`
        const row = current[0]
        if (row === undefined) return yield* new FileMissing({ fileId })
        if (input.leaseToken !== null && (row.extract_status !== "processing" || String(row.lease_token) !== input.leaseToken)) {
          return yield* new LeaseMismatch({ fileId })
        }
        const version = num(row.annotations_version)
        if (input.ifVersion !== null && input.ifVersion !== version) {
          return yield* new VersionMismatch({ expected: input.ifVersion, actual: version })
        }
        const next = input.mode === "replace" ? input.patch : mergePatch(row.annotations ?? null, input.patch)
        yield* sql`UPDATE rustfs_files SET annotations = ${next === null ? null : JSON.stringify(next)}::jsonb,
            annotations_version = ${version + 1}, annotations_updated_at_ms = ${now}
          WHERE tenant_id = ${tenant} AND file_id = ${fileId}`
        return { updatedAt: now, version: version + 1 }
      })))
    })

    const tombstone = Effect.fn("FileRepo.tombstone")(function*(tenant: TenantId, fileId: FileId, reason: string | null) {
      const now = yield* Clock.currentTimeMillis
      return yield* repo(sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<Row>`UPDATE rustfs_files SET deleted_at_ms = ${now}, deleted_reason = ${reason},
            lease_token = NULL, lease_expires_at_ms = NULL
          WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND deleted_at_ms IS NULL RETURNING file_id`
        if (rows[0] === undefined) {
          const existing = yield* sql<Row>`SELECT 1 FROM rustfs_files WHERE tenant_id = ${tenant} AND file_id = ${fileId}`
          if (existing[0] === undefined) return yield* new FileMissing({ fileId })
          return false
        }
        yield* sql`UPDATE rustfs_links SET revoked_at_ms = ${now}
          WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND revoked_at_ms IS NULL`
        return true
      })))
    })

    const tombstoned = Effect.fn("FileRepo.tombstoned")(function*(
      tenant: TenantId,
      q: { since_ms?: number | undefined; limit?: number | undefined; cursor?: string | undefined }
    ) {
      const limit = q.limit ?? 100
      const conditions = [sql`tenant_id = ${tenant}`, sql`deleted_at_ms IS NOT NULL`, sql`deleted_at_ms >= ${q.since_ms ?? 0}`]
      if (q.cursor !== undefined) {
        const c = yield* decodeCursor(q.cursor)
        conditions.push(sql`(deleted_at_ms, file_id) > (${c.t}, ${c.id})`)
      }
      const rows = yield* repo(sql<Row>`SELECT file_id, deleted_at_ms, deleted_reason FROM rustfs_files
        WHERE ${sql.and(conditions)} ORDER BY deleted_at_ms, file_id LIMIT ${limit + 1}`)
      const items = rows.slice(0, limit).map((r) =>
        new Tombstone({ file_id: String(r.file_id), tenant_id: tenant, deleted_at_ms: num(r.deleted_at_ms), reason: strOrNull(r.deleted_reason) })
      )
      const last = items[items.length - 1]
      return {
        items,
        next_cursor: rows.length > limit && last !== undefined ? encodeCursor({ t: last.deleted_at_ms, id: last.file_id }) : null
      }
    })

    const requeue = Effect.fn("FileRepo.requeue")(function*(tenant: TenantId, r: RequeueRequest) {
      const now = yield* Clock.currentTimeMillis
      const conditions = [sql`tenant_id = ${tenant}`, sql`deleted_at_ms IS NULL`]
      const statuses = r.statuses ?? ["failed", "skipped", "indexed"]
      if (statuses.length > 0) conditions.push(sql`extract_status IN ${sql.in(statuses)}`)
      if (r.mime !== undefined && r.mime !== null) conditions.push(sql`mime = ${r.mime}`)
      if (r.session_id !== undefined && r.session_id !== null) conditions.push(sql`session_id = ${r.session_id}`)
      if (r.file_ids !== undefined && r.file_ids !== null) {
        if (r.file_ids.length === 0) return 0
        conditions.push(sql`file_id IN ${sql.in(r.file_ids)}`)
      }
      const rows = yield* repo(sql<Row>`UPDATE rustfs_files SET extract_status = 'pending', extract_attempt = 0,
          extract_error = NULL, extract_updated_at_ms = ${now}, lease_token = NULL, lease_expires_at_ms = NULL,
          retry_at_ms = NULL
        WHERE ${sql.and(conditions)} RETURNING file_id`)
      return rows.length
    })

    const usage = Effect.fn("FileRepo.usage")(function*(tenant: TenantId | null) {
      const rows = yield* repo(sql<Row>`SELECT tenant_id,
          count(*) FILTER (WHERE deleted_at_ms IS NULL) AS files,
          COALESCE(sum(size) FILTER (WHERE deleted_at_ms IS NULL), 0) AS bytes,
          count(*) FILTER (WHERE deleted_at_ms IS NOT NULL) AS tombstoned,
          count(*) FILTER (WHERE deleted_at_ms IS NULL AND extract_status = 'pending') AS pending,
          count(*) FILTER (WHERE deleted_at_ms IS NULL AND extract_status = 'processing') AS processing,
          count(*) FILTER (WHERE deleted_at_ms IS NULL AND extract_status = 'indexed') AS indexed,
          count(*) FILTER (WHERE deleted_at_ms IS NULL AND extract_status = 'skipped') AS skipped,
          count(*) FILTER (WHERE deleted_at_ms IS NULL AND extract_status = 'failed') AS failed
        FROM rustfs_files ${tenant === null ? sql`` : sql`WHERE tenant_id = ${tenant}`}
        GROUP BY tenant_id ORDER BY tenant_id`)
      return rows.map((r) =>
        new TenantUsage({
          tenant_id: String(r.tenant_id),
          files: num(r.files),
          bytes: num(r.bytes),
          tombstoned: num(r.tombstoned),
          by_status: {
            pending: num(r.pending), processing: num(r.processing), indexed: num(r.indexed),
            skipped: num(r.skipped), failed: num(r.failed)
          }
        })
      )
    })

    /** Runs `purge` for each tombstoned file past retention while its row is locked. */
    const purgeTombstoned = Effect.fn("FileRepo.purgeTombstoned")(function*<E, R>(
      retentionMs: number,
      purge: (tenant: TenantId, fileId: string) => Effect.Effect<void, E, R>
    ) {
      const now = yield* Clock.currentTimeMillis
      let total = 0
      while (true) {
        const n = yield* repo(sql.withTransaction(Effect.gen(function*() {
          const rows = yield* sql<Row>`SELECT tenant_id, file_id FROM rustfs_files
            WHERE deleted_at_ms IS NOT NULL AND deleted_at_ms <= ${now - retentionMs} AND blob_purged_at_ms IS NULL
            LIMIT 100 FOR UPDATE SKIP LOCKED`
          for (const r of rows) {
            yield* purge(String(r.tenant_id) as TenantId, String(r.file_id))
            yield* sql`UPDATE rustfs_files SET blob_purged_at_ms = ${now}
              WHERE tenant_id = ${String(r.tenant_id)} AND file_id = ${String(r.file_id)}`
          }
          return rows.length
        })))
        total += n
        if (n < 100) return total
      }
    })

    const encryptedFiles = Effect.fn("FileRepo.encryptedFiles")(function*(afterKey: { tenant: string; fileId: string } | null, limit: number) {
      const rows = yield* repo(afterKey === null
        ? sql<Row>`SELECT tenant_id, file_id, key_recipient FROM rustfs_files
            WHERE encrypted AND blob_purged_at_ms IS NULL ORDER BY tenant_id, file_id LIMIT ${limit}`
        : sql<Row>`SELECT tenant_id, file_id, key_recipient FROM rustfs_files
            WHERE encrypted AND blob_purged_at_ms IS NULL AND (tenant_id, file_id) > (${afterKey.tenant}, ${afterKey.fileId})
            ORDER BY tenant_id, file_id LIMIT ${limit}`)
      return rows.map((r) => ({ tenant: String(r.tenant_id) as TenantId, fileId: String(r.file_id), keyRecipient: strOrNull(r.key_recipient) }))
    })

    /** Runs `rewrap` with the row locked so the blob cannot be purged or replaced meanwhile. */
    const withFileLocked = Effect.fn("FileRepo.withFileLocked")(function*<A, E, R>(
      tenant: TenantId,
      fileId: string,
      f: (stored: StoredFile) => Effect.Effect<A, E, R>
    ) {
      return yield* repo(sql.withTransaction(Effect.gen(function*() {
        const rows = yield* sql<Row>`SELECT * FROM rustfs_files WHERE tenant_id = ${tenant} AND file_id = ${fileId} FOR UPDATE`
        if (rows[0] === undefined) return Option.none<A>()
        return Option.some(yield* f(toStored(rows[0])))
      })))
    })

    const setKeyRecipient = (tenant: TenantId, fileId: string, recipient: string) =>
      repo(sql`UPDATE rustfs_files SET key_recipient = ${recipient} WHERE tenant_id = ${tenant} AND file_id = ${fileId}`)

    // Share links
    /** The live-file check and the insert share a transaction, so a concurrent tombstone (which revokes links) cannot slip between them. */
    const createLink = Effect.fn("FileRepo.createLink")(function*(tenant: TenantId, fileId: FileId, linkId: string, expiresAt: number) {
      const now = yield* Clock.currentTimeMillis
      return yield* repo(sql.withTransaction(Effect.gen(function*() {
        const live = yield* sql<Row>`SELECT 1 FROM rustfs_files
          WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND deleted_at_ms IS NULL FOR SHARE`
        if (live[0] === undefined) return yield* new FileMissing({ fileId })
        yield* sql`INSERT INTO rustfs_links (link_id, tenant_id, file_id, created_at_ms, expires_at_ms)
          VALUES (${linkId}, ${tenant}, ${fileId}, ${now}, ${expiresAt})`
      })))
    })

    const links = Effect.fn("FileRepo.links")(function*(tenant: TenantId, fileId: FileId) {
      yield* get(tenant, fileId)
      const rows = yield* repo(sql<Row>`SELECT * FROM rustfs_links WHERE tenant_id = ${tenant} AND file_id = ${fileId}
        ORDER BY created_at_ms DESC, link_id`)
      return rows.map((r) =>
        new ShareLinkInfo({
          link_id: String(r.link_id), file_id: String(r.file_id), created_at_ms: num(r.created_at_ms),
          expires_at_ms: num(r.expires_at_ms), revoked_at_ms: numOrNull(r.revoked_at_ms)
        })
      )
    })

    const revokeLinks = Effect.fn("FileRepo.revokeLinks")(function*(tenant: TenantId, fileId: FileId, linkId: string | null) {
      const now = yield* Clock.currentTimeMillis
      yield* get(tenant, fileId, true)
      const rows = yield* repo(linkId === null
        ? sql<Row>`UPDATE rustfs_links SET revoked_at_ms = ${now}
            WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND revoked_at_ms IS NULL RETURNING link_id`
        : sql<Row>`UPDATE rustfs_links SET revoked_at_ms = ${now}
            WHERE tenant_id = ${tenant} AND file_id = ${fileId} AND link_id = ${linkId} AND revoked_at_ms IS NULL
            RETURNING link_id`)
      return rows.length
    })

    /** A link is usable when it exists, is not revoked, and its file is live. */
    const linkUsable = Effect.fn("FileRepo.linkUsable")(function*(linkId: string, tenant: string, fileId: string) {
      const rows = yield* repo(sql<Row>`SELECT l.revoked_at_ms, f.deleted_at_ms FROM rustfs_links l
        JOIN rustfs_files f ON f.tenant_id = l.tenant_id AND f.file_id = l.file_id
        WHERE l.link_id = ${linkId} AND l.tenant_id = ${tenant} AND l.file_id = ${fileId}`)
      const row = rows[0]
      if (row === undefined) return "unknown" as const
      if (row.deleted_at_ms !== null) return "tombstoned" as const
      if (row.revoked_at_ms !== null) return "revoked" as const
      return "ok" as const
    })

    const ping = repo(sql`SELECT 1`)

    return {
      get, ingest, list, pending, claim, renewLease, setStatus, annotate, tombstone, tombstoned, requeue, usage,
      purgeTombstoned, encryptedFiles, withFileLocked, setKeyRecipient, createLink, links, revokeLinks, linkUsable, ping
    } as const
  })
}) {}
