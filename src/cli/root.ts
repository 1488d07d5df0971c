import { Command, Options } from "@effect/cli"
import { Config, Option, Redacted } from "effect"
import { TenantId } from "../domain/Ids.js"
import { readStackKeys, type StackKeys } from "../services/StackKeys.js"

export const DEFAULT_RUSTFS_URL = "http://127.0.0.1:8099"

/**
 * The first non-empty of `names`. When none of them is set at all, `fallback` (the keys `npm start`
 * generated); one set to "" means "no key", so an empty variable still turns the fallback off.
 */
export const secretFromEnv = (names: ReadonlyArray<string>, fallback: (keys: StackKeys) => string) =>
  Config.all([
    Config.all(names.map((name) => Config.option(Config.redacted(name)))),
    Config.string("OPENCLAW_DATA_DIR").pipe(Config.withDefault("./data"))
  ]).pipe(
    Config.map(([given, dataDir]): Option.Option<Redacted.Redacted<string>> => {
      const present = given.filter(Option.isSome).map((o) => o.value)
      if (present.length > 0) return Option.fromNullable(present.find((v) => Redacted.value(v).trim() !== ""))
      return Option.map(Option.fromNullable(readStackKeys(dataDir)), (keys) => Redacted.make(fallback(keys)))
    })
  )

/** `RUSTFS_API_KEY`, else `OPENCLAW_RUSTFS_API_KEY` (the name compose gives the CLI container), else stack-keys.json. */
const apiKeyFromEnv = secretFromEnv(["RUSTFS_API_KEY", "OPENCLAW_RUSTFS_API_KEY"], (keys) => keys.rustfs.keys.admin)

export const globalOptions = {
  url: Options.text("url").pipe(
    Options.withFallbackConfig(Config.string("RUSTFS_BASE_URL").pipe(Config.withDefault(DEFAULT_RUSTFS_URL))),
    Options.withDescription(`RustFS base URL (env RUSTFS_BASE_URL, default ${DEFAULT_RUSTFS_URL})`)
  ),
  apiKey: Options.redacted("api-key").pipe(
    Options.map(Option.some),
    Options.withFallbackConfig(apiKeyFromEnv),
    Options.withDescription(
      "API key sent as x-api-key (env RUSTFS_API_KEY or OPENCLAW_RUSTFS_API_KEY; when neither is set, the admin key " +
        "in $OPENCLAW_DATA_DIR/stack-keys.json, default ./data, written by `npm start`)"
    )
  ),
  tenant: Options.text("tenant").pipe(
    Options.withSchema(TenantId),
    Options.optional,
    Options.withDescription("Tenant: honoured by the server only with auth off; for `keys`, the tenant of the keys")
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Machine-readable output (JSON / JSON lines)"))
}

export const root = Command.make("openclaw-stack", globalOptions).pipe(
  Command.withDescription("Administration of the OpenClaw stack (RustFS file archive, keys, database)")
)

const valued = new Set(["--url", "--api-key", "--tenant"])
const flags = new Set(["--json"])
/** Long spellings @effect/cli would not accept (one-letter names are short options there). */
const renamed: Record<string, string> = { "--q": "--query" }

/**
 * @effect/cli reads a parent command's options only before the subcommand name, but
 * `openclaw-stack files ls --json` is what people type: move the global options to the front.
 * Stops at `--`; `argv` is `process.argv` (node, script, args...).
 */
export const normalizeArgv = (argv: ReadonlyArray<string>): Array<string> => {
  const [node = "node", script = "openclaw-stack", ...args] = argv
  const hoisted: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      rest.push(...args.slice(i))
      break
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1
    const given = eq > 0 ? arg.slice(0, eq) : arg
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined
    const name = renamed[given] ?? given
    if (flags.has(name) && inline === undefined) {
      hoisted.push(name)
    } else if (valued.has(name) && inline !== undefined) {
      hoisted.push(name, inline)
    } else if (valued.has(name) && i + 1 < args.length) {
      hoisted.push(name, args[++i]!)
    } else {
      rest.push(inline === undefined ? name : `${name}=${inline}`)
    }
  }
  return [node, script, ...hoisted, ...rest]
}
