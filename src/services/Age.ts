/**
 * age v1 (https://age-encryption.org/v1, C2SP) with X25519 recipients, on `node:crypto` only.
 *
 * Why this exists: archived files are stored as standard age files so they stay readable by the
 * stock `age` tool (disaster recovery needs nothing from this codebase), while the service still
 * gets streaming, constant-memory encryption, random access for HTTP ranges, and cheap key rotation.
 *
 * API
 *   Keys
 *     identityFromSecret(secret: Uint8Array): AgeIdentity        32-byte X25519 secret -> identity
 *     generateIdentity(): AgeIdentity
 *     parseIdentity(encoded: string): AgeIdentity                 "AGE-SECRET-KEY-1..." (throws AgeError bad_key)
 *     parseIdentityFile(text: string): AgeIdentity[]              age-keygen output: comments/blank lines skipped
 *     parseRecipient(recipient: string): Buffer                   "age1..." -> 32-byte public key (throws bad_key)
 *     identityFromPassphraseKey(masterKey: string): AgeIdentity   a configured master key; HKDF (not scrypt)
 *       because the input is a high-entropy service secret, not a human password, and it is derived on
 *       every start-up. Being deterministic, the same master key always yields the same recipient.
 *   Streams (Node Transforms, so callers can `pipeline` them and Effect can wrap them)
 *     encryptStream(recipients: ReadonlyArray<string>): Transform  plaintext -> age file
 *     decryptStream(identities: ReadonlyArray<AgeIdentity>): Transform  age file -> plaintext, errors with AgeError
 *     encrypt(plaintext, recipients): Buffer / decrypt(file, identities): Buffer   in-memory conveniences
 *   Header / random access
 *     readHeaderLength(firstBytes: Uint8Array): number | undefined   undefined = need more bytes
 *     readHeader(open: RandomAccess): Promise<Buffer>                 exactly the header bytes of a file
 *     headerInfo(file: Uint8Array): { headerLength; recipients (ephemeral shares); stanzaTypes }
 *     rewrapHeader(header, identities, newRecipients): Buffer        key rotation: new header, same payload
 *     PAYLOAD_CHUNK, plaintextOffsetToCiphertext(headerLength, offset), plaintextSize(headerLength, fileSize)
 *     decryptRange(identities, open, start, endInclusive, options?): AsyncIterable<Buffer>
 *
 * Error reasons are deliberately coarse-grained and mean (AgeError.reason):
 *   bad_header          malformed header, unsupported/invalid X25519 stanza, or a file that is not age v1
 *   no_identity_matched no stanza could be unwrapped by any given identity (wrong key, or a corrupted stanza)
 *   bad_mac             the file key was recovered but the header MAC does not verify (header tampered)
 *   bad_chunk           a payload chunk failed authentication, or an empty final chunk after data.
 *                       NB: a file cut in the middle of a chunk (leaving >= 16 bytes of that chunk) is
 *                       indistinguishable from corruption and is reported as bad_chunk too.
 *   truncated           the input ended inside the header/nonce/tag, or right after a full non-final chunk
 *   trailing_data       a full-size chunk authenticated as the final chunk but more bytes follow it. Garbage
 *                       after a short final chunk is glued to that chunk and so reported as bad_chunk.
 *   bad_key             an invalid recipient/identity string or key, or a low-order recipient key
 *
 * Not supported (not needed here): scrypt/passphrase stanzas, ssh recipients, plugins, ASCII armor.
 * Unknown stanza types in a header are ignored, as the spec requires.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
  type KeyObject
} from "node:crypto"
import { Transform, type TransformCallback } from "node:stream"

// ---------------------------------------------------------------------------------------------
// Errors

export type AgeErrorReason =
  | "bad_header"
  | "no_identity_matched"
  | "bad_mac"
  | "bad_chunk"
  | "truncated"
  | "trailing_data"
  | "bad_key"

export class AgeError extends Error {
  override readonly name = "AgeError"
  readonly reason: AgeErrorReason
  constructor(reason: AgeErrorReason, message: string) {
    super(`age: ${message}`)
    this.reason = reason
  }
}

export const isAgeError = (u: unknown): u is AgeError => u instanceof AgeError

// ---------------------------------------------------------------------------------------------
// bech32 (BIP-173; age uses the original constant, not bech32m, and no 90-character limit)

const BECH32_ALPHABET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
const BECH32_REV: Record<string, number> = Object.fromEntries(
  [...BECH32_ALPHABET].map((c, i) => [c, i])
)
const BECH32_GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]

const bech32Polymod = (values: ReadonlyArray<number>): number => {
  let chk = 1
  for (const v of values) {
    const top = chk >>> 25
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) chk = (chk ^ BECH32_GEN[i]!) >>> 0
    }
  }
  return chk
}

const hrpExpand = (hrp: string): number[] => {
  const out: number[] = []
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) >>> 5)
  out.push(0)
  for (let i = 0; i < hrp.length; i++) out.push(hrp.charCodeAt(i) & 31)
  return out
}

const convertBits = (data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | undefined => {
  let acc = 0
  let bits = 0
  const out: number[] = []
  const maxv = (1 << to) - 1
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!
    if (v >>> from !== 0) return undefined
    acc = (acc << from) | v
    bits += from
    while (bits >= to) {
      bits -= to
      out.push((acc >>> bits) & maxv)
    }
    acc &= (1 << bits) - 1
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv)
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return undefined
  }
  return out
}

/** Encodes in lowercase; callers uppercase identities themselves. */
const bech32Encode = (hrp: string, data: Uint8Array): string => {
  const lowerHrp = hrp.toLowerCase()
  const words = convertBits(data, 8, 5, true)!
  const polymod = bech32Polymod([...hrpExpand(lowerHrp), ...words, 0, 0, 0, 0, 0, 0]) ^ 1
  const checksum: number[] = []
  for (let i = 0; i < 6; i++) checksum.push((polymod >>> (5 * (5 - i))) & 31)
  return lowerHrp + "1" + [...words, ...checksum].map((w) => BECH32_ALPHABET[w]).join("")
}

/** Returns the lowercase HRP and the decoded bytes, or undefined when the string is not valid bech32. */
const bech32Decode = (s: string): { hrp: string; data: Buffer } | undefined => {
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) return undefined
  const lower = s.toLowerCase()
  const pos = lower.lastIndexOf("1")
  if (pos < 1 || pos + 7 > lower.length) return undefined
  const hrp = lower.slice(0, pos)
  for (let i = 0; i < hrp.length; i++) {
    const c = hrp.charCodeAt(i)
    if (c < 33 || c > 126) return undefined
  }
  const words: number[] = []
  for (const ch of lower.slice(pos + 1)) {
    const w = BECH32_REV[ch]
    if (w === undefined) return undefined
    words.push(w)
  }
  if (bech32Polymod([...hrpExpand(hrp), ...words]) !== 1) return undefined
  const bytes = convertBits(words.slice(0, -6), 5, 8, false)
  if (bytes === undefined) return undefined
  return { hrp, data: Buffer.from(bytes) }
}

// ---------------------------------------------------------------------------------------------
// X25519 keys

const RECIPIENT_HRP = "age"
const IDENTITY_HRP = "AGE-SECRET-KEY-"
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex")

export interface AgeIdentity {
  /** 32-byte X25519 secret scalar (clamped by X25519 itself, as in age). */
  readonly secretKey: Buffer
  /** `age1...` */
  readonly recipient: string
  /** `AGE-SECRET-KEY-1...`, uppercase like age-keygen prints it. */
  readonly encoded: string
}

const privateKeyObject = (secret: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, secret]), format: "der", type: "pkcs8" })

const publicKeyObject = (pub: Uint8Array): KeyObject =>
  createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: Buffer.from(pub).toString("base64url") },
    format: "jwk"
  })

const rawPublicKey = (key: KeyObject): Buffer => {
  const x = key.export({ format: "jwk" }).x
  if (typeof x !== "string") throw new AgeError("bad_key", "cannot export X25519 public key")
  return Buffer.from(x, "base64url")
}

export const identityFromSecret = (secretKey: Uint8Array): AgeIdentity => {
  if (secretKey.length !== 32) throw new AgeError("bad_key", "X25519 secret key must be 32 bytes")
  const secret = Buffer.from(secretKey)
  const pub = rawPublicKey(createPublicKey(privateKeyObject(secret)))
  return {
    secretKey: secret,
    recipient: bech32Encode(RECIPIENT_HRP, pub),
    encoded: bech32Encode(IDENTITY_HRP, secret).toUpperCase()
  }
}

export const generateIdentity = (): AgeIdentity => identityFromSecret(randomBytes(32))

export const parseIdentity = (encoded: string): AgeIdentity => {
  const decoded = bech32Decode(encoded.trim())
  if (decoded === undefined || decoded.hrp !== IDENTITY_HRP.toLowerCase() || decoded.data.length !== 32) {
    throw new AgeError("bad_key", "malformed X25519 identity (expected AGE-SECRET-KEY-1...)")
  }
  return identityFromSecret(decoded.data)
}

/** Parses an identity file as written by age-keygen: one identity per line, `#` comments. */
export const parseIdentityFile = (text: string): AgeIdentity[] =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map(parseIdentity)

export const parseRecipient = (recipient: string): Buffer => {
  const decoded = bech32Decode(recipient.trim())
  if (decoded === undefined || decoded.hrp !== RECIPIENT_HRP || decoded.data.length !== 32) {
    throw new AgeError("bad_key", `malformed X25519 recipient (expected age1...): ${recipient.slice(0, 80)}`)
  }
  return decoded.data
}

const hkdf = (ikm: Uint8Array, salt: Uint8Array | string, info: string, length = 32): Buffer =>
  Buffer.from(hkdfSync("sha256", ikm, salt, info, length))

export const identityFromPassphraseKey = (masterKey: string): AgeIdentity => {
  const trimmed = masterKey.trim()
  if (trimmed.toUpperCase().startsWith("AGE-SECRET-KEY-1")) return parseIdentity(trimmed)
  if (masterKey.length === 0) throw new AgeError("bad_key", "empty master key")
  return identityFromSecret(hkdf(Buffer.from(masterKey, "utf8"), "openclaw-rustfs", "rustfs master key v1"))
}

// ---------------------------------------------------------------------------------------------
// Primitives

const INTRO = "age-encryption.org/v1\n"
const INTRO_BYTES = Buffer.from(INTRO, "latin1")
const X25519_LABEL = "age-encryption.org/v1/X25519"
const FILE_KEY_SIZE = 16
const TAG_SIZE = 16
const NONCE_SIZE = 16
export const PAYLOAD_CHUNK = 65536
const ENC_CHUNK = PAYLOAD_CHUNK + TAG_SIZE
/** Headers are tiny (≈ 100 bytes per recipient); anything bigger is treated as not-an-age-file. */
const MAX_HEADER = 1 << 20
const ZERO_NONCE = Buffer.alloc(12)

const b64encode = (b: Uint8Array): string => Buffer.from(b).toString("base64").replace(/=+$/, "")

const B64_RE = /^[A-Za-z0-9+/]*$/
/** Strict, canonical, unpadded standard base64 (as age requires); undefined when invalid. */
const b64decode = (s: string): Buffer | undefined => {
  if (!B64_RE.test(s) || s.length % 4 === 1) return undefined
  const out = Buffer.from(s, "base64")
  return b64encode(out) === s ? out : undefined
}

const aeadSeal = (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer => {
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG_SIZE })
  const ct = c.update(plaintext)
  c.final()
  return Buffer.concat([ct, c.getAuthTag()], ct.length + TAG_SIZE)
}

/** Returns undefined on authentication failure (or when `sealed` is shorter than a tag). */
const aeadOpen = (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array): Buffer | undefined => {
  if (sealed.length < TAG_SIZE) return undefined
  const split = sealed.length - TAG_SIZE
  const d = createDecipheriv("chacha20-poly1305", key, nonce, { authTagLength: TAG_SIZE })
  d.setAuthTag(sealed.subarray(split))
  const pt = d.update(sealed.subarray(0, split))
  try {
    d.final()
  } catch {
    return undefined
  }
  return pt
}

const macKeyFor = (fileKey: Uint8Array) => hkdf(fileKey, Buffer.alloc(0), "header")
const payloadKeyFor = (fileKey: Uint8Array, nonce: Uint8Array) => hkdf(fileKey, nonce, "payload")

const headerMac = (fileKey: Uint8Array, macInput: Uint8Array): Buffer =>
  createHmac("sha256", macKeyFor(fileKey)).update(macInput).digest()

const chunkNonce = (counter: number, last: boolean): Buffer => {
  const n = Buffer.alloc(12)
  // 11-byte big-endian counter; 48 bits are far more than any file can need (2^48 * 64 KiB).
  n.writeUIntBE(counter, 5, 6)
  n[11] = last ? 1 : 0
  return n
}

const isAllZero = (b: Uint8Array): boolean => {
  let acc = 0
  for (let i = 0; i < b.length; i++) acc |= b[i]!
  return acc === 0
}

// ---------------------------------------------------------------------------------------------
// Header

interface Stanza {
  readonly type: string
  readonly args: ReadonlyArray<string>
  readonly body: Buffer
}

interface ParsedHeader {
  readonly headerLength: number
  readonly stanzas: ReadonlyArray<Stanza>
  /** Header bytes up to and including `---`, the HMAC input. */
  readonly macInput: Buffer
  readonly mac: Buffer
}

const NL = 0x0a
const MAC_MARKER = Buffer.from("\n---", "latin1")

/**
 * Length of the header in `bytes` (offset of the 16-byte payload nonce), or undefined when
 * `bytes` does not yet contain the whole header. Throws bad_header as soon as the bytes cannot
 * be the start of an age v1 file.
 */
export const readHeaderLength = (bytes: Uint8Array): number | undefined => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = Math.min(buf.length, INTRO_BYTES.length)
  if (!buf.subarray(0, n).equals(INTRO_BYTES.subarray(0, n))) {
    throw new AgeError(
      "bad_header",
      buf.subarray(0, 5).toString("latin1") === "-----"
        ? "ASCII-armored age files are not supported"
        : "not an age v1 file (bad version line)"
    )
  }
  // Stanza lines start with "->" and body lines are base64, so the first "\n---" is the MAC line.
  const marker = buf.indexOf(MAC_MARKER, INTRO_BYTES.length - 1)
  if (marker >= 0) {
    const end = buf.indexOf(NL, marker + MAC_MARKER.length)
    if (end >= 0) return end + 1
  }
  if (buf.length > MAX_HEADER) throw new AgeError("bad_header", "header too large")
  return undefined
}

const ARG_RE = /^[\x21-\x7e]+$/
const BODY_LINE_RE = /^[A-Za-z0-9+/]{0,64}$/

const parseHeader = (bytes: Uint8Array): ParsedHeader => {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = readHeaderLength(buf)
  if (headerLength === undefined) throw new AgeError("truncated", "incomplete header")
  const bad = (why: string) => new AgeError("bad_header", `malformed header: ${why}`)
  const stanzas: Stanza[] = []
  let pos = INTRO_BYTES.length
  const nextLine = (): string => {
    const end = buf.indexOf(NL, pos)
    if (end < 0 || end >= headerLength) throw bad("unexpected end of header")
    const line = buf.toString("latin1", pos, end)
    pos = end + 1
    return line
  }
  for (;;) {
    const lineStart = pos
    const line = nextLine()
    if (line.startsWith("---")) {
      if (!line.startsWith("--- ")) throw bad("bad MAC line")
      const mac = b64decode(line.slice(4))
      if (mac === undefined || mac.length !== 32) throw bad("bad MAC encoding")
      if (pos !== headerLength) throw bad("unexpected data in header")
      if (stanzas.length === 0) throw bad("no recipient stanzas")
      return { headerLength, stanzas, macInput: buf.subarray(0, lineStart + 3), mac }
    }
    if (!line.startsWith("-> ")) throw bad("expected a stanza or the MAC line")
    const parts = line.slice(3).split(" ")
    if (!parts.every((p) => ARG_RE.test(p))) throw bad("bad stanza arguments")
    let body = ""
    for (;;) {
      const l = nextLine()
      if (!BODY_LINE_RE.test(l)) throw bad("bad stanza body line")
      body += l
      if (l.length < 64) break
    }
    const decoded = b64decode(body)
    if (decoded === undefined) throw bad("bad stanza body encoding")
    stanzas.push({ type: parts[0]!, args: parts.slice(1), body: decoded })
  }
}

const wrapBody = (body: Uint8Array): string => {
  const b64 = b64encode(body)
  const lines: string[] = []
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64))
  if (b64.length % 64 === 0) lines.push("")
  return lines.join("\n") + "\n"
}

const x25519Wrap = (fileKey: Uint8Array, recipient: string): string => {
  const recipientPub = parseRecipient(recipient)
  const eph = generateKeyPairSync("x25519")
  const share = rawPublicKey(eph.publicKey)
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey: eph.privateKey, publicKey: publicKeyObject(recipientPub) })
  } catch {
    throw new AgeError("bad_key", "invalid (low-order) X25519 recipient")
  }
  if (isAllZero(shared)) throw new AgeError("bad_key", "invalid (low-order) X25519 recipient")
  const wrapKey = hkdf(shared, Buffer.concat([share, recipientPub]), X25519_LABEL)
  return `-> X25519 ${b64encode(share)}\n` + wrapBody(aeadSeal(wrapKey, ZERO_NONCE, fileKey))
}

const buildHeader = (fileKey: Uint8Array, recipients: ReadonlyArray<string>): Buffer => {
  if (recipients.length === 0) throw new AgeError("bad_key", "no recipients")
  const macInput = Buffer.from(INTRO + recipients.map((r) => x25519Wrap(fileKey, r)).join("") + "---", "latin1")
  const mac = headerMac(fileKey, macInput)
  return Buffer.concat([macInput, Buffer.from(` ${b64encode(mac)}\n`, "latin1")])
}

const x25519Unwrap = (stanza: Stanza, priv: KeyObject, ownPub: Buffer): Buffer | undefined => {
  const share = stanza.args.length === 1 ? b64decode(stanza.args[0]!) : undefined
  if (share === undefined || share.length !== 32 || stanza.body.length !== FILE_KEY_SIZE + TAG_SIZE) {
    throw new AgeError("bad_header", "invalid X25519 stanza")
  }
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey: priv, publicKey: publicKeyObject(share) })
  } catch {
    throw new AgeError("bad_header", "invalid X25519 stanza (low-order share)")
  }
  if (isAllZero(shared)) throw new AgeError("bad_header", "invalid X25519 stanza (low-order share)")
  const wrapKey = hkdf(shared, Buffer.concat([share, ownPub]), X25519_LABEL)
  return aeadOpen(wrapKey, ZERO_NONCE, stanza.body)
}

/** Recovers the file key and verifies the header MAC. */
const openHeader = (
  header: Uint8Array,
  identities: ReadonlyArray<AgeIdentity>
): { readonly parsed: ParsedHeader; readonly fileKey: Buffer } => {
  const parsed = parseHeader(header)
  // The public key is derived from the secret rather than trusted from `identity.recipient`.
  const keys = identities.map((id) => {
    const priv = privateKeyObject(id.secretKey)
    return { priv, pub: rawPublicKey(createPublicKey(priv)) }
  })
  let fileKey: Buffer | undefined
  for (const stanza of parsed.stanzas) {
    if (stanza.type !== "X25519") continue // unknown stanza types are ignored per spec
    for (const { priv, pub } of keys) {
      fileKey = x25519Unwrap(stanza, priv, pub)
      if (fileKey !== undefined) break
    }
    if (fileKey !== undefined) break
  }
  if (fileKey === undefined) throw new AgeError("no_identity_matched", "no identity matched any of the recipients")
  const mac = headerMac(fileKey, parsed.macInput)
  if (!timingSafeEqual(mac, parsed.mac)) throw new AgeError("bad_mac", "bad header MAC")
  return { parsed, fileKey }
}

export const headerInfo = (
  file: Uint8Array
): { headerLength: number; recipients: ReadonlyArray<string>; stanzaTypes: ReadonlyArray<string> } => {
  const parsed = parseHeader(file)
  return {
    headerLength: parsed.headerLength,
    recipients: parsed.stanzas.filter((s) => s.type === "X25519").map((s) => s.args[0] ?? ""),
    stanzaTypes: parsed.stanzas.map((s) => s.type)
  }
}

/**
 * Key rotation: unwraps the file key (verifying the MAC) and returns a new header for the same file
 * key. `headerBytes` may extend past the header; only the header is used. The caller appends the
 * unchanged payload, i.e. bytes [headerInfo(old).headerLength, end) of the old file.
 */
export const rewrapHeader = (
  headerBytes: Uint8Array,
  identities: ReadonlyArray<AgeIdentity>,
  newRecipients: ReadonlyArray<string>
): Buffer => {
  const { fileKey } = openHeader(headerBytes, identities)
  return buildHeader(fileKey, newRecipients)
}

// ---------------------------------------------------------------------------------------------
// Streaming encryption

export const encryptStream = (recipients: ReadonlyArray<string>): Transform => {
  const fileKey = randomBytes(FILE_KEY_SIZE)
  const nonce = randomBytes(NONCE_SIZE)
  const header = buildHeader(fileKey, recipients) // throws bad_key synchronously for bad recipients
  const key = payloadKeyFor(fileKey, nonce)
  const staging = Buffer.allocUnsafe(PAYLOAD_CHUNK)
  let fill = 0
  let counter = 0
  let started = false

  const start = (t: Transform) => {
    if (!started) {
      started = true
      t.push(Buffer.concat([header, nonce]))
    }
  }
  const seal = (t: Transform, last: boolean) => {
    // Ciphertext and tag are pushed separately: saves a 64 KiB copy per chunk.
    const c = createCipheriv("chacha20-poly1305", key, chunkNonce(counter++, last), { authTagLength: TAG_SIZE })
    const ct = c.update(staging.subarray(0, fill))
    c.final()
    if (ct.length > 0) t.push(ct)
    t.push(c.getAuthTag())
    fill = 0
  }

  return new Transform({
    transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        start(this)
        let off = 0
        while (off < data.length) {
          // A full chunk is only sealed once more data proves it is not the last one.
          if (fill === PAYLOAD_CHUNK) seal(this, false)
          const n = Math.min(PAYLOAD_CHUNK - fill, data.length - off)
          data.copy(staging, fill, off, off + n)
          fill += n
          off += n
        }
        cb()
      } catch (e) {
        cb(e as Error)
      }
    },
    flush(cb: TransformCallback) {
      try {
        start(this)
        seal(this, true)
        cb()
      } catch (e) {
        cb(e as Error)
      }
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Streaming decryption

/**
 * Decrypts one encrypted chunk, turning failures into precise errors by trying the other
 * last-flag: a full chunk at EOF that only opens as non-final means truncation; a chunk followed
 * by more data that only opens as final means trailing data.
 */
const openChunk = (key: Buffer, counter: number, sealed: Buffer, atEof: boolean): Buffer => {
  if (sealed.length < TAG_SIZE) throw new AgeError("truncated", "file truncated inside a payload chunk")
  const pt = aeadOpen(key, chunkNonce(counter, atEof), sealed)
  if (pt !== undefined) {
    if (atEof && pt.length === 0 && counter > 0) throw new AgeError("bad_chunk", "empty final chunk")
    return pt
  }
  if (sealed.length === ENC_CHUNK && aeadOpen(key, chunkNonce(counter, !atEof), sealed) !== undefined) {
    throw atEof
      ? new AgeError("truncated", `file truncated after payload chunk ${counter}`)
      : new AgeError("trailing_data", "trailing data after the end of the encrypted file")
  }
  throw new AgeError("bad_chunk", `payload chunk ${counter} failed authentication (corrupted or truncated file)`)
}

export const decryptStream = (identities: ReadonlyArray<AgeIdentity>): Transform => {
  let phase: "header" | "nonce" | "payload" = "header"
  let headerParts: Buffer[] = []
  let headerSize = 0
  const nonce = Buffer.alloc(NONCE_SIZE)
  let nonceFill = 0
  let fileKey: Buffer | undefined
  let key: Buffer | undefined
  const staging = Buffer.allocUnsafe(ENC_CHUNK)
  let fill = 0
  let counter = 0

  const feedPayload = (t: Transform, data: Buffer) => {
    let off = 0
    while (off < data.length) {
      if (phase === "nonce") {
        const n = Math.min(NONCE_SIZE - nonceFill, data.length - off)
        data.copy(nonce, nonceFill, off, off + n)
        nonceFill += n
        off += n
        if (nonceFill === NONCE_SIZE) {
          key = payloadKeyFor(fileKey!, nonce)
          phase = "payload"
        }
        continue
      }
      // A full chunk is opened as non-final only once more data shows it is not the last one.
      if (fill === ENC_CHUNK) {
        t.push(openChunk(key!, counter++, staging, false))
        fill = 0
      }
      const n = Math.min(ENC_CHUNK - fill, data.length - off)
      data.copy(staging, fill, off, off + n)
      fill += n
      off += n
    }
  }

  return new Transform({
    transform(data: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      try {
        if (phase === "header") {
          headerParts.push(data)
          headerSize += data.length
          // Headers are small; re-joining the few pieces received so far is cheap and bounded.
          const joined = headerParts.length === 1 ? data : Buffer.concat(headerParts, headerSize)
          headerParts = [joined]
          const headerLength = readHeaderLength(joined)
          if (headerLength === undefined) return cb()
          fileKey = openHeader(joined.subarray(0, headerLength), identities).fileKey
          headerParts = []
          phase = "nonce"
          feedPayload(this, joined.subarray(headerLength))
        } else {
          feedPayload(this, data)
        }
        cb()
      } catch (e) {
        cb(e as Error)
      }
    },
    flush(cb: TransformCallback) {
      try {
        if (phase === "header") {
          if (headerSize > 0) readHeaderLength(Buffer.concat(headerParts)) // bad_header beats truncated
          throw new AgeError("truncated", "file truncated inside the header")
        }
        if (phase === "nonce" || fill === 0) throw new AgeError("truncated", "file truncated before the payload")
        this.push(openChunk(key!, counter++, staging.subarray(0, fill), true))
        cb()
      } catch (e) {
        cb(e as Error)
      }
    }
  })
}

// ---------------------------------------------------------------------------------------------
// In-memory conveniences (tests, small blobs)

export const encrypt = (plaintext: Uint8Array, recipients: ReadonlyArray<string>): Buffer => {
  const fileKey = randomBytes(FILE_KEY_SIZE)
  const nonce = randomBytes(NONCE_SIZE)
  const key = payloadKeyFor(fileKey, nonce)
  const out: Buffer[] = [buildHeader(fileKey, recipients), nonce]
  const chunks = Math.max(1, Math.ceil(plaintext.length / PAYLOAD_CHUNK))
  for (let i = 0; i < chunks; i++) {
    const piece = plaintext.subarray(i * PAYLOAD_CHUNK, (i + 1) * PAYLOAD_CHUNK)
    out.push(aeadSeal(key, chunkNonce(i, i === chunks - 1), piece))
  }
  return Buffer.concat(out)
}

export const decrypt = (file: Uint8Array, identities: ReadonlyArray<AgeIdentity>): Buffer => {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength)
  const { parsed, fileKey } = openHeader(buf, identities)
  const hl = parsed.headerLength
  if (buf.length <= hl + NONCE_SIZE) throw new AgeError("truncated", "file truncated before the payload")
  const key = payloadKeyFor(fileKey, buf.subarray(hl, hl + NONCE_SIZE))
  const out: Buffer[] = []
  let pos = hl + NONCE_SIZE
  for (let i = 0; pos < buf.length; i++) {
    const end = Math.min(pos + ENC_CHUNK, buf.length)
    out.push(openChunk(key, i, buf.subarray(pos, end), end === buf.length))
    pos = end
  }
  return Buffer.concat(out)
}

// ---------------------------------------------------------------------------------------------
// Random access

export interface RandomAccess {
  /** May return fewer bytes than asked for only at end of file. */
  read(position: number, length: number): Promise<Buffer>
  readonly size: number
}

/** Reads exactly the header bytes of a file (growing reads; headers are normally < 1 KiB). */
export const readHeader = async (open: RandomAccess): Promise<Buffer> => {
  let want = 4096
  for (;;) {
    const buf = await open.read(0, Math.min(want, open.size))
    const len = readHeaderLength(buf)
    if (len !== undefined) return buf.subarray(0, len)
    if (buf.length >= open.size) throw new AgeError("truncated", "file truncated inside the header")
    want *= 4
  }
}

/** Plaintext length of a well-formed file of `fileSize` bytes; throws truncated for impossible sizes. */
export const plaintextSize = (headerLength: number, fileSize: number): number => {
  const payload = fileSize - headerLength - NONCE_SIZE
  if (payload < TAG_SIZE) throw new AgeError("truncated", "file too short for its payload")
  const chunks = Math.ceil(payload / ENC_CHUNK)
  const lastLen = payload - (chunks - 1) * ENC_CHUNK
  if (lastLen < TAG_SIZE) throw new AgeError("truncated", "file truncated inside a payload chunk")
  return payload - chunks * TAG_SIZE
}

export const plaintextOffsetToCiphertext = (
  headerLength: number,
  plaintextOffset: number
): { chunkIndex: number; fileOffset: number; skipInChunk: number } => {
  const chunkIndex = Math.floor(plaintextOffset / PAYLOAD_CHUNK)
  return {
    chunkIndex,
    fileOffset: headerLength + NONCE_SIZE + chunkIndex * ENC_CHUNK,
    skipInChunk: plaintextOffset - chunkIndex * PAYLOAD_CHUNK
  }
}

/**
 * Yields the plaintext bytes [start, endInclusive] (endInclusive is clamped to the last byte, as
 * HTTP ranges are), reading and authenticating only the chunks that cover them. The chunk that is
 * last by file size is opened with the last-chunk flag. With `verifyFinalChunk`, the final chunk is
 * authenticated even when the range does not reach it, which detects truncation at a chunk
 * boundary (one extra 64 KiB read per call).
 */
export async function* decryptRange(
  identities: ReadonlyArray<AgeIdentity>,
  open: RandomAccess,
  start: number,
  endInclusive: number,
  options?: { readonly verifyFinalChunk?: boolean }
): AsyncIterable<Buffer> {
  const header = await readHeader(open)
  const { fileKey } = openHeader(header, identities)
  const hl = header.length
  const size = plaintextSize(hl, open.size)
  const nonce = await open.read(hl, NONCE_SIZE)
  if (nonce.length !== NONCE_SIZE) throw new AgeError("truncated", "file truncated before the payload")
  const key = payloadKeyFor(fileKey, nonce)
  const lastIndex = Math.max(0, Math.ceil(size / PAYLOAD_CHUNK) - 1)

  const readChunk = async (index: number): Promise<Buffer> => {
    const { fileOffset } = plaintextOffsetToCiphertext(hl, index * PAYLOAD_CHUNK)
    const len = Math.min(ENC_CHUNK, open.size - fileOffset)
    const sealed = await open.read(fileOffset, len)
    if (sealed.length !== len) throw new AgeError("truncated", "short read from the encrypted file")
    return openChunk(key, index, sealed, index === lastIndex)
  }

  if (options?.verifyFinalChunk === true) await readChunk(lastIndex)
  const end = Math.min(endInclusive, size - 1)
  if (!Number.isSafeInteger(start) || start < 0 || start > end) {
    if (size === 0 && start === 0) return
    throw new RangeError(`age: invalid range ${start}-${endInclusive} for plaintext size ${size}`)
  }
  const first = plaintextOffsetToCiphertext(hl, start)
  const lastChunk = Math.floor(end / PAYLOAD_CHUNK)
  for (let i = first.chunkIndex; i <= lastChunk; i++) {
    const pt = await readChunk(i)
    const from = i === first.chunkIndex ? first.skipInChunk : 0
    const to = i === lastChunk ? end - i * PAYLOAD_CHUNK + 1 : pt.length
    yield pt.subarray(from, to)
  }
}
