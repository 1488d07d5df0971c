import { blobPathFor } from "../services/BlobStore.js"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { pipeline } from "node:stream/promises"
import { Args, Command, Options } from "@effect/cli"
import { Config, Console, Effect, Option, Redacted } from "effect"
import type { Role } from "../domain/Ids.js"
import * as Age from "../services/Age.js"
import { describeCause, failure, usage } from "./errors.js"
import { root } from "./root.js"

const DEFAULT_TENANT = "default"
const ROLES: ReadonlyArray<Role> = ["reader", "writer", "worker", "admin"]

const randomKey = () => randomBytes(32).toString("base64url")

/** `KEY='value'` for a .env file (compose keeps single-quoted values literal). */
const envLine = (name: string, value: string) => `${name}='${value.replace(/'/g, `'\\''`)}'`

const tenantOf = Effect.map(root, (g) => Option.getOrElse(g.tenant, () => DEFAULT_TENANT))

const generate = Command.make("generate", {
  env: Options.boolean("env").pipe(
    Options.withDescription("print OPENCLAW_RUSTFS_*='…' lines for .env instead of JSON")
  )
}, ({ env }) =>
  Effect.gen(function*() {
    const tenant = yield* tenantOf
    const keys = ROLES.map((role) => ({ key: randomKey(), tenant_id: tenant, role }))
    const keyOf = (role: Role) => keys.find((k) => k.role === role)!.key
    const master = Age.generateIdentity()
    const signing = randomKey()
    if (!env) {
      return yield* Console.log(JSON.stringify(
        { RUSTFS_API_KEYS_JSON: keys, RUSTFS_SIGNING_KEY: signing, RUSTFS_MASTER_KEY: master.encoded },
        null,
        2
      ))
    }
    yield* Console.log([
      `# openclaw-stack keys generate: tenant ${tenant}, ${new Date().toISOString()}`,
      envLine("OPENCLAW_RUSTFS_API_KEYS_JSON", JSON.stringify(keys)),
      envLine("OPENCLAW_RUSTFS_SIGNING_KEY", signing),
      `# age recipient of the master key: ${master.recipient}. Keep a copy of the key off the server.`,
      envLine("OPENCLAW_RUSTFS_MASTER_KEY", master.encoded),
      envLine("OPENCLAW_RUSTFS_WORKER_API_KEY", keyOf("worker")),
      "# the key the CLI uses (admin)",
      envLine("OPENCLAW_RUSTFS_API_KEY", keyOf("admin")),
      envLine("OPENCLAW_RUSTFS_DB_PASSWORD", randomBytes(24).toString("hex"))
    ].join("\n"))
  })).pipe(Command.withDescription("Print a fresh set of API keys, signing key and master key"))

// ---------------------------------------------------------------------------------------------
// master keys

const masterKeyFile = Options.file("master-key-file", { exists: "yes" }).pipe(
  Options.optional,
  Options.withDescription("read the master key from this file instead of RUSTFS_MASTER_KEY")
)

const secretList = (name: string) =>
  Config.redacted(name).pipe(
    Config.option,
    Config.map(Option.match({
      onNone: () => [] as Array<string>,
      onSome: (v) => Redacted.value(v).split(",").map((s) => s.trim()).filter((s) => s !== "")
    }))
  )

/** Non-comment lines of a key file: one master key (or AGE-SECRET-KEY) per line. */
const readKeyFile = (file: string) =>
  Effect.try({
    try: () =>
      fs.readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#")),
    catch: (e) => failure(`reading ${file}: ${describeCause(e)}`)
  })

const toIdentity = (key: string, origin: string) =>
  Effect.try({
    try: () => Age.identityFromPassphraseKey(key),
    catch: (e) => failure(`${origin}: ${describeCause(e)}`)
  })

/** The current master key (file or RUSTFS_MASTER_KEY) first, then RUSTFS_PREVIOUS_MASTER_KEYS. */
const masterIdentities = (file: Option.Option<string>, withPrevious: boolean) =>
  Effect.gen(function*() {
    const current = Option.isSome(file) ? yield* readKeyFile(file.value) : yield* secretList("RUSTFS_MASTER_KEY")
    const previous = withPrevious ? yield* secretList("RUSTFS_PREVIOUS_MASTER_KEYS") : []
    if (current.length === 0 && previous.length === 0) {
      return yield* usage("no master key: set RUSTFS_MASTER_KEY or pass --master-key-file")
    }
    const origin = Option.getOrElse(file, () => "RUSTFS_MASTER_KEY")
    return [
      ...(yield* Effect.forEach(current, (k) => toIdentity(k, origin))),
      ...(yield* Effect.forEach(previous, (k) => toIdentity(k, "RUSTFS_PREVIOUS_MASTER_KEYS")))
    ]
  })

const identity = Command.make("identity", { masterKeyFile }, ({ masterKeyFile }) =>
  Effect.gen(function*() {
    const ids = yield* masterIdentities(masterKeyFile, false)
    yield* Console.log(ids.map((id) => `# public key: ${id.recipient}\n${id.encoded}`).join("\n"))
  })).pipe(
    Command.withDescription(
      "Print the master key as an age identity file, for offline decryption: age -d -i identity.txt <blob> > out"
    )
  )

// ---------------------------------------------------------------------------------------------
// blobs on disk

const dataDirOption = Options.directory("data-dir").pipe(
  Options.withFallbackConfig(Config.string("RUSTFS_DATA_DIR").pipe(Config.withDefault("./data/rustfs"))),
  Options.withDescription("RustFS data directory (env RUSTFS_DATA_DIR, default ./data/rustfs)")
)

export const blobPath = (dataDir: string, tenant: string, fileId: string) => blobPathFor(path.resolve(dataDir), tenant, fileId)

const FILE_ID = /^[0-9a-f]{64}$/

const locate = Command.make("locate", {
  id: Args.text({ name: "id" }).pipe(Args.withDescription("full file id")),
  dataDir: dataDirOption
}, ({ dataDir, id }) =>
  Effect.gen(function*() {
    const fileId = id.trim().toLowerCase()
    if (!FILE_ID.test(fileId)) return yield* usage("locate needs the full 64-character file id")
    yield* Console.log(blobPath(dataDir, yield* tenantOf, fileId))
  })).pipe(Command.withDescription("Print where a file's blob lives under the data dir (--tenant, default `default`)"))

const decrypt = Command.make("decrypt", {
  blob: Args.text({ name: "blob" }).pipe(Args.withDescription("blob path, or a file id (found under --data-dir for --tenant)")),
  output: Options.text("output").pipe(Options.withAlias("o"), Options.optional, Options.withDescription("default: stdout")),
  dataDir: dataDirOption,
  masterKeyFile
}, ({ blob, dataDir, masterKeyFile, output }) =>
  Effect.gen(function*() {
    const identities = yield* masterIdentities(masterKeyFile, true)
    const source = !fs.existsSync(blob) && FILE_ID.test(blob.toLowerCase())
      ? blobPath(dataDir, yield* tenantOf, blob.toLowerCase())
      : blob
    if (!fs.existsSync(source)) return yield* failure(`${source}: no such file`)
    const target = Option.getOrUndefined(Option.filter(output, (o) => o !== "-"))
    const tmp = target === undefined
      ? undefined
      : path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString("hex")}.part`)
    yield* Effect.tryPromise({
      try: async () => {
        const sink = tmp === undefined ? process.stdout : fs.createWriteStream(tmp, { flags: "wx", mode: 0o600 })
        await pipeline(fs.createReadStream(source), Age.decryptStream(identities), sink, { end: tmp !== undefined })
        if (tmp !== undefined && target !== undefined) await fs.promises.rename(tmp, target)
      },
      catch: (e) => {
        if (tmp !== undefined) fs.rmSync(tmp, { force: true })
        const reason = Age.isAgeError(e) && e.reason === "no_identity_matched"
          ? "none of the master keys (RUSTFS_MASTER_KEY, RUSTFS_PREVIOUS_MASTER_KEYS) opens this file"
          : Age.isAgeError(e) && e.reason === "bad_header"
          ? "not an age-encrypted file (blobs stored without RUSTFS_MASTER_KEY are plain: copy them as they are)"
          : describeCause(e)
        return failure(`decrypting ${source}: ${reason}`)
      }
    })
  })).pipe(Command.withDescription("Decrypt a stored blob with the master key(s), like `age -d -i`"))

export const keysCommand = Command.make("keys").pipe(
  Command.withDescription("Keys: generation, the master key as an age identity, offline decryption"),
  Command.withSubcommands([generate, identity, locate, decrypt])
)
