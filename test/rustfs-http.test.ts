import { createHash, createHmac, randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { HttpClientRequest } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { testDatabases } from "./support/database.js"
import { clientWith, form, KEYS, raw, rustfsTestLayer, TestDataDir } from "./support/rustfs.js"

const sha = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex")
const SIGNING_KEY = "test-signing-key-0123456789abcdef"
const countFiles = (dir: string): number =>
  fs.existsSync(dir)
    ? fs.readdirSync(dir, { withFileTypes: true }).reduce(
      (n, e) => n + (e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1),
      0
    )
    : 0

const upload = (apiKey: string, content: Uint8Array | string, fields: Record<string, string> = {}, filename?: string, type?: string) =>
  Effect.flatMap(clientWith(apiKey), (c) => c.files.upload({ payload: form(content, fields, filename, type) as any }))

const errorCode = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.map(Effect.flip(effect), (e) => e._tag)

for (const db of testDatabases()) {
  layer(rustfsTestLayer(db.layer, { RUSTFS_SIGNING_KEY: SIGNING_KEY, RUSTFS_TOMBSTONE_RETENTION_MS: "0" }), {
    timeout: "180 seconds",
    excludeTestServices: true
  })(`RustFS HTTP contract (${db.name})`, (it) => {
    it.effect("health and readiness need no key; metrics use route templates", () =>
      Effect.gen(function*() {
        const health = yield* raw(HttpClientRequest.get("/health"))
        expect(health.status).toBe(200)
        expect(health.json).toEqual({ ok: true, service: "rustfs" })
        const ready = yield* raw(HttpClientRequest.get("/readyz"))
        expect(ready.status).toBe(200)
        expect(ready.json.checks).toEqual({ database: "ok", data_dir: "ok" })
        const { file_id } = yield* upload(KEYS.aWriter, "metrics probe " + randomBytes(4).toString("hex"))
        yield* raw(HttpClientRequest.get(`/v1/files/${file_id}/meta`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aReader)))
        const metrics = yield* raw(HttpClientRequest.get("/metrics"))
        expect(metrics.status).toBe(200)
        expect(metrics.text).toMatch(/http_requests_total\{[^}]*route="\/v1\/files\/:id\/meta"[^}]*\} \d+/)
        expect(metrics.text).not.toContain(file_id)
        expect(metrics.text).toMatch(/rustfs_upload_bytes_total \d+/)
        expect(metrics.headers["x-request-id"]).toBeDefined()
        const echoed = yield* raw(HttpClientRequest.get("/health").pipe(HttpClientRequest.setHeader("x-request-id", "req-123")))
        expect(echoed.headers["x-request-id"]).toBe("req-123")
      }))

    it.effect("keys: missing or wrong is 401, Bearer works, roles are enforced", () =>
      Effect.gen(function*() {
        const none = yield* raw(HttpClientRequest.get("/v1/files"))
        expect(none.status).toBe(401)
        expect(none.json).toEqual({ error: "unauthorized", message: expect.stringContaining("missing API key") })
        const wrong = yield* raw(HttpClientRequest.get("/v1/files").pipe(HttpClientRequest.setHeader("x-api-key", "nope-nope-nope-nope")))
        expect(wrong.status).toBe(401)
        expect(wrong.json.error).toBe("unauthorized")
        const bearer = yield* raw(HttpClientRequest.get("/v1/files").pipe(HttpClientRequest.bearerToken(KEYS.aReader)))
        expect(bearer.status).toBe(200)
        expect(yield* errorCode(upload(KEYS.aReader, "reader cannot write"))).toBe("Forbidden")
        const worker = yield* clientWith(KEYS.aWorker)
        expect(yield* errorCode(worker.files.list({ urlParams: {} }))).toBe("Forbidden")
        const reader = yield* clientWith(KEYS.aReader)
        expect(yield* errorCode(reader.files.claim({ payload: {} }))).toBe("Forbidden")
        expect(yield* errorCode(reader.admin.usage())).toBe("Forbidden")
        const forbidden = yield* raw(
          HttpClientRequest.post("/v1/files/claim_extract").pipe(
            HttpClientRequest.setHeader("x-api-key", KEYS.aReader),
            HttpClientRequest.bodyUnsafeJson({})
          )
        )
        expect(forbidden.status).toBe(403)
        expect(forbidden.json.error).toBe("forbidden")
      }))

    it.effect("upload, meta, list and download round trip with contract shapes and headers", () =>
      Effect.gen(function*() {
        const content = "# 标题\n\nhello " + randomBytes(8).toString("hex")
        const name = "报告 \"final\".md"
        const up = yield* upload(KEYS.aWriter, content, { session_id: "s-1", source: "chat" }, name, "")
        expect(up).toEqual({ ok: true, file_id: sha(content), sha256: sha(content), size: Buffer.byteLength(content), encrypted: false, deduplicated: false })

        const metaRes = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}/meta`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aReader)))
        expect(metaRes.status).toBe(200)
        expect(Object.keys(metaRes.json).sort()).toEqual([
          "annotations", "annotations_version", "created_at_ms", "deleted_at_ms", "encrypted", "extract_attempt",
          "extract_error", "extract_status", "extract_updated_at_ms", "file_id", "filename", "mime", "session_id",
          "sha256", "size", "source", "tenant_id"
        ])
        expect(metaRes.json).toMatchObject({
          file_id: up.file_id, tenant_id: "tenant-a", session_id: "s-1", source: "chat", filename: "报告 \"final\".md",
          mime: "text/markdown", extract_status: "pending", extract_attempt: 0, extract_error: null, annotations: null
        })

        const again = yield* upload(KEYS.aWriter, content, { session_id: "other" })
        expect(again.deduplicated).toBe(true)
        expect(again.file_id).toBe(up.file_id)

        const reader = yield* clientWith(KEYS.aReader)
        const listed = yield* reader.files.list({ urlParams: { session_id: "s-1" } })
        expect(listed.items.map((f) => f.file_id)).toEqual([up.file_id])

        const dl = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aReader)))
        expect(dl.status).toBe(200)
        expect(dl.text).toBe(content)
        expect(dl.headers["content-length"]).toBe(String(Buffer.byteLength(content)))
        expect(dl.headers["etag"]).toBe(`"${up.file_id}"`)
        expect(dl.headers["x-content-type-options"]).toBe("nosniff")
        expect(dl.headers["content-disposition"]).toBe(
          `attachment; filename="__ _final_.md"; filename*=UTF-8''${encodeURIComponent("报告 \"final\".md")}`
        )

        const withKey = HttpClientRequest.setHeader("x-api-key", KEYS.aReader)
        const part = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(withKey, HttpClientRequest.setHeader("range", "bytes=2-5")))
        expect(part.status).toBe(206)
        expect(part.text).toBe(Buffer.from(content).subarray(2, 6).toString())
        expect(part.headers["content-range"]).toBe(`bytes 2-5/${Buffer.byteLength(content)}`)
        const suffix = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(withKey, HttpClientRequest.setHeader("range", "bytes=-4")))
        expect(suffix.status).toBe(206)
        expect(suffix.text).toBe(content.slice(-4))
        const beyond = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(withKey, HttpClientRequest.setHeader("range", "bytes=9999-")))
        expect(beyond.status).toBe(416)
        expect(beyond.json.error).toBe("range_not_satisfiable")
        const head = yield* raw(HttpClientRequest.head(`/v1/files/${up.file_id}`).pipe(withKey))
        expect(head.status).toBe(200)
        expect(head.headers["content-length"]).toBe(String(Buffer.byteLength(content)))
        expect(head.bytes.length).toBe(0)
        const cached = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(withKey, HttpClientRequest.setHeader("if-none-match", `"${up.file_id}"`)))
        expect(cached.status).toBe(304)
      }))

    it.effect("MIME types are sniffed from content when the client sends none", () =>
      Effect.gen(function*() {
        const png = Buffer.from(
          "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082",
          "hex"
        )
        const up = yield* upload(KEYS.aWriter, png, {}, "picture.bin", "application/octet-stream")
        const c = yield* clientWith(KEYS.aReader)
        expect((yield* c.files.meta({ path: { id: up.file_id as any }, urlParams: {} })).mime).toBe("image/png")
        const declared = yield* upload(KEYS.aWriter, "a,b\n1," + randomBytes(3).toString("hex"), {}, "t.csv", "text/csv")
        expect((yield* c.files.meta({ path: { id: declared.file_id as any }, urlParams: {} })).mime).toBe("text/csv")
      }))

    it.effect("the same bytes live independently in two tenants and return after a tombstone", () =>
      Effect.gen(function*() {
        const content = "shared bytes " + randomBytes(8).toString("hex")
        const a = yield* upload(KEYS.aWriter, content)
        const b = yield* upload(KEYS.bWriter, content)
        expect(a.file_id).toBe(b.file_id)
        expect(b.deduplicated).toBe(false)
        const aClient = yield* clientWith(KEYS.aWriter)
        const bClient = yield* clientWith(KEYS.bWriter)
        yield* aClient.files.tombstone({ path: { id: a.file_id as any }, payload: { reason: "cleanup" } })
        expect(yield* errorCode(aClient.files.meta({ path: { id: a.file_id as any }, urlParams: {} }))).toBe("NotFound")
        expect((yield* bClient.files.meta({ path: { id: b.file_id as any }, urlParams: {} })).tenant_id).toBe("tenant-b")
        const again = yield* aClient.files.tombstone({ path: { id: a.file_id as any }, payload: {} })
        expect(again).toEqual({ ok: true, file_id: a.file_id, tombstoned: true })
        const back = yield* upload(KEYS.aWriter, content, { session_id: "back" })
        expect(back.deduplicated).toBe(false)
        const meta = yield* aClient.files.meta({ path: { id: a.file_id as any }, urlParams: {} })
        expect(meta).toMatchObject({ session_id: "back", extract_status: "pending", deleted_at_ms: null })
        const dl = yield* raw(HttpClientRequest.get(`/v1/files/${a.file_id}`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aWriter)))
        expect(dl.text).toBe(content)
      }))

    it.effect("another tenant's key can neither see nor touch a file (404), and tenant_id in a request is ignored", () =>
      Effect.gen(function*() {
        const content = "tenant a only " + randomBytes(8).toString("hex")
        const { file_id } = yield* upload(KEYS.aWriter, content)
        const id = file_id as any
        const b = yield* clientWith(KEYS.bWriter)
        const bw = yield* clientWith(KEYS.bWorker)
        expect(yield* errorCode(b.files.meta({ path: { id }, urlParams: { tenant_id: "tenant-a" as any } }))).toBe("NotFound")
        expect(yield* errorCode(b.files.annotations({ path: { id }, payload: { annotations: { x: 1 }, tenant_id: "tenant-a" as any } }))).toBe("NotFound")
        expect(yield* errorCode(bw.files.extractStatus({ path: { id }, payload: { status: "indexed" } }))).toBe("NotFound")
        expect(yield* errorCode(b.files.tombstone({ path: { id }, payload: {} }))).toBe("NotFound")
        expect(yield* errorCode(b.files.link({ path: { id }, payload: {} }))).toBe("NotFound")
        expect(yield* errorCode(b.files.revokeLinks({ path: { id }, payload: {} }))).toBe("NotFound")
        expect(yield* errorCode(bw.files.renewLease({ path: { id }, payload: { lease_token: "x" } }))).toBe("NotFound")
        const dl = yield* raw(HttpClientRequest.get(`/v1/files/${file_id}?tenant_id=tenant-a`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.bWriter)))
        expect(dl.status).toBe(404)
        expect(dl.text).not.toContain(content)
        const garbageTenant = yield* raw(HttpClientRequest.get("/v1/files?tenant_id=not%20a%20tenant").pipe(HttpClientRequest.setHeader("x-api-key", KEYS.bWriter)))
        expect(garbageTenant.status).toBe(200)
        const listed = yield* b.files.list({ urlParams: { tenant_id: "tenant-a" as any, q: file_id.slice(0, 12) } })
        expect(listed.items).toEqual([])
        const claimed = yield* bw.files.claim({ payload: { tenant_id: "tenant-a" as any, limit: 200 } })
        expect(claimed.items.every((f) => f.tenant_id === "tenant-b")).toBe(true)
        const a = yield* clientWith(KEYS.aReader)
        expect((yield* a.files.meta({ path: { id }, urlParams: {} })).extract_status).toBe("pending")
      }))

    it.effect("list: substring search escapes wildcards, cursors page without gaps or repeats", () =>
      Effect.gen(function*() {
        const session = "page-" + randomBytes(4).toString("hex")
        const names = ["100%_done.txt", "100x_done.txt", "plain.txt", "a.txt", "b.txt", "c.txt", "d.txt"]
        const ids: Array<string> = []
        for (const n of names) ids.push((yield* upload(KEYS.aWriter, n + randomBytes(6).toString("hex"), { session_id: session }, n)).file_id)
        const c = yield* clientWith(KEYS.aReader)
        const pct = yield* c.files.list({ urlParams: { session_id: session, q: "100%_" } })
        expect(pct.items.map((f) => f.filename)).toEqual(["100%_done.txt"])
        const seen: Array<string> = []
        let cursor: string | undefined = undefined
        let pages = 0
        do {
          const page: { items: ReadonlyArray<{ file_id: string }>; next_cursor: string | null } = yield* c.files.list({
            urlParams: { session_id: session, limit: 3, ...(cursor === undefined ? {} : { cursor }) }
          })
          seen.push(...page.items.map((f) => f.file_id))
          cursor = page.next_cursor ?? undefined
          pages++
        } while (cursor !== undefined)
        expect(pages).toBe(3)
        expect(seen).toHaveLength(7)
        expect(new Set(seen)).toEqual(new Set(ids))
        const newestFirst = yield* c.files.list({ urlParams: { session_id: session } })
        expect(newestFirst.items.map((f) => f.file_id)).toEqual(seen)
        for (const limit of ["0", "201", "99999999999999999999", "abc"]) {
          const bad = yield* raw(HttpClientRequest.get(`/v1/files?limit=${limit}`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aReader)))
          expect(bad.status).toBe(400)
          expect(bad.json).toEqual({ error: "invalid_request", message: expect.stringContaining("limit") })
        }
        const badCursor = yield* raw(HttpClientRequest.get(`/v1/files?cursor=not-a-cursor`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aReader)))
        expect(badCursor.status).toBe(400)
        expect(badCursor.json.error).toBe("invalid_request")
      }))

    it.effect("claims hand out fenced leases; renewals, releases and final statuses honour the token", () =>
      Effect.gen(function*() {
        const b = yield* clientWith(KEYS.bWorker)
        const drained = yield* b.files.claim({ payload: { limit: 200 } })
        for (const f of drained.items) {
          yield* b.files.extractStatus({ path: { id: f.file_id as any }, payload: { status: "skipped", lease_token: f.lease_token } })
        }
        const bw = yield* clientWith(KEYS.bWriter)
        const { file_id } = yield* bw.files.upload({ payload: form("claim me " + randomBytes(8).toString("hex")) as any })
        const id = file_id as any
        const first = yield* b.files.claim({ payload: { limit: 10, lease_ms: 60_000 } })
        expect(first.items.map((f) => f.file_id)).toEqual([file_id])
        const item = first.items[0]!
        expect(item).toMatchObject({ extract_status: "processing", extract_attempt: 1 })
        expect(item.lease_expires_at_ms).toBeGreaterThan(first.claimed_at_ms)
        expect((yield* b.files.claim({ payload: {} })).items).toEqual([])
        const emptyBody = yield* raw(HttpClientRequest.post("/v1/files/claim_extract").pipe(HttpClientRequest.setHeader("x-api-key", KEYS.bWorker)))
        expect(emptyBody.status).toBe(200)
        expect(emptyBody.json).toMatchObject({ ok: true, items: [] })
        const pending = yield* raw(HttpClientRequest.get("/v1/files/pending_extract").pipe(HttpClientRequest.setHeader("x-api-key", KEYS.bWorker)))
        expect(pending.json.items).toEqual([])

        const renewed = yield* b.files.renewLease({ path: { id }, payload: { lease_token: item.lease_token, lease_ms: 120_000 } })
        expect(renewed.lease_expires_at_ms).toBeGreaterThan(item.lease_expires_at_ms)
        expect(yield* errorCode(b.files.renewLease({ path: { id }, payload: { lease_token: "00000000-0000-0000-0000-000000000000" } }))).toBe("LeaseLost")
        const stale = yield* raw(
          HttpClientRequest.post(`/v1/files/${file_id}/extract_status`).pipe(
            HttpClientRequest.setHeader("x-api-key", KEYS.bWorker),
            HttpClientRequest.bodyUnsafeJson({ status: "indexed", lease_token: "stale" })
          )
        )
        expect(stale.status).toBe(409)
        expect(stale.json.error).toBe("lease_lost")
        expect(yield* errorCode(b.files.annotations({ path: { id }, payload: { annotations: { a: 1 }, lease_token: "stale" } }))).toBe("LeaseLost")

        const released = yield* b.files.extractStatus({ path: { id }, payload: { status: "pending", lease_token: item.lease_token, retry_after_ms: 60_000 } })
        expect(released.status).toBe("pending")
        const meta = yield* bw.files.meta({ path: { id }, urlParams: {} })
        expect(meta).toMatchObject({ extract_status: "pending", extract_attempt: 0 })
        expect((yield* b.files.claim({ payload: {} })).items).toEqual([])
        expect(yield* errorCode(b.files.extractStatus({ path: { id }, payload: { status: "indexed", lease_token: item.lease_token } }))).toBe("LeaseLost")

        yield* b.files.extractStatus({ path: { id }, payload: { status: "pending" } })
        const again = yield* b.files.extractStatus({ path: { id }, payload: { status: "failed", error: "corrupt pdf" } })
        expect(again.status).toBe("failed")
        const failed = yield* bw.files.meta({ path: { id }, urlParams: {} })
        expect(failed).toMatchObject({ extract_status: "failed", extract_error: "corrupt pdf" })
        const badStatus = yield* raw(
          HttpClientRequest.post(`/v1/files/${file_id}/extract_status`).pipe(
            HttpClientRequest.setHeader("x-api-key", KEYS.bWorker),
            HttpClientRequest.bodyUnsafeJson({ status: "done" })
          )
        )
        expect(badStatus.status).toBe(400)
        expect(badStatus.json.error).toBe("invalid_request")
        const badLease = yield* raw(
          HttpClientRequest.post("/v1/files/claim_extract").pipe(
            HttpClientRequest.setHeader("x-api-key", KEYS.bWorker),
            HttpClientRequest.bodyUnsafeJson({ lease_ms: 10 })
          )
        )
        expect(badLease.status).toBe(400)
        expect(badLease.json.message).toContain("lease_ms")
      }))

    it.effect("annotations merge on the server (RFC 7396), replace on request, and honour if_version", () =>
      Effect.gen(function*() {
        const w = yield* clientWith(KEYS.aWriter)
        const { file_id } = yield* upload(KEYS.aWriter, "annotate " + randomBytes(8).toString("hex"))
        const id = file_id as any
        const one = yield* w.files.annotations({ path: { id }, payload: { annotations: { openclaw_ingest: { kind: "doc" }, keep: 1 } } })
        expect(one.version).toBe(1)
        yield* Effect.all([
          w.files.annotations({ path: { id }, payload: { annotations: { extraction: { status: "ok" } } } }),
          w.files.annotations({ path: { id }, payload: { annotations: { semantics: { topics: ["x"] }, keep: null } } })
        ], { concurrency: 2 })
        const meta = yield* w.files.meta({ path: { id }, urlParams: {} })
        expect(meta.annotations).toEqual({ openclaw_ingest: { kind: "doc" }, extraction: { status: "ok" }, semantics: { topics: ["x"] } })
        expect(meta.annotations_version).toBe(3)
        expect(yield* errorCode(w.files.annotations({ path: { id }, payload: { annotations: { z: 1 }, if_version: 1 } }))).toBe("Conflict")
        const post = (body: unknown) =>
          raw(HttpClientRequest.post(`/v1/files/${file_id}/annotations`).pipe(
            HttpClientRequest.setHeader("x-api-key", KEYS.aWriter),
            HttpClientRequest.bodyUnsafeJson(body)
          ))
        const missing = yield* post({ source: "typo", annotation: { x: 1 } })
        expect(missing.status).toBe(400)
        expect(missing.json.message).toContain("annotations is required")
        const notObject = yield* post({ annotations: null })
        expect(notObject.status).toBe(400)
        const deep = "{\"d\":".repeat(5000) + "1" + "}".repeat(5000)
        const tooDeep = yield* raw(HttpClientRequest.post(`/v1/files/${file_id}/annotations`).pipe(
          HttpClientRequest.setHeader("x-api-key", KEYS.aWriter),
          HttpClientRequest.bodyText(`{"annotations":${deep}}`, "application/json")
        ))
        expect(tooDeep.status).toBe(400)
        expect(tooDeep.json.message).toContain("nested")
        expect((yield* w.files.meta({ path: { id }, urlParams: {} })).annotations_version).toBe(3)
        const replaced = yield* w.files.annotations({ path: { id }, payload: { annotations: { only: true }, mode: "replace", if_version: 3 } })
        expect(replaced.version).toBe(4)
        expect((yield* w.files.meta({ path: { id }, urlParams: {} })).annotations).toEqual({ only: true })
      }))

    it.effect("share links: download without a key; forged, malformed, expired, revoked and tombstoned tokens fail", () =>
      Effect.gen(function*() {
        const content = "linked " + randomBytes(8).toString("hex")
        const { file_id } = yield* upload(KEYS.aWriter, content)
        const id = file_id as any
        const w = yield* clientWith(KEYS.aWriter)
        const link = yield* w.files.link({ path: { id }, payload: { ttl_seconds: 5 } })
        expect(link.path).toBe(`/v1/public/download?token=${link.token}`)
        expect(link.url).toBeNull()
        expect(link.expires_at_ms - Date.now()).toBeGreaterThan(25_000)
        const ok = yield* raw(HttpClientRequest.get(link.path))
        expect(ok.status).toBe(200)
        expect(ok.text).toBe(content)

        const [body, sig] = link.token.split(".") as [string, string]
        const flipped = sig.slice(0, -2) + (sig.endsWith("AA") ? "BB" : "AA")
        const forged = yield* raw(HttpClientRequest.get(`/v1/public/download?token=${body}.${flipped}`))
        expect(forged.status).toBe(401)
        expect(forged.json.error).toBe("unauthorized")
        const malformed = yield* raw(HttpClientRequest.get(`/v1/public/download?token=garbage`))
        expect(malformed.status).toBe(400)
        expect(malformed.json.error).toBe("invalid_request")
        const missing = yield* raw(HttpClientRequest.get(`/v1/public/download`))
        expect(missing.status).toBe(400)

        const claims = JSON.parse(Buffer.from(body, "base64url").toString())
        const expiredBody = Buffer.from(JSON.stringify({ ...claims, exp_ms: Date.now() - 1000 })).toString("base64url")
        const expiredSig = createHmac("sha256", SIGNING_KEY).update(expiredBody).digest("base64url")
        const expired = yield* raw(HttpClientRequest.get(`/v1/public/download?token=${expiredBody}.${expiredSig}`))
        expect(expired.status).toBe(401)
        expect(expired.json.message).toContain("expired")

        const second = yield* w.files.link({ path: { id }, payload: {} })
        const listed = yield* w.files.links({ path: { id }, urlParams: {} })
        expect(listed.items.map((l) => l.link_id).sort()).toEqual([link.link_id, second.link_id].sort())
        expect((yield* w.files.revokeLinks({ path: { id }, payload: { link_id: link.link_id as any } })).revoked).toBe(1)
        expect((yield* raw(HttpClientRequest.get(link.path))).status).toBe(401)
        expect((yield* raw(HttpClientRequest.get(second.path))).status).toBe(200)

        const third = yield* w.files.link({ path: { id }, payload: {} })
        yield* w.files.tombstone({ path: { id }, payload: {} })
        const gone = yield* raw(HttpClientRequest.get(third.path))
        expect(gone.status).toBe(404)
        expect(gone.json.error).toBe("not_found")
        const revokedAll = yield* w.files.links({ path: { id }, urlParams: {} }).pipe(Effect.flip)
        expect(revokedAll._tag).toBe("NotFound")
        const audit = fs.readFileSync(path.join(yield* TestDataDir, "audit", "audit.jsonl"), "utf8")
        const lines = audit.trim().split("\n").map((l) => JSON.parse(l))
        const actions = new Set(lines.filter((l) => l.file_id === file_id).map((l) => l.action))
        expect([...actions].sort()).toEqual(["ingest", "link_create", "link_revoke", "public_download", "tombstone"])
        expect(audit).not.toContain(KEYS.aWriter)
        expect(lines.every((l) => typeof l.request_id === "string" || l.request_id === null)).toBe(true)
      }))

    it.effect("tombstoned feed pages by cursor and tombstones are idempotent", () =>
      Effect.gen(function*() {
        const w = yield* clientWith(KEYS.bWriter)
        const worker = yield* clientWith(KEYS.bWorker)
        const start = Date.now() - 1
        const ids: Array<string> = []
        for (let i = 0; i < 5; i++) {
          const { file_id } = yield* w.files.upload({ payload: form("gone " + i + randomBytes(6).toString("hex")) as any })
          yield* w.files.tombstone({ path: { id: file_id as any }, payload: { reason: "test" } })
          ids.push(file_id)
        }
        const seen: Array<string> = []
        let cursor: string | undefined
        do {
          const page: { items: ReadonlyArray<{ file_id: string }>; next_cursor: string | null } = yield* worker.files.tombstoned({
            urlParams: { since_ms: start, limit: 2, ...(cursor === undefined ? {} : { cursor }) }
          })
          seen.push(...page.items.map((t) => t.file_id))
          cursor = page.next_cursor ?? undefined
        } while (cursor !== undefined)
        expect(seen).toEqual(ids)
        const later = yield* worker.files.tombstoned({ urlParams: { since_ms: Date.now() + 60_000 } })
        expect(later.items).toEqual([])
      }))

    it.effect("admin: usage per tenant, requeue by status, blob gc after retention", () =>
      Effect.gen(function*() {
        const admin = yield* clientWith(KEYS.aAdmin)
        const usage = yield* admin.admin.usage()
        expect(usage.tenants.map((t) => t.tenant_id)).toEqual(["tenant-a"])
        const a = usage.tenants[0]!
        expect(a.files).toBeGreaterThan(0)
        expect(a.bytes).toBeGreaterThan(0)
        const content = "requeue " + randomBytes(8).toString("hex")
        const { file_id } = yield* upload(KEYS.aWriter, content)
        const id = file_id as any
        const worker = yield* clientWith(KEYS.aWorker)
        yield* worker.files.extractStatus({ path: { id }, payload: { status: "failed", error: "boom" } })
        const noStatuses = yield* raw(HttpClientRequest.post("/v1/admin/requeue").pipe(
          HttpClientRequest.setHeader("x-api-key", KEYS.aAdmin),
          HttpClientRequest.bodyUnsafeJson({ statuses: [] })
        ))
        expect(noStatuses.status).toBe(400)
        const requeued = yield* admin.admin.requeue({ payload: { statuses: ["failed"], file_ids: [id] } })
        expect(requeued.requeued).toBe(1)
        expect((yield* admin.files.meta({ path: { id }, urlParams: {} }))).toMatchObject({ extract_status: "pending", extract_attempt: 0, extract_error: null })

        const dataDir = yield* TestDataDir
        const blob = path.join(dataDir, "blobs", Buffer.from("tenant-a").toString("hex"), file_id.slice(0, 2), file_id)
        expect(fs.existsSync(blob)).toBe(true)
        yield* admin.files.tombstone({ path: { id }, payload: {} })
        const gc = yield* admin.admin.gc()
        expect(gc.purged).toBeGreaterThanOrEqual(1)
        expect(fs.existsSync(blob)).toBe(false)
        const back = yield* upload(KEYS.aWriter, content)
        expect(back.deduplicated).toBe(false)
        expect(fs.existsSync(blob)).toBe(true)
        const dl = yield* raw(HttpClientRequest.get(`/v1/files/${file_id}`).pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aReader)))
        expect(dl.text).toBe(content)
      }))

    it.effect("malformed input gets a clear 4xx and stores nothing", () =>
      Effect.gen(function*() {
        const dataDir = yield* TestDataDir
        const admin = yield* clientWith(KEYS.bWriter)
        const before = (yield* admin.files.list({ urlParams: { limit: 200 } })).items.length
        const w = HttpClientRequest.setHeader("x-api-key", KEYS.bWriter)
        const notMultipart = yield* raw(HttpClientRequest.post("/v1/files").pipe(w, HttpClientRequest.bodyUnsafeJson({ file: "x" })))
        expect(notMultipart.status).toBe(400)
        expect(notMultipart.json.error).toBe("invalid_request")
        const noFile = new FormData()
        noFile.append("session_id", "s")
        const missing = yield* raw(HttpClientRequest.post("/v1/files").pipe(w, HttpClientRequest.bodyFormData(noFile)))
        expect(missing.status).toBe(400)
        expect(missing.json.message).toContain("file")
        const broken = yield* raw(
          HttpClientRequest.post("/v1/files").pipe(
            w,
            HttpClientRequest.bodyText("--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nunterminated", "multipart/form-data; boundary=xyz")
          )
        )
        expect(broken.status).toBe(400)
        expect(broken.json.error).toBe("invalid_request")
        const badTenant = yield* raw(HttpClientRequest.get("/v1/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd/meta").pipe(w))
        expect([400, 404]).toContain(badTenant.status)
        expect(badTenant.json.error).toMatch(/invalid_request|not_found/)
        const traversal = yield* raw(HttpClientRequest.get("/v1/files/..%2F..%2Fsecret").pipe(w))
        expect(traversal.status).toBe(400)
        expect(traversal.json).toEqual({ error: "invalid_request", message: expect.stringContaining("id") })
        const badJson = yield* raw(HttpClientRequest.post(`/v1/files/${"a".repeat(64)}/annotations`).pipe(w, HttpClientRequest.bodyText("{not json", "application/json")))
        expect(badJson.status).toBe(400)
        expect(badJson.json.error).toBe("invalid_request")
        const huge = yield* raw(
          HttpClientRequest.post(`/v1/files/${"a".repeat(64)}/annotations`).pipe(
            w,
            HttpClientRequest.bodyText(JSON.stringify({ annotations: { blob: "x".repeat(5 * 1024 * 1024) } }), "application/json")
          )
        )
        expect(huge.status).toBe(413)
        expect(huge.json.error).toBe("payload_too_large")
        const unknownRoute = yield* raw(HttpClientRequest.del("/v1/files").pipe(w))
        expect(unknownRoute.status).toBe(404)
        expect(unknownRoute.json.error).toBe("not_found")
        const upper = (yield* upload(KEYS.bWriter, "upper " + randomBytes(4).toString("hex"))).file_id
        const viaUpper = yield* raw(HttpClientRequest.get(`/v1/files/${upper.toUpperCase()}/meta`).pipe(w))
        expect(viaUpper.status).toBe(200)
        const after = (yield* admin.files.list({ urlParams: { limit: 200 } })).items.length
        expect(after).toBe(before + 1)
        expect(countFiles(path.join(dataDir, "tmp"))).toBe(0)
        for (const status of [notMultipart, missing, broken, traversal, badJson, huge]) {
          expect(status.text).not.toMatch(/SELECT|INSERT|\/tmp\/|node_modules|stack/i)
        }
      }))
  })

  layer(rustfsTestLayer(db.layer, {}, 256 * 1024), { timeout: "120 seconds", excludeTestServices: true })(`RustFS upload limit (${db.name})`, (it) => {
    it.effect("an upload over the cap is 413 with nothing stored and no temp file left", () =>
      Effect.gen(function*() {
        const dataDir = yield* TestDataDir
        const tooBig = randomBytes(256 * 1024 + 1)
        const res = yield* raw(
          HttpClientRequest.post("/v1/files").pipe(HttpClientRequest.setHeader("x-api-key", KEYS.aWriter), HttpClientRequest.bodyFormData(form(tooBig)))
        )
        expect(res.status).toBe(413)
        expect(res.json.error).toBe("payload_too_large")
        const justFits = yield* upload(KEYS.aWriter, randomBytes(200 * 1024))
        expect(justFits.size).toBe(200 * 1024)
        const c = yield* clientWith(KEYS.aReader)
        expect((yield* c.files.list({ urlParams: {} })).items.map((f) => f.file_id)).toEqual([justFits.file_id])
        expect(countFiles(path.join(dataDir, "tmp"))).toBe(0)
        const unauth = yield* raw(HttpClientRequest.post("/v1/files").pipe(HttpClientRequest.bodyFormData(form(randomBytes(1000)))))
        expect(unauth.status).toBe(401)
      }))
  })

  layer(rustfsTestLayer(db.layer, { RUSTFS_MASTER_KEY: "master-key-for-tests-0123456789" }), { timeout: "120 seconds", excludeTestServices: true })(
    `RustFS encryption at rest (${db.name})`,
    (it) => {
      it.effect("blobs are age files; downloads and ranges decrypt; a corrupted blob is an error, not a truncated 200", () =>
        Effect.gen(function*() {
          const dataDir = yield* TestDataDir
          const content = randomBytes(200_000)
          const up = yield* upload(KEYS.aWriter, content, {}, "data.bin", "application/octet-stream")
          expect(up.encrypted).toBe(true)
          expect(up.file_id).toBe(sha(content))
          const blob = path.join(dataDir, "blobs", Buffer.from("tenant-a").toString("hex"), up.file_id.slice(0, 2), up.file_id)
          const stored = fs.readFileSync(blob)
          expect(stored.subarray(0, 21).toString()).toBe("age-encryption.org/v1")
          expect(stored.includes(content.subarray(0, 64))).toBe(false)
          const r = HttpClientRequest.setHeader("x-api-key", KEYS.aReader)
          const full = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(r))
          expect(full.status).toBe(200)
          expect(full.headers["content-length"]).toBe(String(content.length))
          const client = yield* clientWith(KEYS.aReader)
          const bytes = yield* client.files.download({ path: { id: up.file_id as any }, urlParams: {} })
          expect(sha(bytes)).toBe(up.file_id)
          const range = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(r, HttpClientRequest.setHeader("range", "bytes=65530-131080")))
          expect(range.status).toBe(206)
          expect(Buffer.from(range.bytes).equals(content.subarray(65530, 131081))).toBe(true)

          const corrupted = Buffer.from(stored)
          corrupted[corrupted.length - 100]! ^= 0xff
          fs.writeFileSync(blob, corrupted)
          const bad = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(r))
          expect(bad.status).toBe(500)
          expect(bad.json).toEqual({ error: "internal_error", message: "internal error" })
          const badRange = yield* raw(HttpClientRequest.get(`/v1/files/${up.file_id}`).pipe(r, HttpClientRequest.setHeader("range", "bytes=0-10")))
          expect(badRange.status).toBe(500)
        }))
    }
  )
}
