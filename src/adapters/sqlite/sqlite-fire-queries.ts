// Firing ticks: the scheduler engine's durable write. One transaction (one fsync) per batch, whatever the
// partitions of its ticks; each tick is fenced by its partition's lease (owner and epoch): a node that lost a
// lease writes nothing for that partition.
//
// Per tick: the schedule must be live, unpaused, of that partition and at the version the engine computed
// the tick from (else `stale`, and nothing is written for it); a run under the tick's id that exists
// already is a `duplicate`; otherwise the schedule's overlap policy decides. Every non-stale tick moves its
// schedule's watermark (next_fire_at) to the tick's nextFireAt; neither the version nor the change sequence
// moves, since this is the engine's own bookkeeping, not a change to reconcile.
//
// Speed: `allow` (the common case, nothing to look at but the run id) is written in bulk: the batch's
// schedules are read in one statement, its runs inserted in one INSERT … SELECT FROM json_each(…) ON CONFLICT
// DO NOTHING (RETURNING tells which were new; the rest were duplicates), their events in one more, and the
// watermarks moved in one UPDATE … FROM json_each. One statement per batch instead of four per tick is most
// of the cost saved. Other policies go tick by tick, in order (sqlite-overlap-queries.ts); a schedule has one
// policy, so the two paths never share a schedule within a batch.

import type Database from 'better-sqlite3';
import type { FireResult, PartitionLease, TickFire } from '../../ports/store.js';
import type { LeaseQueries } from './sqlite-lease-queries.js';
import type { FireSchedule, OverlapQueries } from './sqlite-overlap-queries.js';

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
  // Each fire is [runId, nominalTime, dueAt, scheduleId, tenantId, jobId, argsJson, envJson]: everything
  // from the schedule rows already read, so the insert joins nothing.
  const insertAllowed = db
    .prepare<[number, number, string], string>(
      `INSERT INTO runs (id, tenant_id, job_id, schedule_id, status, attempt, args_json, env_json, created_at,
        nominal_time, due_at, available_at, dispatched_at)
      SELECT f.value ->> 0, f.value ->> 4, f.value ->> 5, f.value ->> 3, 'queued', 1, f.value ->> 6,
        f.value ->> 7, ?, f.value ->> 1, f.value ->> 2, f.value ->> 2, ?
      FROM json_each(?) f
      WHERE true
      ON CONFLICT (id) DO NOTHING
      RETURNING id`,
    )
    .pluck();
  // A new run's timeline is known: `created` is seq 1 and `dispatched` seq 2. Each entry is [runId, detail].
  const insertAllowedEvents = db.prepare<[number, string, number, string]>(`INSERT INTO run_events
      (run_id, seq, at, type, attempt, status, detail)
    SELECT e.value ->> 0, 1, ?, 'created', 1, 'queued', e.value ->> 1 FROM json_each(?) e
    UNION ALL
    SELECT e.value ->> 0, 2, ?, 'dispatched', 1, 'queued', NULL FROM json_each(?) e`);
  // Each mark is [scheduleId, nextFireAt].
  const setWatermarks = db.prepare<[string]>(`UPDATE schedules SET next_fire_at = m.value ->> 1
    FROM json_each(?) m WHERE schedules.id = m.value ->> 0`);
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
    const rows = JSON.stringify(
      ticks.map((t) => {
        const s = schedules.get(t.scheduleId);
        return [
          t.runId,
          t.nominalTime,
          t.dueAt,
          t.scheduleId,
          s?.tenant_id,
          s?.job_id,
          s?.args_json,
          s?.env_json,
        ];
      }),
    );
    const inserted = new Set(insertAllowed.all(now, now, rows));
    const events: [string, string][] = [];
    for (const tick of ticks) {
      // The same tick twice in one batch: the first is inserted, the second is its duplicate.
      if (!inserted.delete(tick.runId)) {
        result.duplicates.push(tick.runId);
        continue;
      }
      const schedule = schedules.get(tick.scheduleId);
      if (schedule === undefined) continue; // isCurrent() made sure of it
      const time = new Date(tick.nominalTime).toISOString();
      events.push([tick.runId, `tick ${time} of schedule ${tick.scheduleId}`]);
      result.queued.push({
        runId: tick.runId,
        tenantId: schedule.tenant_id,
        attempt: 1,
        memoryMb: schedule.memory_mb,
        availableAt: now,
      });
    }
    if (events.length > 0) {
      const json = JSON.stringify(events);
      insertAllowedEvents.run(now, json, now, json);
    }
  }

  const fire = db.transaction(
    (owner: string, held: readonly PartitionLease[], fires: readonly TickFire[], now: number): FireResult => {
      const fenced = new Set<number>();
      const current = new Set<number>();
      for (const lease of held) (leases.holds(owner, lease) ? current : fenced).add(lease.partition);
      const result = emptyResult([...fenced]);
      const schedules = loadSchedules(fires);
      const allowed: TickFire[] = [];
      // The last watermark per schedule wins, as if each tick had moved it in turn.
      const watermarks = new Map<string, number | null>();
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
        watermarks.set(tick.scheduleId, tick.nextFireAt);
      }
      fireAllowed(allowed, schedules, now, result);
      if (watermarks.size > 0) setWatermarks.run(JSON.stringify([...watermarks]));
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
    ): FireResult => fire.immediate(owner, held, fires, now),
    advanceWatermarks: (owner: string, lease: PartitionLease, marks: readonly WatermarkMark[]): boolean =>
      advance.immediate(owner, lease, marks),
  };
}

export type FireQueries = ReturnType<typeof compileFireQueries>;
