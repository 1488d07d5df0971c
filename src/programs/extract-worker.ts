// Extraction entry of the rustfs-worker (bundled to dist/extract-worker.js), run as a worker thread
// (request in workerData) or as a child process (request over IPC): it extracts the document and
// posts the outcome back. Time and memory limits are enforced by the parent.
import { parentPort, workerData } from "node:worker_threads"
import { extract } from "../services/extract/extract.js"
import type { WorkerRequest } from "../services/extract/runner.js"

const run = (request: WorkerRequest) => extract(request.bytes, request.info, request.limits)

if (parentPort !== null) {
  parentPort.postMessage(await run(workerData as WorkerRequest))
} else if (process.send !== undefined) {
  process.once("message", (request) => {
    void run(request as WorkerRequest).then((outcome) => process.send!(outcome, () => process.exit(0)))
  })
}
