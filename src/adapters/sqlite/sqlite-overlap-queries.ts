// Ticks of schedules whose overlap policy is not `allow`, one at a time and in order (each tick's decision
// depends on the runs the ones before it left), and the release of runs such a tick left blocked.
// Runs inside fireTicks' transaction (sqlite-fire-queries.ts), with the schedule row it already read.
//
// The policies' decisions are src/core/overlap-policy.ts (decideOverlap); this file reads what they look at
// — the schedule's unfinished (queued or running) runs fired under an overlap policy, newest first — and
// writes what they decide. Runs fired in bulk under `allow` are not indexed for this (see migration 4): a
// schedule switched from `allow` to another policy applies it from its first tick fired under that policy.
//
// A blocked run is queued but not dispatched, not in the queue rebuild (listQueuedRuns) and not claimable;
// releaseBlockedRuns frees it once its blocker is neither queued nor running.

import type Database from 'better-sqlite3';
import { memoryRequestOf } from '../../core/job.js';
import {
  decideOverlap,
  overlapLooksAtUnfinished,
  type OverlapDecision,
  type UnfinishedRun,
} from '../../core/overlap-policy.js';
import type { OverlapPolicy } from '../../core/schedule.js';
import type { QueueMessage } from '../../ports/queue.js';
import type { FireResult, TickFire } from '../../ports/store.js';
import type { RunQueries } from './sqlite-run-queries.js';
import { tickCreatedDetail } from './sqlite-rows.js';

/** The schedule row a tick is fired from, with its job's memory limit and request (for the queue message). */
export interface FireSchedule {
  tenant_id: string;
  job_id: string;
  partition: number;
  version: number;
  paused: number;
  deleted_at: number | null;
  overlap_policy: OverlapPolicy;
  args_json: string | null;
  env_json: string | null;
  memory_mb: number;
  /** Resolved: what a run of the job reserves (core/job.ts memoryRequestOf). */
  memory_request_mb: number;
}

/** id, tenant, job, schedule, status, reason, args, env, created, nominal, due, available, blocked_by,
 * dispatched_at, finished_at. */
type RunInsert = [
  ...[string, string, string, string, string, string | null, string | null, string | null, number, number],
  ...[number, number, string | null, number | null, number | null],
];

/** The tick's own run, as the policy decided it (the replaced runs' ends are written by decide). */
type Outcome = Omit<OverlapDecision, 'replaced'>;

export function compileOverlapQueries(db: Database.Database, runs: Pick<RunQueries, 'event'>) {
  const runExists = db.prepare<[string], number>('SELECT 1 FROM runs WHERE id = ?').pluck();
  // Newest first: the policies name or wait for the most recent unfinished run. INDEXED BY: the planner
  // would rather walk every run of the schedule in id order (runs_schedule) than sort its few unfinished.
  const unfinishedOf = db.prepare<[string], UnfinishedRun>(`SELECT id, status, blocked_by AS blockedBy
    FROM runs INDEXED BY runs_schedule_unfinished
    WHERE schedule_id = ? AND status IN ('queued', 'running') AND fired_late IS NULL ORDER BY id DESC`);
  // Positional: better-sqlite3 has no numbered parameters (?1), so a value used twice is passed twice.
  const insertRun = db.prepare<RunInsert>(`INSERT INTO runs (id, tenant_id, job_id, schedule_id, status,
      attempt, reason, args_json, env_json, created_at, nominal_time, due_at, available_at, blocked_by,
      dispatched_at, finished_at)
    VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING`);
  // A new run's timeline is known: `created` is seq 1 and the next event (dispatched, finished) seq 2.
  const insertCreated = db.prepare<[string, number, string, string]>(`INSERT INTO run_events
    (run_id, seq, at, type, attempt, status, detail) VALUES (?, 1, ?, 'created', 1, ?, ?)`);
  const insertCreatedAndNext = db.prepare<
    [string, number, string, string, string, number, string, string, string | null]
  >(`INSERT INTO run_events (run_id, seq, at, type, attempt, status, detail)
     VALUES (?, 1, ?, 'created', 1, ?, ?), (?, 2, ?, ?, 1, ?, ?)`);
  // A blocked run is released once its blocker is neither queued nor running (ended, or gone). INDEXED BY:
  // to avoid sorting a few rows the planner would rather walk every run in id order.
  const blockerEnded = `NOT EXISTS (SELECT 1 FROM runs b WHERE b.id = runs.blocked_by
    AND b.status IN ('queued', 'running'))`;
  const blockedBy = db
    .prepare<[string], string>(
      `SELECT id FROM runs INDEXED BY runs_blocked_by
        WHERE blocked_by = ? AND status = 'queued' AND ${blockerEnded} ORDER BY id`,
    )
    .pluck();
  const blockedByEnded = db
    .prepare<[], string>(
      `SELECT id FROM runs INDEXED BY runs_blocked_by
        WHERE blocked_by IS NOT NULL AND status = 'queued' AND ${blockerEnded} ORDER BY id`,
    )
    .pluck();
  const unblock = db.prepare<
    [number, number, string],
    {
      tenant_id: string;
      attempt: number;
      available_at: number;
      memory_mb: number;
      memory_request_mb: number | null;
    }
  >(`UPDATE runs SET blocked_by = NULL, available_at = MAX(available_at, ?), dispatched_at = ?
    WHERE id = ? AND status = 'queued' AND blocked_by IS NOT NULL
    RETURNING tenant_id, attempt, available_at,
      (SELECT memory_mb FROM jobs WHERE jobs.id = runs.job_id) AS memory_mb,
      (SELECT memory_request_mb FROM jobs WHERE jobs.id = runs.job_id) AS memory_request_mb`);
  const cancelQueued = db.prepare<[number, string, string]>(
    `UPDATE runs SET status = 'cancelled', finished_at = ?, reason = ? WHERE id = ? AND status = 'queued'`,
  );
  const requestStop = db.prepare<[number, string]>(`UPDATE runs SET cancel_requested_at = ?
    WHERE id = ? AND status = 'running' AND cancel_requested_at IS NULL`);

  /** Inserts a tick's run and its first events; false if the run id exists (a duplicate tick). */
  function insertTickRun(fire: TickFire, schedule: FireSchedule, now: number, outcome: Outcome): boolean {
    const { status, reason, blockedBy } = outcome;
    const dispatched = status === 'queued' && blockedBy === null;
    const dispatchedAt = dispatched ? now : null;
    const finishedAt = status === 'skipped' ? now : null;
    const { runId, scheduleId, nominalTime, dueAt } = fire;
    const { tenant_id, job_id, args_json, env_json } = schedule;
    const inserted = insertRun.run(
      ...[runId, tenant_id, job_id, scheduleId, status, reason, args_json, env_json, now, nominalTime],
      ...[dueAt, dueAt, blockedBy, dispatchedAt, finishedAt],
    );
    if (inserted.changes === 0) return false;
    const created = tickCreatedDetail(scheduleId, nominalTime, fire.late);
    if (dispatched) {
      insertCreatedAndNext.run(runId, now, status, created, runId, now, 'dispatched', status, null);
    } else if (status === 'skipped') {
      insertCreatedAndNext.run(runId, now, status, created, runId, now, 'finished', status, reason);
    } else {
      insertCreated.run(runId, now, status, created);
    }
    return true;
  }

  /** The policy's decision for a tick whose run does not exist yet; writes the replaced runs' ends. */
  function decide(fire: TickFire, policy: OverlapPolicy, now: number, result: FireResult): Outcome {
    const unfinished = overlapLooksAtUnfinished(policy) ? unfinishedOf.all(fire.scheduleId) : [];
    const { replaced, ...outcome } = decideOverlap(policy, fire.runId, unfinished);
    if (replaced !== null) {
      for (const runId of replaced.cancel) {
        cancelQueued.run(now, replaced.reason, runId);
        runs.event(runId, now, 'finished', replaced.reason);
        result.cancelled.push(runId);
      }
      for (const runId of replaced.stop) {
        const requested = requestStop.run(now, runId).changes > 0;
        if (requested) runs.event(runId, now, 'cancel_requested', replaced.reason);
        result.stopping.push(runId);
      }
    }
    return outcome;
  }

  /** Fires one tick of a current schedule (not `allow`): its run, as the policy says, into `result`. */
  function fireOne(tick: TickFire, schedule: FireSchedule, now: number, result: FireResult): void {
    if (runExists.get(tick.runId) !== undefined) {
      result.duplicates.push(tick.runId);
      return;
    }
    const outcome = decide(tick, schedule.overlap_policy, now, result);
    if (!insertTickRun(tick, schedule, now, outcome)) result.duplicates.push(tick.runId);
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

  const release = db.transaction((finishedRunId: string | null, now: number): QueueMessage[] => {
    const ids = finishedRunId === null ? blockedByEnded.all() : blockedBy.all(finishedRunId);
    const messages: QueueMessage[] = [];
    for (const runId of ids) {
      const row = unblock.get(now, now, runId);
      if (!row) continue;
      runs.event(runId, now, 'dispatched');
      messages.push({
        runId,
        tenantId: row.tenant_id,
        attempt: row.attempt,
        memoryMb: row.memory_mb,
        memoryRequestMb: memoryRequestOf({
          memoryMb: row.memory_mb,
          memoryRequestMb: row.memory_request_mb ?? undefined,
        }),
        availableAt: row.available_at,
      });
    }
    return messages;
  });

  return {
    /** Inside fireTicks' transaction. */
    fireOne,
    releaseBlockedRuns: (finishedRunId: string | null, now: number): QueueMessage[] =>
      release.immediate(finishedRunId, now),
  };
}

export type OverlapQueries = ReturnType<typeof compileOverlapQueries>;
