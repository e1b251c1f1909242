// The store port: everything Hourglass keeps durably. Services use only this interface; the SQLite adapter
// (and later PostgreSQL) implement it, and one contract suite (test/contract/store.contract.ts) runs against
// every adapter. Every tenant-facing read takes the tenant id, so another tenant's ids are simply not found.
//
// Worker-side writes are fenced by (run id, attempt, worker id): a stale attempt's results are rejected, and
// a heartbeat answers which of the worker's attempts are no longer its own, so it stops running them.

import type { Job } from '../core/job.js';
import type { AttemptOutcome, RunStatus } from '../core/run-state.js';
import type { Run, RunEvent } from '../core/run.js';
import type { ApiKey, Tenant } from '../core/tenant.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RunFilter {
  jobId?: string;
  status?: RunStatus;
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

export interface ClaimedRun {
  run: Run;
  job: Job;
}

export interface AttemptResult {
  runId: string;
  attempt: number;
  workerId: string;
  outcome: AttemptOutcome;
  exitCode: number | null;
  reason: string | null;
  at: number;
  /** When set, the run goes back to `queued` as attempt + 1, available at this time. */
  retryAt: number | null;
}

/** How finishAttempt recorded an attempt's end. */
export type FinishResult =
  | 'finished' // the run ended (with the attempt's outcome, or `cancelled` if its cancel was requested)
  | 'requeued' // the run is queued again as attempt + 1, available at retryAt
  | 'fenced'; // nothing was written: the run is no longer running at that attempt under that worker

/** An attempt a worker holds: one run id at one attempt. */
export interface HeldAttempt {
  runId: string;
  attempt: number;
}

export interface HeartbeatAnswer {
  /** Still this worker's running attempt, but its cancellation has been requested: stop it. */
  cancel: string[];
  /** No longer running at that attempt under this worker (reaped, retried, finished): abandon it. */
  fenced: string[];
}

export type CancelResult =
  | { state: 'cancelled'; run: Run } // it was queued: now cancelled
  | { state: 'requested'; run: Run } // it is running: its worker will stop it
  | { state: 'already_finished'; run: Run };

export interface Store {
  close(): Promise<void>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  createTenant(tenant: Tenant): Promise<void>;
  getTenant(id: string): Promise<Tenant | null>;
  listTenants(): Promise<Tenant[]>;

  createApiKey(key: ApiKey): Promise<void>;
  findApiKeyByHash(secretHash: string): Promise<ApiKey | null>;
  getApiKey(id: string): Promise<ApiKey | null>;
  revokeApiKey(id: string, at: number): Promise<void>;
  /** Revokes every admin key not revoked yet, except `keepKeyId`; returns how many it revoked. */
  revokeOtherAdminKeys(keepKeyId: string, at: number): Promise<number>;

  /**
   * Inserts the job if the tenant has fewer than `maxJobs` live jobs, checked in the same transaction; throws
   * HourglassError `plan_limit_exceeded` if not, `job_name_taken` when a live job already has that name.
   */
  insertJob(job: Job, maxJobs: number): Promise<void>;
  /** By id or by name, live jobs only. */
  findJob(tenantId: string, idOrName: string): Promise<Job | null>;
  listJobs(tenantId: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** Throws `job_name_taken` like insertJob. */
  updateJob(job: Job): Promise<void>;
  /**
   * Soft-deletes the job (its runs stay readable), cancels its queued runs and asks running ones to stop;
   * returns the ids of both, so their listeners can be told at once.
   */
  deleteJob(
    tenantId: string,
    jobId: string,
    at: number,
  ): Promise<{ cancelled: string[]; stopping: string[] }>;

  /** Inserts the run and its `created` event; a repeated (tenant, idempotency key) returns the first run. */
  insertRun(newRun: NewRun): Promise<InsertRunResult>;
  getRun(tenantId: string, runId: string): Promise<Run | null>;
  /** The tenant's run created with this Idempotency-Key, and the hash of the request that created it. */
  findRunByIdempotencyKey(
    tenantId: string,
    key: string,
  ): Promise<{ run: Run; requestHash: string | null } | null>;
  getRunEvents(runId: string): Promise<RunEvent[]>;
  listRuns(tenantId: string, filter: RunFilter): Promise<Page<Run>>;
  /** Every queued run, oldest first: the queue is rebuilt from this at start. */
  listQueuedRuns(): Promise<Run[]>;
  markDispatched(runIds: string[], at: number): Promise<void>;

  /** queued → running for this attempt and worker; null if the run is no longer queued at that attempt. */
  claimRun(runId: string, attempt: number, workerId: string, at: number): Promise<ClaimedRun | null>;
  /** The job's process (or container) has started: sets startedAt once per run (the first attempt's). */
  markStarted(runId: string, attempt: number, workerId: string, at: number): Promise<void>;
  /**
   * Records the end of an attempt: the run finishes, or is requeued when `retryAt` is set (unless its cancel
   * was requested: then it finishes as `cancelled`); 'fenced' if the attempt is no longer this worker's.
   */
  finishAttempt(result: AttemptResult): Promise<FinishResult>;
  /**
   * Gives a running attempt back without ending it (the worker is stopping): the run is queued again with the
   * same attempt, available at `at`, with a `released` event carrying the reason. False if fenced off.
   */
  releaseRun(runId: string, attempt: number, workerId: string, at: number, reason: string): Promise<boolean>;
  /**
   * Refreshes the heartbeats of the worker's attempts that are still its own, and answers which of them to
   * stop (cancel requested) and which are no longer its own (fenced).
   */
  heartbeat(workerId: string, runs: HeldAttempt[], at: number): Promise<HeartbeatAnswer>;
  requestCancel(tenantId: string, runId: string, at: number): Promise<CancelResult>;
  /** Running runs whose last heartbeat is older than `before`. */
  listStaleRuns(before: number, limit: number): Promise<Run[]>;
}
