import { Data, type Effect } from "effect"

export type EmbedPurpose = "query" | "document"

export type EmbedderErrorReason = "unavailable" | "bad_response" | "timeout" | "config"

/**
 * The message is written to be logged and shown to operators: it never contains API keys, request
 * bodies or URLs with credentials, which is also why HTTP failures keep no `cause`.
 */
export class EmbedderError extends Data.TaggedError("EmbedderError")<{
  readonly reason: EmbedderErrorReason
  readonly message: string
}> {}

export interface EmbedderShape {
  /** Identifies the vector space (implementation, model, dimensions); stored with the collection. */
  readonly id: string
  readonly dimensions: number
  /** One vector per text, in order; every vector is L2-normalized or all zeros. */
  readonly embed: (
    texts: ReadonlyArray<string>,
    purpose: EmbedPurpose
  ) => Effect.Effect<ReadonlyArray<Float32Array>, EmbedderError>
}

export const l2Normalize = (v: Float32Array): Float32Array => {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!
  if (sum > 0) {
    const inv = 1 / Math.sqrt(sum)
    for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv
  }
  return v
}

/** Drops credentials, query and fragment so that an endpoint can appear in an error message. */
export const safeEndpoint = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}${u.pathname}`
  } catch {
    return "<invalid url>"
  }
}
