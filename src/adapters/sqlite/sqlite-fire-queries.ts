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
// Speed: `allow` (the common case, nothing to look at but the run id) is written in bulk: the batch's
// schedules are read in one statement, its runs inserted by one prepared statement in run id order (ON
// CONFLICT DO NOTHING; no change means a duplicate).
// Such a run stores no events: its `created` and `dispatched` are implied by the row (fired_late, see
// migration 3 and impliedRunEvents). What a fired run costs is mostly the B-trees it is inserted into, so
// it is inserted into few (migration 3 says which, and why). Other policies go tick by tick, in order
// (sqlite-overlap-queries.ts); a schedule has one policy, so the two paths never share a schedule in a batch.

import type Database from 'better-sqlite3';
import type { FiredThrough, FireResult, PartitionLease, TickFire } from '../../ports/store.js';
import type { FrontierQueries } from './sqlite-frontier-queries.js';
import type { LeaseQueries } from './sqlite-lease-queries.js';
import type { FireSchedule, OverlapQueries } from './sqlite-overlap-queries.js';

/** id, tenant, job, schedule, args, env, created, nominal, due, available, dispatched, fired_late. */
type AllowedRun = [
  ...[string, string, string, string, string | null, string | null, number],
  ...[number, number, number, number, number],
];

type WatermarkMark = { scheduleId: string; version: number; nextFireAt: number | null };

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

// In id order, each insert lands beside the one before it in every index that ends with the run id.
const byRunId = (a: TickFire, b: TickFire): number => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0);

/** Live, unpaused, at the version the engine computed the tick from. */
function isCurrent(schedule: FireSchedule | undefined, tick: TickFire): schedule is FireSchedule {
  return (
    schedule !== undefined &&
    schedule.deleted_at === null &&
    schedule.paused === 0 &&
    schedule.version === tick.version
  );
}

export function compileFireQueries(
  db: Database.Database,
  leases: Pick<LeaseQueries, 'holds'>,
  overlap: Pick<OverlapQueries, 'fireOne'>,
  frontiers: Pick<FrontierQueries, 'record'>,
) {
  // The job's memory is read once per job, not per schedule: a batch's schedules mostly share a few jobs.
  const schedulesOf = db.prepare<[string], Omit<FireSchedule, 'memory_mb'> & { id: string }>(`SELECT s.id,
      s.tenant_id, s.job_id, s.partition, s.version, s.paused, s.deleted_at, s.overlap_policy, s.args_json,
      s.env_json
    FROM json_each(?) f JOIN schedules s ON s.id = f.value`);
  const memoryOfJobs = db
    .prepare<[string], [string, number]>(
      'SELECT j.id, j.memory_mb FROM json_each(?) f JOIN jobs j ON j.id = f.value',
    )
    .raw();
  // Everything from the schedule rows already read, so the insert joins nothing.
  const insertAllowed = db.prepare<AllowedRun>(`INSERT INTO runs (id, tenant_id, job_id, schedule_id, status,
      attempt, args_json, env_json, created_at, nominal_time, due_at, available_at, dispatched_at, fired_late)
    VALUES (?, ?, ?, ?, 'queued', 1, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`);
  // Schedules whose last tick this batch fired.
  const markEnded = db.prepare<[string]>(`UPDATE schedules SET next_fire_at = NULL
    WHERE id IN (SELECT value FROM json_each(?))`);
  const setWatermarkIfCurrent = db.prepare<[number | null, string, number, number]>(`UPDATE schedules
    SET next_fire_at = ? WHERE id = ? AND version = ? AND partition = ? AND deleted_at IS NULL`);

  function loadSchedules(fires: readonly TickFire[]): Map<string, FireSchedule> {
    const ids = [...new Set(fires.map((f) => f.scheduleId))];
    const rows = schedulesOf.all(JSON.stringify(ids));
    const jobIds = [...new Set(rows.map((row) => row.job_id))];
    const memory = new Map(memoryOfJobs.all(JSON.stringify(jobIds)));
    const schedules = new Map<string, FireSchedule>();
    // A schedule's job is deleted with it, so a live schedule's job is there; a deleted one is stale anyway.
    for (const row of rows) schedules.set(row.id, { ...row, memory_mb: memory.get(row.job_id) ?? 0 });
    return schedules;
  }

  /** The `allow` ticks, in bulk; their queue messages (and duplicates) into `result`, in tick order. */
  function fireAllowed(
    ticks: TickFire[],
    schedules: Map<string, FireSchedule>,
    now: number,
    result: FireResult,
  ): void {
    if (ticks.length === 0) return;
    const inserted = new Set<string>();
    for (const t of [...ticks].sort(byRunId)) {
      const s = schedules.get(t.scheduleId);
      if (s === undefined) continue; // isCurrent() made sure of it
      const { tenant_id, job_id, args_json, env_json } = s;
      const { changes } = insertAllowed.run(
        ...[t.runId, tenant_id, job_id, t.scheduleId, args_json, env_json, now],
        ...[t.nominalTime, t.dueAt, t.dueAt, now, t.late ? 1 : 0],
      );
      if (changes > 0) inserted.add(t.runId);
    }
    for (const tick of ticks) {
      // The same tick twice in one batch: the first is inserted, the second is its duplicate.
      if (!inserted.delete(tick.runId)) {
        result.duplicates.push(tick.runId);
        continue;
      }
      const schedule = schedules.get(tick.scheduleId);
      if (schedule === undefined) continue; // isCurrent() made sure of it
      result.queued.push({
        runId: tick.runId,
        tenantId: schedule.tenant_id,
        attempt: 1,
        memoryMb: schedule.memory_mb,
        availableAt: now,
      });
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
      const schedules = loadSchedules(fires);
      const allowed: TickFire[] = [];
      // The last tick per schedule decides whether it ended, as if each tick had moved it in turn.
      const ended = new Map<string, boolean>();
      for (const tick of fires) {
        const schedule = schedules.get(tick.scheduleId);
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
        if (schedule.overlap_policy === 'allow') allowed.push(tick);
        else overlap.fireOne(tick, schedule, now, result);
        ended.set(tick.scheduleId, tick.nextFireAt === null);
      }
      fireAllowed(allowed, schedules, now, result);
      const endedIds = [...ended].filter(([, isEnded]) => isEnded).map(([id]) => id);
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
