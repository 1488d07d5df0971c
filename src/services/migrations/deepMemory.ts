import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { taskQueueMigrations } from "./taskQueue.js"

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
  }),
  "0002_memories": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE dm_meta (key text PRIMARY KEY, value jsonb NOT NULL)`
    yield* sql`
      CREATE TABLE dm_memories (
        namespace text NOT NULL,
        id uuid NOT NULL,
        index_key bigserial NOT NULL UNIQUE,
        session_id text NOT NULL,
        vector bytea NOT NULL,
        tokens text NOT NULL,
        lexical tsvector GENERATED ALWAYS AS (to_tsvector('simple', tokens)) STORED,
        payload jsonb NOT NULL,
        created_at_ms bigint NOT NULL,
        expires_at_ms bigint,
        PRIMARY KEY (namespace, id)
      )`
    yield* sql`CREATE INDEX dm_memories_lexical ON dm_memories USING gin (lexical)`
    yield* sql`CREATE INDEX dm_memories_session ON dm_memories (namespace, session_id)`
    yield* sql`CREATE INDEX dm_memories_expiry ON dm_memories (expires_at_ms) WHERE expires_at_ms IS NOT NULL`
  }),
  "0003_seen_messages": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Messages already turned into memories, per session: a resent transcript only adds what is new.
    yield* sql`
      CREATE TABLE dm_seen_messages (
        namespace text NOT NULL,
        session_id text NOT NULL,
        hash text NOT NULL,
        seen_at_ms bigint NOT NULL,
        PRIMARY KEY (namespace, session_id, hash)
      )`
  }),
  ...taskQueueMigrations
}
