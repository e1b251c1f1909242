// The overview's counts (core/run-stats.ts): runs finished in a window per (bucket, outcome), runs started in
// it per lag slot, the running count, the latest failures and the next queued runs. Every statement reads
// one tenant's runs, or each tenant's in turn for the fleet (`tenant_id IN` the list, one index range per
// tenant), through a tenant-leading index: runs_tenant_finished and runs_tenant_started (migration 14) cover
// their queries, so a window costs its own runs and none of the tenant's older history.

import type Database from 'better-sqlite3';
import {
  FAILURE_OUTCOMES,
  lagSlotSql,
  STATS_OUTCOMES,
  type FailedRunSummary,
  type OutcomeCount,
  type RunStatsCounts,
  type RunStatsQuery,
  type StatsOutcome,
  type UpcomingRunSummary,
} from '../../core/run-stats.js';

const quoted = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/** The tenants a statement reads: a JSON array of ids, so one compiled statement serves one or many. */
const TENANTS = 'tenant_id IN (SELECT value FROM json_each(@tenants))';
const FINISHED_IN_WINDOW = `${TENANTS} AND finished_at >= @from AND finished_at < @to`;

interface Params {
  tenants: string;
  from: number;
  to: number;
}

export function compileStatsQueries(db: Database.Database) {
  const allTenants = db.prepare<[], string>('SELECT id FROM tenants ORDER BY id').pluck();
  const outcomes = db.prepare<[Params & { bucketMs: number }], OutcomeCount>(
    // CAST: a bound number may arrive as REAL, and then so would the quotient; finished_at ≥ from, so
    // truncating is the floor.
    `SELECT CAST((finished_at - @from) / @bucketMs AS INTEGER) AS bucket, status AS outcome, COUNT(*) AS count
     FROM runs WHERE ${FINISHED_IN_WINDOW} AND status IN (${quoted(STATS_OUTCOMES)})
     GROUP BY bucket, status`,
  );
  // Runs written before migration 2 have no due_at: their due time is their nominal time (sqlite-rows.ts).
  const lags = db.prepare<[Params], { slot: number; count: number; max_lag: number }>(
    `SELECT ${lagSlotSql('lag')} AS slot, COUNT(*) AS count, MAX(lag) AS max_lag
     FROM (SELECT started_at - COALESCE(due_at, nominal_time) AS lag FROM runs
           WHERE ${TENANTS} AND started_at >= @from AND started_at < @to)
     GROUP BY slot`,
  );
  const running = db
    .prepare<[{ tenants: string }], number>(
      `SELECT COUNT(*) FROM runs WHERE ${TENANTS} AND status = 'running'`,
    )
    .pluck();
  const failures = db.prepare<[Params & { limit: number }], FailureRow>(
    `SELECT id, tenant_id, job_id, schedule_id, status, exit_code, reason, finished_at FROM runs
     WHERE ${FINISHED_IN_WINDOW} AND status IN (${quoted(FAILURE_OUTCOMES)})
     ORDER BY finished_at DESC, id DESC LIMIT @limit`,
  );
  // runs_tenant_status gives each tenant's queued runs; they are few next to its history, and sorted here.
  // Named: with the sort on available_at, the planner otherwise may scan the whole table (seen at 40k runs).
  const upcoming = db.prepare<[{ tenants: string; limit: number }], UpcomingRow>(
    `SELECT id, tenant_id, job_id, schedule_id, available_at, COALESCE(due_at, nominal_time) AS due_at
     FROM runs INDEXED BY runs_tenant_status WHERE ${TENANTS} AND status = 'queued' ORDER BY available_at, id LIMIT @limit`,
  );

  const read = db.transaction((query: RunStatsQuery): RunStatsCounts => {
    const tenants = JSON.stringify(query.tenantId === null ? allTenants.all() : [query.tenantId]);
    const window = { tenants, from: query.from, to: query.to };
    const lagRows = lags.all(window);
    const lagSlots: number[] = [];
    for (const row of lagRows) lagSlots[row.slot] = row.count;
    return {
      outcomes: outcomes.all({ ...window, bucketMs: query.bucketMs }),
      lagSlots: Array.from(lagSlots, (count) => count ?? 0),
      maxLagMs: lagRows.length === 0 ? null : Math.max(...lagRows.map((row) => row.max_lag)),
      runningNow: running.get({ tenants }) ?? 0,
      recentFailures: failures.all({ ...window, limit: query.limit }).map(rowToFailure),
      upcoming: upcoming.all({ tenants, limit: query.limit }).map(rowToUpcoming),
    };
  });
  // One read transaction: every number is of the same moment.
  return { getRunStats: (query: RunStatsQuery): RunStatsCounts => read.deferred(query) };
}

interface FailureRow {
  id: string;
  tenant_id: string;
  job_id: string;
  schedule_id: string | null;
  status: StatsOutcome;
  exit_code: number | null;
  reason: string | null;
  finished_at: number;
}

interface UpcomingRow {
  id: string;
  tenant_id: string;
  job_id: string;
  schedule_id: string | null;
  available_at: number;
  due_at: number;
}

const rowToFailure = (row: FailureRow): FailedRunSummary => ({
  id: row.id,
  tenantId: row.tenant_id,
  jobId: row.job_id,
  scheduleId: row.schedule_id,
  status: row.status,
  exitCode: row.exit_code,
  reason: row.reason,
  finishedAt: row.finished_at,
});

const rowToUpcoming = (row: UpcomingRow): UpcomingRunSummary => ({
  id: row.id,
  tenantId: row.tenant_id,
  jobId: row.job_id,
  scheduleId: row.schedule_id,
  availableAt: row.available_at,
  dueAt: row.due_at,
});

export type StatsQueries = ReturnType<typeof compileStatsQueries>;
