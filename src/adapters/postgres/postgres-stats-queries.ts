// The overview's counts (core/run-stats.ts), as sqlite-stats-queries.ts: runs finished in a window per
// (bucket, outcome), runs started in it per lag slot, the running count, the latest failures and the next
// queued runs, of one tenant or (an array of every tenant) of the fleet.
//
// Runs are partitioned by id_time (postgres-partitions.ts), the moment a run came to be, and a window is of
// finish and start times. Above, those bound id_time: no run is created more than the largest lead before
// the time its id carries, nor starts or ends before it is created, so a run that ended or started before
// `to` has id_time < to + MAX_PRE_DISPATCH_LEAD_MS, and the partitions made ahead are pruned. Below, nothing
// does: a future run made weeks ahead, or one that waited in a backlog, ends in the window from an old
// partition, and is counted. So the windowed statements read every earlier day partition, each through its
// own tenant-leading partial index (runs_tenant_finished, runs_tenant_started, migration 8), which for a day
// with no run of the window is one B-tree descent that finds nothing. What that costs is planning: about
// half a millisecond per partition and statement (docs/benchmarks.md, bench/run-stats).
// `tenant_id = ANY($1)` is one index range per tenant (an index scan with an array key), for one or many.

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
import { MAX_PRE_DISPATCH_LEAD_MS } from '../../core/run.js';
import {
  ROLLUP_MINUTE_MS,
  type RolledCounts,
  type RolledCountsQuery,
  type RunStatsRollup,
} from '../../core/run-stats-rollup.js';
import type { Sql } from './postgres-database.js';

/** Prunes the partitions made ahead: see the header. */
const CAME_TO_BE_BY_END = `id_time < $3::bigint + ${MAX_PRE_DISPATCH_LEAD_MS}`;
const FINISHED_IN_WINDOW = `tenant_id = ANY($1::text[]) AND finished_at >= $2 AND finished_at < $3
  AND ${CAME_TO_BE_BY_END}`;

/**
 * The failures as a literal list, as the partial index runs_tenant_failures (migration 9) and the statement
 * that reads it both write it: the planner proves a partial index usable from constants, not parameters.
 */
export const FAILURES_IN = FAILURE_OUTCOMES.map((outcome) => `'${outcome}'`).join(', ');

async function tenantsOf(sql: Sql, tenantId: string | null): Promise<string[]> {
  if (tenantId !== null) return [tenantId];
  const rows = await sql.rows<{ id: string }>('SELECT id FROM tenants ORDER BY id');
  return rows.map((row) => row.id);
}

export async function getRunStats(sql: Sql, query: RunStatsQuery): Promise<RunStatsCounts> {
  const tenants = await tenantsOf(sql, query.tenantId);
  const window = [tenants, query.from, query.to];
  const countFrom = query.countFrom ?? query.from;
  const [outcomes, lags, running, failures, upcoming] = await Promise.all([
    sql.rows<OutcomeCount>(
      `SELECT ((finished_at - $2) / $4)::int AS bucket, status AS outcome, COUNT(*)::int AS count
       FROM runs WHERE ${FINISHED_IN_WINDOW} AND finished_at >= $6 AND status = ANY($5::text[])
       GROUP BY 1, 2`,
      [...window, query.bucketMs, STATS_OUTCOMES, countFrom],
    ),
    sql.rows<LagRow>(
      `SELECT ${lagSlotSql('lag')} AS slot, COUNT(*)::int AS count, MAX(lag) AS max_lag
       FROM (SELECT started_at - due_at AS lag FROM runs
             WHERE tenant_id = ANY($1::text[]) AND started_at >= $2 AND started_at < $3
               AND ${CAME_TO_BE_BY_END}) AS started
       GROUP BY 1`,
      [tenants, countFrom, query.to],
    ),
    sql.first<{ count: number }>(
      `SELECT COUNT(*)::int AS count FROM runs WHERE tenant_id = ANY($1::text[]) AND status = 'running'`,
      [tenants],
    ),
    sql.rows<FailureRow>(
      `SELECT id, tenant_id, job_id, schedule_id, status, exit_code, reason, finished_at FROM runs
       WHERE ${FINISHED_IN_WINDOW} AND status IN (${FAILURES_IN})
       ORDER BY finished_at DESC, id DESC LIMIT $4`,
      [...window, query.limit],
    ),
    // runs_tenant_status gives each tenant's queued runs; they are few next to its history, and sorted here.
    sql.rows<UpcomingRow>(
      `SELECT id, tenant_id, job_id, schedule_id, available_at, due_at FROM runs
       WHERE tenant_id = ANY($1::text[]) AND status = 'queued' ORDER BY available_at, id LIMIT $2`,
      [tenants, query.limit],
    ),
  ]);
  return {
    outcomes,
    ...lagSlotCounts(lags),
    runningNow: running?.count ?? 0,
    recentFailures: failures.map(rowToFailure),
    upcoming: upcoming.map(rowToUpcoming),
  };
}

/**
 * Rolls up each tenant in a transaction of its own that first locks the tenant's mark: a second caller
 * waits, then finds the minutes rolled up and writes nothing. Each table takes one INSERT … SELECT over the
 * whole span, grouped by minute (the counts of core/run-stats.ts, as getRunStats counts them).
 */
export async function rollUpRunStats(
  db: { transaction<T>(work: (sql: Sql) => Promise<T>): Promise<T> },
  sql: Sql,
  rollup: RunStatsRollup,
): Promise<void> {
  const tenants =
    rollup.tenantId === null && rollup.readSince !== undefined
      ? (
          await sql.rows<{ tenant_id: string }>(
            'SELECT tenant_id FROM run_stats_marks WHERE read_at >= $1 ORDER BY tenant_id',
            [rollup.readSince],
          )
        ).map((row) => row.tenant_id)
      : await tenantsOf(sql, rollup.tenantId);
  for (const tenantId of tenants) {
    await db.transaction((tx) => rollTenant(tx, tenantId, rollup));
  }
}

async function rollTenant(sql: Sql, tenantId: string, rollup: RunStatsRollup): Promise<void> {
  const { until, keepFrom } = rollup;
  await sql.changes(
    `INSERT INTO run_stats_marks (tenant_id, rolled_until, read_at) VALUES ($1, $2, $3)
     ON CONFLICT (tenant_id) DO UPDATE
       SET read_at = GREATEST(run_stats_marks.read_at, excluded.read_at)
       WHERE excluded.read_at IS NOT NULL`,
    [tenantId, keepFrom, rollup.readAt ?? null],
  );
  const mark = await sql.first<{ rolled_until: number }>(
    'SELECT rolled_until FROM run_stats_marks WHERE tenant_id = $1 FOR UPDATE',
    [tenantId],
  );
  const from = Math.max(mark?.rolled_until ?? keepFrom, keepFrom);
  if (from < until) {
    const span = [[tenantId], from, until];
    await sql.changes(
      `INSERT INTO run_outcome_minutes (tenant_id, minute, outcome, count)
       SELECT $4::text, $2 + (finished_at - $2) / ${ROLLUP_MINUTE_MS} * ${ROLLUP_MINUTE_MS}, status, COUNT(*)
       FROM runs WHERE ${FINISHED_IN_WINDOW} AND status = ANY($5::text[])
       GROUP BY 2, 3
       ON CONFLICT (tenant_id, minute, outcome) DO UPDATE SET count = excluded.count`,
      [...span, tenantId, STATS_OUTCOMES],
    );
    await sql.changes(
      `INSERT INTO run_lag_minutes (tenant_id, minute, slot, count, max_lag)
       SELECT $4::text, minute, ${lagSlotSql('lag')}, COUNT(*), MAX(lag)
       FROM (SELECT $2 + (started_at - $2) / ${ROLLUP_MINUTE_MS} * ${ROLLUP_MINUTE_MS} AS minute,
                    started_at - due_at AS lag
             FROM runs WHERE tenant_id = ANY($1::text[]) AND started_at >= $2 AND started_at < $3
               AND ${CAME_TO_BE_BY_END}) AS started
       GROUP BY 2, 3
       ON CONFLICT (tenant_id, minute, slot) DO UPDATE SET count = excluded.count, max_lag = excluded.max_lag`,
      [...span, tenantId],
    );
    await sql.changes('UPDATE run_stats_marks SET rolled_until = $2 WHERE tenant_id = $1', [tenantId, until]);
  }
  await sql.changes('DELETE FROM run_outcome_minutes WHERE tenant_id = $1 AND minute < $2', [
    tenantId,
    keepFrom,
  ]);
  await sql.changes('DELETE FROM run_lag_minutes WHERE tenant_id = $1 AND minute < $2', [tenantId, keepFrom]);
}

export async function getRolledRunCounts(sql: Sql, query: RolledCountsQuery): Promise<RolledCounts> {
  const tenants = await tenantsOf(sql, query.tenantId);
  const window = [tenants, query.from, query.to];
  const [outcomes, lags] = await Promise.all([
    sql.rows<OutcomeCount>(
      `SELECT ((minute - $2) / $4)::int AS bucket, outcome, SUM(count)::int AS count
       FROM run_outcome_minutes WHERE tenant_id = ANY($1::text[]) AND minute >= $2 AND minute < $3
       GROUP BY 1, 2`,
      [...window, query.bucketMs],
    ),
    sql.rows<LagRow>(
      `SELECT slot, SUM(count)::int AS count, MAX(max_lag) AS max_lag
       FROM run_lag_minutes WHERE tenant_id = ANY($1::text[]) AND minute >= $2 AND minute < $3
       GROUP BY 1`,
      window,
    ),
  ]);
  return { outcomes, ...lagSlotCounts(lags) };
}

interface LagRow {
  slot: number;
  count: number;
  max_lag: number | string;
}

function lagSlotCounts(rows: LagRow[]): LagSlotCounts {
  const lagSlots: number[] = [];
  for (const row of rows) lagSlots[row.slot] = row.count;
  return {
    lagSlots: Array.from(lagSlots, (count) => count ?? 0),
    maxLagMs: rows.length === 0 ? null : Math.max(...rows.map((row) => Number(row.max_lag))),
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
  finishedAt: Number(row.finished_at),
});

const rowToUpcoming = (row: UpcomingRow): UpcomingRunSummary => ({
  id: row.id,
  tenantId: row.tenant_id,
  jobId: row.job_id,
  scheduleId: row.schedule_id,
  availableAt: Number(row.available_at),
  dueAt: Number(row.due_at),
});
