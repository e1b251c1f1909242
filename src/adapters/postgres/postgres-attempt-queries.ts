// The runs table, worker side: claims, starts, ends, releases, heartbeats and the reaper's lookup. Every
// write is fenced in its WHERE by what it expects — a claim by (id, status 'queued', attempt, not blocked),
// everything after it by (id, attempt, worker_id, status 'running') — and re-checked by PostgreSQL on the
// row as a concurrent writer left it, so of two workers claiming one run exactly one gets it, and a stale
// attempt's results change nothing. A retry takes the run back to queued as attempt + 1, a release (a
// stopping worker giving the attempt back) with the same attempt.

import { endWithoutRetry } from '../../core/cancel-reason.js';
import { HourglassError } from '../../core/errors.js';
import type { Run } from '../../core/run.js';
import type {
  AttemptResult,
  ClaimedRun,
  FinishResult,
  HeartbeatAnswer,
  HeldAttempt,
} from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { getJobOfRun } from './postgres-job-queries.js';
import { eventOfChanged } from './postgres-run-events.js';
import { idTimeOf, RUN_COLUMNS, rowToRun, type RunRow } from './postgres-rows.js';

const RETURNING_FOR_EVENT = 'RETURNING id, id_time, event_seq, attempt, status';

/** In a transaction: the claim is rolled back if the run's job is missing (a damaged store). */
export async function claimRun(
  sql: Sql,
  runId: string,
  attempt: number,
  workerId: string,
  at: number,
): Promise<ClaimedRun | null> {
  const row = await sql.first<RunRow>(
    `WITH changed AS (
       UPDATE runs SET status = 'running', worker_id = $1, heartbeat_at = $2, event_seq = event_seq + 1
       WHERE id = $3 AND id_time = $4 AND status = 'queued' AND attempt = $5 AND blocked_by IS NULL
       RETURNING *
     ), ${eventOfChanged('$2::bigint', "'claimed'", '$1::text')}
     SELECT ${RUN_COLUMNS} FROM changed`,
    [workerId, at, runId, idTimeOf(runId), attempt],
  );
  if (!row) return null;
  // A deleted job's queued runs were cancelled with it, so a claimable run's job is there; if it is not,
  // the store is damaged, and throwing rolls the claim back rather than hand out a run without a job.
  const job = await getJobOfRun(sql, row.job_id);
  if (!job) {
    throw new HourglassError('internal', `run ${runId} refers to a job that does not exist`, {
      runId,
      jobId: row.job_id,
    });
  }
  return { run: rowToRun(row), job };
}

/** Sets startedAt once per run (the first attempt's start); an event for every attempt's. */
export async function markStarted(
  sql: Sql,
  runId: string,
  attempt: number,
  workerId: string,
  at: number,
): Promise<void> {
  await sql.rows(
    `WITH changed AS (
       UPDATE runs SET started_at = COALESCE(started_at, $1), event_seq = event_seq + 1
       WHERE id = $2 AND id_time = $3 AND attempt = $4 AND worker_id = $5 AND status = 'running'
       ${RETURNING_FOR_EVENT}
     ), ${eventOfChanged('$1::bigint', "'started'", 'NULL')}
     SELECT 1`,
    [at, runId, idTimeOf(runId), attempt, workerId],
  );
}

/** The fence of every write after a claim: $1 run id, $2 id_time, $3 attempt, $4 worker. */
const FENCE = "id = $1 AND id_time = $2 AND attempt = $3 AND worker_id = $4 AND status = 'running'";

/** In a transaction: a refused retry (its cancel was requested) and the end it becomes are one change. */
export async function finishAttempt(sql: Sql, result: AttemptResult): Promise<FinishResult> {
  const { runId, attempt, workerId, outcome, exitCode, reason, at, retryAt } = result;
  const fence = [runId, idTimeOf(runId), attempt, workerId];
  const imageDigest = result.imageDigest ?? null;
  if (retryAt !== null) {
    // A run whose cancellation was requested is not retried, whatever its attempt ended with.
    const requeued = await sql.rows(
      `WITH changed AS (
         UPDATE runs SET status = 'queued', attempt = attempt + 1, available_at = $5, worker_id = NULL,
           heartbeat_at = NULL, dispatched_at = NULL, exit_code = $6, reason = $7, image_digest = COALESCE($8, image_digest),
           event_seq = event_seq + 1
         WHERE ${FENCE} AND cancel_requested_at IS NULL
         ${RETURNING_FOR_EVENT}
       ), ${eventOfChanged('$9::bigint', "'retry_scheduled'", '$10::text')}
       SELECT id FROM changed`,
      [
        ...fence,
        retryAt,
        exitCode,
        reason,
        imageDigest,
        at,
        reason === null ? outcome : `${outcome}: ${reason}`,
      ],
    );
    if (requeued.length > 0) return 'requeued';
  }
  // No retry: either none was asked for, or the run's cancellation was requested meanwhile.
  const final = endWithoutRetry(outcome, reason, retryAt !== null);
  const finished = await sql.rows(
    `WITH changed AS (
       UPDATE runs SET status = $5, exit_code = $6, reason = $7, finished_at = $8,
         image_digest = COALESCE($9, image_digest), event_seq = event_seq + 1
       WHERE ${FENCE}
       ${RETURNING_FOR_EVENT}
     ), ${eventOfChanged('$8::bigint', "'finished'", '$7::text')}
     SELECT id FROM changed`,
    [...fence, final.status, exitCode, final.reason, at, imageDigest],
  );
  return finished.length > 0 ? 'finished' : 'fenced';
}

export async function releaseRun(
  sql: Sql,
  runId: string,
  attempt: number,
  workerId: string,
  at: number,
  reason: string,
): Promise<boolean> {
  const rows = await sql.rows(
    `WITH changed AS (
       UPDATE runs SET status = 'queued', available_at = $5, worker_id = NULL, heartbeat_at = NULL,
         dispatched_at = NULL, event_seq = event_seq + 1
       WHERE ${FENCE}
       ${RETURNING_FOR_EVENT}
     ), ${eventOfChanged('$5::bigint', "'released'", '$6::text')}
     SELECT id FROM changed`,
    [runId, idTimeOf(runId), attempt, workerId, at, reason],
  );
  return rows.length > 0;
}

/** One statement: only exact (run id, attempt) matches of this worker's running runs are beaten. */
export async function heartbeat(
  sql: Sql,
  workerId: string,
  runs: readonly HeldAttempt[],
  at: number,
): Promise<HeartbeatAnswer> {
  const rows =
    runs.length === 0
      ? []
      : await sql.rows<{ id: string; cancel_requested_at: number | null }>(
          `UPDATE runs SET heartbeat_at = $1
           FROM unnest($3::text[], $4::bigint[], $5::integer[]) AS h (id, id_time, attempt)
           WHERE runs.id = h.id AND runs.id_time = h.id_time AND runs.attempt = h.attempt
             AND runs.worker_id = $2 AND runs.status = 'running'
           RETURNING runs.id, runs.cancel_requested_at`,
          [
            at,
            workerId,
            runs.map((r) => r.runId),
            runs.map((r) => idTimeOf(r.runId)),
            runs.map((r) => r.attempt),
          ],
        );
  const held = new Set(rows.map((row) => row.id));
  return {
    cancel: rows.filter((row) => row.cancel_requested_at !== null).map((row) => row.id),
    fenced: [...new Set(runs.map((r) => r.runId))].filter((runId) => !held.has(runId)),
  };
}

/** Running runs whose last heartbeat is older than `before`, oldest first (runs_running_heartbeat). */
export async function listStaleRuns(sql: Sql, before: number, limit: number): Promise<Run[]> {
  const rows = await sql.rows<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'running' AND heartbeat_at < $1
     ORDER BY heartbeat_at, id LIMIT $2`,
    [before, limit],
  );
  return rows.map(rowToRun);
}
