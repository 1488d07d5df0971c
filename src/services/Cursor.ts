import { Effect } from "effect"
import { BadCursor } from "./FileRepo.js"

/** Opaque keyset cursor: a timestamp and the id that breaks ties. */
export interface CursorKey {
  readonly t: number
  readonly id: string
}

export const encodeCursor = (key: CursorKey): string => Buffer.from(JSON.stringify([key.t, key.id])).toString("base64url")

export const decodeCursor = (cursor: string): Effect.Effect<CursorKey, BadCursor> =>
  Effect.try({
    try: () => {
      const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
      if (
        Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) &&
        typeof value[1] === "string" && /^[0-9a-f]{64}$/.test(value[1])
      ) {
        return { t: value[0] as number, id: value[1] }
      }
      throw new Error("shape")
    },
    catch: () => new BadCursor()
  })
