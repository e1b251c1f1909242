// The runs table, tenant side: creating a run (with its Idempotency-Key), reading and listing runs and their
// timelines (listing is postgres-run-list-queries.ts), dispatch bookkeeping, cancellation, and the runs of a deleted job. The worker side is
// postgres-attempt-queries.ts; the timeline discipline is postgres-run-events.ts. What a cancel does in each
// state, and the reasons it records, are src/core/cancel-reason.ts.
//
// Every lookup by run id also names the run's partition (id_time, postgres-rows.ts), so it reads one day's
// partition; tenant-facing reads go through indexes whose first column is tenant_id (migration 2).

import { CANCELLED_BY_JOB_DELETION, CANCELLED_BY_REQUEST, cancelEffectOf } from '../../core/cancel-reason.js';
import { HourglassError, notFound } from '../../core/errors.js';
import type { Run, RunEvent } from '../../core/run.js';
import { memoryRequestOf } from '../../core/job.js';
import type { QueueMessage } from '../../ports/queue.js';
import type { CancelResult, DispatchQuery, InsertRunResult, NewRun } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { eventOfChanged, keysOf } from './postgres-run-events.js';
import {
  idTimeOf,
  impliedRunEvents,
  RUN_COLUMNS,
  runColumnsOf,
  runParams,
  rowToRun,
  rowToRunEvent,
  type FiredRunRow,
  type RunEventRow,
  type RunRow,
} from './postgres-rows.js';

const RUN_VALUES = Array.from({ length: 25 }, (_, i) => `$${i + 1}`).join(', ');

/** Inserts the run and its `created` event (seq 1), in one statement. */
async function insertWithCreatedEvent(sql: Sql, run: Run, requestHash: string | null): Promise<void> {
  await sql.rows(
    `WITH changed AS (
       INSERT INTO runs (${RUN_COLUMNS}, id_time, event_seq) VALUES (${RUN_VALUES}, 1)
       RETURNING id, id_time, event_seq, attempt, status
     ), ${eventOfChanged('$11::bigint', "'created'", 'NULL')}
     SELECT 1`,
    runParams(run, requestHash),
  );
}

async function runByIdempotencyKey(
  sql: Sql,
  tenantId: string,
  key: string,
): Promise<(RunRow & { request_hash: string | null }) | undefined> {
  return sql.first<RunRow>(
    `SELECT ${runColumnsOf('r')} FROM run_idempotency_keys k
     JOIN runs r ON r.id = k.run_id AND r.id_time = k.id_time
     WHERE k.tenant_id = $1 AND k.key = $2`,
    [tenantId, key],
  );
}

/**
 * In a transaction when the run has an Idempotency-Key: the key's row is inserted first, so of two requests
 * with the same key the second waits for the first to commit, then finds its run.
 */
export async function insertRun(sql: Sql, { run, requestHash }: NewRun): Promise<InsertRunResult> {
  if (run.idempotencyKey !== null) {
    const claimed = await sql.first(
      `INSERT INTO run_idempotency_keys (tenant_id, key, run_id, id_time) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant_id, key) DO NOTHING RETURNING 1`,
      [run.tenantId, run.idempotencyKey, run.id, idTimeOf(run.id)],
    );
    if (claimed === undefined) {
      const existing = await runByIdempotencyKey(sql, run.tenantId, run.idempotencyKey);
      if (!existing) {
        throw new HourglassError('internal', `idempotency key refers to a run that no longer exists`, {
          tenantId: run.tenantId,
        });
      }
      return { inserted: false, run: rowToRun(existing), sameRequest: existing.request_hash === requestHash };
    }
  }
  await insertWithCreatedEvent(sql, run, requestHash);
  return { inserted: true, run };
}

export async function getRun(sql: Sql, tenantId: string, runId: string): Promise<Run | null> {
  const row = await sql.first<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE tenant_id = $1 AND id = $2 AND id_time = $3`,
    [tenantId, runId, idTimeOf(runId)],
  );
  return row ? rowToRun(row) : null;
}

export async function findRunByIdempotencyKey(
  sql: Sql,
  tenantId: string,
  key: string,
): Promise<{ run: Run; requestHash: string | null } | null> {
  const row = await runByIdempotencyKey(sql, tenantId, key);
  return row ? { run: rowToRun(row), requestHash: row.request_hash } : null;
}

/** A fired run's first events are implied by its row; the stored ones all came after them. */
export async function getRunEvents(sql: Sql, runId: string): Promise<RunEvent[]> {
  const idTime = idTimeOf(runId);
  const [fired, stored] = await Promise.all([
    sql.first<FiredRunRow>(
      'SELECT fired_late, schedule_id, nominal_time, created_at FROM runs WHERE id = $1 AND id_time = $2',
      [runId, idTime],
    ),
    sql.rows<RunEventRow>(
      `SELECT at, type, attempt, status, detail FROM run_events
       WHERE run_id = $1 AND id_time = $2 ORDER BY seq`,
      [runId, idTime],
    ),
  ]);
  const events = stored.map(rowToRunEvent);
  return fired === undefined ? events : [...impliedRunEvents(fired), ...events];
}

/** Every queued run not blocked by another, oldest first (runs_queued, merged across the partitions). */
export async function listQueuedRuns(sql: Sql): Promise<Run[]> {
  const rows = await sql.rows<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE status = 'queued' AND blocked_by IS NULL ORDER BY available_at, id`,
  );
  return rows.map(rowToRun);
}

export async function markDispatched(sql: Sql, runIds: readonly string[], at: number): Promise<void> {
  if (runIds.length === 0) return;
  const [ids, idTimes] = keysOf(runIds);
  await sql.rows(
    `WITH changed AS (
       UPDATE runs SET dispatched_at = $1, event_seq = event_seq + 1
       FROM unnest($2::text[], $3::bigint[]) AS k (id, id_time)
       WHERE runs.id = k.id AND runs.id_time = k.id_time AND runs.dispatched_at IS NULL
       RETURNING runs.id, runs.id_time, runs.event_seq, runs.attempt, runs.status
     ), ${eventOfChanged('$1::bigint', "'dispatched'", 'NULL')}
     SELECT 1`,
    [at, ids, idTimes],
  );
}

interface DispatchRow {
  id: string;
  id_time: string;
  tenant_id: string;
  attempt: number;
  available_at: string;
  dispatched_at: string | null;
  memory_mb: number;
  memory_request_mb: number | null;
}

/**
 * The outbox (core/dispatch.ts): never-dispatched runs by runs_undispatched, and (when asked) dispatched ones
 * not claimed since, locked FOR UPDATE SKIP LOCKED so that concurrent sweepers take disjoint runs; then marked
 * dispatched (a `dispatched` event the first time). Call inside a transaction.
 */
export async function takeRunsToDispatch(sql: Sql, query: DispatchQuery): Promise<QueueMessage[]> {
  const columns = `runs.id, runs.id_time, runs.tenant_id, runs.attempt, runs.available_at, runs.dispatched_at,
    jobs.memory_mb, jobs.memory_request_mb`;
  const rows = await sql.rows<DispatchRow>(
    `SELECT ${columns} FROM runs JOIN jobs ON jobs.id = runs.job_id
     WHERE runs.status = 'queued' AND runs.dispatched_at IS NULL AND runs.blocked_by IS NULL
       AND runs.available_at <= $1
     ORDER BY runs.available_at, runs.id LIMIT $2 FOR UPDATE OF runs SKIP LOCKED`,
    [query.availableBy, query.limit],
  );
  if (query.redispatchBefore !== null && rows.length < query.limit) {
    rows.push(
      ...(await sql.rows<DispatchRow>(
        `SELECT ${columns} FROM runs JOIN jobs ON jobs.id = runs.job_id
         WHERE runs.status = 'queued' AND runs.blocked_by IS NULL AND runs.dispatched_at < $1
           AND runs.available_at <= $2
         ORDER BY runs.available_at, runs.id LIMIT $3 FOR UPDATE OF runs SKIP LOCKED`,
        [query.redispatchBefore, query.availableBy, query.limit - rows.length],
      )),
    );
  }
  await markDispatched(
    sql,
    rows.filter((row) => row.dispatched_at === null).map((row) => row.id),
    query.at,
  );
  const again = rows.filter((row) => row.dispatched_at !== null);
  if (again.length > 0) {
    const [ids, idTimes] = keysOf(again.map((row) => row.id));
    await sql.rows(
      `UPDATE runs SET dispatched_at = $1 FROM unnest($2::text[], $3::bigint[]) AS k (id, id_time)
       WHERE runs.id = k.id AND runs.id_time = k.id_time`,
      [query.at, ids, idTimes],
    );
  }
  return rows.map((row) => ({
    runId: row.id,
    tenantId: row.tenant_id,
    attempt: row.attempt,
    memoryMb: row.memory_mb,
    memoryRequestMb: memoryRequestOf({
      memoryMb: row.memory_mb,
      ...(row.memory_request_mb === null ? {} : { memoryRequestMb: row.memory_request_mb }),
    }),
    availableAt: Number(row.available_at),
  }));
}

/** queued → cancelled with a `finished` event; false if it was no longer queued. */
export async function cancelQueued(sql: Sql, runId: string, at: number, reason: string): Promise<boolean> {
  const rows = await sql.rows(
    `WITH changed AS (
       UPDATE runs SET status = 'cancelled', finished_at = $1, reason = $2, event_seq = event_seq + 1
       WHERE id = $3 AND id_time = $4 AND status = 'queued'
       RETURNING id, id_time, event_seq, attempt, status
     ), ${eventOfChanged('$1::bigint', "'finished'", '$2::text')}
     SELECT id FROM changed`,
    [at, reason, runId, idTimeOf(runId)],
  );
  return rows.length > 0;
}

/**
 * Asks a running run to stop, once: the first request is recorded (with a `cancel_requested` event), a
 * second is not news. False when nothing was written.
 */
export async function requestStop(
  sql: Sql,
  runId: string,
  at: number,
  detail: string | null,
): Promise<boolean> {
  const rows = await sql.rows(
    `WITH changed AS (
       UPDATE runs SET cancel_requested_at = $1, event_seq = event_seq + 1
       WHERE id = $2 AND id_time = $3 AND status = 'running' AND cancel_requested_at IS NULL
       RETURNING id, id_time, event_seq, attempt, status
     ), ${eventOfChanged('$1::bigint', "'cancel_requested'", '$4::text')}
     SELECT id FROM changed`,
    [at, runId, idTimeOf(runId), detail],
  );
  return rows.length > 0;
}

/** In a transaction: the run's row is locked while its state is read and the cancel written. */
export async function requestCancel(
  sql: Sql,
  tenantId: string,
  runId: string,
  at: number,
): Promise<CancelResult> {
  const lockedRun = async (): Promise<Run | undefined> => {
    const row = await sql.first<RunRow>(
      `SELECT ${RUN_COLUMNS} FROM runs WHERE tenant_id = $1 AND id = $2 AND id_time = $3 FOR UPDATE`,
      [tenantId, runId, idTimeOf(runId)],
    );
    return row && rowToRun(row);
  };
  const run = await lockedRun();
  if (!run) throw notFound('run', runId);
  const effect = cancelEffectOf(run.status);
  if (effect === 'already_finished') return { state: effect, run };
  if (effect === 'cancelled') await cancelQueued(sql, runId, at, CANCELLED_BY_REQUEST);
  else await requestStop(sql, runId, at, null);
  return { state: effect, run: (await lockedRun()) ?? run };
}

/** Part of deleting a job, in its transaction: queued runs cancelled, running ones asked to stop. */
export async function cancelRunsOfJob(
  sql: Sql,
  tenantId: string,
  jobId: string,
  at: number,
): Promise<{ cancelled: string[]; stopping: string[] }> {
  const params = [at, CANCELLED_BY_JOB_DELETION, tenantId, jobId];
  const cancelled = await sql.rows<{ id: string }>(
    `WITH changed AS (
       UPDATE runs SET status = 'cancelled', finished_at = $1, reason = $2, event_seq = event_seq + 1
       WHERE tenant_id = $3 AND job_id = $4 AND status = 'queued'
       RETURNING id, id_time, event_seq, attempt, status
     ), ${eventOfChanged('$1::bigint', "'finished'", '$2::text')}
     SELECT id FROM changed ORDER BY id`,
    params,
  );
  const stopping = await sql.rows<{ id: string }>(
    `WITH changed AS (
       UPDATE runs SET cancel_requested_at = $1, event_seq = event_seq + 1
       WHERE tenant_id = $3 AND job_id = $4 AND status = 'running' AND cancel_requested_at IS NULL
       RETURNING id, id_time, event_seq, attempt, status
     ), ${eventOfChanged('$1::bigint', "'cancel_requested'", '$2::text')}
     SELECT id FROM changed ORDER BY id`,
    params,
  );
  return { cancelled: cancelled.map((r) => r.id), stopping: stopping.map((r) => r.id) };
}
