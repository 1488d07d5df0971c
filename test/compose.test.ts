import { spawnSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
const read = (file: string) => readFileSync(path.join(root, file), "utf8")

// ---------------------------------------------------------------- compose --

type Dict = Record<string, unknown>

const isDict = (value: unknown): value is Dict =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const composeText = read("docker-compose.yml")
const compose: unknown = parse(composeText, { merge: true })

const services = (): Dict => {
  if (!isDict(compose) || !isDict(compose.services)) throw new Error("docker-compose.yml has no services")
  return compose.services
}

const service = (name: string): Dict => {
  const found = services()[name]
  if (!isDict(found)) throw new Error(`service ${name} is missing`)
  return found
}

const stringsIn = (value: unknown): Array<string> => {
  if (typeof value === "string") return [value]
  if (Array.isArray(value)) return value.flatMap(stringsIn)
  if (isDict(value)) return Object.values(value).flatMap(stringsIn)
  return []
}

const environmentOf = (svc: Dict): Record<string, string> => {
  const env = svc.environment
  if (env === undefined) return {}
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => {
      const text = String(entry)
      const eq = text.indexOf("=")
      return eq < 0 ? [text, ""] : [text.slice(0, eq), text.slice(eq + 1)]
    }))
  }
  if (!isDict(env)) throw new Error("environment must be a mapping or a list")
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? "" : String(v)]))
}

const commandOf = (svc: Dict): Array<string> =>
  [svc.entrypoint, svc.command].flatMap((part) =>
    part === undefined ? [] : Array.isArray(part) ? part.map(String) : String(part).split(/\s+/)
  )

interface Reference {
  readonly name: string
  readonly operator: string | undefined
  readonly argument: string | undefined
}

// ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, ${NAME:+alt};
// `$${` is Compose's escape for a literal `${` and is not a reference.
const referencesIn = (text: string): Array<Reference> =>
  [...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g)].map((m) => ({
    name: m[1] ?? "",
    operator: m[2],
    argument: m[3]
  }))

const composeReferences = referencesIn(stringsIn(compose).join("\n"))

// ---------------------------------------------------------- .env.example --

const envExampleLines = read(".env.example").split(/\r?\n/)

const envExample: Map<string, string> = new Map(
  envExampleLines
    .map((line) => /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1] ?? "", m[2] ?? ""])
)

// ------------------------------------------------------- RustFS variables --

// The configuration table of docs/spec (rustfs.md); used when the service
// module does not (yet) export its own list.
const RUSTFS_ENV_VARS_FALLBACK: ReadonlyArray<string> = [
  "RUSTFS_PORT",
  "RUSTFS_HOST",
  "RUSTFS_DATA_DIR",
  "RUSTFS_DATABASE_URL",
  "RUSTFS_REQUIRE_API_KEY",
  "RUSTFS_API_KEYS_JSON",
  "RUSTFS_SIGNING_KEY",
  "RUSTFS_MASTER_KEY",
  "RUSTFS_PREVIOUS_MASTER_KEYS",
  "RUSTFS_PUBLIC_BASE_URL",
  "RUSTFS_AUDIT_LOG_PATH",
  "RUSTFS_MAX_UPLOAD_BYTES",
  "RUSTFS_MAX_EXTRACT_ATTEMPTS",
  "RUSTFS_TOMBSTONE_RETENTION_MS",
  "RUSTFS_GC_INTERVAL_MS",
  "RUSTFS_LOG_LEVEL"
]

const rustfsServiceVariables = async (): Promise<{ readonly source: string; readonly names: ReadonlySet<string> }> => {
  const modulePath = path.join(root, "src", "services", "RustfsConfig.ts")
  if (existsSync(modulePath)) {
    const mod: unknown = await import(pathToFileURL(modulePath).href)
    const exported = isDict(mod) ? mod.RUSTFS_ENV_VARS : undefined
    if (Array.isArray(exported) && exported.every((v) => typeof v === "string")) {
      return { source: "src/services/RustfsConfig.ts", names: new Set(exported as Array<string>) }
    }
  }
  return { source: "fallback list", names: new Set(RUSTFS_ENV_VARS_FALLBACK) }
}

const ROLES = ["rustfs", "deep-memory", "rustfs-worker", "gateway", "cli"] as const
const roleOf = (svc: Dict): string | undefined => {
  const script = commandOf(svc).find((part) => /^dist\/[a-z-]+\.js$/.test(part))
  return script?.slice("dist/".length, -".js".length)
}

const LOOPBACK_DEFAULT = /^(?:127\.0\.0\.1|\[::1\]|\$\{[A-Za-z_][A-Za-z0-9_]*:-(?:127\.0\.0\.1|::1)\}):/

// ------------------------------------------------------------------ tests --

describe("docker-compose.yml: rustfs", () => {
  it("runs the rustfs role under the rustfs profile only", () => {
    const rustfs = service("rustfs")
    expect(rustfs.profiles).toEqual(["rustfs"])
    expect(roleOf(rustfs)).toBe("rustfs")
    expect(rustfs.restart).toBe("unless-stopped")
  })

  it("checks readiness with /readyz on the container port, without curl", () => {
    const rustfs = service("rustfs")
    const healthcheck = rustfs.healthcheck
    if (!isDict(healthcheck)) throw new Error("rustfs has no healthcheck")
    const test = healthcheck.test
    expect(Array.isArray(test)).toBe(true)
    const argv = (test as Array<unknown>).map(String)
    expect(argv[0]).toBe("CMD")
    expect(argv[1]).toBe("node")
    const port = environmentOf(rustfs).RUSTFS_PORT
    expect(argv.join(" ")).toContain(`http://127.0.0.1:${port}/readyz`)
    for (const key of ["interval", "timeout", "retries", "start_period"]) {
      expect(healthcheck[key], key).toBeDefined()
    }
  })

  it("waits for a healthy PostgreSQL service that is not published", () => {
    const rustfs = service("rustfs")
    expect(rustfs.depends_on).toEqual({ "rustfs-postgres": { condition: "service_healthy" } })

    const postgres = service("rustfs-postgres")
    expect(postgres.profiles).toEqual(["rustfs"])
    expect(String(postgres.image)).toMatch(/^postgres:\d+/)
    expect(postgres.ports).toBeUndefined()
    const healthcheck = postgres.healthcheck
    if (!isDict(healthcheck)) throw new Error("rustfs-postgres has no healthcheck")
    expect(stringsIn(healthcheck.test)).toContain("pg_isready")

    const url = environmentOf(rustfs).RUSTFS_DATABASE_URL ?? ""
    expect(url).toMatch(/^postgres(?:ql)?:\/\/[^@]+@rustfs-postgres:5432\//)
    expect(referencesIn(url).map((r) => r.name)).toContain("OPENCLAW_RUSTFS_DB_PASSWORD")
  })

  it("listens on all interfaces inside the container and keeps its data in a named volume", () => {
    const rustfs = service("rustfs")
    const env = environmentOf(rustfs)
    expect(env.RUSTFS_HOST).toBe("0.0.0.0")
    expect(env.RUSTFS_DATA_DIR).toBe("/data")
    const volumes = stringsIn(rustfs.volumes)
    const dataVolume = volumes.find((v) => v.endsWith(":/data"))
    expect(dataVolume).toBeDefined()
    const volumeName = dataVolume?.split(":")[0] ?? ""
    expect(volumeName).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)
    expect(isDict(compose) && isDict(compose.volumes) && volumeName in compose.volumes).toBe(true)
  })

  it("publishes its port on a loopback address by default", () => {
    const ports = service("rustfs").ports
    expect(Array.isArray(ports)).toBe(true)
    const published = (ports as Array<unknown>).map(String)
    expect(published.length).toBeGreaterThan(0)
    for (const mapping of published) {
      expect(mapping).toMatch(LOOPBACK_DEFAULT)
      expect(mapping.endsWith(`:${environmentOf(service("rustfs")).RUSTFS_PORT}`)).toBe(true)
    }
  })

  it("is never unauthenticated by default", () => {
    const env = environmentOf(service("rustfs"))
    expect(env.RUSTFS_REQUIRE_API_KEY).toBe("true")
    for (const [serviceVar, seedVar] of [
      ["RUSTFS_API_KEYS_JSON", "OPENCLAW_RUSTFS_API_KEYS_JSON"],
      ["RUSTFS_SIGNING_KEY", "OPENCLAW_RUSTFS_SIGNING_KEY"]
    ] as const) {
      const refs = referencesIn(env[serviceVar] ?? "")
      expect(refs, serviceVar).toHaveLength(1)
      expect(refs[0]?.name).toBe(seedVar)
      // Empty by default so profiles that do not use them start; RustFS itself refuses to start
      // without keys (see rustfs-process.test.ts), so this fails closed.
      expect(refs[0]?.operator, `${seedVar} must default to empty`).toBe(":-")
      expect(refs[0]?.argument ?? "").toBe("")
    }
  })

  it("passes only RUSTFS_* variables the service reads", async () => {
    const { names, source } = await rustfsServiceVariables()
    const rustfsServices = Object.values(services()).filter(isDict).filter((svc) => roleOf(svc) === "rustfs")
    expect(rustfsServices.length).toBeGreaterThan(0)
    for (const svc of rustfsServices) {
      const passed = Object.keys(environmentOf(svc)).filter((k) => k.startsWith("RUSTFS_"))
      const unknown = passed.filter((k) => !names.has(k))
      expect(unknown, `not read by the service (per ${source})`).toEqual([])
    }
  })
})

describe("docker-compose.yml: gateway, cli and the whole file", () => {
  it("runs openclaw-gateway and openclaw-cli without a profile", () => {
    for (const name of ["openclaw-gateway", "openclaw-cli"]) {
      expect(service(name).profiles, name).toBeUndefined()
    }
    expect(roleOf(service("openclaw-cli"))).toBe("cli")
    const cliEnv = environmentOf(service("openclaw-cli"))
    expect(cliEnv.RUSTFS_BASE_URL).toBe("http://rustfs:8099")
    expect(Object.keys(cliEnv)).toContain("OPENCLAW_RUSTFS_API_KEY")
  })

  it("mounts the gateway config and workspace directories", () => {
    const gateway = service("openclaw-gateway")
    const volumes = stringsIn(gateway.volumes)
    expect(volumes.some((v) => v.includes("${OPENCLAW_CONFIG_DIR") && v.endsWith(":/home/node/.openclaw"))).toBe(true)
    expect(volumes.some((v) => v.includes("${OPENCLAW_WORKSPACE_DIR") && v.endsWith(":/home/node/workspace"))).toBe(true)
    expect(Object.keys(environmentOf(gateway))).toContain("OPENCLAW_GATEWAY_TOKEN")
  })

  it("publishes every port of every service on loopback by default", () => {
    for (const [name, svc] of Object.entries(services())) {
      if (!isDict(svc) || svc.ports === undefined) continue
      for (const mapping of stringsIn(svc.ports)) {
        expect(mapping, `${name}: ${mapping}`).toMatch(LOOPBACK_DEFAULT)
      }
    }
  })

  it("runs only known roles of our image", () => {
    for (const [name, svc] of Object.entries(services())) {
      if (!isDict(svc) || svc.build === undefined) continue
      const role = roleOf(svc)
      expect(role, name).toBeDefined()
      expect(ROLES as ReadonlyArray<string>, name).toContain(role)
    }
  })

  it("declares in .env.example every variable it references", () => {
    const missing = [...new Set(composeReferences.map((r) => r.name))].filter((name) => !envExample.has(name))
    expect(missing).toEqual([])
  })

  it("has no stale variables in .env.example", () => {
    const referenced = new Set(composeReferences.map((r) => r.name))
    const stale = [...envExample.keys()].filter((name) => !referenced.has(name))
    expect(stale).toEqual([])
  })

  it("leaves the secrets empty in .env.example, so a copied example cannot start with guessable keys", () => {
    const required = ["OPENCLAW_RUSTFS_API_KEYS_JSON", "OPENCLAW_RUSTFS_SIGNING_KEY", "OPENCLAW_RUSTFS_DB_PASSWORD"]
    for (const name of required) {
      expect(composeReferences.some((r) => r.name === name), name).toBe(true)
      expect(envExample.get(name), name).toBe("")
    }
  })

  it("documents in .env.example only RUSTFS_* variables the service reads", async () => {
    const { names } = await rustfsServiceVariables()
    const documented = new Set(
      envExampleLines.flatMap((line) => [...line.matchAll(/\b(RUSTFS_[A-Z0-9_]+)=/g)].map((m) => m[1] ?? ""))
    )
    expect(documented.size).toBeGreaterThan(0)
    expect([...documented].filter((name) => !names.has(name))).toEqual([])
    expect([...names].filter((name) => !documented.has(name))).toEqual([])
  })
})

// ------------------------------------------------------------- Dockerfile --

interface Instruction {
  readonly keyword: string
  readonly args: string
}

const dockerfile: Array<Instruction> = read("Dockerfile")
  .replace(/\\\r?\n/g, " ")
  .split(/\r?\n/)
  .map((line) => line.trim())
  .filter((line) => line !== "" && !line.startsWith("#"))
  .map((line) => {
    const space = line.search(/\s/)
    return space < 0
      ? { keyword: line.toUpperCase(), args: "" }
      : { keyword: line.slice(0, space).toUpperCase(), args: line.slice(space).trim() }
  })

const stages: Array<Array<Instruction>> = dockerfile.reduce<Array<Array<Instruction>>>((acc, instruction) => {
  if (instruction.keyword === "FROM") acc.push([instruction])
  else acc.at(-1)?.push(instruction)
  return acc
}, [])

const stageNamed = (name: string) =>
  stages.find((stage) => new RegExp(`\\sAS\\s+${name}$`, "i").test(stage[0]?.args ?? ""))

describe("Dockerfile", () => {
  it("builds on node:20-bookworm-slim with npm ci and npm run build", () => {
    const build = stageNamed("build")
    if (build === undefined) throw new Error("no stage named build")
    expect(build[0]?.args).toMatch(/^node:20-bookworm-slim\s/)
    const runs = build.filter((i) => i.keyword === "RUN").map((i) => i.args)
    const ci = runs.findIndex((r) => /\bnpm ci\b/.test(r))
    const buildRun = runs.findIndex((r) => /\bnpm run build\b/.test(r))
    expect(ci).toBeGreaterThanOrEqual(0)
    expect(buildRun).toBeGreaterThan(ci)
  })

  it("copies .npmrc before every npm ci", () => {
    for (const stage of stages) {
      const ci = stage.findIndex((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args))
      if (ci < 0) continue
      const npmrc = stage.findIndex((i) => i.keyword === "COPY" && /(^|\s)\.npmrc(\s|$)/.test(i.args))
      expect(npmrc, stage[0]?.args).toBeGreaterThanOrEqual(0)
      expect(npmrc).toBeLessThan(ci)
    }
  })

  describe("runtime stage", () => {
    const runtime = stages.at(-1) ?? []
    const args = (keyword: string) => runtime.filter((i) => i.keyword === keyword).map((i) => i.args)

    it("installs production dependencies only and takes dist/ from the build stage", () => {
      expect(runtime[0]?.args).toMatch(/^node:20-bookworm-slim\b/)
      expect(args("RUN").some((r) => /\bnpm ci\b.*--omit=dev/.test(r))).toBe(true)
      expect(args("COPY").some((c) => /--from=build\b.*\/dist\b/.test(c))).toBe(true)
    })

    it("does not run as root", () => {
      const users = args("USER")
      expect(users.length).toBeGreaterThan(0)
      const last = users.at(-1)?.split(":")[0] ?? ""
      expect(["", "root", "0"]).not.toContain(last)
      const lastUser = runtime.findLastIndex((i) => i.keyword === "USER")
      const lastRun = runtime.findLastIndex((i) => i.keyword === "RUN")
      expect(lastUser).toBeGreaterThan(lastRun)
    })

    it("is configured for the container: listener, data volume, roles", () => {
      const env = args("ENV").join(" ")
      expect(env).toMatch(/\bRUSTFS_HOST=0\.0\.0\.0\b/)
      expect(env).toMatch(/\bRUSTFS_DATA_DIR=\/data\b/)
      expect(args("VOLUME").join(" ")).toMatch(/(^|[\s"[])\/data\b/)
      expect(args("EXPOSE").join(" ").split(/\s+/)).toContain("8099")
      expect(JSON.parse(args("CMD").at(-1) ?? "null")).toEqual(["node", "dist/rustfs.js"])
    })
  })

  it("keeps secrets and local build output out of the build context", () => {
    const ignored = read(".dockerignore").split(/\r?\n/).map((l) => l.trim())
    for (const entry of [".env", "node_modules", "dist", "data"]) {
      expect(ignored, entry).toContain(entry)
    }
  })
})

// ------------------------------------------------- docker compose config --

const composeCli = spawnSync("docker", ["compose", "version"], { encoding: "utf8" })
const hasComposeCli = composeCli.status === 0

describe.skipIf(!hasComposeCli)("docker compose config (only where the compose CLI is installed)", () => {
  const config = (extraEnv: Record<string, string>) => {
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("OPENCLAW_") && !k.startsWith("COMPOSE_"))
    )
    return spawnSync(
      "docker",
      ["compose", "--env-file", path.join(root, ".env.example"), "--profile", "rustfs", "config", "-q"],
      { cwd: root, encoding: "utf8", env: { ...env, ...extraEnv } }
    )
  }

  it("accepts the file once the required secrets are set", () => {
    const result = config({
      OPENCLAW_RUSTFS_API_KEYS_JSON: `[{"key":"0123456789abcdef0123","tenant_id":"t1","role":"admin"}]`,
      OPENCLAW_RUSTFS_SIGNING_KEY: "test-signing-key-0123456789",
      OPENCLAW_RUSTFS_DB_PASSWORD: "0123456789abcdef"
    })
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
  })

  it("refuses to interpolate while they are missing", () => {
    const result = config({})
    expect(result.status).not.toBe(0)
    expect(result.stderr).toMatch(/OPENCLAW_RUSTFS_(API_KEYS_JSON|SIGNING_KEY|DB_PASSWORD)/)
  })
})
