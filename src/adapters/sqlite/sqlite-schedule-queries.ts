// The schedules table: the tenant-facing writes (insert within the plan limit, optimistic update, soft
// delete) and the engine's reads (its load, one schedule's timing, the changes since a sequence number).
//
// Every tenant-facing change raises the schedule's version and gives it the next store-wide change_seq
// (MAX + 1: SQLite serializes writers, so two changes never take the same number; a unique index says so).
// The engine's own writes, the watermarks, change neither: they are not news to reconciliation. Every read
// gives a schedule's watermark through its partition's frontier (src/core/watermark.ts), as the engine's
// load does, so a read-modify-write (an update) writes back a current one.
// A schedule is never removed, only marked deleted, so its runs' schedule_id stays meaningful. Every write
// moves the schedule's share of the load forecast's counts in its own transaction (sqlite-load-forecast-counts.ts).

import type Database from 'better-sqlite3';
import { HourglassError, notFound } from '../../core/errors.js';
import type { Schedule } from '../../core/schedule.js';
import { resolveWatermark, type NextTickAfter } from '../../core/watermark.js';
import type { Page, ScheduleFilter, ScheduleTiming } from '../../ports/store.js';
import { memoisedNextTick, type Frontiers, type FrontierQueries } from './sqlite-frontier-queries.js';
import type { JobQueries } from './sqlite-job-queries.js';
import type { LoadForecastCounts } from './sqlite-load-forecast-counts.js';
import type { ScheduleHistoryQueries } from './sqlite-schedule-history-queries.js';
import { BEFORE_ALL_IDS, toPage } from './sqlite-rows.js';
import {
  LOAD_COLUMNS,
  loadRowsToTimings,
  rowToSchedule,
  scheduleToRow,
  SCHEDULE_COLUMNS,
  TIMING_COLUMNS,
  timingRowToTiming,
  type LoadRow,
  type ScheduleRow,
  type TimingRow,
} from './sqlite-schedule-rows.js';

const NEXT_SEQ = '(SELECT COALESCE(MAX(change_seq), 0) + 1 FROM schedules)';
/** Thrown inside updateSchedules' transaction to roll it back when one version is stale. */
const STALE = new Error('a schedule version is stale');
const ACTIVE = 'deleted_at IS NULL AND paused = 0 AND next_fire_at IS NOT NULL';

/** Partition numbers to a JSON array, read back with json_each: one statement serves any set of them. */
const partitionList = (partitions: readonly number[]): string => JSON.stringify(partitions);

function compileTimingReads(db: Database.Database) {
  const timing = <P extends unknown[]>(sql: string) =>
    db.prepare<P, TimingRow>(`SELECT ${TIMING_COLUMNS} FROM schedules ${sql}`).raw();
  const load = <P extends unknown[]>(sql: string) =>
    db.prepare<P, LoadRow>(`SELECT ${LOAD_COLUMNS} FROM schedules ${sql}`).raw();
  return {
    // A node holding one partition reads just it, in id order, from the (partition, id) index.
    activeOfPartition: load<[number, string, number]>(
      `INDEXED BY schedules_partition_id WHERE partition = ? AND id > ? AND ${ACTIVE} ORDER BY id LIMIT ?`,
    ),
    // Holding many partitions, walking the primary key in id order and filtering is linear in the table;
    // the partition index would need a sort of every remaining row per page (quadratic over a full load),
    // so `+partition` keeps the planner off it.
    activeOfPartitions: load<[string, string, number]>(
      `WHERE +partition IN (SELECT value FROM json_each(?)) AND id > ? AND ${ACTIVE} ORDER BY id LIMIT ?`,
    ),
    byId: timing<[string]>('WHERE id = ?'),
    changes: timing<[number, string, number]>(
      `WHERE change_seq > ? AND partition IN (SELECT value FROM json_each(?)) ORDER BY change_seq LIMIT ?`,
    ),
  };
}

type ReadRow = ScheduleRow & { change_seq: number };

function resolvedSchedule(row: ReadRow, frontiers: Frontiers): Schedule {
  const schedule = rowToSchedule(row);
  const stored = { ...schedule, changeSeq: row.change_seq };
  return { ...schedule, nextFireAt: resolveWatermark(stored, frontiers.get(schedule.partition)) };
}

function resolveTimings(
  timings: ScheduleTiming[],
  frontiers: Frontiers,
  nextAfter: NextTickAfter = memoisedNextTick(),
): ScheduleTiming[] {
  for (const timing of timings) {
    timing.nextFireAt = resolveWatermark(timing, frontiers.get(timing.partition), nextAfter);
  }
  return timings;
}

export function compileScheduleQueries(
  db: Database.Database,
  frontierQueries: Pick<FrontierQueries, 'frontiers'>,
  jobs: Pick<JobQueries, 'tenantHasJob'>,
  history: Pick<ScheduleHistoryQueries, 'recordPause'>,
  counts: Pick<LoadForecastCounts, 'storedShare' | 'apply' | 'markCounted'>,
) {
  const insert = db.prepare<[ScheduleRow]>(`INSERT INTO schedules (${SCHEDULE_COLUMNS}, change_seq)
    VALUES (@id, @tenant_id, @job_id, @partition, @kind, @cron, @timezone, @every, @interval_ms, @anchor_at,
      @start_at, @end_at, @paused, @overlap_policy, @catchup_mode, @catchup_window_seconds, @catchup_max_runs,
      @jitter_seconds, @args_json, @env_json, @created_at, @updated_at, @version, @next_fire_at, @timing_json,
      ${NEXT_SEQ})`);
  // The job and the partition (a hash of the id) never change; everything else is the caller's.
  const update = db.prepare<[ScheduleRow]>(`UPDATE schedules SET kind = @kind, cron = @cron,
      timezone = @timezone, every = @every, interval_ms = @interval_ms, anchor_at = @anchor_at,
      start_at = @start_at, end_at = @end_at, paused = @paused, overlap_policy = @overlap_policy,
      catchup_mode = @catchup_mode, catchup_window_seconds = @catchup_window_seconds,
      catchup_max_runs = @catchup_max_runs, jitter_seconds = @jitter_seconds, args_json = @args_json,
      env_json = @env_json, updated_at = @updated_at, version = @version, next_fire_at = @next_fire_at,
      timing_json = @timing_json,
      change_seq = ${NEXT_SEQ}
    WHERE id = @id AND tenant_id = @tenant_id AND version = @version - 1 AND deleted_at IS NULL`);
  const softDelete = db.prepare<[number, number, string, string]>(`UPDATE schedules
    SET deleted_at = ?, updated_at = ?, version = version + 1, change_seq = ${NEXT_SEQ}
    WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`);
  const liveIdsOfJob = db
    .prepare<[string, string], string>(
      'SELECT id FROM schedules WHERE tenant_id = ? AND job_id = ? AND deleted_at IS NULL ORDER BY id',
    )
    .pluck();
  const byId = db.prepare<[string, string], ReadRow>(
    `SELECT ${SCHEDULE_COLUMNS}, change_seq FROM schedules WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`,
  );
  const page = db.prepare<[string, string, number], ReadRow>(`SELECT ${SCHEDULE_COLUMNS}, change_seq
    FROM schedules WHERE tenant_id = ? AND deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?`);
  const pageOfJob = db.prepare<
    [string, string, string, number],
    ReadRow
  >(`SELECT ${SCHEDULE_COLUMNS}, change_seq
    FROM schedules WHERE tenant_id = ? AND job_id = ? AND deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?`);
  const count = db
    .prepare<[string], number>('SELECT COUNT(*) FROM schedules WHERE tenant_id = ? AND deleted_at IS NULL')
    .pluck();
  const jobIsLive = db
    .prepare<[string, string], number>(
      'SELECT 1 FROM jobs WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL',
    )
    .pluck();
  const latestSeq = db.prepare<[], number>('SELECT COALESCE(MAX(change_seq), 0) FROM schedules').pluck();
  const timings = compileTimingReads(db);

  // The limit and the job are checked in the insert's transaction: two concurrent inserts cannot both pass
  // the count, and a schedule cannot be created for a job deleted a moment before (it would fire for
  // nothing).
  const insertWithinLimit = db.transaction((schedule: Schedule, maxSchedules: number): void => {
    if (jobIsLive.get(schedule.tenantId, schedule.jobId) === undefined) {
      throw notFound('job', schedule.jobId, 'jobId');
    }
    if ((count.get(schedule.tenantId) ?? 0) >= maxSchedules) {
      throw new HourglassError('plan_limit_exceeded', `the plan allows at most ${maxSchedules} schedules`, {
        limit: 'maxSchedules',
      });
    }
    insert.run(scheduleToRow(schedule));
    counts.apply(counts.storedShare(schedule.id), 1);
    counts.markCounted(schedule.id);
    if (schedule.paused) history.recordPause(schedule.id, true, schedule.updatedAt);
  });
  // The version check makes it optimistic; the pause and the forecast's counts are written only by the
  // write that won.
  const updateCounted = (schedule: Schedule): boolean => {
    const before = counts.storedShare(schedule.id);
    if (update.run(scheduleToRow(schedule)).changes === 0) return false;
    counts.apply(before, -1);
    counts.apply(counts.storedShare(schedule.id), 1);
    counts.markCounted(schedule.id);
    history.recordPause(schedule.id, schedule.paused, schedule.updatedAt);
    return true;
  };
  const updateOne = db.transaction(updateCounted);
  // All or nothing: the first stale version throws, which rolls the whole transaction back.
  const updateAll = db.transaction((schedules: readonly Schedule[]): boolean => {
    for (const schedule of schedules) if (!updateCounted(schedule)) throw STALE;
    return true;
  });
  /** Soft-deletes one live schedule and takes it out of the forecast's counts. */
  const softDeleteCounted = (tenantId: string, scheduleId: string, at: number): boolean => {
    const before = counts.storedShare(scheduleId);
    if (softDelete.run(at, at, tenantId, scheduleId).changes === 0) return false;
    counts.apply(before, -1);
    counts.markCounted(scheduleId);
    return true;
  };
  const deleteOne = db.transaction(softDeleteCounted);

  return {
    insertSchedule: (schedule: Schedule, maxSchedules: number): void =>
      insertWithinLimit.immediate(schedule, maxSchedules),

    updateSchedule: (schedule: Schedule): boolean => updateOne.immediate(schedule),

    updateSchedules(schedules: readonly Schedule[]): boolean {
      try {
        return updateAll.immediate(schedules);
      } catch (error) {
        if (error === STALE) return false;
        throw error;
      }
    },

    deleteSchedule: (tenantId: string, scheduleId: string, at: number): boolean =>
      deleteOne.immediate(tenantId, scheduleId, at),

    /**
     * Part of deleting a job, inside the caller's transaction. One UPDATE per schedule: an UPDATE of several
     * rows would evaluate the MAX + 1 once and give them all the same change_seq.
     */
    deleteSchedulesOfJob(tenantId: string, jobId: string, at: number): string[] {
      const ids = liveIdsOfJob.all(tenantId, jobId);
      for (const id of ids) softDeleteCounted(tenantId, id, at);
      return ids;
    },

    getSchedule(tenantId: string, scheduleId: string): Schedule | null {
      const row = byId.get(tenantId, scheduleId);
      return row ? resolvedSchedule(row, frontierQueries.frontiers()) : null;
    },

    listSchedules(tenantId: string, filter: ScheduleFilter): Page<Schedule> {
      const { jobId, limit } = filter;
      // A job the tenant does not have is not_found, as for listRuns; a deleted one of its own lists empty
      // (its schedules were deleted with it). Both reads are by tenant (schedules_tenant_job), so another
      // tenant's schedules never cost anything here.
      if (jobId !== undefined && !jobs.tenantHasJob(tenantId, jobId)) throw notFound('job', jobId, 'jobId');
      const cursor = filter.cursor ?? BEFORE_ALL_IDS;
      const rows =
        jobId === undefined
          ? page.all(tenantId, cursor, limit + 1)
          : pageOfJob.all(tenantId, jobId, cursor, limit + 1);
      const frontiers = frontierQueries.frontiers();
      return toPage(rows, limit, (row) => resolvedSchedule(row, frontiers));
    },

    loadSchedules(partitions: readonly number[], afterId: string | null, limit: number): ScheduleTiming[] {
      const after = afterId ?? BEFORE_ALL_IDS;
      const [only] = partitions;
      const rows =
        partitions.length === 1 && only !== undefined
          ? timings.activeOfPartition.all(only, after, limit)
          : partitions.length === 0
            ? []
            : timings.activeOfPartitions.all(partitionList(partitions), after, limit);
      return resolveTimings(loadRowsToTimings(rows), frontierQueries.frontiers());
    },

    getScheduleTiming(scheduleId: string): ScheduleTiming | null {
      const row = timings.byId.get(scheduleId);
      return row ? (resolveTimings([timingRowToTiming(row)], frontierQueries.frontiers())[0] ?? null) : null;
    },

    listScheduleChanges(partitions: readonly number[], afterSeq: number, limit: number): ScheduleTiming[] {
      if (partitions.length === 0) return [];
      const rows = timings.changes.all(afterSeq, partitionList(partitions), limit);
      return resolveTimings(rows.map(timingRowToTiming), frontierQueries.frontiers());
    },

    latestScheduleChange: (): number => latestSeq.get() ?? 0,
  };
}

export type ScheduleQueries = ReturnType<typeof compileScheduleQueries>;
