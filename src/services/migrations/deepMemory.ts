import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/** Numbered migrations of deep-memory's PostgreSQL tables (table `deep_memory_migrations`). */
export const deepMemoryMigrations = {
  "0001_graph": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE dm_graph_memories (
        namespace text NOT NULL,
        id text NOT NULL,
        session_id text NOT NULL,
        created_at_ms bigint NOT NULL,
        PRIMARY KEY (namespace, id)
      )`
    yield* sql`CREATE INDEX dm_graph_memories_session ON dm_graph_memories (namespace, session_id)`
    yield* sql`
      CREATE TABLE dm_graph_edges (
        namespace text NOT NULL,
        memory_id text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('entity', 'topic')),
        term text NOT NULL,
        PRIMARY KEY (namespace, memory_id, kind, term),
        FOREIGN KEY (namespace, memory_id) REFERENCES dm_graph_memories (namespace, id) ON DELETE CASCADE
      )`
    yield* sql`CREATE INDEX dm_graph_edges_term ON dm_graph_edges (namespace, kind, term)`
  })
}
