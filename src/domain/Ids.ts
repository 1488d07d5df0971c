import { Schema } from "effect"

export const TenantId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/, {
    message: () => "tenant_id must be 1-64 characters of A-Z a-z 0-9 . _ -"
  }),
  Schema.brand("TenantId")
)
export type TenantId = typeof TenantId.Type

/** Lowercase hex SHA-256 of the content; uppercase input is accepted and normalized. */
export const FileId = Schema.compose(
  Schema.Lowercase,
  Schema.String.pipe(
    Schema.pattern(/^[0-9a-f]{64}$/, { message: () => "file id must be the 64-character hex SHA-256 of the content" })
  )
).pipe(Schema.brand("FileId"))
export type FileId = typeof FileId.Type

export const LinkId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_-]{8,64}$/, { message: () => "link_id is malformed" }),
  Schema.brand("LinkId")
)
export type LinkId = typeof LinkId.Type

export const Role = Schema.Literal("reader", "writer", "worker", "admin")
export type Role = typeof Role.Type

export const ExtractStatus = Schema.Literal("pending", "processing", "indexed", "skipped", "failed")
export type ExtractStatus = typeof ExtractStatus.Type
