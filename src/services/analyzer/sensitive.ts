/**
 * Secret detection. Only shapes that are secrets by construction (vendor key prefixes, PEM private
 * key armour, JWTs whose header decodes to JSON with "alg", an explicit "password is X") are caught;
 * bare hex digests, UUIDs, commit ids and base64 blobs carry no key prefix and are not.
 */

export interface SensitiveVerdict {
  readonly sensitive: boolean
  readonly reason?: string
}

export interface SecretMatch {
  readonly reason: string
  readonly start: number
  readonly end: number
}

interface Detector {
  readonly reason: string
  readonly pattern: RegExp
  readonly accept?: (match: RegExpExecArray) => boolean
}

const hasDigitAndLetter = (s: string) => /\d/.test(s) && /[A-Za-z]/.test(s)

const decodesToJwtHeader = (part: string): boolean => {
  try {
    const header: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"))
    return typeof header === "object" && header !== null && !Array.isArray(header) && "alg" in header
  } catch {
    return false
  }
}

/** Words that follow "password is" in prose about passwords rather than in a disclosed password. */
const PASSWORD_PROSE = new Set([
  "a", "an", "the", "not", "too", "very", "now", "still", "also", "being", "required", "needed", "necessary",
  "mandatory", "optional", "wrong", "incorrect", "invalid", "correct", "right", "expired", "weak", "strong",
  "secure", "insecure", "changed", "reset", "set", "empty", "blank", "missing", "hashed", "encrypted",
  "stored", "saved", "long", "short", "case-sensitive", "same", "different", "forgotten", "lost", "locked",
  "unknown", "hidden", "masked", "redacted", "there", "here", "in", "on", "at", "for", "of", "to", "and",
  "or", "that", "this", "it", "your", "my", "our", "their", "his", "her", "what", "which", "how", "where",
  "case", "sensitive", "must", "should", "will", "can", "cannot"
])
const PASSWORD_PROSE_ZH = /^(?:什么|多少|啥|哪|错误|错了|不对|正确|对的|必须|需要|必需|过期|已过期|太短|太长|太弱|很弱|很强|不能|不可|不可以|至少|区分|已修改|修改|重置|空|一样|相同|不同|多长|几位|怎么)/u

const DETECTORS: ReadonlyArray<Detector> = [
  {
    reason: "private_key",
    pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g
  },
  {
    reason: "openai_key",
    pattern: /(?<![A-Za-z0-9_-])sk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-)?)?[A-Za-z0-9_-]{20,}/g,
    accept: (m) => hasDigitAndLetter(m[0].slice(3))
  },
  { reason: "github_token", pattern: /(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{30,}/g },
  { reason: "github_token", pattern: /(?<![A-Za-z0-9_])github_pat_[A-Za-z0-9_]{22,}/g },
  { reason: "aws_access_key", pattern: /(?<![A-Z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Z0-9])/g },
  {
    reason: "aws_secret_key",
    pattern: /aws_?secret_?access_?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])/gi
  },
  { reason: "slack_token", pattern: /(?<![A-Za-z0-9])xox[baprs]-[A-Za-z0-9-]{10,}/g },
  { reason: "google_api_key", pattern: /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g },
  {
    reason: "jwt",
    pattern: /(?<![A-Za-z0-9_-])(eyJ[A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    accept: (m) => decodesToJwtHeader(m[1]!)
  },
  {
    reason: "password",
    pattern: /\b(?:password|passwd|passcode|passphrase|pwd)\b\s*(?:(?:is|was)\b\s*:?|[:=])\s*(["'`]?)([^\s"'`,;]+)/gi,
    accept: (m) => {
      const value = m[2]!.toLowerCase().replace(/[.!?]+$/, "")
      if (value.length < 3 || value.startsWith("/") || /^[*x•.]+$/.test(value)) return false
      return m[1] !== "" || !PASSWORD_PROSE.has(value)
    }
  },
  {
    reason: "password",
    pattern: /(?:密码|口令|密钥|pin码|PIN码)\s*(?:是|为|[:=：])\s*["'“「]?([^\s，。,;；！!？?"'”」]+)/gu,
    accept: (m) => !PASSWORD_PROSE_ZH.test(m[1]!) && m[1]!.length >= 3
  },
  {
    reason: "credential_assignment",
    pattern:
      /\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|bearer)\b["']?\s*[:=]?\s*["']?([A-Za-z0-9_\-./+]{16,})/gi,
    accept: (m) => hasDigitAndLetter(m[1]!)
  }
]

export const findSecrets = (text: string): Array<SecretMatch> => {
  const out: Array<SecretMatch> = []
  for (const d of DETECTORS) {
    d.pattern.lastIndex = 0
    for (let m = d.pattern.exec(text); m !== null; m = d.pattern.exec(text)) {
      if (m[0].length === 0) {
        d.pattern.lastIndex++
        continue
      }
      if (d.accept === undefined || d.accept(m)) out.push({ reason: d.reason, start: m.index, end: m.index + m[0].length })
    }
  }
  return out
}

export interface SensitiveFilter {
  readonly isSensitive: (text: string) => SensitiveVerdict
  readonly matches: (text: string) => Array<SecretMatch>
}

const global = (re: RegExp) => new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g")

/**
 * Built-in detectors plus configured deny patterns; a match is dropped when an allow pattern matches
 * the matched text itself (allow wins). Disabled, nothing is sensitive.
 */
export const makeSensitiveFilter = (options: {
  readonly enabled: boolean
  readonly deny: ReadonlyArray<RegExp>
  readonly allow: ReadonlyArray<RegExp>
}): SensitiveFilter => {
  const deny = options.deny.map(global)
  const allow = options.allow.map((re) => new RegExp(re.source, re.flags.replace("g", "")))
  const matches = (text: string): Array<SecretMatch> => {
    if (!options.enabled) return []
    const found = findSecrets(text)
    for (const re of deny) {
      re.lastIndex = 0
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0].length === 0) {
          re.lastIndex++
          continue
        }
        found.push({ reason: "deny_regex", start: m.index, end: m.index + m[0].length })
      }
    }
    if (allow.length === 0) return found
    return found.filter((f) => {
      const span = text.slice(f.start, f.end)
      return !allow.some((re) => re.test(span))
    })
  }
  const isSensitive = (text: string): SensitiveVerdict => {
    const first = matches(text)[0]
    return first === undefined ? { sensitive: false } : { sensitive: true, reason: first.reason }
  }
  return { isSensitive, matches }
}
