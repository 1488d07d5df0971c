import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { HttpApiClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { ConfigProvider, Context, Effect, Layer } from "effect"
import { RustfsApi } from "../../src/domain/RustfsApi.js"
import { RustfsAppLive, rustfsServe } from "../../src/services/RustfsServer.js"

export const key = (name: string) => `test-${name}-${"x".repeat(24)}`

/** Keys of two tenants, one per role, plus the configuration of an auth-on test server. */
export const KEYS = {
  aReader: key("a-reader"),
  aWriter: key("a-writer"),
  aWorker: key("a-worker"),
  aAdmin: key("a-admin"),
  bWriter: key("b-writer"),
  bWorker: key("b-worker")
} as const

export const keysJson = JSON.stringify([
  { key: KEYS.aReader, tenant_id: "tenant-a", role: "reader" },
  { key: KEYS.aWriter, tenant_id: "tenant-a", role: "writer" },
  { key: KEYS.aWorker, tenant_id: "tenant-a", role: "worker" },
  { key: KEYS.aAdmin, tenant_id: "tenant-a", role: "admin" },
  { key: KEYS.bWriter, tenant_id: "tenant-b", role: "writer" },
  { key: KEYS.bWorker, tenant_id: "tenant-b", role: "worker" }
])

export const tempDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix))

export const MAX_UPLOAD = 64 * 1024 * 1024

/**
 * An in-process RustFS on a random port over the given database, with a fresh data dir; provides
 * the platform `HttpClient` aimed at it.
 */
export const rustfsTestLayer = (
  db: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, unknown>,
  config: Record<string, string> = {},
  maxUpload = MAX_UPLOAD
) => {
  const dataDir = tempDir("rustfs-test-")
  const settings = new Map(Object.entries({
    RUSTFS_DATA_DIR: dataDir,
    RUSTFS_REQUIRE_API_KEY: "true",
    RUSTFS_API_KEYS_JSON: keysJson,
    RUSTFS_SIGNING_KEY: randomBytes(24).toString("hex"),
    RUSTFS_MAX_UPLOAD_BYTES: String(maxUpload),
    RUSTFS_GC_INTERVAL_MS: "3600000",
    ...config
  }))
  return rustfsServe(maxUpload).pipe(
    Layer.provide(RustfsAppLive),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(db),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(settings))),
    Layer.merge(Layer.succeed(TestDataDir, dataDir))
  )
}

export class TestDataDir extends Context.Tag("test/TestDataDir")<TestDataDir, string>() {}

/** The client derived from the RustFS HttpApi, sending `apiKey`. */
export const clientWith = (apiKey: string | null) =>
  HttpApiClient.make(RustfsApi, {
    transformClient: apiKey === null ? undefined : HttpClient.mapRequest(HttpClientRequest.setHeader("x-api-key", apiKey))
  })

/** A raw request, for malformed input the derived client would refuse to send. */
export const raw = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const bytes = new Uint8Array(yield* response.arrayBuffer)
    const text = Buffer.from(bytes).toString("utf8")
    let json: any = undefined
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    return { status: response.status, headers: response.headers, text, json, bytes }
  }).pipe(Effect.scoped)

export const form = (content: Uint8Array | string, fields: Record<string, string> = {}, filename = "note.txt", type = "text/plain") => {
  const fd = new FormData()
  for (const [k, v] of Object.entries(fields)) fd.append(k, v)
  fd.append("file", new Blob([typeof content === "string" ? Buffer.from(content) : content], { type }), filename)
  return fd
}
