import * as fs from "node:fs"
import { pipeline } from "node:stream/promises"
import { Effect, Option } from "effect"
import type { TenantId } from "../domain/Ids.js"
import * as Age from "./Age.js"
import { BlobStore } from "./BlobStore.js"
import { Cipher } from "./Cipher.js"
import { FileRepo } from "./FileRepo.js"

/**
 * Re-wraps every encrypted blob to the current master key: a new age header for the same file key,
 * followed by the unchanged payload bytes. Nothing is decrypted or re-uploaded.
 */
export class KeyRotation extends Effect.Service<KeyRotation>()("rustfs/KeyRotation", {
  effect: Effect.gen(function*() {
    const repo = yield* FileRepo
    const blobs = yield* BlobStore
    const cipher = yield* Cipher

    const rewrapFile = (tenant: string, fileId: string, recipient: string) =>
      blobs.rewrite(tenant, fileId, async (tmp) => {
        const src = blobs.blobPath(tenant, fileId)
        const fh = await fs.promises.open(src, "r")
        let header: Buffer
        try {
          const stat = await fh.stat()
          header = await Age.readHeader({
            size: stat.size,
            read: async (position, length) => {
              const buf = Buffer.allocUnsafe(length)
              const { bytesRead } = await fh.read(buf, 0, length, position)
              return buf.subarray(0, bytesRead)
            }
          })
        } finally {
          await fh.close()
        }
        const next = Age.rewrapHeader(header, cipher.identities, [recipient])
        const out = fs.createWriteStream(tmp, { flags: "wx", mode: 0o600, flush: true })
        out.write(next)
        await pipeline(fs.createReadStream(src, { start: header.length }), out)
      })

    const rotateAll = Effect.gen(function*() {
      let rewrapped = 0
      let alreadyCurrent = 0
      let failed = 0
      if (Option.isNone(cipher.recipient)) return { rewrapped, already_current: alreadyCurrent, failed }
      const recipient = cipher.recipient.value
      let after: { tenant: string; fileId: string } | null = null
      while (true) {
        const page: ReadonlyArray<{ tenant: TenantId; fileId: string; keyRecipient: string | null }> = yield* repo
          .encryptedFiles(after, 200)
        for (const f of page) {
          if (f.keyRecipient === recipient) {
            alreadyCurrent++
            continue
          }
          const outcome = yield* repo.withFileLocked(f.tenant, f.fileId, (stored) =>
            stored.blobPurged || stored.keyRecipient === recipient
              ? Effect.succeed("current" as const)
              : rewrapFile(f.tenant, f.fileId, recipient).pipe(
                Effect.zipRight(repo.setKeyRecipient(f.tenant, f.fileId, recipient)),
                Effect.as("rewrapped" as const)
              )
          ).pipe(
            Effect.map(Option.getOrElse(() => "current" as const)),
            Effect.catchAll((cause) =>
              Effect.logError("key rotation failed for a file", { file_id: f.fileId }, cause).pipe(Effect.as("failed" as const))
            )
          )
          if (outcome === "rewrapped") rewrapped++
          else if (outcome === "current") alreadyCurrent++
          else failed++
        }
        const last: { tenant: TenantId; fileId: string } | undefined = page[page.length - 1]
        if (last === undefined || page.length < 200) break
        after = { tenant: last.tenant, fileId: last.fileId }
      }
      return { rewrapped, already_current: alreadyCurrent, failed }
    }).pipe(Effect.withSpan("KeyRotation.rotateAll"))

    return { rotateAll } as const
  })
}) {}
