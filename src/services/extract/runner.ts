import { Data, Duration, Effect } from "effect"
import { fork } from "node:child_process"
import { existsSync } from "node:fs"
import path from "node:path"
import { Worker } from "node:worker_threads"
import { defaultLimits, notExtracted, type ExtractLimits, type Outcome, type SourceInfo } from "./types.js"

/** The worker thread could not run (missing script, crash outside the parsers): not the file's fault. */
export class ExtractWorkerError extends Data.TaggedError("ExtractWorkerError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface WorkerRequest {
  readonly bytes: Uint8Array
  readonly info: SourceInfo
  readonly limits: ExtractLimits
}

export interface RunOptions {
  /** Path of the bundled worker script (`dist/extract-worker.js`); else OPENCLAW_EXTRACT_WORKER, else next to this bundle. */
  readonly workerPath?: string
  /**
   * `thread` (default): a worker thread with V8 resource limits, cheap to start. A single huge
   * allocation past the limit can still abort the whole process (nodejs/node#47224); `process` runs
   * the same script in a child process with --max-old-space-size, so nothing the file does can take
   * the caller down, at the cost of a process start per file.
   */
  readonly isolation?: "thread" | "process"
}

const workerFile = "extract-worker.js"

/** Bundled code may sit in dist/ or dist/chunks/ (the banner defines `__dirname` for both). */
export const resolveWorkerPath = (options: RunOptions = {}): string | undefined => {
  const explicit = options.workerPath ?? process.env["OPENCLAW_EXTRACT_WORKER"]
  if (explicit !== undefined && explicit !== "") return explicit
  const here = typeof __dirname === "string" ? __dirname : process.cwd()
  return [path.join(here, workerFile), path.join(here, "..", workerFile)].find((p) => existsSync(p))
}

/**
 * Extracts in a worker thread (or child process, see `RunOptions.isolation`) bounded by
 * `limits.timeoutMs` and a `limits.maxMemoryMb` heap: a hostile file that hangs a parser or exhausts
 * memory yields a `limit` outcome, and the thread or process is ended (also when the caller is
 * interrupted). Fails with `ExtractWorkerError` only when the extraction could not run at all.
 */
export const runExtraction = Effect.fn("Extract.runExtraction")(function* (
  bytes: Uint8Array,
  info: SourceInfo = {},
  overrides: Partial<ExtractLimits> = {},
  options: RunOptions = {}
) {
  const limits: ExtractLimits = { ...defaultLimits, ...overrides }
  if (bytes.length > limits.maxBytes) {
    return notExtracted("limit", `file is ${bytes.length} bytes (limit ${limits.maxBytes})`, "binary")
  }
  const script = resolveWorkerPath(options)
  if (script === undefined) {
    return yield* new ExtractWorkerError({ message: `${workerFile} not found (set OPENCLAW_EXTRACT_WORKER)` })
  }
  const request: WorkerRequest = { bytes, info, limits }
  const outcome = options.isolation === "process" ? inProcess(script, request) : inThread(script, request)
  return yield* outcome.pipe(
    Effect.timeoutTo({
      duration: Duration.millis(limits.timeoutMs),
      onSuccess: (o): Outcome => o,
      onTimeout: (): Outcome => notExtracted("limit", `extraction took longer than ${limits.timeoutMs} ms`, "binary")
    })
  )
})

const memoryLimit = (limits: ExtractLimits) =>
  notExtracted("limit", `extraction exceeded the ${limits.maxMemoryMb} MB memory limit`, "binary")

const inThread = (script: string, request: WorkerRequest) =>
  Effect.async<Outcome, ExtractWorkerError>((resume) => {
    const { limits } = request
    let worker: Worker
    try {
      worker = new Worker(script, {
        workerData: request,
        resourceLimits: {
          maxOldGenerationSizeMb: limits.maxMemoryMb,
          maxYoungGenerationSizeMb: Math.max(16, Math.min(64, Math.floor(limits.maxMemoryMb / 8))),
          stackSizeMb: 8
        },
        stdout: true,
        stderr: true
      })
    } catch (cause) {
      resume(Effect.fail(new ExtractWorkerError({ message: `cannot start ${script}`, cause })))
      return
    }
    let settled = false
    const settle = (result: Effect.Effect<Outcome, ExtractWorkerError>) => {
      if (settled) return
      settled = true
      void worker.terminate()
      resume(result)
    }
    worker.once("message", (outcome: Outcome) => settle(Effect.succeed(outcome)))
    worker.once("error", (cause: Error & { code?: string }) =>
      settle(
        cause.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? Effect.succeed(memoryLimit(limits))
          : Effect.fail(new ExtractWorkerError({ message: `extraction worker crashed: ${cause.message}`, cause }))
      )
    )
    worker.once("exit", (code) =>
      settle(Effect.fail(new ExtractWorkerError({ message: `extraction worker exited with code ${code} without an outcome` })))
    )
    return Effect.sync(() => {
      settled = true
      void worker.terminate()
    })
  })

const inProcess = (script: string, request: WorkerRequest) =>
  Effect.async<Outcome, ExtractWorkerError>((resume) => {
    const { limits } = request
    const child = fork(script, [], {
      execArgv: [`--max-old-space-size=${limits.maxMemoryMb}`],
      serialization: "advanced",
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { PATH: process.env["PATH"] ?? "" }
    })
    let stderr = ""
    child.stderr?.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString("utf8")).slice(-4096)
    })
    let settled = false
    const settle = (result: Effect.Effect<Outcome, ExtractWorkerError>) => {
      if (settled) return
      settled = true
      child.kill("SIGKILL")
      resume(result)
    }
    child.once("message", (outcome) => settle(Effect.succeed(outcome as Outcome)))
    child.once("error", (cause) => settle(Effect.fail(new ExtractWorkerError({ message: `cannot run ${script}: ${cause.message}`, cause }))))
    // "close", not "exit": the child exits right after sending its outcome, and "exit" can be
    // emitted before that message is; "close" comes after the IPC channel has delivered everything.
    child.once("close", (code, signal) =>
      settle(
        /heap out of memory|Allocation failed/.test(stderr)
          ? Effect.succeed(memoryLimit(limits))
          : Effect.fail(new ExtractWorkerError({ message: `extraction process exited (${signal ?? code}) without an outcome: ${stderr.slice(-500)}` }))
      )
    )
    child.send(request)
    return Effect.sync(() => {
      settled = true
      child.kill("SIGKILL")
    })
  })
