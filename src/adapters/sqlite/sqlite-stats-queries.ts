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
  type LagSlotCounts,
  type OutcomeCount,
  type RunStatsCounts,
  type RunStatsQuery,
  type StatsOutcome,
  type UpcomingRunSummary,
} from '../../core/run-stats.js';
import {
  ROLLUP_MINUTE_MS,
  type RolledCounts,
  type RolledCountsQuery,
  type RunStatsRollup,
} from '../../core/run-stats-rollup.js';

const quoted = (values: readonly string[]): string => values.map((v) => `'${v}'`).join(', ');

/**
 * The failures, as the partial index runs_tenant_failures (migration 15) and the statement that reads it
 * both write it: SQLite uses a partial index only for a WHERE that repeats the index's own terms.
 */
export const FAILURES_IN = quoted(FAILURE_OUTCOMES);

/** The tenants a statement reads: a JSON array of ids, so one compiled statement serves one or many. */
const TENANTS = 'tenant_id IN (SELECT value FROM json_each(@tenants))';
const FINISHED_IN_WINDOW = `${TENANTS} AND finished_at >= @from AND finished_at < @to`;
/** Counts are of [countFrom, to): the minutes before countFrom are read rolled up. */
const FINISHED_IN_COUNTED = `${TENANTS} AND finished_at >= @countFrom AND finished_at < @to`;

interface Params {
  tenants: string;
  from: number;
  to: number;
}

interface CountParams extends Params {
  countFrom: number;
}

export function compileStatsQueries(db: Database.Database) {
  const allTenants = db.prepare<[], string>('SELECT id FROM tenants ORDER BY id').pluck();
  const outcomes = db.prepare<[CountParams & { bucketMs: number }], OutcomeCount>(
    // CAST: a bound number may arrive as REAL, and then so would the quotient; finished_at ≥ from, so
    // truncating is the floor.
    `SELECT CAST((finished_at - @from) / @bucketMs AS INTEGER) AS bucket, status AS outcome, COUNT(*) AS count
     FROM runs WHERE ${FINISHED_IN_COUNTED} AND status IN (${quoted(STATS_OUTCOMES)})
     GROUP BY bucket, status`,
  );
  // Runs written before migration 2 have no due_at: their due time is their nominal time (sqlite-rows.ts).
  const lags = db.prepare<[CountParams], LagRow>(
    `SELECT ${lagSlotSql('lag')} AS slot, COUNT(*) AS count, MAX(lag) AS max_lag
     FROM (SELECT started_at - COALESCE(due_at, nominal_time) AS lag FROM runs
           WHERE ${TENANTS} AND started_at >= @countFrom AND started_at < @to)
     GROUP BY slot`,
  );
  const running = db
    .prepare<[{ tenants: string }], number>(
      `SELECT COUNT(*) FROM runs WHERE ${TENANTS} AND status = 'running'`,
    )
    .pluck();
  const failures = db.prepare<[Params & { limit: number }], FailureRow>(
    `SELECT id, tenant_id, job_id, schedule_id, status, exit_code, reason, finished_at FROM runs
     INDEXED BY runs_tenant_failures WHERE ${FINISHED_IN_WINDOW} AND status IN (${FAILURES_IN})
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
    const counted = { ...window, countFrom: query.countFrom ?? query.from };
    return {
      outcomes: outcomes.all({ ...counted, bucketMs: query.bucketMs }),
      ...lagSlotCounts(lags.all(counted)),
      runningNow: running.get({ tenants }) ?? 0,
      recentFailures: failures.all({ ...window, limit: query.limit }).map(rowToFailure),
      upcoming: upcoming.all({ tenants, limit: query.limit }).map(rowToUpcoming),
    };
  });
  // One read transaction: every number is of the same moment.
  return {
    getRunStats: (query: RunStatsQuery): RunStatsCounts => read.deferred(query),
    ...compileRollupQueries(db, allTenants, outcomes),
  };
}

/**
 * Rolling up (core/run-stats-rollup.ts) with the window's own count statements, minute by minute: a minute's
 * rows are replaced whole, so a second roll-up of the same minutes writes the same rows.
 */
function compileRollupQueries(
  db: Database.Database,
  allTenants: Database.Statement<[], string>,
  outcomes: Database.Statement<[CountParams & { bucketMs: number }], OutcomeCount>,
) {
  const mark = db
    .prepare<[string], number>('SELECT rolled_until FROM run_stats_marks WHERE tenant_id = ?')
    .pluck();
  const setMark = db.prepare<[string, number]>(
    `INSERT INTO run_stats_marks (tenant_id, rolled_until) VALUES (?, ?)
     ON CONFLICT (tenant_id) DO UPDATE SET rolled_until = MAX(rolled_until, excluded.rolled_until)`,
  );
  const putOutcome = db.prepare<[string, number, string, number]>(
    `INSERT INTO run_outcome_minutes (tenant_id, minute, outcome, count) VALUES (?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET count = excluded.count`,
  );
  const putLag = db.prepare<[string, number, number, number, number]>(
    `INSERT INTO run_lag_minutes (tenant_id, minute, slot, count, max_lag) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT DO UPDATE SET count = excluded.count, max_lag = excluded.max_lag`,
  );
  const dropOutcomes = db.prepare<[string, number]>(
    'DELETE FROM run_outcome_minutes WHERE tenant_id = ? AND minute < ?',
  );
  const dropLags = db.prepare<[string, number]>(
    'DELETE FROM run_lag_minutes WHERE tenant_id = ? AND minute < ?',
  );

  // Per minute and slot, as `lags` counts per slot.
  const minuteLags = db.prepare<[CountParams], LagRow & { bucket: number }>(
    `SELECT CAST((started_at - @from) / ${ROLLUP_MINUTE_MS} AS INTEGER) AS bucket, ${lagSlotSql('lag')} AS slot,
       COUNT(*) AS count, MAX(lag) AS max_lag
     FROM (SELECT started_at, started_at - COALESCE(due_at, nominal_time) AS lag FROM runs
           WHERE ${TENANTS} AND started_at >= @countFrom AND started_at < @to)
     GROUP BY bucket, slot`,
  );
  /**
   * The next span after the tenant's mark, at most an hour (a first roll-up of a busy day never holds the
   * write lock for long); false once the mark is at `until`. The mark is read inside the transaction, so
   * two processes on one file never roll up the same minutes.
   */
  const rollNextSpan = db.transaction((tenantId: string, until: number, keepFrom: number): boolean => {
    const from = Math.max(mark.get(tenantId) ?? keepFrom, keepFrom);
    const to = Math.min(until, from + ROLLUP_SPAN_MS);
    if (from >= to) return false;
    const params = { tenants: JSON.stringify([tenantId]), from, countFrom: from, to };
    for (const row of outcomes.all({ ...params, bucketMs: ROLLUP_MINUTE_MS })) {
      putOutcome.run(tenantId, from + row.bucket * ROLLUP_MINUTE_MS, row.outcome, row.count);
    }
    for (const row of minuteLags.all(params)) {
      putLag.run(tenantId, from + row.bucket * ROLLUP_MINUTE_MS, row.slot, row.count, row.max_lag);
    }
    setMark.run(tenantId, to);
    return true;
  });
  const dropOld = db.transaction((tenantId: string, keepFrom: number): void => {
    dropOutcomes.run(tenantId, keepFrom);
    dropLags.run(tenantId, keepFrom);
  });
  const rollTenant = (tenantId: string, until: number, keepFrom: number): void => {
    while (rollNextSpan.immediate(tenantId, until, keepFrom));
    dropOld.immediate(tenantId, keepFrom);
  };

  const rolledOutcomes = db.prepare<[RolledParams], OutcomeCount>(
    `SELECT CAST((minute - @from) / @bucketMs AS INTEGER) AS bucket, outcome, SUM(count) AS count
     FROM run_outcome_minutes WHERE ${TENANTS} AND minute >= @from AND minute < @to
     GROUP BY bucket, outcome`,
  );
  const rolledLags = db.prepare<[Omit<RolledParams, 'bucketMs'>], LagRow>(
    `SELECT slot, SUM(count) AS count, MAX(max_lag) AS max_lag
     FROM run_lag_minutes WHERE ${TENANTS} AND minute >= @from AND minute < @to GROUP BY slot`,
  );
  const readRolled = db.transaction((query: RolledCountsQuery): RolledCounts => {
    const tenants = JSON.stringify(query.tenantId === null ? allTenants.all() : [query.tenantId]);
    const window = { tenants, from: query.from, to: query.to };
    return {
      outcomes: rolledOutcomes.all({ ...window, bucketMs: query.bucketMs }),
      ...lagSlotCounts(rolledLags.all(window)),
    };
  });

  const markRead = db.prepare<[string, number, number]>(
    `INSERT INTO run_stats_marks (tenant_id, rolled_until, read_at) VALUES (?, ?, ?)
     ON CONFLICT (tenant_id) DO UPDATE SET read_at = MAX(COALESCE(read_at, 0), excluded.read_at)`,
  );
  const readSince = db
    .prepare<[number], string>('SELECT tenant_id FROM run_stats_marks WHERE read_at >= ? ORDER BY tenant_id')
    .pluck();

  return {
    rollUpRunStats(rollup: RunStatsRollup): void {
      const tenants =
        rollup.tenantId !== null
          ? [rollup.tenantId]
          : rollup.readSince !== undefined
            ? readSince.all(rollup.readSince)
            : allTenants.all();
      for (const tenantId of tenants) {
        if (rollup.readAt !== undefined) markRead.run(tenantId, rollup.keepFrom, rollup.readAt);
        rollTenant(tenantId, rollup.until, rollup.keepFrom);
      }
    },
    getRolledRunCounts: (query: RolledCountsQuery): RolledCounts => readRolled.deferred(query),
  };
}

const ROLLUP_SPAN_MS = 60 * ROLLUP_MINUTE_MS;

interface RolledParams {
  tenants: string;
  from: number;
  to: number;
  bucketMs: number;
}

interface LagRow {
  slot: number;
  count: number;
  max_lag: number;
}

function lagSlotCounts(rows: LagRow[]): LagSlotCounts {
  const lagSlots: number[] = [];
  for (const row of rows) lagSlots[row.slot] = row.count;
  return {
    lagSlots: Array.from(lagSlots, (count) => count ?? 0),
    maxLagMs: rows.length === 0 ? null : Math.max(...rows.map((row) => row.max_lag)),
  };
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
