import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

/**
 * deep-memory's durable task queue (one table for the update and forget queues), merged into the
 * deep-memory migration record.
 */
export const taskQueueMigrations = {
  "0004_tasks": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    yield* sql`
      CREATE TABLE dm_tasks (
        id uuid PRIMARY KEY,
        seq bigserial NOT NULL,
        queue text NOT NULL CHECK (queue IN ('update', 'forget')),
        namespace text NOT NULL,
        session_id text NOT NULL,
        kind text NOT NULL,
        payload jsonb NOT NULL,
        coalesce_key text,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        run_after_ms bigint NOT NULL,
        created_at_ms bigint NOT NULL,
        updated_at_ms bigint NOT NULL,
        lease_token uuid,
        lease_expires_at_ms bigint,
        worker_id text,
        last_error text,
        failed_at_ms bigint,
        done_at_ms bigint
      )`
    // At most one pending task per coalesce key: enqueue merges into it with ON CONFLICT.
    yield* sql`CREATE UNIQUE INDEX dm_tasks_pending_key ON dm_tasks (queue, namespace, coalesce_key)
      WHERE status = 'pending' AND coalesce_key IS NOT NULL`
    yield* sql`CREATE INDEX dm_tasks_due ON dm_tasks (queue, status, run_after_ms, seq)`
    yield* sql`CREATE INDEX dm_tasks_namespace ON dm_tasks (queue, namespace, status, seq)`
    yield* sql`CREATE INDEX dm_tasks_session ON dm_tasks (queue, namespace, session_id)`
    yield* sql`CREATE INDEX dm_tasks_running_key ON dm_tasks (queue, namespace, coalesce_key)
      WHERE status = 'running' AND coalesce_key IS NOT NULL`
  })
}
