// Runs as the API and the dispatch side see them: creating one (with its Idempotency-Key), reading runs and
// their timelines, cancelling, and what goes to the queue (the outbox of queued runs, dispatch marks, runs
// released from an overlap block). What a worker writes about an attempt is attempt-store.ts.

import type { RunStatus } from '../../core/run-state.js';
import type { Run, RunEvent } from '../../core/run.js';
import type { QueueMessage } from '../queue.js';
import type { Page } from './page.js';

export interface RunFilter {
  jobId?: string;
  scheduleId?: string;
  /** Runs in any of these statuses; absent (or empty) for every status. */
  statuses?: readonly RunStatus[];
  /**
   * The time range [fromMs, toMs) of the runs' ids: a run's creation time, or a scheduled run's tick (core/ids.ts).
   * Bounds on the id, so a page stays a range of the index it is read through.
   */
  fromMs?: number;
  toMs?: number;
  limit: number;
  /** The last id of the previous page; runs are listed newest first. */
  cursor?: string;
}

export interface NewRun {
  run: Run;
  /** Hash of the creating request, compared when the same Idempotency-Key comes again. */
  requestHash: string | null;
}

export type InsertRunResult =
  { inserted: true; run: Run } | { inserted: false; run: Run; sameRequest: boolean };

export type CancelResult =
  | { state: 'cancelled'; run: Run } // it was queued: now cancelled
  | { state: 'requested'; run: Run } // it is running: its worker will stop it
  | { state: 'already_finished'; run: Run };

/** What the dispatch sweep takes from the outbox (core/dispatch.ts). */
export interface DispatchQuery {
  availableBy: number;
  /** Dispatched runs are taken again if dispatched before this; null takes only never-dispatched ones. */
  redispatchBefore: number | null;
  at: number;
  limit: number;
}

export interface RunStore {
  /**
   * Inserts the run and its `created` event; a repeated (tenant, idempotency key) returns the first run.
   * Concurrency: of concurrent inserts with one (tenant, key), from any process, exactly one inserts and every
   * other returns that run (`inserted: false`), none throws: a unique constraint on (tenant, key), and a
   * loser reads the winner's run once it has committed.
   */
  insertRun(newRun: NewRun): Promise<InsertRunResult>;
  getRun(tenantId: string, runId: string): Promise<Run | null>;
  /** The tenant's run created with this Idempotency-Key, and the hash of the request that created it. */
  findRunByIdempotencyKey(
    tenantId: string,
    key: string,
  ): Promise<{ run: Run; requestHash: string | null } | null>;
  getRunEvents(runId: string): Promise<RunEvent[]>;
  /**
   * Newest first. A `jobId` or `scheduleId` the tenant does not have (another tenant's, or none) throws
   * not_found naming it; the cost never depends on another tenant's runs.
   */
  listRuns(tenantId: string, filter: RunFilter): Promise<Page<Run>>;
  /** Every queued run not blocked by another, oldest first. */
  listQueuedRuns(): Promise<Run[]>;
  /**
   * The outbox (core/dispatch.ts): queued runs not blocked by another, available by `availableBy`, that were
   * never dispatched (oldest available first) or were dispatched before `redispatchBefore`; at most `limit`;
   * as queue messages (with their job's memory). Each is marked dispatched at `at` in the same transaction
   * (a `dispatched` event the first time), so that two sweepers never take the same run at once.
   * Concurrency: of concurrent sweeps, in any process, each run is taken by at most one: SQLite's single
   * writer; elsewhere the rows taken are locked until the mark commits (FOR UPDATE SKIP LOCKED).
   */
  takeRunsToDispatch(query: DispatchQuery): Promise<QueueMessage[]>;
  /** Sets dispatchedAt (and its event) once per run: a run already marked is left as it is. */
  markDispatched(runIds: string[], at: number): Promise<void>;
  /**
   * Cancels a queued run, asks a running one to stop (recorded once, however often asked), answers a finished
   * one as it is. Concurrency: decided on the run's state when written, not as read before: a run a worker
   * claims meanwhile answers `requested`, never `cancelled` while it runs (lock the run row, or make each
   * branch a conditional write and answer by the one that changed the row).
   */
  requestCancel(tenantId: string, runId: string, at: number): Promise<CancelResult>;
  /**
   * Runs blocked by `finishedRunId` (now ended) become available at `now`; returns their queue messages.
   * Runs blocked by a run that ended without this being called (a crash) are released when `finishedRunId`
   * is null: the reconciliation's safety net. Concurrency: each blocked run is released (its message
   * returned) by exactly one of concurrent callers, by a conditional write; a run blocked while its blocker
   * was ending is released by the next call with null at the latest.
   */
  releaseBlockedRuns(finishedRunId: string | null, now: number): Promise<QueueMessage[]>;
}
