import { Context, Data, type Effect } from "effect"

/**
 * The relationship graph of deep-memory: memories linked to the entities and topics they mention,
 * scoped by namespace. Retrieval asks it which memories relate to a query's entities and topics
 * (directly, or through entities that co-occur with them); inspect asks it for a session's entity
 * and topic frequencies; forget removes nodes and edges. Implementations: Neo4j, and PostgreSQL
 * tables for the embedded default.
 */
export class GraphError extends Data.TaggedError("GraphError")<{ readonly op: string; readonly cause: unknown }> {}

export interface GraphMemory {
  readonly id: string
  readonly sessionId: string
  readonly entities: ReadonlyArray<string>
  readonly topics: ReadonlyArray<string>
  readonly createdAtMs: number
}

export interface RelatedQuery {
  readonly entities: ReadonlyArray<string>
  readonly topics: ReadonlyArray<string>
  /** 1: memories mentioning a query term; 2: also memories mentioning terms that co-occur with one. */
  readonly hops: 1 | 2
  readonly limit: number
  readonly sessionIds?: ReadonlyArray<string> | undefined
}

export interface Related {
  readonly id: string
  /** In [0, 1]: shared terms weighted by rarity, second-hop terms discounted. */
  readonly score: number
}

export interface Frequency {
  readonly name: string
  readonly frequency: number
}

export interface GraphRemoval {
  readonly nodes: number
  readonly edges: number
}

export interface GraphStoreShape {
  readonly name: "neo4j" | "postgres"
  readonly upsertMemories: (namespace: string, memories: ReadonlyArray<GraphMemory>) => Effect.Effect<void, GraphError>
  readonly related: (namespace: string, query: RelatedQuery) => Effect.Effect<ReadonlyArray<Related>, GraphError>
  readonly sessionTerms: (
    namespace: string,
    sessionId: string,
    limit: number
  ) => Effect.Effect<{ readonly entities: ReadonlyArray<Frequency>; readonly topics: ReadonlyArray<Frequency> }, GraphError>
  readonly forgetMemories: (namespace: string, ids: ReadonlyArray<string>) => Effect.Effect<GraphRemoval, GraphError>
  readonly forgetSession: (namespace: string, sessionId: string) => Effect.Effect<GraphRemoval & { readonly ids: ReadonlyArray<string> }, GraphError>
  readonly count: (namespace: string) => Effect.Effect<{ readonly memories: number; readonly terms: number; readonly edges: number }, GraphError>
  readonly ping: Effect.Effect<void, GraphError>
}

export class GraphStore extends Context.Tag("deep-memory/GraphStore")<GraphStore, GraphStoreShape>() {}

/** Terms are compared case-insensitively and NFKC-normalized in every implementation. */
export const normalizeTerm = (term: string) => term.normalize("NFKC").trim().toLowerCase()
