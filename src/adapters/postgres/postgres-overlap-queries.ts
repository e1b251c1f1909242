// Ticks of schedules whose overlap policy is not `allow`, one at a time and in order (each tick's decision
// depends on the runs the ones before it left), and the release of runs such a tick left blocked. Runs inside
// fireTicks' transaction (postgres-fire-queries.ts), with the schedule row it already read.
//
// The policies' decisions are src/core/overlap-policy.ts (decideOverlap); this file reads what they look at
// — the schedule's unfinished (queued or running) runs fired under an overlap policy, newest first — and
// writes what they decide. Those runs are read FOR UPDATE: a worker claiming or ending one of them meanwhile
// waits for the firing to commit, so the decision is made, and written, on what they are when it commits.
// Runs fired in bulk under `allow` are not indexed for this: a schedule switched from `allow` to another
// policy applies it from its first tick fired under that policy.
//
// A blocked run is queued but not dispatched, not in the queue rebuild (listQueuedRuns) and not claimable;
// releaseBlockedRuns frees it once its blocker is neither queued nor running.

import { memoryRequestOf } from '../../core/job.js';
import { decideOverlap, overlapLooksAtUnfinished, type UnfinishedRun } from '../../core/overlap-policy.js';
import type { OverlapPolicy } from '../../core/schedule.js';
import { tickCreatedDetail } from '../../core/tick-timeline.js';
import type { QueueMessage } from '../../ports/queue.js';
import type { FireResult, TickFire } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { eventOfChanged } from './postgres-run-events.js';
import { cancelQueued, requestStop } from './postgres-run-queries.js';
import { idTimeOf, jsonb } from './postgres-rows.js';

/** The schedule row a tick is fired from, with its job's memory limit and request (for the queue message). */
export interface FireSchedule {
  tenant_id: string;
  job_id: string;
  partition: number;
  version: number;
  paused: boolean;
  deleted_at: number | null;
  overlap_policy: OverlapPolicy;
  args: string[] | null;
  env: Record<string, string> | null;
  memory_mb: number;
  /** Resolved: what a run of the job reserves (core/job.ts memoryRequestOf). */
  memory_request_mb: number;
}

/** The tick's own run, as the policy decided it. */
interface Outcome {
  status: 'queued' | 'skipped';
  reason: string | null;
  blockedBy: string | null;
}

/**
 * Inserts a tick's run with its first events — created (seq 1), then dispatched or finished (seq 2) when it
 * was dispatched at once or skipped — in one statement; false if the run id exists (a duplicate tick).
 */
async function insertTickRun(
  sql: Sql,
  tick: TickFire,
  schedule: FireSchedule,
  now: number,
  outcome: Outcome,
): Promise<boolean> {
  const { status, reason, blockedBy } = outcome;
  const dispatched = status === 'queued' && blockedBy === null;
  const second = dispatched ? 'dispatched' : status === 'skipped' ? 'finished' : null;
  const rows = await sql.rows(
    `WITH changed AS (
       INSERT INTO runs (id, id_time, tenant_id, job_id, schedule_id, status, attempt, reason, args, env,
         created_at, nominal_time, due_at, available_at, blocked_by, dispatched_at, finished_at, event_seq)
       VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15, $16)
       ON CONFLICT (id, id_time) DO NOTHING
       RETURNING id, id_time, status
     ), events AS (
       INSERT INTO run_events (run_id, id_time, seq, at, type, attempt, status, detail)
       SELECT id, id_time, 1, $10::bigint, 'created', 1, status, $17::text FROM changed
       UNION ALL
       SELECT id, id_time, 2, $10::bigint, $18::text, 1, status, $7::text FROM changed WHERE $18::text IS NOT NULL
     )
     SELECT id FROM changed`,
    [
      tick.runId,
      idTimeOf(tick.runId),
      schedule.tenant_id,
      schedule.job_id,
      tick.scheduleId,
      status,
      reason,
      jsonb(schedule.args),
      jsonb(schedule.env),
      now,
      tick.nominalTime,
      tick.dueAt,
      blockedBy,
      dispatched ? now : null,
      status === 'skipped' ? now : null,
      second === null ? 1 : 2,
      tickCreatedDetail(tick.scheduleId, tick.nominalTime, tick.late),
      second,
    ],
  );
  return rows.length > 0;
}

/** The policy's decision for a tick whose run does not exist yet; writes the replaced runs' ends. */
async function decide(sql: Sql, tick: TickFire, policy: OverlapPolicy, now: number, result: FireResult) {
  const unfinished = overlapLooksAtUnfinished(policy)
    ? await sql.rows<UnfinishedRun>(
        `SELECT id, status, blocked_by AS "blockedBy" FROM runs
         WHERE schedule_id = $1 AND status IN ('queued', 'running') AND fired_late IS NULL
         ORDER BY id DESC FOR UPDATE`,
        [tick.scheduleId],
      )
    : [];
  const { replaced, ...outcome } = decideOverlap(policy, tick.runId, unfinished);
  if (replaced !== null) {
    for (const runId of replaced.cancel) {
      await cancelQueued(sql, runId, now, replaced.reason);
      result.cancelled.push(runId);
    }
    for (const runId of replaced.stop) {
      await requestStop(sql, runId, now, replaced.reason);
      result.stopping.push(runId);
    }
  }
  return outcome;
}

/** Fires one tick of a current schedule (not `allow`): its run, as the policy says, into `result`. */
export async function fireOne(
  sql: Sql,
  tick: TickFire,
  schedule: FireSchedule,
  now: number,
  result: FireResult,
): Promise<void> {
  const exists = await sql.first('SELECT 1 FROM runs WHERE id = $1 AND id_time = $2', [
    tick.runId,
    idTimeOf(tick.runId),
  ]);
  if (exists !== undefined) {
    result.duplicates.push(tick.runId);
    return;
  }
  const outcome = await decide(sql, tick, schedule.overlap_policy, now, result);
  if (!(await insertTickRun(sql, tick, schedule, now, outcome))) result.duplicates.push(tick.runId);
  else if (outcome.status === 'skipped') result.skipped.push(tick.runId);
  else if (outcome.blockedBy !== null) result.blocked.push(tick.runId);
  else {
    result.queued.push({
      runId: tick.runId,
      tenantId: schedule.tenant_id,
      attempt: 1,
      memoryMb: schedule.memory_mb,
      memoryRequestMb: schedule.memory_request_mb,
      availableAt: now,
    });
  }
}

/**
 * One statement: the queued runs blocked by `finishedRunId` (or by any run, when null) whose blocker is
 * neither queued nor running are released, with a `dispatched` event, and their queue messages returned.
 */
export async function releaseBlockedRuns(
  sql: Sql,
  finishedRunId: string | null,
  now: number,
): Promise<QueueMessage[]> {
  const blocked = finishedRunId === null ? 'r.blocked_by IS NOT NULL' : 'r.blocked_by = $2';
  const rows = await sql.rows<{
    id: string;
    tenant_id: string;
    attempt: number;
    available_at: number;
    memory_mb: number;
    memory_request_mb: number | null;
  }>(
    `WITH ready AS (
       SELECT r.id, r.id_time FROM runs r
       WHERE ${blocked} AND r.status = 'queued'
         AND NOT EXISTS (SELECT 1 FROM runs b WHERE b.id = r.blocked_by AND b.status IN ('queued', 'running'))
     ), changed AS (
       UPDATE runs SET blocked_by = NULL, available_at = GREATEST(runs.available_at, $1), dispatched_at = $1,
         event_seq = runs.event_seq + 1
       FROM ready WHERE runs.id = ready.id AND runs.id_time = ready.id_time
         AND runs.status = 'queued' AND runs.blocked_by IS NOT NULL
       RETURNING runs.id, runs.id_time, runs.event_seq, runs.attempt, runs.status, runs.tenant_id,
         runs.available_at, runs.job_id
     ), ${eventOfChanged('$1::bigint', "'dispatched'", 'NULL')}
     SELECT c.id, c.tenant_id, c.attempt, c.available_at, COALESCE(j.memory_mb, 0) AS memory_mb,
       j.memory_request_mb
     FROM changed c LEFT JOIN jobs j ON j.id = c.job_id ORDER BY c.id`,
    finishedRunId === null ? [now] : [now, finishedRunId],
  );
  return rows.map((row) => ({
    runId: row.id,
    tenantId: row.tenant_id,
    attempt: row.attempt,
    memoryMb: row.memory_mb,
    memoryRequestMb: memoryRequestOf({
      memoryMb: row.memory_mb,
      memoryRequestMb: row.memory_request_mb ?? undefined,
    }),
    availableAt: row.available_at,
  }));
}
