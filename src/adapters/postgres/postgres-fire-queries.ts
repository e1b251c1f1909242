// Firing ticks: the scheduler engine's durable write. One transaction (one commit) per batch, whatever the
// partitions of its ticks; each tick is fenced by its partition's lease (owner and epoch), whose row the
// transaction locks FOR UPDATE first: a lease round that would take the partition waits for the commit, a
// node that lost the lease writes nothing for that partition, and a second firing of the partition waits.
//
// Per tick: the schedule must be live, unpaused, of that partition and at the version the engine computed
// the tick from (else `stale`, and nothing is written for it); a run under the tick's id that exists already
// is a `duplicate` (the runs primary key with ON CONFLICT DO NOTHING: a tick fired twice, in one batch or by
// two nodes, is one run); otherwise the schedule's overlap policy decides. Watermarks move by partition: the
// batch records the engine's frontier on each partition it holds (src/core/watermark.ts); only a schedule's
// last tick (nextFireAt null) writes its own watermark, so an ended schedule is not loaded again. Neither the
// version nor the change sequence moves: this is the engine's own bookkeeping, not a change to reconcile.
//
// Batched: `allow` (the common case, nothing to look at but the run id) goes first, in one multi-row INSERT …
// SELECT per chunk of ticks, the ticks passed as parallel arrays through unnest(): it takes each run's
// tenant, job, args and env from the schedule and inserts only where the schedule confirms the tick (live,
// unpaused, of the tick's partition, at its version, policy `allow`). RETURNING says which went in. Only
// the ticks left over are read, one schedule row each, and decided tick by tick, in order: stale, fenced, a
// duplicate, or their overlap policy (postgres-overlap-queries.ts). A bulk-fired run stores no events: its
// `created` and `dispatched` are implied by the row (fired_late; src/core/tick-timeline.ts).
//
// Why the schedule rows are not locked: a firing racing a schedule change of the same partition is either
// before it (fired from the version it read) or after it (stale), and a watermark write is conditional on
// the version. The one change that must not interleave with a firing is a job's deletion, which cancels the
// job's queued runs and must see every run fired for it: it locks the lease rows of its schedules'
// partitions FOR UPDATE (postgres-store.ts deleteJob), so it waits for a firing in flight and a firing waits
// for it. A lock per partition, not per fired schedule row: a row lock is a write to the row.

import { memoryRequestOf } from '../../core/job.js';
import { byRunId, isSortedByRunId } from '../../core/schedule.js';
import type { FiredThrough, FireResult, PartitionLease, TickFire } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { recordFrontiers } from './postgres-frontier-queries.js';
import { jobsForMessages } from './postgres-job-queries.js';
import { lockHeldLeases } from './postgres-lease-queries.js';
import { fireOne, type FireSchedule } from './postgres-overlap-queries.js';
import { idTimeOf } from './postgres-rows.js';

type WatermarkMark = { scheduleId: string; version: number; nextFireAt: number | null };

/** Ticks per bulk INSERT: large enough to amortise the round trip, small enough to bound one statement. */
const BULK_ROWS = 5000;

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
    !schedule.paused &&
    schedule.version === tick.version &&
    schedule.partition === tick.partition
  );
}

/**
 * The ticks that end their schedule: a schedule ends with its last tick (nextFireAt null) unless a later
 * tick of it was written too — the last tick written, in batch order, decides, as if each had moved it.
 */
function endingTicks(fires: readonly TickFire[], written: ReadonlySet<TickFire>): TickFire[] {
  const last = new Map<string, TickFire>();
  for (const tick of fires) if (written.has(tick)) last.set(tick.scheduleId, tick);
  return [...last.values()].filter((tick) => tick.nextFireAt === null);
}

/** Inserts every tick its schedule confirms as a plain `allow` run; returns the runs inserted: id and job. */
async function insertConfirmed(
  sql: Sql,
  ticks: readonly TickFire[],
  now: number,
): Promise<[string, string][]> {
  // In run id order, so the inserts walk the primary key's B-tree forward; the engine sends them so already.
  // Each tick's schedule is looked up by its primary key, one probe per tick (the LATERAL … LIMIT 1 keeps the
  // planner from turning it into a join): with the statistics of a table that just grew — 100,000 schedules
  // made in a minute, before autoanalyze — the planner hashed the whole schedules table for every batch of
  // 2,000 ticks, and the firing wrote half as many runs a second (bench/cluster-ingest).
  const sorted = isSortedByRunId(ticks) ? ticks : [...ticks].sort(byRunId);
  const inserted: [string, string][] = [];
  for (let at = 0; at < sorted.length; at += BULK_ROWS) {
    const chunk = sorted.slice(at, at + BULK_ROWS);
    const rows = await sql.rows<{ id: string; job_id: string }>(
      `INSERT INTO runs (id, id_time, tenant_id, job_id, schedule_id, status, attempt, args, env, created_at,
         nominal_time, due_at, available_at, dispatched_at, fired_late)
       SELECT v.id, v.id_time, s.tenant_id, s.job_id, s.id, 'queued', 1, s.args, s.env, $1::bigint,
         v.nominal_time, v.due_at, v.due_at, $1::bigint, v.late
       FROM unnest($2::text[], $3::bigint[], $4::text[], $5::integer[], $6::integer[], $7::bigint[],
           $8::bigint[], $9::boolean[]) WITH ORDINALITY
         AS v (id, id_time, schedule_id, version, partition, nominal_time, due_at, late, n)
       JOIN LATERAL (SELECT * FROM schedules WHERE schedules.id = v.schedule_id LIMIT 1) s ON true
       WHERE s.version = v.version AND s.partition = v.partition AND NOT s.paused AND s.deleted_at IS NULL
         AND s.overlap_policy = 'allow'
       ORDER BY v.n
       ON CONFLICT (id, id_time) DO NOTHING
       RETURNING id, job_id`,
      [
        now,
        chunk.map((t) => t.runId),
        chunk.map((t) => idTimeOf(t.runId)),
        chunk.map((t) => t.scheduleId),
        chunk.map((t) => t.version),
        chunk.map((t) => t.partition),
        chunk.map((t) => t.nominalTime),
        chunk.map((t) => t.dueAt),
        chunk.map((t) => t.late),
      ],
    );
    for (const row of rows) inserted.push([row.id, row.job_id]);
  }
  return inserted;
}

/** The schedule rows of the leftover ticks, with their job's memory (for the queue messages). */
async function scheduleRowsOf(sql: Sql, ticks: readonly TickFire[]): Promise<Map<string, FireSchedule>> {
  const rows = await sql.rows<FireSchedule & { id: string; memory_request_mb: number | null }>(
    `SELECT s.id, s.tenant_id, s.job_id, s.partition, s.version, s.paused, s.deleted_at, s.overlap_policy,
       s.args, s.env, COALESCE(j.memory_mb, 0) AS memory_mb, j.memory_request_mb
     FROM schedules s LEFT JOIN jobs j ON j.id = s.job_id WHERE s.id = ANY($1::text[])`,
    [[...new Set(ticks.map((t) => t.scheduleId))]],
  );
  return new Map(
    rows.map((row) => [
      row.id,
      {
        ...row,
        memory_request_mb: memoryRequestOf({
          memoryMb: row.memory_mb,
          memoryRequestMb: row.memory_request_mb ?? undefined,
        }),
      },
    ]),
  );
}

/** The ticks the bulk insert did not take, decided one by one, in order. */
async function decideLeftovers(
  sql: Sql,
  ticks: readonly TickFire[],
  current: ReadonlySet<number>,
  now: number,
  result: FireResult,
  accept: (tick: TickFire) => void,
): Promise<void> {
  const schedules = await scheduleRowsOf(sql, ticks);
  const fenced = new Set(result.fenced);
  for (const tick of ticks) {
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
    // A current `allow` tick the bulk insert did not take already had its run.
    if (schedule.overlap_policy === 'allow') result.duplicates.push(tick.runId);
    else await fireOne(sql, tick, schedule, now, result);
    accept(tick);
  }
}

/** In a transaction. */
export async function fireTicks(
  sql: Sql,
  owner: string,
  held: readonly PartitionLease[],
  fires: readonly TickFire[],
  now: number,
  through: FiredThrough | undefined,
): Promise<FireResult> {
  const current = await lockHeldLeases(sql, owner, held);
  const result = emptyResult([...new Set(held.map((l) => l.partition).filter((p) => !current.has(p)))]);
  const inserted = await insertConfirmed(
    sql,
    fires.filter((tick) => current.has(tick.partition)),
    now,
  );
  const jobs = await jobsForMessages(sql, [...new Set(inserted.map(([, jobId]) => jobId))]);
  for (const [runId, jobId] of inserted) {
    const job = jobs.get(jobId);
    const memoryMb = job?.memoryMb ?? 0;
    const memoryRequestMb = memoryRequestOf({ memoryMb, memoryRequestMb: job?.memoryRequestMb ?? undefined });
    result.queued.push({
      runId,
      tenantId: job?.tenantId ?? '',
      attempt: 1,
      memoryMb,
      memoryRequestMb,
      availableAt: now,
    });
  }
  const written = new Set<TickFire>();
  const accept = (tick: TickFire): void => void written.add(tick);
  if (inserted.length === fires.length) {
    for (const tick of fires) accept(tick);
  } else {
    const insertedIds = new Set(inserted.map(([runId]) => runId));
    const leftovers: TickFire[] = [];
    for (const tick of fires) {
      // The same tick twice in one batch: the first is inserted, the second is a leftover (a duplicate).
      if (insertedIds.delete(tick.runId)) accept(tick);
      else leftovers.push(tick);
    }
    if (leftovers.length > 0) await decideLeftovers(sql, leftovers, current, now, result, accept);
  }
  const ended = endingTicks(fires, written);
  if (ended.length > 0) {
    // Conditional on the version, so a schedule changed since (its new watermark) is left alone.
    await sql.changes(
      `UPDATE schedules SET next_fire_at = NULL FROM unnest($1::text[], $2::integer[]) AS e (id, version)
       WHERE schedules.id = e.id AND schedules.version = e.version`,
      [ended.map((t) => t.scheduleId), ended.map((t) => t.version)],
    );
  }
  if (through !== undefined) await recordFrontiers(sql, [...current], through);
  return result;
}

/** In a transaction: watermarks moved without firing, fenced like fireTicks, each conditional on its version. */
export async function advanceWatermarks(
  sql: Sql,
  owner: string,
  lease: PartitionLease,
  marks: readonly WatermarkMark[],
): Promise<boolean> {
  const current = await lockHeldLeases(sql, owner, [lease]);
  if (!current.has(lease.partition)) return false;
  // The last mark of a schedule wins, as if each had been written in turn.
  const last = new Map(marks.map((mark) => [mark.scheduleId, mark]));
  const unique = [...last.values()];
  if (unique.length === 0) return true;
  await sql.changes(
    `UPDATE schedules SET next_fire_at = m.next_fire_at
     FROM unnest($1::text[], $2::integer[], $3::bigint[]) AS m (id, version, next_fire_at)
     WHERE schedules.id = m.id AND schedules.version = m.version AND schedules.partition = $4
       AND schedules.deleted_at IS NULL`,
    [
      unique.map((m) => m.scheduleId),
      unique.map((m) => m.version),
      unique.map((m) => m.nextFireAt),
      lease.partition,
    ],
  );
  return true;
}
