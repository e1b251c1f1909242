// Versioned schema migrations for the SQLite store. Each migration runs once, in order, and is recorded in
// `schema_migrations`; a migration is never edited after release — a change is a new, higher version.
// Pending migrations are applied in one IMMEDIATE transaction at open, so two processes opening the same
// file cannot both apply them, and a failure leaves the schema exactly as it was.
//
// Times are INTEGER epoch milliseconds; arrays and maps are JSON text columns.

import type Database from 'better-sqlite3';
import { HourglassError } from '../../core/errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );

      CREATE TABLE tenants (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        limits_json TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );

      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NULL REFERENCES tenants(id),
        scope TEXT NOT NULL CHECK (scope IN ('admin', 'tenant')),
        prefix TEXT NOT NULL,
        secret_hash TEXT NOT NULL UNIQUE,
        name TEXT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER NULL
      );
      CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        name TEXT NOT NULL,
        image TEXT NULL,
        command_json TEXT NOT NULL,
        args_json TEXT NOT NULL,
        env_json TEXT NOT NULL,
        memory_mb INTEGER NOT NULL,
        timeout_seconds INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        backoff_seconds INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted_at INTEGER NULL
      );
      -- A name is unique among a tenant's live jobs only, so a deleted job's name can be reused.
      CREATE UNIQUE INDEX jobs_tenant_name ON jobs (tenant_id, name) WHERE deleted_at IS NULL;
      -- listJobs and countJobs: a tenant's live jobs in id order.
      CREATE INDEX jobs_tenant_id ON jobs (tenant_id, id) WHERE deleted_at IS NULL;

      CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        job_id TEXT NOT NULL,
        schedule_id TEXT NULL,
        status TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        exit_code INTEGER NULL,
        reason TEXT NULL,
        args_json TEXT NULL,
        env_json TEXT NULL,
        created_at INTEGER NOT NULL,
        nominal_time INTEGER NOT NULL,
        available_at INTEGER NOT NULL,
        dispatched_at INTEGER NULL,
        started_at INTEGER NULL,
        finished_at INTEGER NULL,
        worker_id TEXT NULL,
        heartbeat_at INTEGER NULL,
        cancel_requested_at INTEGER NULL,
        idempotency_key TEXT NULL,
        request_hash TEXT NULL
      );
      -- listRuns, newest first, unfiltered / by job / by status.
      CREATE INDEX runs_tenant_id ON runs (tenant_id, id DESC);
      CREATE INDEX runs_tenant_job ON runs (tenant_id, job_id, id);
      CREATE INDEX runs_tenant_status ON runs (tenant_id, status, id);
      -- listQueuedRuns (queue rebuild at start) and deleteJob's cancelling of a job's queued runs.
      CREATE INDEX runs_queued ON runs (available_at, id) WHERE status = 'queued';
      -- listStaleRuns: the reaper's lookup of running runs whose heartbeat stopped.
      CREATE INDEX runs_running_heartbeat ON runs (heartbeat_at) WHERE status = 'running';
      CREATE UNIQUE INDEX runs_tenant_idempotency ON runs (tenant_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;

      CREATE TABLE run_events (
        run_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        status TEXT NOT NULL,
        detail TEXT NULL,
        PRIMARY KEY (run_id, seq)
      ) WITHOUT ROWID;
    `,
  },
]);

const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

function ensureMigrationsTable(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
}

function appliedVersions(db: Database.Database): Set<number> {
  const rows = db.prepare<[], { version: number }>('SELECT version FROM schema_migrations').all();
  return new Set(rows.map((row) => row.version));
}

/**
 * Applies the migrations this database has not seen yet and returns their versions (empty when the schema
 * is current). Refuses a database written by a newer Hourglass: running old code on it could corrupt it.
 */
export function applyMigrations(db: Database.Database, nowMs: number): number[] {
  ensureMigrationsTable(db);
  const apply = db.transaction((): number[] => {
    // Read inside the transaction: another process may have migrated between our open and our lock.
    const seen = appliedVersions(db);
    const newest = Math.max(0, ...seen);
    if (newest > LATEST_VERSION) {
      throw new HourglassError(
        'unavailable',
        `database schema version ${newest} is newer than this Hourglass understands (${LATEST_VERSION})`,
      );
    }
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    const pending = MIGRATIONS.filter((m) => !seen.has(m.version));
    for (const migration of pending) {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, nowMs);
    }
    return pending.map((m) => m.version);
  });
  return apply.immediate();
}
