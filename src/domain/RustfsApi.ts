import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, Multipart } from "@effect/platform"
import { Context, Schema } from "effect"
import * as E from "./Errors.js"
import { ClaimedFile, FileMeta, ShareLinkInfo, TenantUsage, Tombstone } from "./Files.js"
import { ExtractStatus, FileId, LinkId, Role, type TenantId } from "./Ids.js"

/** Who is calling: the key's tenant when auth is on, `null` tenant when auth is off (development). */
export interface Principal {
  readonly keyId: string | null
  readonly tenant: TenantId | null
  readonly role: Role
}
export class CurrentPrincipal extends Context.Tag("rustfs/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("rustfs/Authentication", {
  failure: E.UnauthorizedWire,
  provides: CurrentPrincipal
}) {}

const int = (min: number, max: number, name: string) =>
  Schema.Int.pipe(
    Schema.between(min, max, { message: () => `${name} must be an integer between ${min} and ${max}` })
  )
const intParam = (min: number, max: number, name: string) => Schema.compose(Schema.NumberFromString, int(min, max, name))
const OptionalNullable = <S extends Schema.Schema.Any>(s: S) => Schema.optional(Schema.NullOr(s))

const FileIdPath = Schema.Struct({ id: FileId })
/** A tenant named by the client: ignored when auth is on, validated by the handler when auth is off. */
const RequestedTenant = Schema.String.pipe(Schema.maxLength(256))
const TenantQuery = { tenant_id: Schema.optional(RequestedTenant) }

/** Bodies whose fields are all optional may be empty (decoded as `null`): treated as `{}`. */
const OrEmpty = <A, I>(s: Schema.Schema<A, I>) =>
  Schema.Union(
    s,
    Schema.transform(Schema.Null, Schema.typeSchema(s), { strict: false, decode: () => ({}) as A, encode: () => null })
  )

export const Cursor = Schema.String.pipe(Schema.maxLength(512))

export const ListQuery = Schema.Struct({
  ...TenantQuery,
  session_id: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
  q: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
  mime: Schema.optional(Schema.String.pipe(Schema.maxLength(255))),
  extract_status: Schema.optional(ExtractStatus),
  limit: Schema.optional(intParam(1, 200, "limit")),
  cursor: Schema.optional(Cursor)
})
export type ListQuery = typeof ListQuery.Type

export const ListResponse = Schema.Struct({
  ok: Schema.Literal(true),
  items: Schema.Array(FileMeta),
  next_cursor: Schema.NullOr(Schema.String)
})

export const UploadResult = Schema.Struct({
  ok: Schema.Literal(true),
  file_id: Schema.String,
  sha256: Schema.String,
  size: Schema.Number,
  encrypted: Schema.Boolean,
  deduplicated: Schema.Boolean
})

export const UploadForm = HttpApiSchema.MultipartStream(
  Schema.Struct({
    file: Multipart.SingleFileSchema,
    tenant_id: Schema.optional(Schema.String),
    session_id: Schema.optional(Schema.String),
    source: Schema.optional(Schema.String)
  })
)

export const ClaimRequest = OrEmpty(Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  limit: OptionalNullable(int(1, 200, "limit")),
  lease_ms: OptionalNullable(int(5_000, 86_400_000, "lease_ms"))
}))

export const ClaimResponse = Schema.Struct({
  ok: Schema.Literal(true),
  items: Schema.Array(ClaimedFile),
  claimed_at_ms: Schema.Number
})

export const PendingQuery = Schema.Struct({
  ...TenantQuery,
  limit: Schema.optional(intParam(1, 200, "limit"))
})

export const AnnotationsRequest = Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  annotations: Schema.Unknown,
  source: OptionalNullable(Schema.String.pipe(Schema.maxLength(256))),
  mode: OptionalNullable(Schema.Literal("merge", "replace")),
  if_version: OptionalNullable(Schema.Int),
  lease_token: OptionalNullable(Schema.String.pipe(Schema.maxLength(128)))
})
export type AnnotationsRequest = typeof AnnotationsRequest.Type

export const AnnotationsResponse = Schema.Struct({
  ok: Schema.Literal(true),
  file_id: Schema.String,
  updated_at_ms: Schema.Number,
  version: Schema.Number
})

export const StatusRequest = Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  status: ExtractStatus,
  error: OptionalNullable(Schema.String.pipe(Schema.maxLength(4096))),
  lease_token: OptionalNullable(Schema.String.pipe(Schema.maxLength(128))),
  retry_after_ms: OptionalNullable(int(0, 7 * 86_400_000, "retry_after_ms"))
})
export type StatusRequest = typeof StatusRequest.Type

export const StatusResponse = Schema.Struct({
  ok: Schema.Literal(true),
  file_id: Schema.String,
  status: ExtractStatus
})

export const LeaseRequest = Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  lease_token: Schema.String.pipe(Schema.maxLength(128)),
  lease_ms: OptionalNullable(int(5_000, 86_400_000, "lease_ms"))
})

export const LeaseResponse = Schema.Struct({
  ok: Schema.Literal(true),
  file_id: Schema.String,
  lease_expires_at_ms: Schema.Number
})

export const TombstonedQuery = Schema.Struct({
  ...TenantQuery,
  since_ms: Schema.optional(Schema.compose(Schema.NumberFromString, Schema.NonNegativeInt)),
  limit: Schema.optional(intParam(1, 200, "limit")),
  cursor: Schema.optional(Cursor)
})

export const TombstonedResponse = Schema.Struct({
  ok: Schema.Literal(true),
  items: Schema.Array(Tombstone),
  next_cursor: Schema.NullOr(Schema.String)
})

export const TombstoneRequest = OrEmpty(Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  reason: OptionalNullable(Schema.String.pipe(Schema.maxLength(1024)))
}))

export const TombstoneResponse = Schema.Struct({
  ok: Schema.Literal(true),
  file_id: Schema.String,
  tombstoned: Schema.Boolean
})

export const LinkRequest = OrEmpty(Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  ttl_seconds: OptionalNullable(Schema.Union(Schema.Number, Schema.NumberFromString))
}))

export const LinkResponse = Schema.Struct({
  ok: Schema.Literal(true),
  link_id: Schema.String,
  token: Schema.String,
  path: Schema.String,
  url: Schema.NullOr(Schema.String),
  expires_at_ms: Schema.Number
})

export const LinksResponse = Schema.Struct({ ok: Schema.Literal(true), items: Schema.Array(ShareLinkInfo) })

export const RevokeRequest = OrEmpty(Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  link_id: OptionalNullable(LinkId)
}))

export const RevokeResponse = Schema.Struct({
  ok: Schema.Literal(true),
  file_id: Schema.String,
  revoked: Schema.Number
})

export const RequeueRequest = OrEmpty(Schema.Struct({
  tenant_id: OptionalNullable(RequestedTenant),
  statuses: OptionalNullable(Schema.Array(ExtractStatus).pipe(Schema.minItems(1, { message: () => "statuses must name at least one status" }))),
  mime: OptionalNullable(Schema.String),
  session_id: OptionalNullable(Schema.String),
  file_ids: OptionalNullable(Schema.Array(FileId).pipe(Schema.maxItems(10_000)))
}))
export type RequeueRequest = typeof RequeueRequest.Type

export const RequeueResponse = Schema.Struct({ ok: Schema.Literal(true), requeued: Schema.Number })

export const UsageResponse = Schema.Struct({ ok: Schema.Literal(true), tenants: Schema.Array(TenantUsage) })

export const RotateResponse = Schema.Struct({
  ok: Schema.Literal(true),
  rewrapped: Schema.Number,
  already_current: Schema.Number,
  failed: Schema.Number
})

export const GcResponse = Schema.Struct({ ok: Schema.Literal(true), purged: Schema.Number })

export const TokenQuery = Schema.Struct({ token: Schema.String.pipe(Schema.maxLength(4096)) })

const Binary = HttpApiSchema.Uint8Array({ contentType: "application/octet-stream" })

export class FilesGroup extends HttpApiGroup.make("files")
  .add(
    HttpApiEndpoint.post("upload", "/v1/files")
      .setPayload(UploadForm)
      .addSuccess(UploadResult)
      .addError(E.PayloadTooLargeWire)
  )
  .add(HttpApiEndpoint.get("list", "/v1/files").setUrlParams(ListQuery).addSuccess(ListResponse))
  .add(
    HttpApiEndpoint.post("claim", "/v1/files/claim_extract").setPayload(ClaimRequest).addSuccess(ClaimResponse)
  )
  .add(
    HttpApiEndpoint.get("pending", "/v1/files/pending_extract").setUrlParams(PendingQuery).addSuccess(ListResponse)
  )
  .add(
    HttpApiEndpoint.get("tombstoned", "/v1/files/tombstoned")
      .setUrlParams(TombstonedQuery)
      .addSuccess(TombstonedResponse)
  )
  .add(
    HttpApiEndpoint.get("meta", "/v1/files/:id/meta")
      .setPath(FileIdPath)
      .setUrlParams(Schema.Struct(TenantQuery))
      .addSuccess(FileMeta)
      .addError(E.NotFoundWire)
  )
  .add(
    HttpApiEndpoint.get("download", "/v1/files/:id")
      .setPath(FileIdPath)
      .setUrlParams(Schema.Struct(TenantQuery))
      .addSuccess(Binary)
      .addError(E.NotFoundWire)
      .addError(E.RangeNotSatisfiableWire)
  )
  .add(
    HttpApiEndpoint.post("annotations", "/v1/files/:id/annotations")
      .setPath(FileIdPath)
      .setPayload(AnnotationsRequest)
      .addSuccess(AnnotationsResponse)
      .addError(E.NotFoundWire)
      .addError(E.ConflictWire)
      .addError(E.LeaseLostWire)
  )
  .add(
    HttpApiEndpoint.post("extractStatus", "/v1/files/:id/extract_status")
      .setPath(FileIdPath)
      .setPayload(StatusRequest)
      .addSuccess(StatusResponse)
      .addError(E.NotFoundWire)
      .addError(E.LeaseLostWire)
  )
  .add(
    HttpApiEndpoint.post("renewLease", "/v1/files/:id/lease")
      .setPath(FileIdPath)
      .setPayload(LeaseRequest)
      .addSuccess(LeaseResponse)
      .addError(E.NotFoundWire)
      .addError(E.LeaseLostWire)
  )
  .add(
    HttpApiEndpoint.post("tombstone", "/v1/files/:id/tombstone")
      .setPath(FileIdPath)
      .setPayload(TombstoneRequest)
      .addSuccess(TombstoneResponse)
      .addError(E.NotFoundWire)
  )
  .add(
    HttpApiEndpoint.post("link", "/v1/files/:id/link")
      .setPath(FileIdPath)
      .setPayload(LinkRequest)
      .addSuccess(LinkResponse)
      .addError(E.NotFoundWire)
  )
  .add(
    HttpApiEndpoint.get("links", "/v1/files/:id/links")
      .setPath(FileIdPath)
      .setUrlParams(Schema.Struct(TenantQuery))
      .addSuccess(LinksResponse)
      .addError(E.NotFoundWire)
  )
  .add(
    HttpApiEndpoint.post("revokeLinks", "/v1/files/:id/links/revoke")
      .setPath(FileIdPath)
      .setPayload(RevokeRequest)
      .addSuccess(RevokeResponse)
      .addError(E.NotFoundWire)
  )
  .middleware(Authentication)
  .addError(E.ForbiddenWire)
{}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(HttpApiEndpoint.post("requeue", "/v1/admin/requeue").setPayload(RequeueRequest).addSuccess(RequeueResponse))
  .add(HttpApiEndpoint.get("usage", "/v1/admin/usage").addSuccess(UsageResponse))
  .add(HttpApiEndpoint.post("rotateKeys", "/v1/admin/rotate_keys").addSuccess(RotateResponse))
  .add(HttpApiEndpoint.post("gc", "/v1/admin/gc").addSuccess(GcResponse))
  .middleware(Authentication)
  .addError(E.ForbiddenWire)
{}

export class PublicGroup extends HttpApiGroup.make("public")
  .add(
    HttpApiEndpoint.get("download", "/v1/public/download")
      .setUrlParams(TokenQuery)
      .addSuccess(Binary)
      .addError(E.UnauthorizedWire)
      .addError(E.NotFoundWire)
      .addError(E.RangeNotSatisfiableWire)
  )
{}

export const HealthResponse = Schema.Struct({ ok: Schema.Boolean, service: Schema.String })
export const ReadyResponse = Schema.Struct({
  ok: Schema.Boolean,
  checks: Schema.Record({ key: Schema.String, value: Schema.String })
})

export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(HealthResponse))
  .add(
    HttpApiEndpoint.get("ready", "/readyz")
      .addSuccess(ReadyResponse)
      .addError(ReadyResponse.annotations(HttpApiSchema.annotations({ status: 503 })))
  )
  .add(HttpApiEndpoint.get("metrics", "/metrics").addSuccess(HttpApiSchema.Text()))
{}

export class RustfsApi extends HttpApi.make("rustfs")
  .add(SystemGroup)
  .add(FilesGroup)
  .add(AdminGroup)
  .add(PublicGroup)
  .addError(E.InvalidRequestWire)
  .addError(E.UnauthorizedWire)
  .addError(E.ForbiddenWire)
  .addError(E.NotFoundWire)
  .addError(E.ConflictWire)
  .addError(E.LeaseLostWire)
  .addError(E.PayloadTooLargeWire)
  .addError(E.RangeNotSatisfiableWire)
  .addError(E.ServiceUnavailableWire)
  .addError(E.InternalErrorWire)
{}
