import { Effect, Option, Redacted } from "effect"
import * as Age from "./Age.js"
import { RustfsConfig } from "./RustfsConfig.js"

/**
 * Encryption at rest: blobs are age v1 files wrapped to the X25519 recipient derived from
 * `RUSTFS_MASTER_KEY` (one HKDF at start, then a random file key per blob — no per-file KDF).
 * Older master keys listed in `RUSTFS_PREVIOUS_MASTER_KEYS` still decrypt, so keys can be rotated.
 */
export class Cipher extends Effect.Service<Cipher>()("rustfs/Cipher", {
  effect: Effect.gen(function*() {
    const config = yield* RustfsConfig
    const current = Option.map(config.masterKey, (k) => Age.identityFromPassphraseKey(Redacted.value(k)))
    const previous = config.previousMasterKeys.map((k) => Age.identityFromPassphraseKey(Redacted.value(k)))
    const identities = [...Option.toArray(current), ...previous]
    return {
      /** The recipient new blobs are encrypted to, when encryption is on. */
      recipient: Option.map(current, (id) => id.recipient),
      identities
    } as const
  })
}) {}
