// Firing ticks: the scheduler engine's durable write. One transaction (one fsync) per batch, whatever the
// partitions of its ticks; each tick is fenced by its partition's lease (owner and epoch): a node that lost a
// lease writes nothing for that partition.
//
// Per tick: the schedule must be live, unpaused, of that partition and at the version the engine computed
// the tick from (else `stale`, and nothing is written for it); a run under the tick's id that exists
// already is a `duplicate`; otherwise the schedule's overlap policy decides. Watermarks move by partition:
// the batch records the engine's frontier on each partition it holds (src/core/watermark.ts), one row per
// partition instead of one per schedule; only a schedule's last tick (nextFireAt null) writes its own
// watermark, so an ended schedule is not loaded again. Neither the version nor the change sequence moves:
// this is the engine's own bookkeeping, not a change to reconcile.
//
// Speed: `allow` (the common case, nothing to look at but the run id) goes first, in bulk and unread: every
// tick of a current partition is offered to multi-row INSERT … SELECTs (up to BULK_ROWS ticks each, in run
// id order) that take the run's tenant, job, args and env from the schedule and insert only where it
// confirms the tick (live, unpaused, of the tick's partition, at its version, policy `allow`), reading the
// covering index schedules_fire rather than the wide row; ON CONFLICT DO NOTHING, and RETURNING says which
// went in (id and job; the job's tenant and memory are read once per batch). Only the ticks left over are
// read, one schedule row each, and decided tick by tick, in order: stale, fenced, a duplicate, or their
// overlap policy (sqlite-overlap-queries.ts). A schedule has one policy, so the two paths never share a
// schedule in a batch.
// A bulk-fired run stores no events: its `created` and `dispatched` are implied by the row (fired_late, see
// migration 3 and impliedRunEvents). What a fired run costs is mostly the B-trees it is inserted into, so it
// is inserted into few (migrations 3 and 5 say which, and why).

import type Database from 'better-sqlite3';
import { byRunId, isSortedByRunId } from '../../core/schedule.js';
import { memoryRequestOf } from '../../core/job.js';
import type { FiredThrough, FireResult, PartitionLease, TickFire, WatermarkMark } from '../../ports/store.js';
import type { FrontierQueries } from './sqlite-frontier-queries.js';
import type { LeaseQueries } from './sqlite-lease-queries.js';
import type { FireSchedule, OverlapQueries } from './sqlite-overlap-queries.js';

type FireScheduleRow = Omit<FireSchedule, 'memory_mb' | 'memory_request_mb'>;

/** A job's tenant, memory limit and what its runs reserve (resolved: never null). */
type JobOfRun = { tenantId: string; memoryMb: number; memoryRequestMb: number };

const emptyResult = (fenced: number[] = []): FireResult => ({
  fenced,
  queued: [],
  skipped: [],
  blocked: [],
  duplicates: [],
  stale: [],
  cancelled: [],
  stopping: [],
});

/** Live, unpaused, at the version (and of the partition) the engine computed the tick from. */
function isCurrent(schedule: FireSchedule | undefined, tick: TickFire): schedule is FireSchedule {
  return (
    schedule !== undefined &&
    schedule.deleted_at === null &&
    schedule.paused === 0 &&
    schedule.version === tick.version &&
    schedule.partition === tick.partition
  );
}

/**
 * The schedules this batch ended: a schedule ends with its last tick (nextFireAt null) unless a later tick of
 * it was written too — the last tick written, in batch order, decides, as if each had moved it in turn.
 */
function endedSchedules(fires: readonly TickFire[], written: ReadonlySet<TickFire>): string[] {
  const ended = new Map<string, boolean>();
  for (const tick of fires) if (written.has(tick)) ended.set(tick.scheduleId, tick.nextFireAt === null);
  return [...ended].filter(([, isEnded]) => isEnded).map(([id]) => id);
}

/** Rows per bulk INSERT: 8 parameters each, far below SQLite's limit of 32,766. */
const BULK_ROWS = 256;
export function compileFireQueries(
  db: Database.Database,
  leases: Pick<LeaseQueries, 'holds'>,
  overlap: Pick<OverlapQueries, 'fireOne'>,
  frontiers: Pick<FrontierQueries, 'record'>,
) {
  const scheduleOf = db.prepare<[string], FireScheduleRow>(`SELECT tenant_id, job_id, partition, version,
      paused, deleted_at, overlap_policy, args_json, env_json FROM schedules WHERE id = ?`);
  const jobRow = db.prepare<
    [string],
    { tenant_id: string; memory_mb: number; memory_request_mb: number | null }
  >('SELECT tenant_id, memory_mb, memory_request_mb FROM jobs WHERE id = ?');
  // One statement per power of two up to BULK_ROWS: any batch is a sum of them.
  const bulkInserts = new Map<number, Database.Statement<(string | number)[], [string, string]>>();
  const bulkInsert = (rows: number) => {
    let statement = bulkInserts.get(rows);
    if (statement === undefined) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      // "WHERE" also keeps SQLite from reading ON CONFLICT as part of the join (its upsert parsing rule).
      statement = db
        .prepare<(string | number)[], [string, string]>(
          `INSERT INTO runs (id, tenant_id, job_id, schedule_id, status, attempt, args_json, env_json,
            created_at, nominal_time, due_at, available_at, dispatched_at, fired_late)
          SELECT v.column1, s.tenant_id, s.job_id, s.id, 'queued', 1, s.args_json, s.env_json,
            v.column5, v.column6, v.column7, v.column7, v.column5, v.column8
          FROM (VALUES ${values}) v JOIN schedules s ON s.id = v.column2
          WHERE s.version = v.column3 AND s.partition = v.column4 AND s.paused = 0 AND s.deleted_at IS NULL
            AND s.overlap_policy = 'allow'
          ON CONFLICT (id) DO NOTHING
          RETURNING id, job_id`,
        )
        .raw();
      bulkInserts.set(rows, statement);
    }
    return statement;
  };
  // Schedules whose last tick this batch fired.
  const markEnded = db.prepare<[string]>(`UPDATE schedules SET next_fire_at = NULL
    WHERE id IN (SELECT value FROM json_each(?))`);
  const setWatermarkIfCurrent = db.prepare<[number | null, string, number, number]>(`UPDATE schedules
    SET next_fire_at = ? WHERE id = ? AND version = ? AND partition = ? AND deleted_at IS NULL`);

  /** A job's tenant and memory, read once per batch and job: a batch's runs mostly share a few jobs. */
  function jobOf(jobId: string, known: Map<string, JobOfRun>): JobOfRun {
    let job = known.get(jobId);
    if (job === undefined) {
      // A schedule's job is deleted with it, so a live schedule's job is there.
      const row = jobRow.get(jobId);
      const memoryMb = row?.memory_mb ?? 0;
      const memoryRequestMb = memoryRequestOf({
        memoryMb,
        memoryRequestMb: row?.memory_request_mb ?? undefined,
      });
      job = { tenantId: row?.tenant_id ?? '', memoryMb, memoryRequestMb };
      known.set(jobId, job);
    }
    return job;
  }

  /**
   * Inserts every tick the schedule row confirms as a plain `allow` run, in run id order; returns the runs
   * inserted: their id and job, in no particular order.
   */
  function insertConfirmed(ticks: readonly TickFire[], now: number): [string, string][] {
    const inserted: [string, string][] = [];
    // The engine sends its ticks in run id order already; anything else is sorted here.
    const sorted = isSortedByRunId(ticks) ? ticks : [...ticks].sort(byRunId);
    let at = 0;
    while (at < sorted.length) {
      let rows = BULK_ROWS;
      while (rows > sorted.length - at) rows >>= 1;
      const params: (string | number)[] = new Array(rows * 8);
      for (let i = 0; i < rows; i++) {
        const t = sorted[at + i] as TickFire;
        // The order of a VALUES row of the bulk INSERT.
        params[i * 8] = t.runId;
        params[i * 8 + 1] = t.scheduleId;
        params[i * 8 + 2] = t.version;
        params[i * 8 + 3] = t.partition;
        params[i * 8 + 4] = now;
        params[i * 8 + 5] = t.nominalTime;
        params[i * 8 + 6] = t.dueAt;
        params[i * 8 + 7] = t.late ? 1 : 0;
      }
      for (const row of bulkInsert(rows).all(...params)) inserted.push(row);
      at += rows;
    }
    return inserted;
  }

  /** The ticks the bulk insert did not take, read and decided one by one, in order. */
  function decideLeftovers(
    ticks: readonly TickFire[],
    current: ReadonlySet<number>,
    fenced: Set<number>,
    now: number,
    result: FireResult,
    jobs: Map<string, JobOfRun>,
    accept: (tick: TickFire) => void,
  ): void {
    const rows = new Map<string, FireSchedule | undefined>();
    for (const tick of ticks) {
      if (!rows.has(tick.scheduleId)) {
        const row = scheduleOf.get(tick.scheduleId);
        const job = row && jobOf(row.job_id, jobs);
        rows.set(
          tick.scheduleId,
          row && job && { ...row, memory_mb: job.memoryMb, memory_request_mb: job.memoryRequestMb },
        );
      }
      const schedule = rows.get(tick.scheduleId);
      if (schedule !== undefined && !current.has(schedule.partition)) {
        // Fenced, or a partition this call holds no lease for: never written from here.
        if (!fenced.has(schedule.partition)) {
          fenced.add(schedule.partition);
          result.fenced.push(schedule.partition);
        }
        continue;
      }
      if (!isCurrent(schedule, tick)) {
        result.stale.push(tick.scheduleId);
        continue;
      }
      // A current `allow` tick the bulk insert did not take already had its run.
      if (schedule.overlap_policy === 'allow') result.duplicates.push(tick.runId);
      else overlap.fireOne(tick, schedule, now, result);
      accept(tick);
    }
  }

  const fire = db.transaction(
    (
      owner: string,
      held: readonly PartitionLease[],
      fires: readonly TickFire[],
      now: number,
      through: FiredThrough | undefined,
    ): FireResult => {
      const fenced = new Set<number>();
      const current = new Set<number>();
      for (const lease of held) (leases.holds(owner, lease) ? current : fenced).add(lease.partition);
      const result = emptyResult([...fenced]);
      const inserted = insertConfirmed(
        fires.filter((tick) => current.has(tick.partition)),
        now,
      );
      // Only the ticks of schedules that may end are tracked (see endedSchedules): most batches have none.
      const ending = new Set<string>();
      for (const tick of fires) if (tick.nextFireAt === null) ending.add(tick.scheduleId);
      const writtenOfEnding = new Set<TickFire>();
      const accept = (tick: TickFire): void => {
        if (ending.has(tick.scheduleId)) writtenOfEnding.add(tick);
      };
      const jobs = new Map<string, JobOfRun>();
      for (const [runId, jobId] of inserted) {
        const { tenantId, memoryMb, memoryRequestMb } = jobOf(jobId, jobs);
        result.queued.push({ runId, tenantId, attempt: 1, memoryMb, memoryRequestMb, availableAt: now });
      }
      if (inserted.length === fires.length) {
        // Every tick went in (the common case): none is left to decide.
        if (ending.size > 0) for (const tick of fires) accept(tick);
      } else {
        const insertedIds = new Set(inserted.map(([runId]) => runId));
        const leftovers: TickFire[] = [];
        for (const tick of fires) {
          // The same tick twice in one batch: the first is inserted, the second is a leftover (a duplicate).
          if (insertedIds.delete(tick.runId)) accept(tick);
          else leftovers.push(tick);
        }
        decideLeftovers(leftovers, current, fenced, now, result, jobs, accept);
      }
      const endedIds = ending.size > 0 ? endedSchedules(fires, writtenOfEnding) : [];
      if (endedIds.length > 0) markEnded.run(JSON.stringify(endedIds));
      if (through !== undefined) frontiers.record([...current], through);
      return result;
    },
  );

  const advance = db.transaction(
    (owner: string, lease: PartitionLease, marks: readonly WatermarkMark[]): boolean => {
      if (!leases.holds(owner, lease)) return false;
      for (const mark of marks) {
        setWatermarkIfCurrent.run(mark.nextFireAt, mark.scheduleId, mark.version, lease.partition);
      }
      return true;
    },
  );

  return {
    fireTicks: (
      owner: string,
      held: readonly PartitionLease[],
      fires: readonly TickFire[],
      now: number,
      through?: FiredThrough,
    ): FireResult => fire.immediate(owner, held, fires, now, through),
    advanceWatermarks: (owner: string, lease: PartitionLease, marks: readonly WatermarkMark[]): boolean =>
      advance.immediate(owner, lease, marks),
  };
}

export type FireQueries = ReturnType<typeof compileFireQueries>;
