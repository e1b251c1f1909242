// The runs table and its event timeline. Every state change of a run is one conditional UPDATE (its WHERE
// clause names the state it expects, so a lost race changes nothing) plus a run_events row, in one
// transaction. Worker-side writes are fenced by (id, attempt, worker_id, status = 'running'). A queued run
// blocked by another (a schedule's overlap policy, see sqlite-overlap-queries.ts) cannot be claimed until it
// is released. A retry or a release takes a running run back to queued, a retry as attempt + 1, a release
// (a stopping worker giving the attempt back) with the same attempt. What a cancel does in each state, and
// the reasons it records, are src/core/cancel-reason.ts.
//
// An event records the run's attempt and status *after* the change it describes, read from the updated
// row, and takes the next seq of that run. Statements are compiled once, when the store opens.

import type Database from 'better-sqlite3';
import {
  CANCELLED_BY_JOB_DELETION,
  CANCELLED_BY_REQUEST,
  cancelEffectOf,
  endWithoutRetry,
} from '../../core/cancel-reason.js';
import { HourglassError, notFound } from '../../core/errors.js';
import { memoryRequestOf } from '../../core/job.js';
import type { Run, RunEvent, RunEventType } from '../../core/run.js';
import type {
  AttemptResult,
  CancelResult,
  ClaimedRun,
  DispatchQuery,
  FinishResult,
  HeartbeatAnswer,
  HeldAttempt,
  InsertRunResult,
  NewRun,
  Page,
  RunFilter,
} from '../../ports/store.js';
import type { QueueMessage } from '../../ports/queue.js';
import type { JobQueries } from './sqlite-job-queries.js';
import { compileRunListQueries, RUN_COLUMNS } from './sqlite-run-list-queries.js';

interface DispatchRow {
  id: string;
  tenant_id: string;
  attempt: number;
  available_at: number;
  dispatched_at: number | null;
  memory_mb: number;
  memory_request_mb: number | null;
}
import {
  impliedRunEvents,
  rowToRun,
  rowToRunEvent,
  runToRow,
  type FiredRunRow,
  type RunEventRow,
  type RunRow,
} from './sqlite-rows.js';

/** Ids to a JSON array, read back with json_each: one compiled statement serves any number of ids. */
const idList = (ids: string[]): string => JSON.stringify(ids);

type IdRow = { id: string };

export function compileRunQueries(
  db: Database.Database,
  jobs: Pick<JobQueries, 'getJobOfRun' | 'tenantHasJob'>,
) {
  const insert = db.prepare<[RunRow]>(`INSERT INTO runs (${RUN_COLUMNS}) VALUES (@id, @tenant_id, @job_id,
    @schedule_id, @status, @attempt, @exit_code, @reason, @args_json, @env_json, @created_at, @nominal_time,
    @due_at, @blocked_by, @available_at, @dispatched_at, @started_at, @finished_at, @worker_id, @heartbeat_at,
    @cancel_requested_at, @idempotency_key, @request_hash, @image_digest)`);
  const byIdempotencyKey = db.prepare<[string, string], RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND idempotency_key = ?`,
  );
  const byTenantAndId = db.prepare<[string, string], RunRow>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE tenant_id = ? AND id = ?`,
  );
  const byId = db.prepare<[string], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`);
  const list = compileRunListQueries(db, jobs);
  // Only at start, so it has no index of its own (every queued run and every claim would write it): the
  // tenants are walked with one index seek each (a skip-scan; the tenants table is not needed, nor trusted
  // to name every run's tenant), their queued runs read through runs_tenant_status, and the whole sorted.
  const queued = db.prepare<[], RunRow>(
    `WITH RECURSIVE tenant (tid) AS (
       SELECT MIN(tenant_id) FROM runs
       UNION ALL
       SELECT (SELECT MIN(tenant_id) FROM runs WHERE tenant_id > tid) FROM tenant WHERE tid IS NOT NULL
     )
     SELECT ${RUN_COLUMNS} FROM tenant JOIN runs INDEXED BY runs_tenant_status
       ON runs.tenant_id = tenant.tid AND runs.status = 'queued'
     WHERE blocked_by IS NULL ORDER BY available_at, id`,
  );
  const stale = db.prepare<[number, number], RunRow>(`SELECT ${RUN_COLUMNS} FROM runs
    WHERE status = 'running' AND heartbeat_at < ? ORDER BY heartbeat_at LIMIT ?`);
  const events = db.prepare<[string], RunEventRow>(
    'SELECT at, type, attempt, status, detail FROM run_events WHERE run_id = ? ORDER BY seq',
  );
  const firedRow = db.prepare<[string], FiredRunRow>(
    'SELECT fired_late, schedule_id, nominal_time, created_at FROM runs WHERE id = ?',
  );
  const appendEvent = db.prepare<[{ runId: string; at: number; type: RunEventType; detail: string | null }]>(
    `INSERT INTO run_events (run_id, seq, at, type, attempt, status, detail)
     SELECT id, (SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = runs.id), @at, @type,
       attempt, status, @detail
     FROM runs WHERE id = @runId`,
  );
  const dispatch = db.prepare<[number, string], IdRow>(`UPDATE runs SET dispatched_at = ?
    WHERE id IN (SELECT value FROM json_each(?)) AND dispatched_at IS NULL RETURNING id`);
  // The outbox (core/dispatch.ts). Never dispatched: by their own partial index, at every sweep. Dispatched
  // but not claimed since: each tenant's queued runs through runs_tenant_status, only when the sweep asks
  // (every few seconds), since ticks queued ahead of their time are many.
  const DISPATCH_COLUMNS = `runs.id, runs.tenant_id, runs.attempt, runs.available_at, runs.dispatched_at,
    jobs.memory_mb, jobs.memory_request_mb`;
  const undispatched = db.prepare<[number, number], DispatchRow>(
    `SELECT ${DISPATCH_COLUMNS}
     FROM runs INDEXED BY runs_undispatched JOIN jobs ON jobs.id = runs.job_id
     WHERE runs.status = 'queued' AND runs.dispatched_at IS NULL AND runs.blocked_by IS NULL
       AND runs.available_at <= ?
     ORDER BY runs.available_at, runs.id LIMIT ?`,
  );
  const undelivered = db.prepare<[number, number, number], DispatchRow>(
    `WITH RECURSIVE tenant (tid) AS (
       SELECT MIN(tenant_id) FROM runs
       UNION ALL
       SELECT (SELECT MIN(tenant_id) FROM runs WHERE tenant_id > tid) FROM tenant WHERE tid IS NOT NULL
     )
     SELECT ${DISPATCH_COLUMNS} FROM tenant JOIN runs INDEXED BY runs_tenant_status
       ON runs.tenant_id = tenant.tid AND runs.status = 'queued'
     JOIN jobs ON jobs.id = runs.job_id
     WHERE runs.blocked_by IS NULL AND runs.dispatched_at < ? AND runs.available_at <= ?
     ORDER BY runs.available_at, runs.id LIMIT ?`,
  );
  const redispatch = db.prepare<[number, string]>('UPDATE runs SET dispatched_at = ? WHERE id = ?');
  const claim = db.prepare<[string, number, string, number], RunRow>(`UPDATE runs
    SET status = 'running', worker_id = ?, heartbeat_at = ?
    WHERE id = ? AND status = 'queued' AND attempt = ? AND blocked_by IS NULL RETURNING ${RUN_COLUMNS}`);
  const start = db.prepare<[number, string, number, string]>(`UPDATE runs
    SET started_at = COALESCE(started_at, ?)
    WHERE id = ? AND attempt = ? AND worker_id = ? AND status = 'running'`);
  const fence = `id = @runId AND attempt = @attempt AND worker_id = @workerId AND status = 'running'`;
  const finish = db.prepare<[Record<string, unknown>]>(`UPDATE runs
    SET status = @status, exit_code = @exitCode, reason = @reason, finished_at = @at,
      image_digest = COALESCE(@imageDigest, image_digest) WHERE ${fence}`);
  // A run whose cancellation was requested is not retried, whatever its attempt ended with.
  const requeue = db.prepare<[Record<string, unknown>]>(`UPDATE runs
    SET status = 'queued', attempt = attempt + 1, available_at = @retryAt, worker_id = NULL,
      heartbeat_at = NULL, dispatched_at = NULL, exit_code = @exitCode, reason = @reason,
      image_digest = COALESCE(@imageDigest, image_digest)
    WHERE ${fence} AND cancel_requested_at IS NULL`);
  const release = db.prepare<[Record<string, unknown>]>(`UPDATE runs
    SET status = 'queued', available_at = @at, worker_id = NULL, heartbeat_at = NULL, dispatched_at = NULL
    WHERE ${fence}`);
  // The held attempts come as a JSON array of [runId, attempt] pairs; only exact (id, attempt) matches beat.
  const beat = db.prepare<[number, string, string], { id: string; cancel_requested_at: number | null }>(
    `UPDATE runs SET heartbeat_at = ?
     WHERE worker_id = ? AND status = 'running'
       AND (id, attempt) IN (SELECT value ->> 0, value ->> 1 FROM json_each(?))
     RETURNING id, cancel_requested_at`,
  );
  const cancelQueued = db.prepare<[number, string, string]>(
    `UPDATE runs SET status = 'cancelled', finished_at = ?, reason = ? WHERE id = ? AND status = 'queued'`,
  );
  const requestStop = db.prepare<[number, string]>(`UPDATE runs SET cancel_requested_at = ?
    WHERE id = ? AND status = 'running' AND cancel_requested_at IS NULL`);
  const cancelQueuedOfJob = db.prepare<[number, string, string, string], IdRow>(`UPDATE runs
    SET status = 'cancelled', finished_at = ?, reason = ?
    WHERE tenant_id = ? AND job_id = ? AND status = 'queued' RETURNING id`);
  const requestStopOfJob = db.prepare<
    [number, string, string],
    IdRow
  >(`UPDATE runs SET cancel_requested_at = ?
    WHERE tenant_id = ? AND job_id = ? AND status = 'running' AND cancel_requested_at IS NULL RETURNING id`);

  const event = (runId: string, at: number, type: RunEventType, detail: string | null = null): void => {
    appendEvent.run({ runId, at, type, detail });
  };

  const mustGet = (runId: string): Run => {
    const row = byId.get(runId);
    if (!row) throw notFound('run', runId);
    return rowToRun(row);
  };

  const insertRun = db.transaction(({ run, requestHash }: NewRun): InsertRunResult => {
    if (run.idempotencyKey !== null) {
      const existing = byIdempotencyKey.get(run.tenantId, run.idempotencyKey);
      if (existing) {
        return {
          inserted: false,
          run: rowToRun(existing),
          sameRequest: existing.request_hash === requestHash,
        };
      }
    }
    insert.run(runToRow(run, requestHash));
    event(run.id, run.createdAt, 'created');
    return { inserted: true, run };
  });

  const markDispatched = db.transaction((runIds: string[], at: number): void => {
    for (const { id } of dispatch.all(at, idList(runIds))) event(id, at, 'dispatched');
  });

  const takeRunsToDispatch = db.transaction((query: DispatchQuery): QueueMessage[] => {
    const rows = undispatched.all(query.availableBy, query.limit);
    if (query.redispatchBefore !== null && rows.length < query.limit)
      rows.push(...undelivered.all(query.redispatchBefore, query.availableBy, query.limit - rows.length));
    return rows.map((row) => {
      redispatch.run(query.at, row.id);
      if (row.dispatched_at === null) event(row.id, query.at, 'dispatched');
      const resources = {
        memoryMb: row.memory_mb,
        ...(row.memory_request_mb === null ? {} : { memoryRequestMb: row.memory_request_mb }),
      };
      return {
        runId: row.id,
        tenantId: row.tenant_id,
        attempt: row.attempt,
        memoryMb: row.memory_mb,
        memoryRequestMb: memoryRequestOf(resources),
        availableAt: row.available_at,
      };
    });
  });

  const claimRun = db.transaction(
    (runId: string, attempt: number, workerId: string, at: number): ClaimedRun | null => {
      const row = claim.get(workerId, at, runId, attempt);
      if (!row) return null;
      // A deleted job's queued runs were cancelled with it, so a claimable run's job is there; if it is not,
      // the store is damaged, and throwing rolls the claim back rather than hand out a run without a job.
      const job = jobs.getJobOfRun(row.job_id);
      if (!job) {
        throw new HourglassError('internal', `run ${runId} refers to a job that does not exist`, {
          runId,
          jobId: row.job_id,
        });
      }
      event(runId, at, 'claimed', workerId);
      return { run: rowToRun(row), job };
    },
  );

  const markStarted = db.transaction((runId: string, attempt: number, workerId: string, at: number) => {
    if (start.run(at, runId, attempt, workerId).changes > 0) event(runId, at, 'started');
  });

  const finishAttempt = db.transaction((result: AttemptResult): FinishResult => {
    const { runId, attempt, workerId, outcome, exitCode, reason, at, retryAt } = result;
    const fenceParams = {
      runId,
      attempt,
      workerId,
      exitCode,
      reason,
      imageDigest: result.imageDigest ?? null,
    };
    if (retryAt !== null && requeue.run({ ...fenceParams, retryAt }).changes > 0) {
      event(runId, at, 'retry_scheduled', reason === null ? outcome : `${outcome}: ${reason}`);
      return 'requeued';
    }
    // No retry: either none was asked for, or the run's cancellation was requested meanwhile.
    const final = endWithoutRetry(outcome, reason, retryAt !== null);
    if (finish.run({ ...fenceParams, ...final, at }).changes === 0) return 'fenced';
    event(runId, at, 'finished', final.reason);
    return 'finished';
  });

  const releaseRun = db.transaction(
    (runId: string, attempt: number, workerId: string, at: number, reason: string): boolean => {
      if (release.run({ runId, attempt, workerId, at }).changes === 0) return false;
      event(runId, at, 'released', reason);
      return true;
    },
  );

  const requestCancel = db.transaction((tenantId: string, runId: string, at: number): CancelResult => {
    const row = byTenantAndId.get(tenantId, runId);
    if (!row) throw notFound('run', runId);
    const effect = cancelEffectOf(row.status);
    if (effect === 'cancelled') {
      cancelQueued.run(at, CANCELLED_BY_REQUEST, runId);
      event(runId, at, 'finished', CANCELLED_BY_REQUEST);
      return { state: effect, run: mustGet(runId) };
    }
    if (effect === 'requested') {
      // Asking twice is not news: only the first request is recorded.
      if (requestStop.run(at, runId).changes > 0) event(runId, at, 'cancel_requested');
      return { state: effect, run: mustGet(runId) };
    }
    return { state: effect, run: rowToRun(row) };
  });

  return {
    /** Appends an event to the run's timeline, inside the caller's transaction (see the header). */
    event,
    insertRun: (newRun: NewRun) => insertRun.immediate(newRun),
    markDispatched: (runIds: string[], at: number) => markDispatched.immediate(runIds, at),
    takeRunsToDispatch: (query: DispatchQuery) => takeRunsToDispatch.immediate(query),
    claimRun: (runId: string, attempt: number, workerId: string, at: number) =>
      claimRun.immediate(runId, attempt, workerId, at),
    markStarted: (runId: string, attempt: number, workerId: string, at: number) =>
      markStarted.immediate(runId, attempt, workerId, at),
    finishAttempt: (result: AttemptResult) => finishAttempt.immediate(result),
    releaseRun: (runId: string, attempt: number, workerId: string, at: number, reason: string) =>
      releaseRun.immediate(runId, attempt, workerId, at, reason),
    requestCancel: (tenantId: string, runId: string, at: number) =>
      requestCancel.immediate(tenantId, runId, at),

    /** Part of deleting a job, so it runs inside the caller's transaction. */
    cancelRunsOfJob(
      tenantId: string,
      jobId: string,
      at: number,
    ): { cancelled: string[]; stopping: string[] } {
      const cancelled = cancelQueuedOfJob
        .all(at, CANCELLED_BY_JOB_DELETION, tenantId, jobId)
        .map((r) => r.id);
      for (const id of cancelled) event(id, at, 'finished', CANCELLED_BY_JOB_DELETION);
      const stopping = requestStopOfJob.all(at, tenantId, jobId).map((r) => r.id);
      for (const id of stopping) event(id, at, 'cancel_requested', CANCELLED_BY_JOB_DELETION);
      return { cancelled, stopping };
    },

    heartbeat(workerId: string, runs: HeldAttempt[], at: number): HeartbeatAnswer {
      const pairs = JSON.stringify(runs.map(({ runId, attempt }) => [runId, attempt]));
      const rows = beat.all(at, workerId, pairs);
      const held = new Set(rows.map((row) => row.id));
      return {
        cancel: rows.filter((row) => row.cancel_requested_at !== null).map((row) => row.id),
        fenced: [...new Set(runs.map((r) => r.runId))].filter((runId) => !held.has(runId)),
      };
    },

    getRun(tenantId: string, runId: string): Run | null {
      const row = byTenantAndId.get(tenantId, runId);
      return row ? rowToRun(row) : null;
    },

    findRunByIdempotencyKey(tenantId: string, key: string): { run: Run; requestHash: string | null } | null {
      const row = byIdempotencyKey.get(tenantId, key);
      return row ? { run: rowToRun(row), requestHash: row.request_hash } : null;
    },

    /** A fired run's first events are implied by its row; the stored ones all came after them. */
    getRunEvents(runId: string): RunEvent[] {
      const fired = firedRow.get(runId);
      const stored = events.all(runId).map(rowToRunEvent);
      return fired === undefined ? stored : [...impliedRunEvents(fired), ...stored];
    },

    listRuns(tenantId: string, filter: RunFilter): Page<Run> {
      return list.listRuns(tenantId, filter);
    },

    listQueuedRuns(): Run[] {
      return queued.all().map(rowToRun);
    },

    listStaleRuns(before: number, limit: number): Run[] {
      return stale.all(before, limit).map(rowToRun);
    },
  };
}

export type RunQueries = ReturnType<typeof compileRunQueries>;
