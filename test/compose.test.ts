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
// The role is the dist/<role>.js the service runs, also inside a `sh -c` string (dev server).
const roleOf = (svc: Dict): string | undefined => {
  for (const part of commandOf(svc)) {
    const m = /(?:^|[\s/])dist\/([a-z-]+)\.js(?:$|\s)/.exec(part)
    if (m) return m[1]
  }
  return undefined
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
    const required = [
      "OPENCLAW_RUSTFS_API_KEYS_JSON",
      "OPENCLAW_RUSTFS_SIGNING_KEY",
      "OPENCLAW_RUSTFS_DB_PASSWORD",
      "OPENCLAW_DEEPMEM_API_KEYS_JSON",
      "OPENCLAW_NEO4J_PASSWORD",
      "OPENCLAW_RUSTFS_WORKER_API_KEY",
      "OPENCLAW_DEEPMEM_WORKER_API_KEY",
      "OPENCLAW_DEEPMEM_API_KEY",
      "OPENCLAW_DEEPMEM_EMBEDDING_API_KEY",
      "OPENCLAW_RUSTFS_API_KEY",
      "OPENCLAW_GATEWAY_TOKEN"
    ]
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

// ------------------------------------------------- deep-memory and worker --

// The configuration sections of docs/spec (deep-memory.md, rustfs-worker.md): every variable must
// reach the service, except the few listed below with the reason compose leaves them out.
const DEEP_MEMORY_SPEC_VARS: ReadonlyArray<string> = [
  "PORT", "HOST", "REQUIRE_API_KEY", "API_KEYS_JSON",
  "QDRANT_URL", "QDRANT_COLLECTION", "VECTOR_DIMS",
  "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD",
  "EMBEDDING_MODEL", "MIN_SEMANTIC_SCORE", "RETRIEVE_CACHE_TTL_MS", "RETRIEVE_CACHE_MAX",
  "UPDATE_CONCURRENCY", "DATA_DIR", "AUDIT_LOG_PATH",
  "RATE_LIMIT_ENABLED", "RATE_LIMIT_WINDOW_MS", "RATE_LIMIT_RETRIEVE_PER_WINDOW",
  "RATE_LIMIT_UPDATE_PER_WINDOW", "RATE_LIMIT_FORGET_PER_WINDOW", "RATE_LIMIT_QUEUE_ADMIN_PER_WINDOW",
  "UPDATE_BACKLOG_REJECT_PENDING", "UPDATE_BACKLOG_READ_ONLY_PENDING", "UPDATE_BACKLOG_DELAY_PENDING",
  "UPDATE_BACKLOG_DELAY_SECONDS", "UPDATE_BACKLOG_RETRY_AFTER_SECONDS",
  "UPDATE_DISABLED_NAMESPACES", "UPDATE_MIN_INTERVAL_MS", "UPDATE_SAMPLE_RATE",
  "NAMESPACE_UPDATE_CONCURRENCY", "NAMESPACE_RETRIEVE_CONCURRENCY",
  "SENSITIVE_FILTER_ENABLED", "SENSITIVE_DENY_REGEX_JSON", "SENSITIVE_ALLOW_REGEX_JSON"
]
// Left out on purpose: API_KEY/API_KEYS are legacy forms of API_KEYS_JSON; QUEUE_DIR is the
// older name of DATA_DIR; QDRANT_API_KEY would be sent (empty) to a Qdrant that is keyless and
// reachable only on the compose network.
const DEEP_MEMORY_NOT_MAPPED: ReadonlyArray<string> = ["API_KEY", "API_KEYS", "QUEUE_DIR", "QDRANT_API_KEY"]

// Read by the server as numbers: an empty value would be parsed as 0, not as "default".
const DEEP_MEMORY_NUMBERS: ReadonlyArray<string> = [
  "MIN_SEMANTIC_SCORE", "RETRIEVE_CACHE_TTL_MS", "RETRIEVE_CACHE_MAX", "UPDATE_CONCURRENCY",
  "NAMESPACE_UPDATE_CONCURRENCY", "RATE_LIMIT_WINDOW_MS", "RATE_LIMIT_RETRIEVE_PER_WINDOW",
  "RATE_LIMIT_UPDATE_PER_WINDOW", "RATE_LIMIT_FORGET_PER_WINDOW", "RATE_LIMIT_QUEUE_ADMIN_PER_WINDOW",
  "UPDATE_BACKLOG_REJECT_PENDING", "UPDATE_BACKLOG_READ_ONLY_PENDING", "UPDATE_BACKLOG_RETRY_AFTER_SECONDS",
  "UPDATE_SAMPLE_RATE"
]

const WORKER_SPEC_VARS: ReadonlyArray<string> = [
  "RUSTFS_BASE_URL", "RUSTFS_API_KEY", "RUSTFS_POLL_INTERVAL_MS", "RUSTFS_LEASE_MS",
  "RUSTFS_PENDING_LIMIT", "RUSTFS_MAX_DOWNLOAD_BYTES",
  "DEEP_MEMORY_BASE_URL", "DEEP_MEMORY_API_KEY", "DEEP_MEMORY_NAMESPACE", "DEEP_MEMORY_ASYNC",
  "DEEP_MEMORY_TIMEOUT_MS", "DEEP_MEMORY_CHUNK_MAX_CHARS", "DEEP_MEMORY_CHUNK_OVERLAP_CHARS",
  "DEEP_MEMORY_BACKOFF_MS", "DEEP_MEMORY_RETURN_MEMORY_IDS", "DEEP_MEMORY_MAX_RETURN_MEMORY_IDS",
  "DEEP_MEMORY_INSPECT_ENABLED", "DEEP_MEMORY_INSPECT_LIMIT", "DEEP_MEMORY_INSPECT_INCLUDE_CONTENT",
  "WORKER_STATE_PATH", "WORKER_CONCURRENCY", "WORKER_HEALTH_PORT"
]
// RUSTFS_TENANT_ID only applies with RustFS authentication off, which compose never runs.
const WORKER_NOT_MAPPED: ReadonlyArray<string> = ["RUSTFS_TENANT_ID"]

const DEEP_MEMORY_PROFILES = ["deep-memory", "deep-memory-prod"]

const healthcheckOf = (name: string): Dict => {
  const healthcheck = service(name).healthcheck
  if (!isDict(healthcheck)) throw new Error(`${name} has no healthcheck`)
  return healthcheck
}

const dependsOn = (name: string): Dict => {
  const deps = service(name).depends_on
  if (!isDict(deps)) throw new Error(`${name}: depends_on must be a mapping with conditions`)
  return deps
}

const namedVolumeOn = (svc: Dict, target: string): string | undefined => {
  const mount = stringsIn(svc.volumes).find((v) => v.split(":")[1] === target)
  const name = mount?.split(":")[0]
  if (name === undefined || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) return undefined
  return isDict(compose) && isDict(compose.volumes) && name in compose.volumes ? name : undefined
}

const aliasesOf = (svc: Dict): Array<string> => {
  const networks = svc.networks
  if (!isDict(networks)) return []
  return Object.values(networks).flatMap((n) => (isDict(n) ? stringsIn(n.aliases) : []))
}

/** The single `${NAME:-default}` a value is made of, if it is one. */
const soleReference = (value: string | undefined): Reference | undefined => {
  const refs = referencesIn(value ?? "")
  return refs.length === 1 && value === `\${${refs[0]?.name}${refs[0]?.operator ?? ""}${refs[0]?.argument ?? ""}}`
    ? refs[0]
    : undefined
}

describe("docker-compose.yml: qdrant and neo4j", () => {
  it("serve both deep-memory profiles with pinned images and named volumes", () => {
    const qdrant = service("qdrant")
    expect(qdrant.profiles).toEqual(DEEP_MEMORY_PROFILES)
    expect(String(qdrant.image)).toMatch(/^qdrant\/qdrant:v1\.16\.\d+$/)
    expect(namedVolumeOn(qdrant, "/qdrant/storage")).toBeDefined()

    const neo4j = service("neo4j")
    expect(neo4j.profiles).toEqual(DEEP_MEMORY_PROFILES)
    expect(String(neo4j.image)).toMatch(/^neo4j:5\.26(?:\.\d+)?(?:-community)?$/)
    expect(namedVolumeOn(neo4j, "/data")).toBeDefined()
  })

  it("are not published on the host (the startup document publishes only deep-memory)", () => {
    expect(service("qdrant").ports).toBeUndefined()
    expect(service("neo4j").ports).toBeUndefined()
  })

  it("report healthy only when they really serve: Qdrant /readyz, Neo4j a Bolt query", () => {
    const qdrant = stringsIn(healthcheckOf("qdrant").test).join(" ")
    expect(qdrant).toContain("/readyz")
    expect(qdrant).toContain("6333")
    // The image ships neither curl nor wget.
    expect(qdrant).not.toMatch(/\b(?:curl|wget)\b/)

    const neo4j = stringsIn(healthcheckOf("neo4j").test).join(" ")
    expect(neo4j).toMatch(/cypher-shell|7474/)
    for (const name of ["qdrant", "neo4j"]) {
      for (const key of ["interval", "timeout", "retries", "start_period"]) {
        expect(healthcheckOf(name)[key], `${name}.${key}`).toBeDefined()
      }
    }
  })

  it("takes the Neo4j password from OPENCLAW_NEO4J_PASSWORD with no default (fails closed)", () => {
    const auth = environmentOf(service("neo4j")).NEO4J_AUTH ?? ""
    expect(auth.startsWith("neo4j/")).toBe(true)
    const ref = soleReference(auth.slice("neo4j/".length))
    expect(ref?.name).toBe("OPENCLAW_NEO4J_PASSWORD")
    expect(ref?.operator).toBe(":-")
    expect(ref?.argument).toBe("")
  })
})

describe("docker-compose.yml: deep-memory servers", () => {
  const servers = ["deep-memory-server", "deep-memory-server-prod"] as const

  it("runs the deep-memory role: dev from the mounted source tree, prod from the built image", () => {
    const dev = service("deep-memory-server")
    expect(dev.profiles).toEqual(["deep-memory"])
    expect(roleOf(dev)).toBe("deep-memory")
    expect(isDict(dev.build) && dev.build.target).toBe("dev")
    expect(stringsIn(dev.volumes).some((v) => /^\.\/src:\/app\/src(?::ro)?$/.test(v))).toBe(true)

    const prod = service("deep-memory-server-prod")
    expect(prod.profiles).toEqual(["deep-memory-prod"])
    expect(prod.command).toEqual(["node", "dist/deep-memory.js"])
    expect(prod.build).toBe(".")
    expect(prod.image).toBe(service("rustfs").image)
    expect(namedVolumeOn(prod, "/data")).toBeDefined()
    expect(environmentOf(prod).DATA_DIR).toBe("/data")
    for (const name of servers) expect(service(name).restart, name).toBe("unless-stopped")
  })

  it("starts only once Qdrant and Neo4j are healthy", () => {
    for (const name of servers) {
      expect(dependsOn(name), name).toEqual({
        qdrant: { condition: "service_healthy" },
        neo4j: { condition: "service_healthy" }
      })
    }
  })

  it("checks readiness with /readyz on port 8088, without curl", () => {
    for (const name of servers) {
      const healthcheck = healthcheckOf(name)
      const argv = stringsIn(healthcheck.test)
      expect(argv.slice(0, 2), name).toEqual(["CMD", "node"])
      expect(environmentOf(service(name)).PORT).toBe("8088")
      expect(argv.join(" ")).toContain("http://127.0.0.1:8088/readyz")
      for (const key of ["interval", "timeout", "retries", "start_period"]) {
        expect(healthcheck[key], `${name}.${key}`).toBeDefined()
      }
    }
  })

  it("publishes 8088 on loopback under OPENCLAW_DEEPMEM_PORT, and answers as deep-memory on the network", () => {
    for (const name of servers) {
      const svc = service(name)
      const ports = stringsIn(svc.ports)
      expect(ports, name).toEqual(["${OPENCLAW_DEEPMEM_BIND:-127.0.0.1}:${OPENCLAW_DEEPMEM_PORT:-8088}:8088"])
      expect(environmentOf(svc).HOST).toBe("0.0.0.0")
      expect(aliasesOf(svc), name).toContain("deep-memory")
    }
  })

  it("reaches the stores by their service names", () => {
    for (const name of servers) {
      const env = environmentOf(service(name))
      expect(env.QDRANT_URL, name).toBe("http://qdrant:6333")
      expect(env.NEO4J_URI, name).toBe("bolt://neo4j:7687")
      expect(env.NEO4J_USER, name).toBe("neo4j")
      expect(soleReference(env.NEO4J_PASSWORD)?.name).toBe("OPENCLAW_NEO4J_PASSWORD")
    }
  })

  it("requires API keys: always in production, by default in development", () => {
    const prod = environmentOf(service("deep-memory-server-prod"))
    expect(prod.REQUIRE_API_KEY).toBe("true")
    const dev = soleReference(environmentOf(service("deep-memory-server")).REQUIRE_API_KEY)
    expect(dev?.name).toBe("OPENCLAW_DEEPMEM_REQUIRE_API_KEY")
    expect(dev?.argument).toBe("true")
    for (const name of servers) {
      const keys = soleReference(environmentOf(service(name)).API_KEYS_JSON)
      expect(keys?.name, name).toBe("OPENCLAW_DEEPMEM_API_KEYS_JSON")
      expect(keys?.operator).toBe(":-")
      expect(keys?.argument).toBe("")
    }
  })

  it("passes every variable of the deep-memory spec, each from OPENCLAW_DEEPMEM_<name> when configurable", () => {
    for (const name of servers) {
      const env = environmentOf(service(name))
      expect(DEEP_MEMORY_SPEC_VARS.filter((v) => !(v in env)), name).toEqual([])
      expect(DEEP_MEMORY_NOT_MAPPED.filter((v) => v in env), name).toEqual([])
      const misnamed = Object.entries(env)
        .map(([key, value]) => [key, soleReference(value)?.name] as const)
        .filter(([key, ref]) => ref !== undefined && key !== "NEO4J_PASSWORD" && ref !== `OPENCLAW_DEEPMEM_${key}`)
      expect(misnamed, name).toEqual([])
    }
  })

  it("never hands the server an empty number", () => {
    for (const name of servers) {
      const env = environmentOf(service(name))
      for (const key of DEEP_MEMORY_NUMBERS) {
        const value = env[key] ?? ""
        const ref = soleReference(value)
        const effective = ref === undefined ? value : ref.argument ?? ""
        expect(Number.isFinite(Number(effective)) && effective.trim() !== "", `${name}: ${key}`).toBe(true)
      }
    }
  })
})

describe("docker-compose.yml: rustfs-worker", () => {
  it("runs the rustfs-worker role under its own profile", () => {
    const worker = service("rustfs-worker")
    expect(worker.profiles).toEqual(["rustfs-worker"])
    expect(worker.command).toEqual(["node", "dist/rustfs-worker.js"])
    expect(worker.image).toBe(service("rustfs").image)
    expect(worker.restart).toBe("unless-stopped")
    expect(worker.ports).toBeUndefined()
  })

  it("starts only once rustfs and deep-memory-server-prod are healthy", () => {
    expect(dependsOn("rustfs-worker")).toEqual({
      rustfs: { condition: "service_healthy" },
      "deep-memory-server-prod": { condition: "service_healthy" }
    })
  })

  it("maps the startup document's variables onto the worker's", () => {
    const env = environmentOf(service("rustfs-worker"))
    expect(env.RUSTFS_BASE_URL).toBe("http://rustfs:8099")
    expect(env.DEEP_MEMORY_BASE_URL).toBe("http://deep-memory-server-prod:8088")
    for (const [serviceVar, seedVar] of [
      ["RUSTFS_API_KEY", "OPENCLAW_RUSTFS_WORKER_API_KEY"],
      ["DEEP_MEMORY_API_KEY", "OPENCLAW_DEEPMEM_WORKER_API_KEY"],
      ["DEEP_MEMORY_NAMESPACE", "OPENCLAW_DEEPMEM_NAMESPACE"]
    ] as const) {
      const ref = soleReference(env[serviceVar])
      expect(ref?.name, serviceVar).toBe(seedVar)
      expect(ref?.operator).toBe(":-")
      expect(ref?.argument).toBe("")
    }
  })

  it("passes every variable of the worker spec", () => {
    const env = environmentOf(service("rustfs-worker"))
    expect(WORKER_SPEC_VARS.filter((v) => !(v in env))).toEqual([])
    expect(WORKER_NOT_MAPPED.filter((v) => v in env)).toEqual([])
    // Numbers and booleans never default to empty: the worker gets the spec defaults.
    for (const [key, value] of Object.entries(env)) {
      const ref = soleReference(value)
      if (ref === undefined || key.endsWith("_API_KEY") || key === "DEEP_MEMORY_NAMESPACE") continue
      expect(ref.argument ?? "", key).not.toBe("")
    }
  })

  it("passes only variables the worker reads (per src/services/worker/WorkerConfig.ts when present)", async () => {
    const modulePath = path.join(root, "src", "services", "worker", "WorkerConfig.ts")
    if (!existsSync(modulePath)) return
    const mod: unknown = await import(pathToFileURL(modulePath).href)
    const exported = isDict(mod) ? mod.WORKER_ENV_VARS : undefined
    if (!Array.isArray(exported)) return
    const known = new Set(exported.map(String))
    expect(Object.keys(environmentOf(service("rustfs-worker"))).filter((k) => !known.has(k))).toEqual([])
    expect(WORKER_SPEC_VARS.filter((k) => !known.has(k))).toEqual([])
  })

  it("keeps its state on a named volume and checks its health listener", () => {
    const worker = service("rustfs-worker")
    const env = environmentOf(worker)
    const statePath = env.WORKER_STATE_PATH ?? ""
    const mount = stringsIn(worker.volumes).map((v) => v.split(":")).find(([, target]) =>
      target !== undefined && statePath.startsWith(`${target}/`)
    )
    expect(mount).toBeDefined()
    expect(namedVolumeOn(worker, mount?.[1] ?? "")).toBeDefined()

    const healthcheck = healthcheckOf("rustfs-worker")
    const argv = stringsIn(healthcheck.test)
    expect(argv.slice(0, 2)).toEqual(["CMD", "node"])
    expect(argv.join(" ")).toMatch(new RegExp(`http://127\\.0\\.0\\.1:${env.WORKER_HEALTH_PORT}/(?:health|readyz)\\b`))
  })
})

describe("docker-compose.yml: start order and defaults of the startup document", () => {
  it("waits on health checks only, and only for services that have one", () => {
    for (const [name, svc] of Object.entries(services())) {
      if (!isDict(svc) || svc.depends_on === undefined) continue
      for (const [dep, spec] of Object.entries(dependsOn(name))) {
        expect(spec, `${name} -> ${dep}`).toEqual({ condition: "service_healthy" })
        expect(isDict(service(dep).healthcheck), `${dep} has a healthcheck`).toBe(true)
      }
    }
  })

  it("lets every profile-less service start without a profile", () => {
    for (const [name, svc] of Object.entries(services())) {
      if (!isDict(svc) || svc.profiles !== undefined || svc.depends_on === undefined) continue
      for (const dep of Object.keys(dependsOn(name))) {
        expect(service(dep).profiles, `${name} -> ${dep}`).toBeUndefined()
      }
    }
  })

  it("publishes the default ports of the startup document", () => {
    const published = Object.values(services()).filter(isDict).flatMap((svc) => stringsIn(svc.ports))
    for (const [variable, port] of [
      ["OPENCLAW_GATEWAY_PORT", "18789"],
      ["OPENCLAW_RUSTFS_PORT", "8099"],
      ["OPENCLAW_DEEPMEM_PORT", "8088"]
    ] as const) {
      expect(published.some((p) => p.includes(`\${${variable}:-${port}}:${port}`)), variable).toBe(true)
      expect(envExample.get(variable), variable).toBe(port)
    }
  })

  it("uses every variable the startup document names", () => {
    const referenced = new Set(composeReferences.map((r) => r.name))
    for (const name of [
      "OPENCLAW_CONFIG_DIR", "OPENCLAW_WORKSPACE_DIR", "OPENCLAW_GATEWAY_TOKEN",
      "OPENCLAW_DEEPMEM_API_KEYS_JSON", "OPENCLAW_NEO4J_PASSWORD",
      "OPENCLAW_RUSTFS_API_KEYS_JSON", "OPENCLAW_RUSTFS_SIGNING_KEY", "OPENCLAW_RUSTFS_MASTER_KEY",
      "OPENCLAW_RUSTFS_WORKER_API_KEY", "OPENCLAW_DEEPMEM_WORKER_API_KEY", "OPENCLAW_DEEPMEM_NAMESPACE"
    ]) {
      expect(referenced.has(name), name).toBe(true)
    }
  })

  it("gives the CLI deep-memory's address and key", () => {
    const env = environmentOf(service("openclaw-cli"))
    const url = new URL(env.DEEP_MEMORY_BASE_URL ?? "")
    const servers = Object.values(services()).filter(isDict).filter((svc) => roleOf(svc) === "deep-memory")
    expect(servers.length).toBe(2)
    for (const svc of servers) expect(aliasesOf(svc)).toContain(url.hostname)
    expect(url.port).toBe("8088")
    expect(soleReference(env.DEEP_MEMORY_API_KEY)?.name).toBe("OPENCLAW_DEEPMEM_API_KEY")
  })
})

describe(".env.example", () => {
  it("comments every variable", () => {
    const blocks = envExampleLines.join("\n").split(/\n\s*\n/)
    const uncommented = blocks
      .filter((block) => !block.split("\n").some((line) => line.trim().startsWith("#")))
      .flatMap((block) => block.split("\n").filter((line) => /^[A-Za-z_]\w*=/.test(line.trim())))
    expect(uncommented).toEqual([])
  })

  it("holds the same defaults as docker-compose.yml, so copying it changes nothing", () => {
    const differing = composeReferences
      .filter((r) => r.operator === ":-" && envExample.has(r.name) && envExample.get(r.name) !== (r.argument ?? ""))
      .map((r) => `${r.name}: compose ${r.argument ?? ""}, example ${envExample.get(r.name)}`)
    expect([...new Set(differing)]).toEqual([])
  })

  it("contains no real-looking keys", () => {
    for (const [name, value] of envExample) {
      expect(value, name).not.toMatch(/^(?:sk-|ghp_|AKIA)|[A-Za-z0-9+/_-]{32,}/)
    }
  })
})

describe("docs/startup.md and docs/startup.zh.md", () => {
  for (const file of ["docs/startup.md", "docs/startup.zh.md"]) {
    it(`${file}: profiles, start order, readiness checks and npm start`, () => {
      const text = read(file)
      for (const profile of ["deep-memory", "deep-memory-prod", "rustfs", "rustfs-worker"]) {
        expect(text, profile).toContain(`--profile ${profile}`)
      }
      for (const url of [
        "http://127.0.0.1:8088/readyz",
        "http://127.0.0.1:8099/readyz"
      ]) {
        expect(text, url).toMatch(new RegExp(`curl [^\\n]*${url.replace(/[.]/g, "\\.")}`))
      }
      expect(text).toContain("npm start")
      for (const name of Object.keys(services())) expect(text, name).toContain(name)
    })
  }
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

  it("has a dev stage for the deep-memory profile that runs as node and may rebuild dist/", () => {
    const dev = stageNamed("dev")
    if (dev === undefined) throw new Error("no stage named dev")
    expect(dev[0]?.args).toMatch(/^build\s+AS\s+dev$/i)
    const users = dev.filter((i) => i.keyword === "USER").map((i) => i.args)
    expect(users.at(-1)).toBe("node")
    expect(dev.filter((i) => i.keyword === "RUN").map((i) => i.args).join(" ")).toMatch(/chown -R node:node \/app\/dist/)
    expect(stages.at(-1)?.[0]?.args).toMatch(/\sAS\s+runtime$/i)
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
  const profiles = ["rustfs", "deep-memory", "deep-memory-prod", "rustfs-worker"]
  const config = (extraEnv: Record<string, string>) => {
    const env: NodeJS.ProcessEnv = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("OPENCLAW_") && !k.startsWith("COMPOSE_"))
    )
    return spawnSync(
      "docker",
      [
        "compose",
        "--env-file",
        path.join(root, ".env.example"),
        ...profiles.flatMap((p) => ["--profile", p]),
        "config",
        "-q"
      ],
      { cwd: root, encoding: "utf8", env: { ...env, ...extraEnv } }
    )
  }

  it("accepts the file with the secrets set", () => {
    const result = config({
      OPENCLAW_RUSTFS_API_KEYS_JSON: `[{"key":"0123456789abcdef0123","tenant_id":"t1","role":"admin"}]`,
      OPENCLAW_RUSTFS_SIGNING_KEY: "test-signing-key-0123456789",
      OPENCLAW_RUSTFS_DB_PASSWORD: "0123456789abcdef",
      OPENCLAW_DEEPMEM_API_KEYS_JSON: `[{"key":"0123456789abcdef0123","role":"admin","namespaces":["*"]}]`,
      OPENCLAW_NEO4J_PASSWORD: "0123456789abcdef"
    })
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
  })

  // Secrets default to empty (see the top of docker-compose.yml): the services, not Compose, refuse them.
  it("accepts the example as it is, with every secret empty", () => {
    const result = config({})
    expect(result.stderr).toBe("")
    expect(result.status).toBe(0)
  })
})
