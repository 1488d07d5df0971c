import { Command, ValidationError } from "@effect/cli"
import { defaultTeardown } from "@effect/platform/Runtime"
import { NodeContext, NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Effect, Exit, Logger, LogLevel } from "effect"
import { CliError, describeCause } from "../cli/errors.js"
import { dbCommand } from "../cli/db.js"
import { filesCommand } from "../cli/files.js"
import { keysCommand } from "../cli/keys.js"
import { memoryCommand, queueCommand } from "../cli/memory.js"
import { normalizeArgv, root } from "../cli/root.js"
import { statusCommand } from "../cli/status.js"

/** The admin CLI `openclaw-stack`. Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted. */
const cli = root.pipe(Command.withSubcommands([filesCommand, keysCommand, dbCommand, statusCommand, memoryCommand, queueCommand]))

const run = Command.run(cli, { name: "openclaw-stack", version: "0.1.0" })

const setExitCode = (code: number) => Effect.sync(() => {
  process.exitCode = code
})

const main = Effect.suspend(() => run(normalizeArgv(process.argv))).pipe(
  Effect.catchAllCause((cause) => {
    if (Cause.isInterruptedOnly(cause)) return setExitCode(130)
    const error = Cause.squash(cause)
    // @effect/cli has already printed usage errors with the relevant help.
    if (ValidationError.isValidationError(error)) return setExitCode(2)
    if (error instanceof CliError) return Console.error(`error: ${error.message}`).pipe(Effect.zipRight(setExitCode(error.exitCode)))
    return Console.error(`error: ${describeCause(error)}`).pipe(
      Effect.zipRight(Effect.logDebug("unexpected failure", cause)),
      Effect.zipRight(setExitCode(1))
    )
  }),
  // undici: stream request bodies are pulled as the socket drains (see cli/client.ts).
  Effect.provide(NodeHttpClient.layerUndici),
  Effect.provide(NodeContext.layer)
)

/** Logs are for diagnosis only (stdout carries results): logfmt on stderr, warnings and up by default. */
const withCliLogging = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const level = yield* Config.logLevel("OPENCLAW_CLI_LOG_LEVEL").pipe(
      Config.withDefault(LogLevel.Warning),
      Effect.orElseSucceed(() => LogLevel.Warning)
    )
    return yield* Logger.withMinimumLogLevel(self, level)
  }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.logfmtLogger))))

NodeRuntime.runMain(withCliLogging(main), {
  disablePrettyLogger: true,
  disableErrorReporting: true,
  teardown: (exit, onExit) =>
    Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)
      ? onExit(130)
      : defaultTeardown(exit, (code) => onExit(code === 0 && typeof process.exitCode === "number" ? process.exitCode : code))
})
