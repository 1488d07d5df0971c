import { FiberRef } from "effect"

/** The id of the HTTP request being served (echoed as `x-request-id`, written to logs and the audit log). */
export const currentRequestId = FiberRef.unsafeMake<string | null>(null)
