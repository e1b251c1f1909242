// Versioned schema migrations for the PostgreSQL store. Each runs once, in order, in a transaction of its own,
// and is recorded in `schema_migrations`; a migration is never edited after release — a change is a new,
// higher version. Two processes opening the same database at once cannot both apply one: each migration's
// transaction first takes an advisory lock, then reads what is applied.
//
// The history is this adapter's own, not the SQLite one's: SQLite's nine versions record how that schema grew;
// this one starts at the shape SQLite reached at version 9, in three steps by concern. The tables mirror the
// SQLite ones column for column, with PostgreSQL's types: times are bigint epoch milliseconds (as in the core),
// lists and maps jsonb, flags boolean, sealed secrets bytea. Ids and names are COLLATE "C", so ORDER BY and
// cursor comparisons are bytewise, as ids are compared everywhere else, whatever the database's locale.
//
// Runs and their timelines are partitioned by day on the time their run id carries (id_time, see
// postgres-partitions.ts for why); the day partitions are made by maintenance, not by migrations. Every
// tenant-facing query is served by an index whose first column is tenant_id.

import type pg from 'pg';
import { HourglassError } from '../../core/errors.js';
import { TERMINAL_STATUSES } from '../../core/run-state.js';
import type { Sql } from './postgres-database.js';
import { backfillForecastLoad } from './postgres-load-forecast-counts.js';
import { FAILURES_IN } from './postgres-stats-queries.js';

/** `'succeeded', 'failed', …`: the terminal statuses as an SQL list, from the core's rule. */
const TERMINAL_SQL = TERMINAL_STATUSES.map((status) => `'${status}'`).join(', ');

export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Run after `sql`, in its transaction: a backfill whose rule lives in the core, not in SQL. */
  backfill?: (sql: Sql) => Promise<void>;
}

export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'meta, tenants, API keys, jobs and registry logins',
    sql: `
      CREATE TABLE meta (
        key text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );

      CREATE TABLE tenants (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        limits jsonb NOT NULL,
        created_at bigint NOT NULL
      );

      CREATE TABLE api_keys (
        id text COLLATE "C" PRIMARY KEY,
        tenant_id text COLLATE "C" NULL REFERENCES tenants (id),
        scope text NOT NULL CHECK (scope IN ('admin', 'tenant')),
        prefix text NOT NULL,
        secret_hash text NOT NULL UNIQUE,
        name text NULL,
        created_at bigint NOT NULL,
        revoked_at bigint NULL,
        last_used_at bigint NULL
      );
      -- listApiKeys of one tenant, in id order.
      CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

      CREATE TABLE jobs (
        id text COLLATE "C" PRIMARY KEY,
        tenant_id text COLLATE "C" NOT NULL,
        name text COLLATE "C" NOT NULL,
        image text NULL,
        command jsonb NOT NULL,
        args jsonb NOT NULL,
        env jsonb NOT NULL,
        memory_mb integer NOT NULL,
        -- NULL: the default share of the limit (core/job.ts memoryRequestOf).
        memory_request_mb integer NULL,
        network text NOT NULL DEFAULT 'none',
        timeout_seconds integer NOT NULL,
        max_attempts integer NOT NULL,
        backoff_seconds integer NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        deleted_at bigint NULL
      );
      -- A name is unique among a tenant's live jobs only, so a deleted job's name can be reused.
      CREATE UNIQUE INDEX jobs_tenant_name ON jobs (tenant_id, name) WHERE deleted_at IS NULL;
      -- findJob, listJobs, the plan limit's count, and whether a job (deleted or not) is the tenant's.
      CREATE INDEX jobs_tenant_id ON jobs (tenant_id, id);

      -- Sealed by the service before it reaches the store (services/registry-secret-box.ts).
      CREATE TABLE registry_credentials (
        tenant_id text COLLATE "C" NOT NULL,
        host text COLLATE "C" NOT NULL,
        username text NOT NULL,
        secret bytea NOT NULL,
        nonce bytea NOT NULL,
        key_id text NOT NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (tenant_id, host)
      );
    `,
  },
  {
    version: 2,
    name: 'runs and their timelines, partitioned by day; idempotency keys',
    sql: `
      -- A primary key of a partitioned table must hold the partition key: (id, id_time), where id_time is the
      -- time the id carries (core/ids.ts timeOfId), so it adds no uniqueness, and a lookup by id computes it
      -- and reads one partition.
      CREATE TABLE runs (
        id text COLLATE "C" NOT NULL,
        id_time bigint NOT NULL,
        tenant_id text COLLATE "C" NOT NULL,
        job_id text COLLATE "C" NOT NULL,
        schedule_id text COLLATE "C" NULL,
        status text NOT NULL,
        attempt integer NOT NULL,
        exit_code integer NULL,
        reason text NULL,
        args jsonb NULL,
        env jsonb NULL,
        created_at bigint NOT NULL,
        nominal_time bigint NOT NULL,
        due_at bigint NOT NULL,
        -- A schedule's run waiting for this earlier run to end (overlap policies buffer_one and replace).
        blocked_by text COLLATE "C" NULL,
        available_at bigint NOT NULL,
        dispatched_at bigint NULL,
        started_at bigint NULL,
        finished_at bigint NULL,
        worker_id text NULL,
        heartbeat_at bigint NULL,
        cancel_requested_at bigint NULL,
        idempotency_key text NULL,
        request_hash text NULL,
        image_digest text NULL,
        -- Not NULL: a tick's run fired in bulk, whose created and dispatched events are implied by the row
        -- (not stored); true when the tick was caught up late.
        fired_late boolean NULL,
        -- The seq of the run's last stored event: raised by the very UPDATE that changes the run, so the
        -- statement that appends the event knows its number even when another writer waited for the row
        -- (a MAX(seq) + 1 read in the same statement would see the snapshot from before that wait).
        event_seq integer NOT NULL DEFAULT 0,
        PRIMARY KEY (id, id_time)
      ) PARTITION BY RANGE (id_time);
      -- Whatever falls outside the day partitions (a day not made yet): kept, never lost; maintenance moves
      -- such rows into their day's partition when it makes it.
      CREATE TABLE runs_default PARTITION OF runs DEFAULT;
      -- getRun and listRuns unfiltered, newest first.
      CREATE INDEX runs_tenant_id ON runs (tenant_id, id);
      -- listRuns by status.
      CREATE INDEX runs_tenant_status ON runs (tenant_id, status, id);
      -- listRuns by job, and by schedule (a schedule keeps its job for life; postgres-run-queries.ts).
      CREATE INDEX runs_tenant_job ON runs (tenant_id, job_id, id);
      -- The queue rebuild (listQueuedRuns), and whether an expired partition still has runs to do.
      CREATE INDEX runs_queued ON runs (available_at, id) WHERE status = 'queued';
      -- listStaleRuns: the reaper's running runs whose heartbeat stopped.
      CREATE INDEX runs_running_heartbeat ON runs (heartbeat_at) WHERE status = 'running';
      -- Overlap policies: a schedule's unfinished runs fired tick by tick (not bulk-fired 'allow' runs).
      CREATE INDEX runs_schedule_unfinished ON runs (schedule_id, id)
        WHERE schedule_id IS NOT NULL AND status IN ('queued', 'running') AND fired_late IS NULL;
      -- releaseBlockedRuns: the runs waiting for a given run.
      CREATE INDEX runs_blocked_by ON runs (blocked_by) WHERE blocked_by IS NOT NULL;

      -- Partitioned like runs, on the run's id_time, so a run and its timeline are kept and dropped together.
      CREATE TABLE run_events (
        run_id text COLLATE "C" NOT NULL,
        id_time bigint NOT NULL,
        seq integer NOT NULL,
        at bigint NOT NULL,
        type text NOT NULL,
        attempt integer NOT NULL,
        status text NOT NULL,
        detail text NULL,
        PRIMARY KEY (run_id, id_time, seq)
      ) PARTITION BY RANGE (id_time);
      CREATE TABLE run_events_default PARTITION OF run_events DEFAULT;

      -- A unique index on runs would have to hold the partition key, and so could not keep a key unique per
      -- tenant across days: the keys have a table of their own, written only by API run creation. Kept as
      -- long as the runs (maintenance deletes those past the retention by id_time).
      CREATE TABLE run_idempotency_keys (
        tenant_id text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        run_id text COLLATE "C" NOT NULL,
        id_time bigint NOT NULL,
        PRIMARY KEY (tenant_id, key)
      );
      CREATE INDEX run_idempotency_keys_id_time ON run_idempotency_keys (id_time);
    `,
  },
  {
    version: 3,
    name: 'schedules, their change sequence, scheduler leases and members',
    sql: `
      CREATE TABLE schedules (
        id text COLLATE "C" PRIMARY KEY,
        tenant_id text COLLATE "C" NOT NULL,
        job_id text COLLATE "C" NOT NULL,
        partition integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('cron', 'every')),
        cron text NULL,
        timezone text NULL,
        every text NULL,
        interval_ms bigint NULL,
        anchor_at bigint NULL,
        start_at bigint NULL,
        end_at bigint NULL,
        paused boolean NOT NULL,
        overlap_policy text NOT NULL,
        catchup_mode text NOT NULL,
        catchup_window_seconds integer NOT NULL,
        catchup_max_runs integer NOT NULL,
        jitter_seconds integer NOT NULL,
        args jsonb NULL,
        env jsonb NULL,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        deleted_at bigint NULL,
        version integer NOT NULL,
        next_fire_at bigint NULL,
        change_seq bigint NOT NULL
      );
      -- listSchedules and the plan limit's count: a tenant's live schedules in id order (and by job).
      CREATE INDEX schedules_tenant_id ON schedules (tenant_id, id) WHERE deleted_at IS NULL;
      CREATE INDEX schedules_tenant_job ON schedules (tenant_id, job_id, id) WHERE deleted_at IS NULL;
      -- The engine's load: live, unpaused schedules of a partition in id order.
      CREATE INDEX schedules_partition_id ON schedules (partition, id) WHERE deleted_at IS NULL AND NOT paused;
      -- Reconciliation reads changes in sequence order; unique, since each change takes the next number.
      CREATE UNIQUE INDEX schedules_change_seq ON schedules (change_seq);

      -- The store-wide schedule change sequence: one row, raised in the transaction of each change. Its row
      -- lock is held until that transaction ends, so numbers are taken, and become visible, in commit order
      -- (postgres-schedule-queries.ts).
      CREATE TABLE schedule_change_counter (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        seq bigint NOT NULL
      );
      INSERT INTO schedule_change_counter (seq) VALUES (0);

      -- A row per partition, created the first time it is taken; owner NULL when given back. fired_through and
      -- fired_through_seq are the partition's frontier (core/watermark.ts).
      CREATE TABLE scheduler_leases (
        partition integer PRIMARY KEY,
        owner text COLLATE "C" NULL,
        epoch bigint NOT NULL,
        expires_at bigint NOT NULL,
        fired_through bigint NULL,
        fired_through_seq bigint NULL
      );
      CREATE INDEX scheduler_leases_owner ON scheduler_leases (owner);

      CREATE TABLE scheduler_members (
        owner text COLLATE "C" PRIMARY KEY,
        expires_at bigint NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'the outbox of runs not yet dispatched',
    // The dispatch sweep's due-time index (core/dispatch.ts), as SQLite's migration 10; on the partitioned
    // runs table it is made on every day's partition, and on those made later.
    sql: `
      CREATE INDEX runs_undispatched ON runs (available_at, id)
        WHERE status = 'queued' AND dispatched_at IS NULL AND blocked_by IS NULL;
    `,
  },
  {
    version: 5,
    name: 'rate limits shared by every process',
    // As SQLite's migration 11: one row per key (a tenant's run creation), updated in place; tat is the GCRA
    // state of core/rate-limit.ts in epoch milliseconds of the database's clock, with a fraction. Nothing
    // indexes tat, and the pages keep room, so that each take's update stays on its page (a HOT update).
    sql: `
      CREATE TABLE rate_limits (
        key text COLLATE "C" PRIMARY KEY,
        -- In whole microseconds: the compare-and-set compares it exactly, whatever extra_float_digits says.
        tat_us bigint NOT NULL
      ) WITH (fillfactor = 50);
    `,
  },
  {
    version: 6,
    name: 'schedule pause intervals',
    // As SQLite's migration 12: [paused_at, resumed_at) of each pause, written with the schedule change that
    // pauses or resumes it (postgres-schedule-history-queries.ts); schedules paused now get their open pause
    // from their last change, earlier pauses were not kept.
    sql: `
      CREATE TABLE schedule_pauses (
        schedule_id text COLLATE "C" NOT NULL,
        paused_at bigint NOT NULL,
        resumed_at bigint NULL,
        PRIMARY KEY (schedule_id, paused_at)
      );
      INSERT INTO schedule_pauses (schedule_id, paused_at)
        SELECT id, updated_at FROM schedules WHERE paused AND deleted_at IS NULL;
    `,
  },
  {
    version: 7,
    name: 'schedules grouped by timing for the load forecast',
    // As SQLite's migration 13 (postgres-load-forecast-queries.ts). No column the engine writes is in it, so
    // its watermark updates stay HOT.
    sql: `
      CREATE INDEX schedules_forecast ON schedules (tenant_id, kind, cron, timezone, interval_ms, anchor_at,
        start_at, end_at, job_id) WHERE deleted_at IS NULL AND NOT paused;
    `,
  },
  {
    version: 8,
    name: 'runs by finish and start time, for the overview',
    // As SQLite's migration 14 (postgres-stats-queries.ts): a tenant's runs finished, and started, in a
    // window, with what the counts read INCLUDEd. Partial: a fired run is inserted queued and enters
    // neither; made on every day partition, and on those made later.
    sql: `
      CREATE INDEX runs_tenant_finished ON runs (tenant_id, finished_at) INCLUDE (status)
        WHERE finished_at IS NOT NULL;
      CREATE INDEX runs_tenant_started ON runs (tenant_id, started_at) INCLUDE (due_at)
        WHERE started_at IS NOT NULL;
    `,
  },
  {
    version: 9,
    name: 'the overview counts rolled up per minute, and failures by finish time',
    // As SQLite's migration 15 (core/run-stats-rollup.ts, postgres-stats-queries.ts). The minute tables are
    // small (a tenant's last day: at most 1,455 minutes × outcomes, and × lag slots) and not partitioned.
    // runs_tenant_failures holds only failed runs; its WHERE is FAILURES_IN, as the statement writes it, for
    // the planner to prove the statement's WHERE implies it.
    sql: `
      CREATE TABLE run_outcome_minutes (
        tenant_id text NOT NULL,
        minute bigint NOT NULL,
        outcome text NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (tenant_id, minute, outcome)
      );
      CREATE TABLE run_lag_minutes (
        tenant_id text NOT NULL,
        minute bigint NOT NULL,
        slot int NOT NULL,
        count bigint NOT NULL,
        max_lag bigint NOT NULL,
        PRIMARY KEY (tenant_id, minute, slot)
      );
      CREATE TABLE run_stats_marks (
        tenant_id text PRIMARY KEY,
        rolled_until bigint NOT NULL,
        read_at bigint
      );
      CREATE INDEX IF NOT EXISTS runs_tenant_failures ON runs (tenant_id, finished_at, id) WHERE status IN (${FAILURES_IN});
    `,
  },
  {
    version: 10,
    name: 'load forecast counts per tenant and timing',
    // As SQLite's migration 16 (postgres-load-forecast-counts.ts): a row per tenant and forecast key with
    // the number of live, unpaused schedules and the memory their runs request, kept by every schedule write.
    // counted_seq: the change the counts are current with. schedules_forecast stays for the processes of the
    // previous version during a rolling upgrade.
    sql: `
      CREATE TABLE forecast_load (
        tenant_id text COLLATE "C" NOT NULL,
        spec_key text COLLATE "C" NOT NULL,
        kind text NOT NULL CHECK (kind IN ('cron', 'every')),
        cron text NULL,
        timezone text NULL,
        interval_ms bigint NULL,
        anchor_at bigint NULL,
        start_at bigint NULL,
        end_at bigint NULL,
        schedules bigint NOT NULL,
        memory_mb bigint NOT NULL,
        PRIMARY KEY (tenant_id, spec_key)
      );
      ALTER TABLE schedule_change_counter ADD COLUMN counted_seq bigint NULL;
    `,
    backfill: backfillForecastLoad,
  },
  {
    version: 11,
    name: 'webhooks and their deliveries, made as runs end',
    // As SQLite's migration 17: a delivery row per matching webhook is made by the triggers on runs, in the
    // transaction of the status change, on every path that ends a run (docs/architecture.md, "Webhook
    // outbox"). Row triggers on the partitioned runs are cloned onto every day partition, those attached
    // later included; rows moved between partitions by maintenance go into a table not yet attached, so
    // they fire nothing. A trigger's WHEN cannot hold a subquery here, so the function's INSERT … SELECT is
    // the probe of the tenant's webhooks (webhooks_tenant): nothing more for a tenant without one. The
    // terminal statuses come from core/run-state.ts.
    sql: `
      CREATE TABLE webhooks (
        id text COLLATE "C" PRIMARY KEY,
        tenant_id text COLLATE "C" NOT NULL,
        url text NOT NULL,
        events text[] NOT NULL,
        job_id text COLLATE "C" NULL,
        secret text NOT NULL,
        created_at bigint NOT NULL,
        disabled_at bigint NULL,
        disabled_reason text NULL
      );
      CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

      CREATE TABLE webhook_deliveries (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text COLLATE "C" NOT NULL UNIQUE,
        tenant_id text COLLATE "C" NOT NULL,
        webhook_id text COLLATE "C" NOT NULL,
        run_id text COLLATE "C" NOT NULL,
        event text NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_status_code integer NULL,
        last_error text NULL,
        next_attempt_at bigint NULL,
        claim_token text NULL,
        created_at bigint NOT NULL,
        delivered_at bigint NULL
      );
      CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_settled ON webhook_deliveries (created_at) WHERE status <> 'pending';

      CREATE FUNCTION hourglass_run_outcome_webhooks() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO webhook_deliveries (id, tenant_id, webhook_id, run_id, event, status, attempts,
            next_attempt_at, created_at)
          SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), w.tenant_id, w.id, NEW.id, NEW.status,
            'pending', 0, COALESCE(NEW.finished_at, NEW.created_at), COALESCE(NEW.finished_at, NEW.created_at)
          FROM webhooks w
          WHERE w.tenant_id = NEW.tenant_id AND w.disabled_at IS NULL
            AND (w.job_id IS NULL OR w.job_id = NEW.job_id) AND NEW.status = ANY (w.events);
        RETURN NULL;
      END $$;
      CREATE TRIGGER runs_outcome_webhooks_update AFTER UPDATE OF status ON runs FOR EACH ROW
        WHEN (NEW.status IN (${TERMINAL_SQL}) AND OLD.status NOT IN (${TERMINAL_SQL}))
        EXECUTE FUNCTION hourglass_run_outcome_webhooks();
      CREATE TRIGGER runs_outcome_webhooks_insert AFTER INSERT ON runs FOR EACH ROW
        WHEN (NEW.status IN (${TERMINAL_SQL}))
        EXECUTE FUNCTION hourglass_run_outcome_webhooks();
    `,
  },
]);

const LATEST_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** The key of the advisory lock every migration transaction takes first. */
const MIGRATION_LOCK = "hashtextextended(current_schema() || ':hourglass-migrations', 0)";

/** The migration's connection as the query files' Sql, for a backfill. */
function clientSql(client: pg.PoolClient): Sql {
  const rows = async <R>(text: string, values: readonly unknown[] = []): Promise<R[]> =>
    (await client.query(text, [...values])).rows as R[];
  return {
    rows,
    first: async <R>(text: string, values?: readonly unknown[]) => (await rows<R>(text, values))[0],
    changes: async (text, values = []) => (await client.query(text, [...values])).rowCount ?? 0,
  };
}

async function appliedVersions(client: pg.PoolClient): Promise<Set<number>> {
  const result = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(result.rows.map((row) => row.version));
}

/**
 * Applies the migrations this database has not seen yet, each in its own transaction, and returns their
 * versions (empty when the schema is current). Refuses a database written by a newer Hourglass: running old
 * code on it could corrupt it.
 */
export async function applyMigrations(client: pg.PoolClient, nowMs: number): Promise<number[]> {
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    await client.query('BEGIN');
    try {
      await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
      // Under the lock too: two first opens at once would both try to create it.
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at bigint NOT NULL
      )`);
      // Read under the lock: another process may have migrated since this one looked.
      const seen = await appliedVersions(client);
      const newest = Math.max(0, ...seen);
      if (newest > LATEST_VERSION) {
        throw new HourglassError(
          'unavailable',
          `database schema version ${newest} is newer than this Hourglass understands (${LATEST_VERSION})`,
        );
      }
      if (!seen.has(migration.version)) {
        await client.query(migration.sql);
        await migration.backfill?.(clientSql(client));
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          nowMs,
        ]);
        applied.push(migration.version);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    }
  }
  return applied;
}
