import { Config, ConfigError, Either, Option } from "effect"

/** A configuration error that names the variable (and never echoes a secret value). */
export const invalidConfig = (name: string, message: string) => ConfigError.InvalidData([name], `${name}: ${message}`)

/** `true/1/false/0` only: anything else is a start-up error rather than a silent "off". */
export const strictBoolean = (name: string, fallback: boolean) =>
  Config.string(name).pipe(
    Config.option,
    Config.mapOrFail((value) => {
      const v = Option.getOrUndefined(value)?.trim().toLowerCase()
      if (v === undefined || v === "") return Either.right(fallback)
      if (v === "true" || v === "1") return Either.right(true)
      if (v === "false" || v === "0") return Either.right(false)
      return Either.left(invalidConfig(name, `expected true, 1, false or 0, got "${v.slice(0, 20)}"`))
    })
  )

const atLeast = (name: string, fallback: number, min: number, integer: boolean) =>
  Config.string(name).pipe(
    Config.option,
    Config.mapOrFail((value) => {
      const raw = Option.getOrUndefined(value)?.trim()
      if (raw === undefined || raw === "") return Either.right(fallback)
      const n = Number(raw)
      return (integer ? Number.isSafeInteger(n) : Number.isFinite(n)) && n >= min
        ? Either.right(n)
        : Either.left(invalidConfig(name, `expected ${integer ? "an integer" : "a number"} >= ${min}, got "${raw.slice(0, 20)}"`))
    })
  )

/** An integer of at least `min`; unset or empty gives `fallback`. */
export const integerAtLeast = (name: string, fallback: number, min = 1) => atLeast(name, fallback, min, true)

/** A number of at least `min`; unset or empty gives `fallback`. */
export const numberAtLeast = (name: string, fallback: number, min: number) => atLeast(name, fallback, min, false)

/** A variable holding a JSON array; `describe` says what the entries should be. */
export const parseJsonArray = (name: string, json: string, describe: string): Either.Either<Array<unknown>, ConfigError.ConfigError> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch {
    return Either.left(invalidConfig(name, `is not valid JSON (expected ${describe})`))
  }
  return Array.isArray(parsed) ? Either.right(parsed) : Either.left(invalidConfig(name, `must be ${describe}`))
}
