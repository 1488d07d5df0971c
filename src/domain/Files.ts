import { Schema } from "effect"
import { ExtractStatus } from "./Ids.js"

const NullableString = Schema.NullOr(Schema.String)
const NullableNumber = Schema.NullOr(Schema.Number)

/** The wire shape of a file (snake_case, optional fields as `null`). */
export class FileMeta extends Schema.Class<FileMeta>("FileMeta")({
  file_id: Schema.String,
  tenant_id: Schema.String,
  session_id: NullableString,
  filename: Schema.String,
  mime: Schema.String,
  size: Schema.Number,
  sha256: Schema.String,
  created_at_ms: Schema.Number,
  source: NullableString,
  encrypted: Schema.Boolean,
  extract_status: ExtractStatus,
  extract_updated_at_ms: NullableNumber,
  extract_attempt: Schema.Number,
  extract_error: NullableString,
  annotations: Schema.NullOr(Schema.Unknown),
  annotations_version: Schema.Number,
  deleted_at_ms: NullableNumber
}) {}

export class ClaimedFile extends FileMeta.extend<ClaimedFile>("ClaimedFile")({
  lease_token: Schema.String,
  lease_expires_at_ms: Schema.Number
}) {}

export class Tombstone extends Schema.Class<Tombstone>("Tombstone")({
  file_id: Schema.String,
  /** Whose file it was (the worker forgets that tenant's memory of it). */
  tenant_id: Schema.String,
  deleted_at_ms: Schema.Number,
  reason: NullableString
}) {}

export class ShareLinkInfo extends Schema.Class<ShareLinkInfo>("ShareLinkInfo")({
  link_id: Schema.String,
  file_id: Schema.String,
  created_at_ms: Schema.Number,
  expires_at_ms: Schema.Number,
  revoked_at_ms: NullableNumber
}) {}

export class TenantUsage extends Schema.Class<TenantUsage>("TenantUsage")({
  tenant_id: Schema.String,
  files: Schema.Number,
  bytes: Schema.Number,
  tombstoned: Schema.Number,
  by_status: Schema.Record({ key: Schema.String, value: Schema.Number })
}) {}
