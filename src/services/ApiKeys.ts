import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Option, Redacted } from "effect"
import type { Principal } from "../domain/RustfsApi.js"
import { RustfsConfig } from "./RustfsConfig.js"

const digest = (s: string) => createHash("sha256").update(s).digest()

/** Looks a presented key up among the configured ones, comparing every entry in constant time. */
export class ApiKeys extends Effect.Service<ApiKeys>()("rustfs/ApiKeys", {
  effect: Effect.gen(function*() {
    const config = yield* RustfsConfig
    const entries = config.apiKeys.map((k) => ({ ...k, hash: digest(Redacted.value(k.key)) }))
    const open: Principal = { keyId: null, tenant: null, role: "admin" }

    const authenticate = (presented: string | undefined): Option.Option<Principal> => {
      if (!config.requireApiKey) {
        if (presented === undefined || presented === "") return Option.some(open)
      }
      if (presented === undefined || presented === "") return Option.none()
      const h = digest(presented)
      let match: (typeof entries)[number] | undefined
      for (const e of entries) {
        if (timingSafeEqual(h, e.hash) && match === undefined) match = e
      }
      if (match !== undefined) return Option.some({ keyId: match.keyId, tenant: match.tenant, role: match.role })
      return config.requireApiKey ? Option.none() : Option.some(open)
    }

    return { authenticate, requireApiKey: config.requireApiKey } as const
  })
}) {}
