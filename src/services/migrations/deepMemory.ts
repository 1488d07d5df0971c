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
  ...taskQueueMigrations,
  "0005_lexical_in_process": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Lexical search moved to an in-process BM25 index rebuilt from `tokens` (0002's full-text
    // column cost every write a GIN update and every query a scan of all matches).
    yield* sql`DROP INDEX IF EXISTS dm_memories_lexical`
    yield* sql`ALTER TABLE dm_memories DROP COLUMN IF EXISTS lexical`
  }),
  "0006_graph_counts": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Document frequencies of terms and memory counts per namespace, kept by statement triggers in
    // the writing transaction, so graph scoring reads its idf instead of counting edges per query.
    yield* sql`
      CREATE TABLE dm_graph_terms (
        namespace text NOT NULL,
        kind text NOT NULL,
        term text NOT NULL,
        df bigint NOT NULL,
        PRIMARY KEY (namespace, kind, term)
      )`
    yield* sql`CREATE TABLE dm_graph_namespaces (namespace text PRIMARY KEY, memories bigint NOT NULL)`
    // Scoring reads (term → memory) pairs only: a covering index lets it skip the table.
    yield* sql`CREATE INDEX dm_graph_edges_term_memory ON dm_graph_edges (namespace, kind, term, memory_id)`
    yield* sql`DROP INDEX dm_graph_edges_term`
    yield* sql`INSERT INTO dm_graph_terms SELECT namespace, kind, term, count(*) FROM dm_graph_edges GROUP BY 1, 2, 3`
    yield* sql`INSERT INTO dm_graph_namespaces SELECT namespace, count(*) FROM dm_graph_memories GROUP BY 1`
    // Rows are visited in key order, so two transactions touching the same terms lock them in the same order.
    yield* sql.unsafe(`
      CREATE FUNCTION dm_graph_edges_added() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO dm_graph_terms (namespace, kind, term, df)
          SELECT namespace, kind, term, count(*) FROM added GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
          ON CONFLICT (namespace, kind, term) DO UPDATE SET df = dm_graph_terms.df + EXCLUDED.df;
        RETURN NULL;
      END $$`)
    yield* sql.unsafe(`
      CREATE FUNCTION dm_graph_edges_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT namespace, kind, term, count(*) AS n FROM removed GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LOOP
          UPDATE dm_graph_terms SET df = df - r.n WHERE namespace = r.namespace AND kind = r.kind AND term = r.term;
        END LOOP;
        DELETE FROM dm_graph_terms t USING (SELECT DISTINCT namespace, kind, term FROM removed) d
          WHERE t.namespace = d.namespace AND t.kind = d.kind AND t.term = d.term AND t.df <= 0;
        RETURN NULL;
      END $$`)
    yield* sql.unsafe(`
      CREATE FUNCTION dm_graph_memories_added() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO dm_graph_namespaces (namespace, memories)
          SELECT namespace, count(*) FROM added GROUP BY 1 ORDER BY 1
          ON CONFLICT (namespace) DO UPDATE SET memories = dm_graph_namespaces.memories + EXCLUDED.memories;
        RETURN NULL;
      END $$`)
    yield* sql.unsafe(`
      CREATE FUNCTION dm_graph_memories_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE r record;
      BEGIN
        FOR r IN SELECT namespace, count(*) AS n FROM removed GROUP BY 1 ORDER BY 1 LOOP
          UPDATE dm_graph_namespaces SET memories = memories - r.n WHERE namespace = r.namespace;
        END LOOP;
        RETURN NULL;
      END $$`)
    yield* sql.unsafe(`CREATE TRIGGER dm_graph_edges_added AFTER INSERT ON dm_graph_edges
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION dm_graph_edges_added()`)
    yield* sql.unsafe(`CREATE TRIGGER dm_graph_edges_removed AFTER DELETE ON dm_graph_edges
      REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION dm_graph_edges_removed()`)
    yield* sql.unsafe(`CREATE TRIGGER dm_graph_memories_added AFTER INSERT ON dm_graph_memories
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION dm_graph_memories_added()`)
    yield* sql.unsafe(`CREATE TRIGGER dm_graph_memories_removed AFTER DELETE ON dm_graph_memories
      REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION dm_graph_memories_removed()`)
  })
}
