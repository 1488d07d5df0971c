import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { Data, Effect, Option, Redacted } from "effect"
import { RustfsConfig } from "./RustfsConfig.js"

export interface LinkClaims {
  readonly tenant_id: string
  readonly file_id: string
  readonly exp_ms: number
  readonly lid: string
}

export class LinkTokenError extends Data.TaggedError("LinkTokenError")<{
  readonly reason: "malformed" | "bad_signature" | "expired" | "not_configured"
}> {}

/**
 * Share-link tokens: `base64url(JSON claims) + "." + base64url(HMAC-SHA256(signing key, first part))`,
 * the format existing clients and links already use.
 */
export class LinkSigner extends Effect.Service<LinkSigner>()("rustfs/LinkSigner", {
  effect: Effect.gen(function*() {
    const config = yield* RustfsConfig
    const key = Option.map(config.signingKey, Redacted.value)
    const mac = (k: string, body: string) => createHmac("sha256", k).update(body).digest()

    const sign = (claims: Omit<LinkClaims, "lid">) =>
      Option.match(key, {
        onNone: () => Effect.fail(new LinkTokenError({ reason: "not_configured" })),
        onSome: (k) => {
          const lid = randomBytes(12).toString("base64url")
          const body = Buffer.from(JSON.stringify({ ...claims, lid })).toString("base64url")
          return Effect.succeed({ lid, token: body + "." + mac(k, body).toString("base64url") })
        }
      })

    const verify = (token: string, now: number) =>
      Effect.gen(function*() {
        if (Option.isNone(key)) return yield* new LinkTokenError({ reason: "not_configured" })
        const parts = token.split(".")
        if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0]!) || !/^[A-Za-z0-9_-]+$/.test(parts[1]!)) {
          return yield* new LinkTokenError({ reason: "malformed" })
        }
        const [body, sig] = parts as [string, string]
        let claims: unknown
        try {
          claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"))
        } catch {
          return yield* new LinkTokenError({ reason: "malformed" })
        }
        if (!isClaims(claims)) return yield* new LinkTokenError({ reason: "malformed" })
        const expected = mac(key.value, body)
        const given = Buffer.from(sig, "base64url")
        if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
          return yield* new LinkTokenError({ reason: "bad_signature" })
        }
        if (claims.exp_ms <= now) return yield* new LinkTokenError({ reason: "expired" })
        return claims
      })

    return { sign, verify, enabled: Option.isSome(key) } as const
  })
}) {}

const isClaims = (u: unknown): u is LinkClaims => {
  if (typeof u !== "object" || u === null) return false
  const c = u as Record<string, unknown>
  return typeof c.tenant_id === "string" && typeof c.file_id === "string" && typeof c.lid === "string" &&
    typeof c.exp_ms === "number" && Number.isFinite(c.exp_ms)
}
