import { Command, Options } from "@effect/cli"
import { Config, Option, Redacted } from "effect"
import { TenantId } from "../domain/Ids.js"

export const DEFAULT_RUSTFS_URL = "http://127.0.0.1:8099"

const nonEmptySecret = (name: string) =>
  Config.redacted(name).pipe(
    Config.option,
    Config.map(Option.filter((v) => Redacted.value(v).trim() !== ""))
  )

/** `RUSTFS_API_KEY`, else `OPENCLAW_RUSTFS_API_KEY` (the name compose gives the CLI container). */
const apiKeyFromEnv = Config.all([nonEmptySecret("RUSTFS_API_KEY"), nonEmptySecret("OPENCLAW_RUSTFS_API_KEY")]).pipe(
  Config.map(([primary, compose]) => Option.orElse(primary, () => compose))
)

export const globalOptions = {
  url: Options.text("url").pipe(
    Options.withFallbackConfig(Config.string("RUSTFS_BASE_URL").pipe(Config.withDefault(DEFAULT_RUSTFS_URL))),
    Options.withDescription(`RustFS base URL (env RUSTFS_BASE_URL, default ${DEFAULT_RUSTFS_URL})`)
  ),
  apiKey: Options.redacted("api-key").pipe(
    Options.map(Option.some),
    Options.withFallbackConfig(apiKeyFromEnv),
    Options.withDescription("API key sent as x-api-key (env RUSTFS_API_KEY or OPENCLAW_RUSTFS_API_KEY)")
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

/**
 * @effect/cli reads a parent command's options only before the subcommand name, but
 * `openclaw-stack files ls --json` is what people type: move the global options to the front.
 * Stops at `--`; `argv` is `process.argv` (node, script, args...).
 */
export const hoistGlobalOptions = (argv: ReadonlyArray<string>): Array<string> => {
  const [node = "node", script = "openclaw-stack", ...args] = argv
  const hoisted: Array<string> = []
  const rest: Array<string> = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === "--") {
      rest.push(...args.slice(i))
      break
    }
    const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg
    if (flags.has(arg)) {
      hoisted.push(arg)
    } else if (valued.has(name) && name !== arg) {
      hoisted.push(name, arg.slice(name.length + 1))
    } else if (valued.has(arg) && i + 1 < args.length) {
      hoisted.push(arg, args[i + 1]!)
      i++
    } else {
      rest.push(arg)
    }
  }
  return [node, script, ...hoisted, ...rest]
}
