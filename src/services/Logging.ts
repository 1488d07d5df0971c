import { Config, Effect, Logger, LogLevel } from "effect"

/** JSON log lines on stdout, at the level named by `levelVar` (default info). */
export const withLogging = (levelVar: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const level = yield* Config.logLevel(levelVar).pipe(Config.withDefault(LogLevel.Info), Effect.orElseSucceed(() => LogLevel.Info))
    return yield* self.pipe(Logger.withMinimumLogLevel(level))
  }).pipe(Effect.provide(Logger.json))
