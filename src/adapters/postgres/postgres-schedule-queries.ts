// The schedules table: the tenant-facing writes (insert within the plan limit, optimistic update, soft
// delete) and the engine's reads (its load, one schedule's timing, the changes since a sequence number).
//
// The change sequence, in commit order. Every tenant-facing change raises the schedule's version and takes
// the next number of the store-wide sequence, which reconciliation reads past ("changes after the last one I
// saw"): a change must never become visible after a higher-numbered one, or a reader that saw the higher one
// would skip it for good. A PostgreSQL sequence gives numbers in the order they are taken, not the order
// their transactions commit. So the numbers come from one counter row (schedule_change_counter), raised in
// the change's own transaction: the row lock it takes is held until that transaction commits or rolls back,
// so the next change waits for it — numbers are handed out, and become visible, in commit order, and a
// rolled-back change gives its number back (no gaps). It serializes schedule changes store-wide, which are
// tenant requests (tens a second), never the firing path. A counter row rather than an advisory lock around
// nextval(): the lock and the number are one thing and cannot be used apart.
//
// Lock order, to stay free of deadlocks: the tenant's plan-limit lock, then schedule rows (in id order), then
// the counter. The engine's own writes, the watermarks, change neither version nor sequence: they are not
// news to reconciliation. Every read gives a schedule's watermark through its partition's frontier
// (src/core/watermark.ts), as the engine's load does, so a read-modify-write (an update) writes back a
// current one. A schedule is never removed, only marked deleted, so its runs' schedule_id stays meaningful.
// Every write moves the schedule's share of the load forecast's counts (postgres-load-forecast-counts.ts) in
// its own transaction, after taking the counter.

import { HourglassError, notFound } from '../../core/errors.js';
import type { Schedule } from '../../core/schedule.js';
import { memoisedNextTick, resolveWatermark } from '../../core/watermark.js';
import type { Page, ScheduleFilter, ScheduleTiming } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { readFrontiers, type Frontiers } from './postgres-frontier-queries.js';
import { tenantHasJob } from './postgres-job-queries.js';
import { lockTenantLimits } from './postgres-locks.js';
import { BEFORE_ALL_IDS, toPage } from './postgres-rows.js';
import {
  rowsToTimings,
  rowToSchedule,
  SCHEDULE_COLUMNS,
  scheduleParams,
  TIMING_COLUMNS,
  type ScheduleRow,
  type TimingRow,
} from './postgres-schedule-rows.js';
import {
  applyShares,
  sharesOfDeletedJob,
  storedShare,
  type TenantShare,
} from './postgres-load-forecast-counts.js';
import { recordPause } from './postgres-schedule-history-queries.js';

const SCHEDULE_VALUES = Array.from({ length: 24 }, (_, i) => `$${i + 1}`).join(', ');
const ACTIVE = 'deleted_at IS NULL AND NOT paused AND next_fire_at IS NOT NULL';
/** created_at's place in scheduleParams after its first four (id, tenant, job, partition). */
const CREATED_AT_FIELD = 16;

/**
 * Takes the next `count` change numbers, in the caller's transaction, which holds the counter's row lock
 * until it ends (see the header). Returns the first of them.
 */
async function takeChangeSeqs(sql: Sql, count: number): Promise<number> {
  // The forecast's counts are moved with every change taken here: still current if they were before.
  const row = await sql.first<{ seq: number }>(
    `UPDATE schedule_change_counter SET seq = seq + $1,
       counted_seq = CASE WHEN counted_seq = seq THEN seq + $1 ELSE counted_seq END
     RETURNING seq`,
    [count],
  );
  if (row === undefined) throw new HourglassError('internal', 'the schedule change counter row is missing');
  return row.seq - count + 1;
}

function resolved(row: ScheduleRow, frontiers: Frontiers): Schedule {
  const schedule = rowToSchedule(row);
  const stored = { ...schedule, changeSeq: row.change_seq };
  return { ...schedule, nextFireAt: resolveWatermark(stored, frontiers.get(schedule.partition)) };
}

function resolveTimings(timings: ScheduleTiming[], frontiers: Frontiers): ScheduleTiming[] {
  const nextAfter = memoisedNextTick();
  for (const timing of timings) {
    timing.nextFireAt = resolveWatermark(timing, frontiers.get(timing.partition), nextAfter);
  }
  return timings;
}

/**
 * In a transaction. The limit and the job are checked under the tenant's plan-limit lock: two concurrent
 * inserts cannot both pass the count, and a schedule cannot be created for a job deleted a moment before.
 */
export async function insertSchedule(sql: Sql, schedule: Schedule, maxSchedules: number): Promise<void> {
  await lockTenantLimits(sql, schedule.tenantId);
  // FOR SHARE: a concurrent deleteJob (which updates the job row) waits for this insert, and then deletes
  // the new schedule with the job's others; or it went first, and the job is no longer live here.
  const job = await sql.first(
    'SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR SHARE',
    [schedule.tenantId, schedule.jobId],
  );
  if (job === undefined) throw notFound('job', schedule.jobId, 'jobId');
  const counted = await sql.first<{ n: number }>(
    'SELECT COUNT(*) AS n FROM schedules WHERE tenant_id = $1 AND deleted_at IS NULL',
    [schedule.tenantId],
  );
  if ((counted?.n ?? 0) >= maxSchedules) {
    throw new HourglassError('plan_limit_exceeded', `the plan allows at most ${maxSchedules} schedules`, {
      limit: 'maxSchedules',
    });
  }
  const seq = await takeChangeSeqs(sql, 1);
  await sql.changes(
    `INSERT INTO schedules (${SCHEDULE_COLUMNS}, change_seq) VALUES (${SCHEDULE_VALUES}, $25)`,
    [...scheduleParams(schedule), seq],
  );
  await applyShares(sql, [await storedShare(sql, schedule.id, 1)]);
  if (schedule.paused) await recordPause(sql, schedule.id, true, schedule.updatedAt);
}

/** In a transaction: optimistic on the version (the stored one must be schedule.version − 1). */
export async function updateSchedule(sql: Sql, schedule: Schedule): Promise<boolean> {
  return updateSchedules(sql, [schedule]);
}

/**
 * In a transaction, all or nothing: the rows are locked in id order (then the counter, as the lock order
 * says) and written only if every stored version is the one before; a stale one writes none.
 */
export async function updateSchedules(sql: Sql, list: readonly Schedule[]): Promise<boolean> {
  if (list.length === 0) return true;
  const sorted = [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const current = await sql.rows<{ id: string }>(
    `SELECT s.id FROM schedules s JOIN unnest($1::text[], $2::text[], $3::int[]) AS w (id, tenant_id, version)
       ON s.id = w.id AND s.tenant_id = w.tenant_id AND s.version = w.version
     WHERE s.deleted_at IS NULL ORDER BY s.id FOR UPDATE OF s`,
    [sorted.map((s) => s.id), sorted.map((s) => s.tenantId), sorted.map((s) => s.version - 1)],
  );
  if (current.length !== sorted.length) return false;
  const first = await takeChangeSeqs(sql, sorted.length);
  // The forecast's counts move with the writes, under the counter's lock (postgres-load-forecast-counts.ts).
  const shares: (TenantShare | null)[] = [];
  for (const [i, schedule] of sorted.entries()) {
    shares.push(await storedShare(sql, schedule.id, -1));
    // The job and the partition (a hash of the id) never change; everything else is the caller's.
    const [id, , , , ...fields] = scheduleParams(schedule);
    fields.splice(CREATED_AT_FIELD, 1);
    await sql.changes(
      `UPDATE schedules SET kind = $2, cron = $3, timezone = $4, every = $5, interval_ms = $6,
         anchor_at = $7, start_at = $8, end_at = $9, paused = $10, overlap_policy = $11,
         catchup_mode = $12, catchup_window_seconds = $13, catchup_max_runs = $14, jitter_seconds = $15,
         args = $16, env = $17, updated_at = $18, version = $19, next_fire_at = $20, change_seq = $21
       WHERE id = $1`,
      [id, ...fields, first + i],
    );
    shares.push(await storedShare(sql, schedule.id, 1));
    await recordPause(sql, schedule.id, schedule.paused, schedule.updatedAt);
  }
  await applyShares(sql, shares);
  return true;
}

/**
 * Soft-deletes the given live schedules, locked in id order, each with the next change number from `first`
 * (takeChangeSeqs, which the caller took: reads of the forecast's shares belong after it, see deleteSchedule).
 */
async function softDelete(sql: Sql, ids: readonly string[], at: number, first: number): Promise<void> {
  await sql.changes(
    `UPDATE schedules SET deleted_at = $1, updated_at = $1, version = version + 1, change_seq = c.seq
     FROM unnest($2::text[], $3::bigint[]) AS c (id, seq) WHERE schedules.id = c.id`,
    [at, ids, ids.map((_, i) => first + i)],
  );
}

/** In a transaction. False when there was no such live schedule. */
export async function deleteSchedule(
  sql: Sql,
  tenantId: string,
  scheduleId: string,
  at: number,
): Promise<boolean> {
  const current = await sql.first(
    'SELECT 1 FROM schedules WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL FOR UPDATE',
    [tenantId, scheduleId],
  );
  if (current === undefined) return false;
  // The counter first, then the share: a job's memory change (moveJobMemory) holds the counter until it
  // commits, so the memory read here is the one the counts hold for this schedule.
  const first = await takeChangeSeqs(sql, 1);
  const before = await storedShare(sql, scheduleId, -1);
  await softDelete(sql, [scheduleId], at, first);
  await applyShares(sql, [before]);
  return true;
}

/** Part of deleting a job, inside its transaction (after the job row's update): its live schedules. */
export async function deleteSchedulesOfJob(
  sql: Sql,
  tenantId: string,
  jobId: string,
  at: number,
): Promise<string[]> {
  const rows = await sql.rows<{ id: string }>(
    `SELECT id FROM schedules WHERE tenant_id = $1 AND job_id = $2 AND deleted_at IS NULL
     ORDER BY id FOR UPDATE`,
    [tenantId, jobId],
  );
  const ids = rows.map((row) => row.id);
  if (ids.length === 0) return ids;
  // Read while its schedules are locked (above) and the job row too (the caller updated it).
  const shares = await sharesOfDeletedJob(sql, tenantId, jobId);
  await softDelete(sql, ids, at, await takeChangeSeqs(sql, ids.length));
  await applyShares(sql, shares);
  return ids;
}

export async function getSchedule(sql: Sql, tenantId: string, scheduleId: string): Promise<Schedule | null> {
  const [row, frontiers] = await Promise.all([
    sql.first<ScheduleRow>(
      `SELECT ${SCHEDULE_COLUMNS}, change_seq FROM schedules
       WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL`,
      [tenantId, scheduleId],
    ),
    readFrontiers(sql),
  ]);
  return row ? resolved(row, frontiers) : null;
}

export async function listSchedules(
  sql: Sql,
  tenantId: string,
  filter: ScheduleFilter,
): Promise<Page<Schedule>> {
  const { jobId, limit } = filter;
  // A job the tenant does not have is not_found, as for listRuns; a deleted one of its own lists empty (its
  // schedules were deleted with it). Both reads are by tenant, so another tenant's schedules cost nothing.
  if (jobId !== undefined && !(await tenantHasJob(sql, tenantId, jobId)))
    throw notFound('job', jobId, 'jobId');
  const cursor = filter.cursor ?? BEFORE_ALL_IDS;
  const head = `SELECT ${SCHEDULE_COLUMNS}, change_seq FROM schedules WHERE tenant_id = $1 AND deleted_at IS NULL`;
  const [rows, frontiers] = await Promise.all([
    jobId === undefined
      ? sql.rows<ScheduleRow>(`${head} AND id > $2 ORDER BY id LIMIT $3`, [tenantId, cursor, limit + 1])
      : sql.rows<ScheduleRow>(`${head} AND job_id = $2 AND id > $3 ORDER BY id LIMIT $4`, [
          tenantId,
          jobId,
          cursor,
          limit + 1,
        ]),
    readFrontiers(sql),
  ]);
  return toPage(rows, limit, (row) => resolved(row, frontiers));
}

/** Live, unpaused schedules with a next tick, of these partitions, in id order after `afterId`. */
export async function loadSchedules(
  sql: Sql,
  partitions: readonly number[],
  afterId: string | null,
  limit: number,
): Promise<ScheduleTiming[]> {
  if (partitions.length === 0) return [];
  const [rows, frontiers] = await Promise.all([
    sql.rows<TimingRow>(
      `SELECT ${TIMING_COLUMNS} FROM schedules
       WHERE partition = ANY($1::integer[]) AND id > $2 AND ${ACTIVE} ORDER BY id LIMIT $3`,
      [partitions, afterId ?? BEFORE_ALL_IDS, limit],
    ),
    readFrontiers(sql),
  ]);
  return resolveTimings(rowsToTimings(rows), frontiers);
}

export async function getScheduleTiming(sql: Sql, scheduleId: string): Promise<ScheduleTiming | null> {
  const [rows, frontiers] = await Promise.all([
    sql.rows<TimingRow>(`SELECT ${TIMING_COLUMNS} FROM schedules WHERE id = $1`, [scheduleId]),
    readFrontiers(sql),
  ]);
  return resolveTimings(rowsToTimings(rows), frontiers)[0] ?? null;
}

export async function listScheduleChanges(
  sql: Sql,
  partitions: readonly number[],
  afterSeq: number,
  limit: number,
): Promise<ScheduleTiming[]> {
  if (partitions.length === 0) return [];
  const [rows, frontiers] = await Promise.all([
    sql.rows<TimingRow>(
      `SELECT ${TIMING_COLUMNS} FROM schedules
       WHERE change_seq > $1 AND partition = ANY($2::integer[]) ORDER BY change_seq LIMIT $3`,
      [afterSeq, partitions, limit],
    ),
    readFrontiers(sql),
  ]);
  return resolveTimings(rowsToTimings(rows), frontiers);
}

/** The counter's committed value: the latest change whose transaction has committed. */
export async function latestScheduleChange(sql: Sql): Promise<number> {
  const row = await sql.first<{ seq: number }>('SELECT seq FROM schedule_change_counter');
  return row?.seq ?? 0;
}
