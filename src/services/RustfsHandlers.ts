import { HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { NodeHttpServerRequest, NodeStream } from "@effect/platform-node"
import { Effect, Layer, Metric, Option, Schema, Stream } from "effect"
import * as E from "../domain/Errors.js"
import { TenantId } from "../domain/Ids.js"
import type { FileId, Role } from "../domain/Ids.js"
import { Authentication, CurrentPrincipal, RustfsApi } from "../domain/RustfsApi.js"
import { ApiKeys } from "./ApiKeys.js"
import { AuditLog } from "./AuditLog.js"
import { BlobStore, type Received } from "./BlobStore.js"
import { Cipher } from "./Cipher.js"
import { serveFile } from "./Downloads.js"
import { FileRepo } from "./FileRepo.js"
import { presentedKey } from "./HttpAuth.js"
import { KeyRotation } from "./KeyRotation.js"
import { LinkSigner } from "./LinkSigner.js"
import { cleanFilename, resolveMime } from "./Mime.js"
import { classify, type MultipartInvalid, type MultipartTooLarge, readParts } from "./MultipartUpload.js"
import { claimedFiles, renderPrometheus, uploadedBytes, uploadsTotal } from "./Prometheus.js"
import { RustfsConfig } from "./RustfsConfig.js"

type Action =
  | "list" | "meta" | "download" | "upload" | "annotate" | "status" | "link" | "tombstone"
  | "claim" | "lease" | "pending" | "tombstoned" | "admin"

const allowed: Record<Action, ReadonlyArray<Role>> = {
  list: ["reader", "writer", "admin"],
  meta: ["reader", "writer", "worker", "admin"],
  download: ["reader", "writer", "worker", "admin"],
  upload: ["writer", "admin"],
  annotate: ["writer", "worker", "admin"],
  status: ["writer", "worker", "admin"],
  link: ["writer", "admin"],
  tombstone: ["writer", "admin"],
  claim: ["worker", "admin"],
  lease: ["worker", "admin"],
  pending: ["worker", "admin"],
  tombstoned: ["worker", "admin"],
  admin: ["admin"]
}

/** The caller's tenant: the key's when auth is on; otherwise what the request names, or `default`. */
const authorize = (action: Action, requested: string | null | undefined) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (!allowed[action].includes(principal.role)) {
      return yield* new E.Forbidden({ message: `role ${principal.role} may not ${action}` })
    }
    if (principal.tenant !== null) return { principal, tenant: principal.tenant }
    const tenant = requested ?? "default"
    if (!Schema.is(TenantId)(tenant)) {
      return yield* new E.InvalidRequest({ message: "tenant_id must be 1-64 characters of A-Z a-z 0-9 . _ -" })
    }
    return { principal, tenant }
  })

/** Repository and blob failures as contract errors; internals are logged, never returned. */
const contractErrors = <A, R>(effect: Effect.Effect<A, any, R>): Effect.Effect<A, E.ApiError, R> =>
  Effect.catchAll(effect, (error: any) => {
    if (E.isApiError(error)) return Effect.fail(error)
    switch (error?._tag) {
      case "FileMissing":
        return Effect.fail(new E.NotFound({ message: "file not found" }))
      case "LeaseMismatch":
        return Effect.fail(new E.LeaseLost({ message: "the lease token is stale: the file was claimed again or released" }))
      case "VersionMismatch":
        return Effect.fail(new E.Conflict({ message: `annotations are at version ${error.actual}, not ${error.expected}` }))
      case "BadCursor":
        return Effect.fail(new E.InvalidRequest({ message: "cursor is malformed" }))
      case "BlobTooLarge":
        return Effect.fail(new E.PayloadTooLarge({ message: `file exceeds the upload limit of ${error.limit} bytes` }))
      case "MultipartInvalid":
        return Effect.fail(new E.InvalidRequest({ message: `malformed multipart body (${error.reason})` }))
      case "MultipartTooLarge":
        return Effect.fail(new E.PayloadTooLarge({ message: `multipart body exceeds a limit (${error.reason})` }))
      case "MultipartError":
        return error.reason === "Parse" || error.reason === "TooManyParts"
          ? Effect.fail(new E.InvalidRequest({ message: `malformed multipart body (${error.reason})` }))
          : error.reason === "InternalError"
          ? Effect.logWarning("upload aborted", error).pipe(Effect.zipRight(Effect.fail(new E.InvalidRequest({ message: "upload aborted" }))))
          : Effect.fail(new E.PayloadTooLarge({ message: `multipart ${error.reason}` }))
      default:
        return Effect.logError("request failed", error).pipe(
          Effect.zipRight(Effect.fail(new E.InternalError({ message: "internal error" })))
        )
    }
  })

export const AuthenticationLive = Layer.effect(
  Authentication,
  Effect.gen(function*() {
    const keys = yield* ApiKeys
    return Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const presented = presentedKey(request.headers)
      return yield* Option.match(keys.authenticate(presented), {
        onNone: () =>
          Effect.fail(new E.Unauthorized({
            message: presented === undefined ? "missing API key (x-api-key or Authorization: Bearer)" : "invalid API key"
          })),
        onSome: Effect.succeed
      })
    })
  })
)

const SystemLive = HttpApiBuilder.group(RustfsApi, "system", (handlers) =>
  Effect.gen(function*() {
    const repo = yield* FileRepo
    const blobs = yield* BlobStore
    return handlers
      .handle("health", () => Effect.succeed({ ok: true, service: "rustfs" }))
      .handle("ready", () =>
        Effect.gen(function*() {
          const [db, disk] = yield* Effect.all([
            repo.ping.pipe(Effect.timeout("2 seconds"), Effect.as("ok"), Effect.orElseSucceed(() => "unreachable")),
            blobs.checkWritable.pipe(Effect.as("ok"), Effect.orElseSucceed(() => "not writable"))
          ], { concurrency: 2 })
          const body = { ok: db === "ok" && disk === "ok", checks: { database: db, data_dir: disk } }
          return body.ok ? body : yield* Effect.fail(body)
        }))
      .handle("metrics", () => renderPrometheus)
  }))

const FilesLive = HttpApiBuilder.group(RustfsApi, "files", (handlers) =>
  Effect.gen(function*() {
    const config = yield* RustfsConfig
    const repo = yield* FileRepo
    const blobs = yield* BlobStore
    const cipher = yield* Cipher
    const signer = yield* LinkSigner
    const audit = yield* AuditLog

    const upload = (request: HttpServerRequest.HttpServerRequest) =>
      Effect.gen(function*() {
        const { principal } = yield* authorize("upload", undefined)
        const contentType = request.headers["content-type"] ?? ""
        if (!/^multipart\/form-data;.*boundary=/i.test(contentType)) {
          return yield* new E.InvalidRequest({ message: "expected a multipart/form-data body with a `file` part" })
        }
        const declared = Number(request.headers["content-length"] ?? "NaN")
        if (Number.isFinite(declared) && declared > config.maxUploadBytes + 1024 * 1024) {
          return yield* new E.PayloadTooLarge({ message: `file exceeds the upload limit of ${config.maxUploadBytes} bytes` })
        }
        const parts = Stream.fromAsyncIterable(
          readParts(NodeHttpServerRequest.toIncomingMessage(request), {
            maxTotalBytes: config.maxUploadBytes + 1024 * 1024,
            maxParts: 32,
            maxFieldBytes: 64 * 1024
          }),
          (e) => e
        )
        const fields: Record<string, string> = {}
        let file: { received: Received; filename: string; contentType: string } | undefined
        const discard = Effect.suspend(() => file === undefined ? Effect.void : blobs.discard(file.received.tmp))
        return yield* Effect.gen(function*() {
          yield* Stream.runForEach(parts, (part): Effect.Effect<void, unknown> => {
            if (part._tag === "Field") {
              fields[part.name] = part.value
              return Effect.void
            }
            const content = NodeStream.fromReadable<MultipartInvalid | MultipartTooLarge, Uint8Array>(() => part.content, classify)
            if (part.name !== "file") return Stream.runDrain(content)
            if (file !== undefined) return Effect.fail(new E.InvalidRequest({ message: "only one `file` part is allowed" }))
            return blobs.receive(content, { maxBytes: config.maxUploadBytes, encryptTo: cipher.recipient }).pipe(
              Effect.map((received) => {
                file = { received, filename: cleanFilename(part.filename), contentType: part.contentType }
              })
            )
          })
          if (file === undefined) return yield* new E.InvalidRequest({ message: "multipart part `file` is required" })
          const tenant = principal.tenant ?? (yield* authorize("upload", fields.tenant_id)).tenant
          for (const name of ["session_id", "source"] as const) {
            if ((fields[name]?.length ?? 0) > 512) {
              return yield* new E.InvalidRequest({ message: `${name} must be at most 512 characters` })
            }
          }
          const { received, filename, contentType } = file
          const mime = yield* Effect.promise(() => resolveMime(contentType, received.head, filename))
          const result = yield* repo.ingest(
            {
              tenantId: tenant,
              fileId: received.sha256,
              sessionId: emptyToNull(fields.session_id),
              filename,
              mime,
              size: received.size,
              source: emptyToNull(fields.source),
              encrypted: Option.isSome(cipher.recipient),
              keyRecipient: Option.getOrNull(cipher.recipient)
            },
            blobs.commit(received.tmp, tenant, received.sha256).pipe(Effect.tap(() => {
              file = undefined
            }))
          )
          yield* Metric.update(uploadsTotal.pipe(Metric.tagged("deduplicated", String(result.deduplicated))), 1)
          yield* Metric.update(uploadedBytes, received.size)
          yield* audit.record({
            action: "ingest", tenant_id: tenant, file_id: result.meta.file_id, key_id: principal.keyId, outcome: "ok",
            detail: { size: result.meta.size, deduplicated: result.deduplicated }
          })
          return {
            ok: true as const,
            file_id: result.meta.file_id,
            sha256: result.meta.sha256,
            size: result.meta.size,
            encrypted: result.meta.encrypted,
            deduplicated: result.deduplicated
          }
        }).pipe(Effect.ensuring(discard))
      }).pipe(contractErrors)

    return handlers
      .handle("upload", ({ request }) => upload(request))
      .handle("list", ({ urlParams }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("list", urlParams.tenant_id)
          const page = yield* repo.list(tenant, urlParams)
          return { ok: true as const, items: page.items, next_cursor: page.next_cursor }
        }).pipe(contractErrors))
      .handle("meta", ({ path, urlParams }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("meta", urlParams.tenant_id)
          return (yield* repo.get(tenant, path.id)).meta
        }).pipe(contractErrors))
      .handle("download", ({ path, request, urlParams }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("download", urlParams.tenant_id)
          const stored = yield* repo.get(tenant, path.id)
          if (stored.blobPurged) return yield* new E.NotFound({ message: "file not found" })
          return yield* serveFile(stored.meta, request.headers, request.method)
        }).pipe(contractErrors))
      .handle("claim", ({ payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("claim", payload.tenant_id)
          const result = yield* repo.claim(tenant, payload.limit ?? 25, payload.lease_ms ?? 300_000, config.maxExtractAttempts)
          if (result.items.length > 0) {
            yield* Metric.update(claimedFiles, result.items.length)
            yield* audit.record({
              action: "claim", tenant_id: tenant, key_id: principal.keyId, outcome: "ok",
              detail: { count: result.items.length }
            })
          }
          return { ok: true as const, items: result.items, claimed_at_ms: result.claimedAt }
        }).pipe(contractErrors))
      .handle("pending", ({ urlParams }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("pending", urlParams.tenant_id)
          return { ok: true as const, items: yield* repo.pending(tenant, urlParams.limit ?? 25), next_cursor: null }
        }).pipe(contractErrors))
      .handle("tombstoned", ({ urlParams }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("tombstoned", urlParams.tenant_id)
          const page = yield* repo.tombstoned(tenant, urlParams)
          return { ok: true as const, ...page }
        }).pipe(contractErrors))
      .handle("annotations", ({ path, payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("annotate", payload.tenant_id)
          const mode = payload.mode ?? "merge"
          if (payload.annotations === undefined) {
            return yield* new E.InvalidRequest({ message: "annotations is required" })
          }
          if (mode === "merge" && !isPlainObject(payload.annotations)) {
            return yield* new E.InvalidRequest({
              message: "annotations must be a JSON object to merge; use mode \"replace\" to replace them wholesale"
            })
          }
          if (jsonDepth(payload.annotations) > 64) {
            return yield* new E.InvalidRequest({ message: "annotations are nested more than 64 levels deep" })
          }
          const size = JSON.stringify(payload.annotations).length
          if (size > 1024 * 1024) return yield* new E.PayloadTooLarge({ message: "annotations exceed 1 MiB" })
          const result = yield* repo.annotate(tenant, path.id, {
            patch: payload.annotations,
            mode,
            ifVersion: payload.if_version ?? null,
            leaseToken: payload.lease_token ?? null,
            source: payload.source ?? null
          })
          yield* audit.record({
            action: "annotations", tenant_id: tenant, file_id: path.id, key_id: principal.keyId, outcome: "ok",
            detail: { version: result.version, mode, source: payload.source ?? null }
          })
          return { ok: true as const, file_id: path.id, updated_at_ms: result.updatedAt, version: result.version }
        }).pipe(contractErrors))
      .handle("extractStatus", ({ path, payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("status", payload.tenant_id)
          const status = yield* repo.setStatus(tenant, path.id, {
            status: payload.status,
            error: payload.error ?? null,
            leaseToken: payload.lease_token ?? null,
            retryAfterMs: payload.retry_after_ms ?? null
          })
          yield* audit.record({
            action: "extract_status", tenant_id: tenant, file_id: path.id, key_id: principal.keyId, outcome: "ok",
            detail: { status }
          })
          return { ok: true as const, file_id: path.id, status }
        }).pipe(contractErrors))
      .handle("renewLease", ({ path, payload }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("lease", payload.tenant_id)
          const expires = yield* repo.renewLease(tenant, path.id, payload.lease_token, payload.lease_ms ?? 300_000)
          return { ok: true as const, file_id: path.id, lease_expires_at_ms: expires }
        }).pipe(contractErrors))
      .handle("tombstone", ({ path, payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("tombstone", payload.tenant_id)
          const changed = yield* repo.tombstone(tenant, path.id, payload.reason ?? null)
          yield* audit.record({
            action: "tombstone", tenant_id: tenant, file_id: path.id, key_id: principal.keyId, outcome: "ok",
            detail: { changed }
          })
          return { ok: true as const, file_id: path.id, tombstoned: true }
        }).pipe(contractErrors))
      .handle("link", ({ path, payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("link", payload.tenant_id)
          const ttl = Math.min(3600, Math.max(30, Math.floor(payload.ttl_seconds ?? 300)))
          if (!signer.enabled) {
            return yield* new E.ServiceUnavailable({ message: "share links are disabled: RUSTFS_SIGNING_KEY is not set" })
          }
          const now = Date.now()
          const expiresAt = now + ttl * 1000
          const { lid, token } = yield* signer.sign({ tenant_id: tenant, file_id: path.id, exp_ms: expiresAt })
          yield* repo.createLink(tenant, path.id, lid, expiresAt)
          const linkPath = `/v1/public/download?token=${token}`
          yield* audit.record({
            action: "link_create", tenant_id: tenant, file_id: path.id, key_id: principal.keyId, outcome: "ok",
            detail: { link_id: lid, ttl_seconds: ttl }
          })
          return {
            ok: true as const,
            link_id: lid,
            token,
            path: linkPath,
            url: Option.getOrNull(Option.map(config.publicBaseUrl, (b) => b + linkPath)),
            expires_at_ms: expiresAt
          }
        }).pipe(contractErrors))
      .handle("links", ({ path, urlParams }) =>
        Effect.gen(function*() {
          const { tenant } = yield* authorize("link", urlParams.tenant_id)
          return { ok: true as const, items: yield* repo.links(tenant, path.id) }
        }).pipe(contractErrors))
      .handle("revokeLinks", ({ path, payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("link", payload.tenant_id)
          const revoked = yield* repo.revokeLinks(tenant, path.id, payload.link_id ?? null)
          yield* audit.record({
            action: "link_revoke", tenant_id: tenant, file_id: path.id, key_id: principal.keyId, outcome: "ok",
            detail: { link_id: payload.link_id ?? null, revoked }
          })
          return { ok: true as const, file_id: path.id, revoked }
        }).pipe(contractErrors))
  }))

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** Nesting depth of a JSON value, computed without recursion (hostile input cannot blow the stack). */
const jsonDepth = (value: unknown): number => {
  let max = 0
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, d] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    max = Math.max(max, d)
    if (max > 64) return max
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1])
  }
  return max
}

const emptyToNull = (s: string | undefined) => (s === undefined || s.trim() === "" ? null : s)

const AdminLive = HttpApiBuilder.group(RustfsApi, "admin", (handlers) =>
  Effect.gen(function*() {
    const config = yield* RustfsConfig
    const repo = yield* FileRepo
    const blobs = yield* BlobStore
    const rotation = yield* KeyRotation
    const audit = yield* AuditLog
    return handlers
      .handle("requeue", ({ payload }) =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("admin", payload.tenant_id)
          const requeued = yield* repo.requeue(tenant, payload)
          yield* audit.record({ action: "requeue", tenant_id: tenant, key_id: principal.keyId, outcome: "ok", detail: { requeued } })
          return { ok: true as const, requeued }
        }).pipe(contractErrors))
      .handle("usage", () =>
        Effect.gen(function*() {
          const { principal } = yield* authorize("admin", undefined)
          // A key sees its own tenant; only the development mode without keys sees all of them.
          return { ok: true as const, tenants: yield* repo.usage(principal.tenant) }
        }).pipe(contractErrors))
      .handle("rotateKeys", () =>
        Effect.gen(function*() {
          const { principal, tenant } = yield* authorize("admin", undefined)
          const result = yield* rotation.rotateAll
          yield* audit.record({ action: "rotate_keys", tenant_id: tenant, key_id: principal.keyId, outcome: "ok", detail: result })
          return { ok: true as const, ...result }
        }).pipe(contractErrors))
      .handle("gc", () =>
        Effect.gen(function*() {
          yield* authorize("admin", undefined)
          const purged = yield* repo.purgeTombstoned(config.tombstoneRetentionMs, (t, id) => blobs.remove(t, id))
          return { ok: true as const, purged }
        }).pipe(contractErrors))
  }))

const PublicLive = HttpApiBuilder.group(RustfsApi, "public", (handlers) =>
  Effect.gen(function*() {
    const repo = yield* FileRepo
    const signer = yield* LinkSigner
    const audit = yield* AuditLog
    return handlers.handle("download", ({ request, urlParams }) =>
      Effect.gen(function*() {
        const claims = yield* signer.verify(urlParams.token, Date.now()).pipe(
          Effect.catchTag("LinkTokenError", (e): Effect.Effect<never, E.ApiError> => {
            switch (e.reason) {
              case "malformed":
                return Effect.fail(new E.InvalidRequest({ message: "token is malformed" }))
              case "not_configured":
                return Effect.fail(new E.ServiceUnavailable({ message: "share links are disabled" }))
              case "expired":
                return Effect.fail(new E.Unauthorized({ message: "link expired" }))
              case "bad_signature":
                return Effect.fail(new E.Unauthorized({ message: "invalid link" }))
            }
          })
        )
        const tenantOk = Schema.is(TenantId)(claims.tenant_id) && /^[0-9a-f]{64}$/.test(claims.file_id)
        if (!tenantOk) return yield* new E.InvalidRequest({ message: "token is malformed" })
        const tenant = claims.tenant_id as TenantId
        const fileId = claims.file_id as FileId
        const state = yield* repo.linkUsable(claims.lid, tenant, fileId)
        if (state === "unknown" || state === "revoked") {
          yield* audit.record({ action: "public_download", tenant_id: tenant, file_id: fileId, key_id: null, outcome: "denied", detail: { link_id: claims.lid, state } })
          return yield* new E.Unauthorized({ message: state === "revoked" ? "link revoked" : "invalid link" })
        }
        if (state === "tombstoned") return yield* new E.NotFound({ message: "file not found" })
        const stored = yield* repo.get(tenant, fileId)
        if (stored.blobPurged) return yield* new E.NotFound({ message: "file not found" })
        const response = yield* serveFile(stored.meta, request.headers, request.method)
        yield* audit.record({ action: "public_download", tenant_id: tenant, file_id: fileId, key_id: null, outcome: "ok", detail: { link_id: claims.lid } })
        return response
      }).pipe(contractErrors))
  }))

export const RustfsHandlersLive = Layer.mergeAll(SystemLive, FilesLive, AdminLive, PublicLive).pipe(
  Layer.provide(AuthenticationLive)
)
