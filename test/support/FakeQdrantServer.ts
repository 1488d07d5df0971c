import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

/**
 * A FAKE Qdrant: an in-process HTTP peer implementing only the REST endpoints QdrantVectorStore
 * calls, with their real semantics (cosine dense search, IDF-weighted sparse dot product, payload
 * filters, scroll, count, deletes) and strict request validation, so tests see protocol mistakes
 * the way a real Qdrant would reject them. Every request is recorded for assertions.
 */

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  readonly query: Readonly<Record<string, string>>
  readonly headers: Readonly<Record<string, string | undefined>>
  readonly body: unknown
}

type Json = unknown
type Obj = Record<string, Json>
type Sparse = { readonly indices: ReadonlyArray<number>; readonly values: ReadonlyArray<number> }
type PointId = string | number

interface FakePoint {
  id: PointId
  vectors: Map<string, Array<number> | Sparse>
  payload: Obj
}

interface FakeCollection {
  readonly dense: Map<string, { size: number; distance: string }>
  readonly sparse: Map<string, { modifier?: string }>
  metadata: Obj
  readonly payloadSchema: Map<string, Json>
  readonly points: Map<string, FakePoint>
}

class BadRequest extends Error {
  constructor(message: string, readonly status = 400) {
    super(message)
  }
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i

const isObj = (v: Json): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)

const expectObj = (v: Json, where: string, allowed: ReadonlyArray<string>, required: ReadonlyArray<string> = []): Obj => {
  if (!isObj(v)) throw new BadRequest(`Format error in JSON body: ${where}: expected an object`)
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) throw new BadRequest(`Format error in JSON body: ${where}: unknown field \`${k}\`, expected one of ${allowed.map((a) => `\`${a}\``).join(", ")}`)
  }
  for (const k of required) if (v[k] === undefined) throw new BadRequest(`Format error in JSON body: ${where}: missing field \`${k}\``)
  return v
}

const expectArray = (v: Json, where: string): Array<Json> => {
  if (!Array.isArray(v)) throw new BadRequest(`Format error in JSON body: ${where}: expected an array`)
  return v
}

const expectUint = (v: Json, where: string): number => {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new BadRequest(`Format error in JSON body: ${where}: expected an unsigned integer`)
  return v
}

const expectBool = (v: Json, where: string): boolean => {
  if (typeof v !== "boolean") throw new BadRequest(`Format error in JSON body: ${where}: expected a boolean`)
  return v
}

/** Qdrant point ids: unsigned integers or UUIDs (normalised to lower-case hyphenated form). */
const pointId = (v: Json, where: string): PointId => {
  if (typeof v === "number") return expectUint(v, where)
  if (typeof v === "string" && UUID.test(v)) {
    const hex = v.replace(/-/g, "").toLowerCase()
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  }
  throw new BadRequest(`Format error in JSON body: ${where}: value ${JSON.stringify(v)} is not a valid point ID, valid values are either an unsigned integer or a UUID`)
}

const idKey = (id: PointId) => (typeof id === "number" ? `n:${String(id).padStart(20, "0")}` : `u:${id}`)

const sparseVector = (v: Json, where: string): Sparse => {
  const o = expectObj(v, where, ["indices", "values"], ["indices", "values"])
  const indices = expectArray(o.indices, `${where}.indices`).map((i) => {
    const n = expectUint(i, `${where}.indices`)
    if (n > 0xffffffff) throw new BadRequest(`${where}.indices: index out of u32 range`)
    return n
  })
  const values = expectArray(o.values, `${where}.values`).map((x) => {
    if (typeof x !== "number" || !Number.isFinite(x)) throw new BadRequest(`${where}.values: expected numbers`)
    return x
  })
  if (indices.length !== values.length) throw new BadRequest(`Validation error in JSON body: ${where}: indices and values must be the same length`)
  if (new Set(indices).size !== indices.length) throw new BadRequest(`Validation error in JSON body: ${where}: indices must be unique`)
  return { indices, values }
}

const denseVector = (v: Json, where: string): Array<number> =>
  expectArray(v, where).map((x) => {
    if (typeof x !== "number" || !Number.isFinite(x)) throw new BadRequest(`${where}: expected numbers`)
    return x
  })

const normalise = (v: Array<number>) => {
  const n = Math.hypot(...v) || 1
  return v.map((x) => x / n)
}

// ---- filters -------------------------------------------------------------------------------

type Condition = (p: FakePoint) => boolean

const valuesAt = (payload: Obj, key: string): Array<Json> => {
  const v = payload[key]
  if (v === undefined) return []
  return Array.isArray(v) ? v : [v]
}

const matchCondition = (key: string, m: Json, where: string): Condition => {
  const o = expectObj(m, where, ["value", "any", "except"])
  if (o.value !== undefined) {
    if (!["string", "number", "boolean"].includes(typeof o.value)) throw new BadRequest(`${where}.value: expected a keyword, integer or bool`)
    return (p) => valuesAt(p.payload, key).some((x) => x === o.value)
  }
  if (o.any !== undefined) {
    const any = expectArray(o.any, `${where}.any`)
    return (p) => valuesAt(p.payload, key).some((x) => any.includes(x))
  }
  if (o.except !== undefined) {
    const except = expectArray(o.except, `${where}.except`)
    return (p) => valuesAt(p.payload, key).some((x) => !except.includes(x))
  }
  throw new BadRequest(`${where}: empty match`)
}

const rangeCondition = (key: string, r: Json, where: string): Condition => {
  const o = expectObj(r, where, ["lt", "gt", "gte", "lte"])
  for (const [k, v] of Object.entries(o)) if (v !== null && typeof v !== "number") throw new BadRequest(`${where}.${k}: expected a number`)
  const b = o as { lt?: number | null; gt?: number | null; gte?: number | null; lte?: number | null }
  return (p) =>
    valuesAt(p.payload, key).some((x) =>
      typeof x === "number" &&
      (b.lt == null || x < b.lt) && (b.gt == null || x > b.gt) &&
      (b.gte == null || x >= b.gte) && (b.lte == null || x <= b.lte)
    )
}

const condition = (c: Json, where: string): Condition => {
  if (!isObj(c)) throw new BadRequest(`${where}: expected a condition object`)
  if ("must" in c || "should" in c || "must_not" in c || "min_should" in c) return filter(c, where)
  if ("has_id" in c) {
    expectObj(c, where, ["has_id"])
    const ids = new Set(expectArray(c.has_id, `${where}.has_id`).map((id) => idKey(pointId(id, `${where}.has_id`))))
    return (p) => ids.has(idKey(p.id))
  }
  if ("is_empty" in c) {
    const key = String(expectObj(expectObj(c, where, ["is_empty"]).is_empty, `${where}.is_empty`, ["key"], ["key"]).key)
    return (p) => {
      const v = p.payload[key]
      return v === undefined || v === null || (Array.isArray(v) && v.length === 0)
    }
  }
  if ("is_null" in c) {
    const key = String(expectObj(expectObj(c, where, ["is_null"]).is_null, `${where}.is_null`, ["key"], ["key"]).key)
    return (p) => p.payload[key] === null
  }
  const o = expectObj(c, where, ["key", "match", "range"], ["key"])
  if (typeof o.key !== "string") throw new BadRequest(`${where}.key: expected a string`)
  if (o.match !== undefined && o.range === undefined) return matchCondition(o.key, o.match, `${where}.match`)
  if (o.range !== undefined && o.match === undefined) return rangeCondition(o.key, o.range, `${where}.range`)
  throw new BadRequest(`Format error in JSON body: ${where}: data did not match any variant of untagged enum Condition`)
}

const filter = (f: Json, where: string): Condition => {
  const o = expectObj(f, where, ["must", "should", "must_not", "min_should"])
  if (o.min_should !== undefined && o.min_should !== null) throw new BadRequest(`${where}.min_should: not supported by the fake`)
  const list = (k: string) =>
    o[k] === undefined || o[k] === null ? undefined : expectArray(o[k], `${where}.${k}`).map((c, i) => condition(c, `${where}.${k}[${i}]`))
  const must = list("must")
  const should = list("should")
  const mustNot = list("must_not")
  return (p) =>
    (must === undefined || must.every((c) => c(p))) &&
    (should === undefined || should.length === 0 || should.some((c) => c(p))) &&
    (mustNot === undefined || !mustNot.some((c) => c(p)))
}

const optionalFilter = (f: Json, where: string): Condition => (f === undefined || f === null ? () => true : filter(f, where))

// ---- server ----------------------------------------------------------------------------------

export interface FakeQdrantOptions {
  /** When set, requests must carry it in `api-key` (or `Authorization: Bearer`). */
  readonly apiKey?: string
}

export interface InjectedFailure {
  readonly status: number
  readonly body: Json
}

interface MatchedFailure extends InjectedFailure {
  readonly method: string
  readonly path: RegExp
  skip: number
}

export class FakeQdrantServer {
  readonly requests: Array<RecordedRequest> = []
  readonly collections = new Map<string, FakeCollection>()
  private readonly failures: Array<InjectedFailure> = []
  private readonly matchedFailures: Array<MatchedFailure> = []

  private constructor(private readonly server: Server, readonly url: string, private readonly options: FakeQdrantOptions) {}

  static start(options: FakeQdrantOptions = {}): Promise<FakeQdrantServer> {
    return new Promise((resolve, reject) => {
      let fake: FakeQdrantServer | undefined
      const server = createServer((req, res) => {
        void fake!.handle(req, res)
      })
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        fake = new FakeQdrantServer(server, `http://127.0.0.1:${port}`, options)
        resolve(fake)
      })
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections()
      this.server.close(() => resolve())
    })
  }

  /** The next request (whatever it is) is answered with this status and body instead. */
  failNext(status: number, body: Json = { status: { error: "Service internal error: injected by the fake" }, time: 0 }) {
    this.failures.push({ status, body })
  }

  /**
   * The first request matching `method` and `path` after `skip` earlier matches is answered with
   * this failure instead (once): a crash of the caller at a chosen step.
   */
  failOn(method: string, path: RegExp, options: { readonly skip?: number; readonly status?: number } = {}) {
    this.matchedFailures.push({
      method,
      path,
      skip: options.skip ?? 0,
      status: options.status ?? 500,
      body: { status: { error: "Service internal error: injected by the fake" }, time: 0 }
    })
  }

  requestsTo(method: string, pathPattern: RegExp): Array<RecordedRequest> {
    return this.requests.filter((r) => r.method === method && pathPattern.test(r.path))
  }

  private async handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Array<Buffer> = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString("utf8")
    const url = new URL(req.url ?? "/", "http://fake")
    const headers: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : v
    let body: Json = undefined
    const send = (status: number, payload: Json) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(payload))
    }
    try {
      if (text !== "") {
        try {
          body = JSON.parse(text)
        } catch {
          throw new BadRequest("Json deserialize error: invalid JSON body")
        }
      }
      this.requests.push({ method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), headers, body })
      const failure = this.failures.shift()
      if (failure !== undefined) return send(failure.status, failure.body)
      const matched = this.matchedFailures.findIndex((f) => f.method === req.method && f.path.test(url.pathname) && f.skip-- === 0)
      if (matched !== -1) {
        const [f] = this.matchedFailures.splice(matched, 1)
        return send(f!.status, f!.body)
      }
      if (this.options.apiKey !== undefined) {
        const bearer = headers.authorization?.replace(/^Bearer\s+/i, "")
        if (headers["api-key"] !== this.options.apiKey && bearer !== this.options.apiKey) {
          throw new BadRequest("Must provide an API key or an Authorization bearer token", 401)
        }
      }
      const started = performance.now()
      const result = this.route(req.method ?? "GET", url.pathname, url.searchParams, body)
      send(200, { result, status: "ok", time: (performance.now() - started) / 1000 })
    } catch (error) {
      const status = error instanceof BadRequest ? error.status : 500
      send(status, { status: { error: error instanceof Error ? error.message : String(error) }, time: 0 })
    }
  }

  private route(method: string, path: string, query: URLSearchParams, body: Json): Json {
    const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent)
    const checkQuery = (allowed: ReadonlyArray<string>) => {
      for (const k of query.keys()) if (!allowed.includes(k)) throw new BadRequest(`Query deserialize error: unknown field \`${k}\``)
      const wait = query.get("wait")
      if (wait !== null && wait !== "true" && wait !== "false") throw new BadRequest("Query deserialize error: wait must be a bool")
    }
    const update = () => ({ operation_id: this.nextOperation++, status: query.get("wait") === "true" ? "completed" : "acknowledged" })
    const noBody = () => {
      if (body !== undefined) throw new BadRequest("this endpoint takes no body")
    }

    if (method === "GET" && path === "/") return { title: "qdrant - vector search engine (fake)", version: "1.16.0" }
    if (parts[0] !== "collections") throw new BadRequest(`Not found: ${path}`, 404)
    if (parts.length === 1 && method === "GET") {
      checkQuery([])
      return { collections: [...this.collections.keys()].map((name) => ({ name })) }
    }
    const name = parts[1]!
    const rest = parts.slice(2).join("/")
    if (rest === "exists" && method === "GET") {
      checkQuery([])
      return { exists: this.collections.has(name) }
    }
    if (rest === "" && method === "PUT") {
      checkQuery(["timeout"])
      return this.createCollection(name, body)
    }
    const c = this.collections.get(name)
    if (c === undefined) throw new BadRequest(`Not found: Collection \`${name}\` doesn't exist!`, 404)
    switch (`${method} ${rest}`) {
      case "GET ":
        checkQuery([])
        noBody()
        return this.info(c)
      case "PATCH ": {
        checkQuery(["timeout"])
        const o = expectObj(body, "UpdateCollection", ["metadata"])
        if (o.metadata !== undefined && o.metadata !== null) {
          c.metadata = { ...c.metadata, ...expectObj(o.metadata, "metadata", Object.keys(o.metadata as Obj)) }
        }
        return true
      }
      case "DELETE ":
        checkQuery(["timeout"])
        this.collections.delete(name)
        return true
      case "PUT index":
        checkQuery(["wait", "ordering"])
        this.createIndex(c, body)
        return update()
      case "PUT points":
        checkQuery(["wait", "ordering"])
        this.upsert(c, body)
        return update()
      case "POST points":
        checkQuery(["consistency", "timeout"])
        return this.retrieve(c, body)
      case "POST points/query":
        checkQuery(["consistency", "timeout"])
        return this.query(c, body)
      case "POST points/scroll":
        checkQuery(["consistency", "timeout"])
        return this.scroll(c, body)
      case "POST points/count":
        checkQuery(["consistency", "timeout"])
        return this.count(c, body)
      case "POST points/delete":
        checkQuery(["wait", "ordering"])
        this.delete(c, body)
        return update()
    }
    throw new BadRequest(`Not found: ${method} ${path}`, 404)
  }

  private nextOperation = 1

  private createCollection(name: string, body: Json) {
    const o = expectObj(body, "CreateCollection", ["vectors", "sparse_vectors", "metadata", "on_disk_payload", "hnsw_config", "shard_number"])
    if (this.collections.has(name)) throw new BadRequest(`Wrong input: Collection \`${name}\` already exists!`, 409)
    const dense = new Map<string, { size: number; distance: string }>()
    if (o.vectors !== undefined) {
      const vectors = expectObj(o.vectors, "vectors", Object.keys(o.vectors as Obj))
      if ("size" in vectors) throw new BadRequest("the fake supports only named dense vectors")
      for (const [vname, params] of Object.entries(vectors)) {
        const p = expectObj(params, `vectors.${vname}`, ["size", "distance", "on_disk"], ["size", "distance"])
        const size = expectUint(p.size, `vectors.${vname}.size`)
        if (size === 0) throw new BadRequest(`Validation error in JSON body: vectors.${vname}.size: must be at least 1`)
        if (!["Cosine", "Dot", "Euclid", "Manhattan"].includes(String(p.distance))) {
          throw new BadRequest(`Format error in JSON body: vectors.${vname}.distance: unknown variant \`${String(p.distance)}\``)
        }
        if (p.distance !== "Cosine") throw new BadRequest("the fake supports only Cosine distance")
        dense.set(vname, { size, distance: String(p.distance) })
      }
    }
    const sparse = new Map<string, { modifier?: string }>()
    if (o.sparse_vectors !== undefined && o.sparse_vectors !== null) {
      for (const [sname, params] of Object.entries(expectObj(o.sparse_vectors, "sparse_vectors", Object.keys(o.sparse_vectors as Obj)))) {
        const p = expectObj(params ?? {}, `sparse_vectors.${sname}`, ["modifier", "index"])
        if (p.modifier !== undefined && p.modifier !== null && p.modifier !== "idf" && p.modifier !== "none") {
          throw new BadRequest(`Format error in JSON body: sparse_vectors.${sname}.modifier: unknown variant \`${String(p.modifier)}\``)
        }
        sparse.set(sname, p.modifier === "idf" ? { modifier: "idf" } : {})
      }
    }
    for (const n of dense.keys()) if (sparse.has(n)) throw new BadRequest(`Wrong input: vector name ${n} is both dense and sparse`)
    const metadata = o.metadata === undefined || o.metadata === null ? {} : expectObj(o.metadata, "metadata", Object.keys(o.metadata as Obj))
    this.collections.set(name, { dense, sparse, metadata, payloadSchema: new Map(), points: new Map() })
    return true
  }

  private info(c: FakeCollection) {
    return {
      status: "green",
      optimizer_status: "ok",
      indexed_vectors_count: 0,
      points_count: c.points.size,
      segments_count: 1,
      config: {
        params: {
          vectors: Object.fromEntries([...c.dense].map(([n, p]) => [n, { size: p.size, distance: p.distance }])),
          sparse_vectors: Object.fromEntries([...c.sparse].map(([n, p]) => [n, p])),
          shard_number: 1,
          replication_factor: 1,
          write_consistency_factor: 1,
          on_disk_payload: true
        },
        hnsw_config: { m: 16, ef_construct: 100, full_scan_threshold: 10000, max_indexing_threads: 0, on_disk: false },
        optimizer_config: {
          deleted_threshold: 0.2, vacuum_min_vector_number: 1000, default_segment_number: 0, max_segment_size: null,
          memmap_threshold: null, indexing_threshold: 10000, flush_interval_sec: 5, max_optimization_threads: null
        },
        wal_config: { wal_capacity_mb: 32, wal_segments_ahead: 0 },
        quantization_config: null,
        metadata: c.metadata
      },
      payload_schema: Object.fromEntries([...c.payloadSchema].map(([field, schema]) => {
        const params = isObj(schema) ? schema : { type: schema }
        const points = [...c.points.values()].filter((p) => p.payload[field] !== undefined && p.payload[field] !== null).length
        return [field, { data_type: params.type, ...(isObj(schema) ? { params: schema } : {}), points }]
      }))
    }
  }

  private createIndex(c: FakeCollection, body: Json) {
    const o = expectObj(body, "CreateFieldIndex", ["field_name", "field_schema"], ["field_name"])
    if (typeof o.field_name !== "string" || o.field_name === "") throw new BadRequest("field_name: expected a non-empty string")
    const types = ["keyword", "integer", "float", "geo", "text", "bool", "datetime", "uuid"]
    const schema = o.field_schema
    if (typeof schema === "string") {
      if (!types.includes(schema)) throw new BadRequest(`Format error in JSON body: field_schema: unknown variant \`${schema}\``)
    } else {
      const p = expectObj(schema, "field_schema", ["type", "is_tenant", "on_disk", "lookup", "range", "is_principal"], ["type"])
      if (!types.includes(String(p.type))) throw new BadRequest(`Format error in JSON body: field_schema.type: unknown variant \`${String(p.type)}\``)
      if (p.is_tenant !== undefined && p.is_tenant !== null) {
        expectBool(p.is_tenant, "field_schema.is_tenant")
        if (!["keyword", "uuid"].includes(String(p.type))) throw new BadRequest("field_schema.is_tenant: only keyword and uuid indexes can be tenants")
      }
    }
    c.payloadSchema.set(o.field_name, schema)
  }

  private upsert(c: FakeCollection, body: Json) {
    const o = expectObj(body, "PointInsertOperations", ["points", "shard_key", "update_filter"], ["points"])
    const points = expectArray(o.points, "points").map((raw, i): FakePoint => {
      const where = `points[${i}]`
      const p = expectObj(raw, where, ["id", "vector", "payload"], ["id"])
      const id = pointId(p.id, `${where}.id`)
      const vectors = new Map<string, Array<number> | Sparse>()
      if (p.vector !== undefined) {
        if (Array.isArray(p.vector)) throw new BadRequest(`Wrong input: ${where}.vector: the collection has no unnamed vector`)
        for (const [vname, v] of Object.entries(expectObj(p.vector, `${where}.vector`, Object.keys(p.vector as Obj)))) {
          const dense = c.dense.get(vname)
          if (dense !== undefined) {
            const values = denseVector(v, `${where}.vector.${vname}`)
            if (values.length !== dense.size) {
              throw new BadRequest(`Wrong input: Vector dimension error: expected dim: ${dense.size}, got ${values.length}`)
            }
            vectors.set(vname, normalise(values))
          } else if (c.sparse.has(vname)) {
            vectors.set(vname, sparseVector(v, `${where}.vector.${vname}`))
          } else {
            throw new BadRequest(`Wrong input: Not existing vector name error: ${vname}`)
          }
        }
      }
      const payload = p.payload === undefined || p.payload === null ? {} : expectObj(p.payload, `${where}.payload`, Object.keys(p.payload as Obj))
      return { id, vectors, payload: structuredClone(payload) }
    })
    for (const p of points) c.points.set(idKey(p.id), p)
  }

  private withPayload(v: Json, where: string): boolean {
    if (v === undefined || v === null) return false
    return expectBool(v, where)
  }

  /** `with_vector`: a bool or the names of the vectors to return (as stored: Cosine vectors normalised). */
  private withVector(v: Json, where: string): ReadonlyArray<string> | boolean {
    if (v === undefined || v === null) return false
    if (typeof v === "boolean") return v
    return expectArray(v, where).map((n) => {
      if (typeof n !== "string") throw new BadRequest(`Format error in JSON body: ${where}: expected vector names`)
      return n
    })
  }

  private checkVectorNames(c: FakeCollection, vectors: ReadonlyArray<string> | boolean) {
    if (!Array.isArray(vectors)) return
    for (const n of vectors) if (!c.dense.has(n) && !c.sparse.has(n)) throw new BadRequest(`Wrong input: Not existing vector name error: ${n}`)
  }

  private record(p: FakePoint, includePayload: boolean, extra: Obj = {}, vectors: ReadonlyArray<string> | boolean = false) {
    const named = vectors === false ? undefined : Object.fromEntries(
      [...p.vectors].filter(([n]) => vectors === true || vectors.includes(n)).map(([n, v]) => [n, structuredClone(v)])
    )
    return { id: p.id, ...extra, ...(includePayload ? { payload: structuredClone(p.payload) } : {}), vector: named ?? null }
  }

  private retrieve(c: FakeCollection, body: Json) {
    const o = expectObj(body, "PointRequest", ["ids", "with_payload", "with_vector", "shard_key"], ["ids"])
    const payload = o.with_payload === undefined ? true : this.withPayload(o.with_payload, "with_payload")
    const vectors = this.withVector(o.with_vector, "with_vector")
    this.checkVectorNames(c, vectors)
    return expectArray(o.ids, "ids")
      .map((id) => c.points.get(idKey(pointId(id, "ids"))))
      .filter((p): p is FakePoint => p !== undefined)
      .map((p) => this.record(p, payload, {}, vectors))
  }

  private query(c: FakeCollection, body: Json) {
    const o = expectObj(body, "QueryRequest", ["query", "using", "filter", "limit", "offset", "with_payload", "with_vector", "params", "score_threshold"], ["query"])
    const using = o.using === undefined || o.using === null ? "" : String(o.using)
    const where = optionalFilter(o.filter, "filter")
    const limit = o.limit === undefined ? 10 : expectUint(o.limit, "limit")
    const offset = o.offset === undefined ? 0 : expectUint(o.offset, "offset")
    const payload = this.withPayload(o.with_payload, "with_payload")
    if (o.with_vector !== undefined && o.with_vector !== false) throw new BadRequest("the fake does not return vectors")
    const candidates = [...c.points.values()].filter(where)
    let scored: Array<{ point: FakePoint; score: number }>
    const dense = c.dense.get(using)
    if (dense !== undefined) {
      const q = normalise(denseVector(o.query, "query"))
      if (q.length !== dense.size) throw new BadRequest(`Wrong input: Vector dimension error: expected dim: ${dense.size}, got ${q.length}`)
      scored = candidates.flatMap((point) => {
        const v = point.vectors.get(using)
        if (!Array.isArray(v)) return []
        return [{ point, score: v.reduce((s, x, i) => s + x * q[i]!, 0) }]
      })
    } else if (c.sparse.has(using)) {
      if (!isObj(o.query) || !("indices" in o.query)) throw new BadRequest(`Wrong input: Conversion between sparse and regular vectors failed`)
      const q = sparseVector(o.query, "query")
      const idf = c.sparse.get(using)?.modifier === "idf" ? this.idf(c, using) : undefined
      scored = candidates.flatMap((point) => {
        const v = point.vectors.get(using)
        if (v === undefined || Array.isArray(v)) return []
        const doc = new Map(v.indices.map((index, i) => [index, v.values[i]!]))
        let score = 0
        let overlap = false
        q.indices.forEach((index, i) => {
          const d = doc.get(index)
          if (d === undefined) return
          overlap = true
          score += q.values[i]! * d * (idf === undefined ? 1 : idf(index))
        })
        return overlap ? [{ point, score }] : []
      })
    } else {
      throw new BadRequest(`Wrong input: Not existing vector name error: ${using}`)
    }
    if (o.score_threshold !== undefined && o.score_threshold !== null) {
      const t = Number(o.score_threshold)
      scored = scored.filter((s) => s.score >= t)
    }
    scored.sort((a, b) => b.score - a.score || (idKey(a.point.id) < idKey(b.point.id) ? -1 : 1))
    return {
      points: scored.slice(offset, offset + limit).map((s) => this.record(s.point, payload, { version: 1, score: s.score }))
    }
  }

  /** Qdrant's IDF: ln(1 + (N - df + 0.5) / (df + 0.5)) over the points holding that sparse vector. */
  private idf(c: FakeCollection, using: string) {
    const docs = [...c.points.values()].map((p) => p.vectors.get(using)).filter((v): v is Sparse => v !== undefined && !Array.isArray(v))
    const df = new Map<number, number>()
    for (const d of docs) for (const i of d.indices) df.set(i, (df.get(i) ?? 0) + 1)
    const n = docs.length
    return (index: number) => {
      const k = df.get(index) ?? 0
      return Math.log(1 + (n - k + 0.5) / (k + 0.5))
    }
  }

  private scroll(c: FakeCollection, body: Json) {
    const o = expectObj(body, "ScrollRequest", ["filter", "limit", "offset", "with_payload", "with_vector", "order_by", "shard_key"])
    const where = optionalFilter(o.filter, "filter")
    const limit = o.limit === undefined || o.limit === null ? 10 : expectUint(o.limit, "limit")
    if (limit < 1) throw new BadRequest("Validation error in JSON body: limit: must be at least 1")
    const payload = o.with_payload === undefined || o.with_payload === null ? true : this.withPayload(o.with_payload, "with_payload")
    const vectors = this.withVector(o.with_vector, "with_vector")
    this.checkVectorNames(c, vectors)
    const matching = [...c.points.values()].filter(where)
    if (o.order_by !== undefined && o.order_by !== null) {
      if (o.offset !== undefined && o.offset !== null) throw new BadRequest("Bad request: Offset is not supported with order_by, use `start_from` instead")
      const ob = typeof o.order_by === "string" ? { key: o.order_by } : expectObj(o.order_by, "order_by", ["key", "direction", "start_from"], ["key"])
      const key = String(ob.key)
      const schema = c.payloadSchema.get(key)
      const type = isObj(schema) ? schema.type : schema
      const ranged = (type === "integer" || type === "float" || type === "datetime") && !(isObj(schema) && schema.range === false)
      if (!ranged) throw new BadRequest(`Bad request: No range index for \`order_by\` key: \`${key}\`. Please create one to use \`order_by\`.`)
      const direction = ob.direction === undefined || ob.direction === null ? "asc" : String(ob.direction)
      if (direction !== "asc" && direction !== "desc") throw new BadRequest(`order_by.direction: unknown variant \`${direction}\``)
      const sign = direction === "asc" ? 1 : -1
      const withValue = matching.flatMap((p) => valuesAt(p.payload, key).filter((v): v is number => typeof v === "number").slice(0, 1).map((v) => ({ p, v })))
      const from = typeof ob.start_from === "number" ? ob.start_from : undefined
      const ordered = withValue
        .filter(({ v }) => from === undefined || (sign === 1 ? v >= from : v <= from))
        .sort((a, b) => sign * (a.v - b.v))
      return { points: ordered.slice(0, limit).map(({ p }) => this.record(p, payload, {}, vectors)), next_page_offset: null }
    }
    const sorted = matching.sort((a, b) => (idKey(a.id) < idKey(b.id) ? -1 : 1))
    const start = o.offset === undefined || o.offset === null ? 0 : (() => {
      const from = idKey(pointId(o.offset, "offset"))
      const i = sorted.findIndex((p) => idKey(p.id) >= from)
      return i === -1 ? sorted.length : i
    })()
    const page = sorted.slice(start, start + limit)
    const next = sorted[start + limit]
    return { points: page.map((p) => this.record(p, payload, {}, vectors)), next_page_offset: next === undefined ? null : next.id }
  }

  private count(c: FakeCollection, body: Json) {
    const o = expectObj(body ?? {}, "CountRequest", ["filter", "exact", "shard_key"])
    if (o.exact !== undefined) expectBool(o.exact, "exact")
    return { count: [...c.points.values()].filter(optionalFilter(o.filter, "filter")).length }
  }

  private delete(c: FakeCollection, body: Json) {
    const o = expectObj(body, "PointsSelector", ["points", "filter", "shard_key"])
    if ((o.points === undefined) === (o.filter === undefined)) {
      throw new BadRequest("Format error in JSON body: data did not match any variant of untagged enum PointsSelector")
    }
    if (o.points !== undefined) {
      for (const id of expectArray(o.points, "points")) c.points.delete(idKey(pointId(id, "points")))
      return
    }
    const where = filter(o.filter, "filter")
    for (const [k, p] of [...c.points]) if (where(p)) c.points.delete(k)
  }
}

/** A fake Qdrant for the lifetime of the scope. */
export const fakeQdrant = (options: FakeQdrantOptions = {}) =>
  Effect.acquireRelease(Effect.promise(() => FakeQdrantServer.start(options)), (fake) => Effect.promise(() => fake.close()))
