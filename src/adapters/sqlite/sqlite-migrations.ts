// Versioned schema migrations for the SQLite store. Each migration runs once, in order, and is recorded in
// `schema_migrations`; a migration is never edited after release — a change is a new, higher version.
// Pending migrations are applied in one IMMEDIATE transaction at open, so two processes opening the same
// file cannot both apply them, and a failure leaves the schema exactly as it was.
//
// Times are INTEGER epoch milliseconds; arrays and maps are JSON text columns.

import type Database from 'better-sqlite3';
import { HourglassError } from '../../core/errors.js';
import { TERMINAL_STATUSES } from '../../core/run-state.js';
import { compileLoadForecastCounts } from './sqlite-load-forecast-counts.js';
import { FAILURES_IN } from './sqlite-stats-queries.js';

/** `'succeeded', 'failed', …`: the terminal statuses as an SQL list, from the core's rule. */
const TERMINAL_SQL = TERMINAL_STATUSES.map((status) => `'${status}'`).join(', ');

/**
 * The INSERT of a webhook_deliveries row per webhook of NEW's tenant that asks for NEW's status (and its job,
 * when it names one), as a run reaches that terminal status: the fan-out, in the run's own transaction.
 */
const FAN_OUT_SQL = `
  INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, run_id, event, status, attempts, next_attempt_at,
      created_at)
    SELECT 'msg_' || lower(hex(randomblob(16))), w.tenant_id, w.id, NEW.id, NEW.status, 'pending', 0,
      COALESCE(NEW.finished_at, NEW.created_at), COALESCE(NEW.finished_at, NEW.created_at)
    FROM webhooks w
    WHERE w.tenant_id = NEW.tenant_id AND w.disabled_at IS NULL
      AND (w.job_id IS NULL OR w.job_id = NEW.job_id)
      AND EXISTS (SELECT 1 FROM json_each(w.events_json) e WHERE e.value = NEW.status);`;

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Run after `sql`, in its transaction: a backfill whose rule lives in the core, not in SQL. */
  backfill?: (db: Database.Database) => void;
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
  {
    version: 2,
    name: 'schedules, scheduler leases, run due times and blocking',
    sql: `
      -- NULL for runs written before this version: read as their nominal time.
      ALTER TABLE runs ADD COLUMN due_at INTEGER NULL;
      -- A schedule's run waiting for this earlier run to end (overlap policies buffer_one and replace).
      ALTER TABLE runs ADD COLUMN blocked_by TEXT NULL;
      -- The queue is rebuilt from unblocked queued runs only; a blocked one is published when released.
      DROP INDEX runs_queued;
      CREATE INDEX runs_queued ON runs (available_at, id) WHERE status = 'queued' AND blocked_by IS NULL;
      -- Overlap policies: the unfinished runs of a schedule, looked up on every tick that is not 'allow'.
      CREATE INDEX runs_schedule_unfinished ON runs (schedule_id, status)
        WHERE schedule_id IS NOT NULL AND status IN ('queued', 'running');
      -- releaseBlockedRuns: the runs waiting for a given run.
      CREATE INDEX runs_blocked_by ON runs (blocked_by) WHERE blocked_by IS NOT NULL;
      -- listRuns by schedule, newest first.
      CREATE INDEX runs_tenant_schedule ON runs (tenant_id, schedule_id, id) WHERE schedule_id IS NOT NULL;

      -- WITHOUT ROWID: the table is stored in id order, so the engine's load of every schedule is a
      -- sequential read, and each lookup by id (every fired batch checks its schedules' versions) is one
      -- B-tree, not two.
      CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        job_id TEXT NOT NULL,
        partition INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('cron', 'every')),
        cron TEXT NULL,
        timezone TEXT NULL,
        every TEXT NULL,
        interval_ms INTEGER NULL,
        anchor_at INTEGER NULL,
        start_at INTEGER NULL,
        end_at INTEGER NULL,
        paused INTEGER NOT NULL,
        overlap_policy TEXT NOT NULL,
        catchup_mode TEXT NOT NULL,
        catchup_window_seconds INTEGER NOT NULL,
        catchup_max_runs INTEGER NOT NULL,
        jitter_seconds INTEGER NOT NULL,
        args_json TEXT NULL,
        env_json TEXT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        deleted_at INTEGER NULL,
        version INTEGER NOT NULL,
        next_fire_at INTEGER NULL,
        change_seq INTEGER NOT NULL,
        -- [spec, catchup] as JSON, beside their columns: the engine's load reads one text instead of nine
        -- columns (most of a million-row load's cost is per column), and identical ones are parsed once.
        timing_json TEXT NOT NULL
      ) WITHOUT ROWID;
      -- listSchedules and the plan limit's count: a tenant's live schedules in id order (and by job).
      CREATE INDEX schedules_tenant_id ON schedules (tenant_id, id) WHERE deleted_at IS NULL;
      CREATE INDEX schedules_tenant_job ON schedules (tenant_id, job_id, id) WHERE deleted_at IS NULL;
      -- The engine's load: live, unpaused schedules of a partition in id order. Not partial on next_fire_at:
      -- the engine moves every watermark every tick, and a column in the WHERE would make each move an
      -- index update too; the load reads the row anyway, and filters it there.
      CREATE INDEX schedules_partition_id ON schedules (partition, id)
        WHERE deleted_at IS NULL AND paused = 0;
      -- Reconciliation reads changes in sequence order; unique, since each change takes the next number.
      CREATE UNIQUE INDEX schedules_change_seq ON schedules (change_seq);

      -- A row per partition, created the first time it is taken; owner NULL when given back.
      CREATE TABLE scheduler_leases (
        partition INTEGER PRIMARY KEY,
        owner TEXT NULL,
        epoch INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX scheduler_leases_owner ON scheduler_leases (owner);

      CREATE TABLE scheduler_members (
        owner TEXT PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'cheaper fired runs: implied first events, fewer and narrower run indexes',
    // A tick burst (every schedule on the same second) gives run ids that are random within that second, so
    // each B-tree keyed by run id takes its inserts all over the tree, and the commit writes nearly every
    // page of it. Fewer and smaller such trees is most of what makes firing cheaper (see
    // sqlite-fire-queries.ts). Nothing is copied: existing runs keep their stored events (fired_late NULL).
    sql: `
      -- Not NULL: a tick's run fired in bulk, whose created and dispatched events (both at created_at) are
      -- implied by the row instead of stored in run_events; 1 when the tick was caught up late.
      ALTER TABLE runs ADD COLUMN fired_late INTEGER NULL;
      -- listQueuedRuns (the queue rebuild, once at start) reads the queued runs of each tenant through
      -- runs_tenant_status and sorts them; every run inserted queued and every claim no longer writes this.
      DROP INDEX runs_queued;
      -- listRuns unfiltered merges the tenant's runs_tenant_status ranges, one per status (sqlite-run-queries.ts).
      DROP INDEX runs_tenant_id;
      -- A job or a schedule belongs to one tenant: the tenant column added nothing but bytes to each entry.
      DROP INDEX runs_tenant_job;
      CREATE INDEX runs_job ON runs (job_id, id);
      DROP INDEX runs_tenant_schedule;
      CREATE INDEX runs_schedule ON runs (schedule_id, id) WHERE schedule_id IS NOT NULL;
    `,
  },
  {
    version: 4,
    name: 'watermarks by partition frontier; overlap index without bulk-fired runs',
    // Moving every fired schedule's next_fire_at was a random write into the schedules table per tick — about
    // a third of what firing cost. A partition's owner records instead, with each batch, how far it has fired
    // the whole partition; a schedule's watermark is read as the later of its own and the first tick past
    // that frontier (sqlite-schedule-frontier.ts). Nothing is copied: existing rows keep their own watermark.
    sql: `
      -- Every tick of the partition due at or before fired_through was fired, for each schedule whose
      -- change_seq is at most fired_through_seq (the changes the owner had seen). NULL: none recorded.
      ALTER TABLE scheduler_leases ADD COLUMN fired_through INTEGER NULL;
      ALTER TABLE scheduler_leases ADD COLUMN fired_through_seq INTEGER NULL;
      -- Overlap policies look only at runs fired under one of them (tick by tick, fired_late NULL): an 'allow'
      -- run fired in bulk no longer pays for an entry in this index.
      DROP INDEX runs_schedule_unfinished;
      CREATE INDEX runs_schedule_unfinished ON runs (schedule_id, status)
        WHERE schedule_id IS NOT NULL AND status IN ('queued', 'running') AND fired_late IS NULL;
    `,
  },
  {
    version: 5,
    name: 'runs of a schedule listed through its job; a covering index for firing',
    // What a fired run costs is mostly the B-trees it enters. runs_schedule was the one a run of every
    // schedule enters at a different place (one random page per run, whatever the batching): about a third
    // of the firing write. A schedule belongs to one job for life, so its runs are read through runs_job
    // instead (sqlite-run-queries.ts). The bulk insert's check of each tick against its schedule row reads a
    // narrow index instead of the wide row (the table's leaves hold few rows each).
    sql: `
      DROP INDEX runs_schedule;
      -- sqlite-fire-queries.ts: everything the bulk insert reads from the schedule, id first.
      CREATE INDEX schedules_fire ON schedules (id, version, partition, paused, deleted_at, overlap_policy,
        tenant_id, job_id, args_json, env_json);
    `,
  },
  {
    version: 6,
    name: 'when each API key was last used',
    // Written when a key authenticates, at most once a minute per key (services/auth.ts). NULL: not used
    // since this version.
    sql: `ALTER TABLE api_keys ADD COLUMN last_used_at INTEGER NULL;`,
  },
  {
    version: 7,
    name: "a job's memory request",
    // What a run reserves on a worker, next to its limit (memory_mb); NULL for the default share of the
    // limit (core/job.ts memoryRequestOf), so jobs written before this version get it too.
    sql: `
      ALTER TABLE jobs ADD COLUMN memory_request_mb INTEGER NULL;
    `,
  },
  {
    version: 8,
    name: 'registry logins per tenant; the image digest a run ran',
    // The password is sealed before it reaches the store (services/registry-secret-box.ts): secret holds
    // AES-256-GCM ciphertext and tag, bound to (tenant_id, host, username); key_id names the server key.
    sql: `
      CREATE TABLE registry_credentials (
        tenant_id TEXT NOT NULL,
        host TEXT NOT NULL,
        username TEXT NOT NULL,
        secret BLOB NOT NULL,
        nonce BLOB NOT NULL,
        key_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, host)
      ) WITHOUT ROWID;
      -- sha256:… of the manifest the last attempt that pulled an image ran; NULL for host commands.
      ALTER TABLE runs ADD COLUMN image_digest TEXT NULL;
    `,
  },
  {
    version: 9,
    name: "a job's container network",
    // 'none' or 'egress' (core/job.ts NetworkMode); jobs written before this version have none.
    sql: `
      ALTER TABLE jobs ADD COLUMN network TEXT NOT NULL DEFAULT 'none';
    `,
  },
  {
    version: 10,
    name: 'the outbox of runs not yet dispatched',
    // The dispatch sweep's due-time index (core/dispatch.ts): queued runs left in the store until they come
    // within the queue's horizon. Ticks are inserted dispatched, so the firing path never writes it.
    sql: `
      CREATE INDEX runs_undispatched ON runs (available_at, id)
        WHERE status = 'queued' AND dispatched_at IS NULL AND blocked_by IS NULL;
    `,
  },
  {
    version: 11,
    name: 'rate limits shared by every process',
    // One row per key (a tenant's run creation), updated in place: tat is the GCRA state of
    // core/rate-limit.ts, in epoch milliseconds with a fraction.
    sql: `
      CREATE TABLE rate_limits (
        key TEXT PRIMARY KEY,
        tat REAL NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 12,
    name: 'schedule pause intervals',
    // [paused_at, resumed_at) of each pause, written with the schedule change that pauses or resumes it
    // (sqlite-schedule-history-queries.ts). Schedules paused now get their open pause from their last change;
    // earlier pauses were not kept, and their ticks are explained as unknown (core/tick-explanation.ts).
    sql: `
      CREATE TABLE schedule_pauses (
        schedule_id TEXT NOT NULL,
        paused_at INTEGER NOT NULL,
        resumed_at INTEGER NULL,
        PRIMARY KEY (schedule_id, paused_at)
      ) WITHOUT ROWID;
      INSERT INTO schedule_pauses (schedule_id, paused_at)
        SELECT id, updated_at FROM schedules WHERE paused = 1 AND deleted_at IS NULL;
    `,
  },
  {
    version: 13,
    name: 'schedules grouped by timing for the load forecast',
    // sqlite-load-forecast-queries.ts: a tenant's (or every tenant's) live, unpaused schedules in the order of
    // their timing and job, so grouping a million of them is one pass over this index. Neither the watermark
    // nor the version is in it, so the engine's writes never touch it. paused and deleted_at close it only
    // so that SQLite reads it as covering (it does not count a partial index's WHERE as covered).
    sql: `
      CREATE INDEX schedules_forecast ON schedules (tenant_id, kind, cron, timezone, interval_ms, anchor_at,
        start_at, end_at, job_id, paused, deleted_at) WHERE deleted_at IS NULL AND paused = 0;
    `,
  },
  {
    version: 14,
    name: 'runs by finish and start time, for the overview',
    // GET /v1/stats (sqlite-stats-queries.ts): a tenant's runs finished, and started, in a window, covered
    // (no row reads). Partial: a fired run is inserted queued and enters neither; a run enters each once, at
    // its start and at its end, near the tree's right edge (times grow), so the write costs little.
    sql: `
      CREATE INDEX runs_tenant_finished ON runs (tenant_id, finished_at, status) WHERE finished_at IS NOT NULL;
      CREATE INDEX runs_tenant_started ON runs (tenant_id, started_at, due_at, nominal_time)
        WHERE started_at IS NOT NULL;
    `,
  },
  {
    version: 15,
    name: 'the overview counts rolled up per minute, and failures by finish time',
    // core/run-stats-rollup.ts: per tenant and settled minute, finished runs by outcome and started runs by
    // lag slot; the mark says up to which minute a tenant is rolled up. runs_tenant_failures holds only the
    // failed runs, so the overview's latest failures are found without reading a day of successes; its WHERE
    // is the list of core/run-stats.ts FAILURE_OUTCOMES, as sqlite-stats-queries.ts writes it.
    sql: `
      CREATE TABLE run_outcome_minutes (
        tenant_id TEXT NOT NULL,
        minute INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, minute, outcome)
      ) WITHOUT ROWID;
      CREATE TABLE run_lag_minutes (
        tenant_id TEXT NOT NULL,
        minute INTEGER NOT NULL,
        slot INTEGER NOT NULL,
        count INTEGER NOT NULL,
        max_lag INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, minute, slot)
      ) WITHOUT ROWID;
      CREATE TABLE run_stats_marks (
        tenant_id TEXT PRIMARY KEY,
        rolled_until INTEGER NOT NULL,
        read_at INTEGER
      );
      CREATE INDEX runs_tenant_failures ON runs (tenant_id, finished_at, id)
        WHERE status IN (${FAILURES_IN});
    `,
  },
  {
    version: 16,
    name: 'load forecast counts per tenant and timing',
    // sqlite-load-forecast-counts.ts: a row per tenant and forecast key (core/forecast-share.ts) with the
    // number of live, unpaused schedules and the memory their runs request, kept by every schedule write, so
    // a forecast reads one row per distinct timing instead of grouping every schedule. The timing columns
    // are the key's parts, for reading it back. schedules_forecast, which served the grouping, stays for the
    // processes of the previous version during a rolling upgrade (their reads name it); their schedule writes
    // leave the counts behind, which the next read finds and rebuilds (forecast_counted_seq in meta).
    sql: `
      CREATE TABLE forecast_load (
        tenant_id TEXT NOT NULL,
        spec_key TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('cron', 'every')),
        cron TEXT NULL,
        timezone TEXT NULL,
        interval_ms INTEGER NULL,
        anchor_at INTEGER NULL,
        start_at INTEGER NULL,
        end_at INTEGER NULL,
        schedules INTEGER NOT NULL,
        memory_mb INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, spec_key)
      ) WITHOUT ROWID;
    `,
    backfill: (db) => compileLoadForecastCounts(db).backfill(),
  },
  {
    version: 17,
    name: 'webhooks and their deliveries, made as runs end',
    // A delivery row is made by the triggers on runs, in the transaction of the status change, on every path
    // that ends a run (docs/architecture.md, "Webhook outbox"). Their WHEN asks first whether the tenant has a
    // webhook at all, so the runs of tenants without one pay an index probe on their end and nothing more.
    // The terminal statuses come from core/run-state.ts. Deliveries list by seq (newest first); the
    // deliverer claims pending ones by next_attempt_at (sqlite-webhook-queries.ts).
    sql: `
      CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        url TEXT NOT NULL,
        events_json TEXT NOT NULL,
        job_id TEXT NULL,
        secret TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        disabled_at INTEGER NULL,
        disabled_reason TEXT NULL
      );
      CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

      CREATE TABLE webhook_deliveries (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        run_id TEXT NOT NULL,
        event TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_status_code INTEGER NULL,
        last_error TEXT NULL,
        next_attempt_at INTEGER NULL,
        claim_token TEXT NULL,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER NULL
      );
      CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_settled ON webhook_deliveries (created_at) WHERE status <> 'pending';

      CREATE TRIGGER runs_outcome_webhooks_update AFTER UPDATE OF status ON runs
        WHEN NEW.status IN (${TERMINAL_SQL}) AND OLD.status NOT IN (${TERMINAL_SQL})
          AND EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = NEW.tenant_id)
      BEGIN ${FAN_OUT_SQL}
      END;
      CREATE TRIGGER runs_outcome_webhooks_insert AFTER INSERT ON runs
        WHEN NEW.status IN (${TERMINAL_SQL}) AND EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = NEW.tenant_id)
      BEGIN ${FAN_OUT_SQL}
      END;
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
      migration.backfill?.(db);
      record.run(migration.version, migration.name, nowMs);
    }
    return pending.map((m) => m.version);
  });
  return apply.immediate();
}
