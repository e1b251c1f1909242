// The store port: everything Hourglass keeps durably. Services use only this interface; the SQLite adapter
// (and later PostgreSQL) implement it, and one contract suite (test/contract/store.contract.ts) runs against
// every adapter. Every tenant-facing read takes the tenant id, so another tenant's ids are simply not found.
//
// Worker-side writes are fenced by (run id, attempt, worker id): a stale attempt's results are rejected.

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

  /** Throws HourglassError `job_name_taken` when the tenant already has a live job of that name. */
  insertJob(job: Job): Promise<void>;
  /** By id or by name, live jobs only. */
  findJob(tenantId: string, idOrName: string): Promise<Job | null>;
  listJobs(tenantId: string, limit: number, cursor?: string): Promise<Page<Job>>;
  countJobs(tenantId: string): Promise<number>;
  /** Throws `job_name_taken` like insertJob. */
  updateJob(job: Job): Promise<void>;
  /** Soft-deletes the job (its runs stay readable), cancels its queued runs and asks running ones to stop. */
  deleteJob(tenantId: string, jobId: string, at: number): Promise<void>;

  /** Inserts the run and its `created` event; a repeated (tenant, idempotency key) returns the first run. */
  insertRun(newRun: NewRun): Promise<InsertRunResult>;
  getRun(tenantId: string, runId: string): Promise<Run | null>;
  getRunEvents(runId: string): Promise<RunEvent[]>;
  listRuns(tenantId: string, filter: RunFilter): Promise<Page<Run>>;
  /** Every queued run, oldest first: the queue is rebuilt from this at start. */
  listQueuedRuns(): Promise<Run[]>;
  markDispatched(runIds: string[], at: number): Promise<void>;

  /** queued → running for this attempt and worker; null if the run is no longer queued at that attempt. */
  claimRun(runId: string, attempt: number, workerId: string, at: number): Promise<ClaimedRun | null>;
  /** The job's process (or container) has started: sets startedAt once per run (the first attempt's). */
  markStarted(runId: string, attempt: number, workerId: string, at: number): Promise<void>;
  /** Records the end of an attempt; false if the attempt was fenced off (no longer this worker's). */
  finishAttempt(result: AttemptResult): Promise<boolean>;
  /** Refreshes heartbeats; returns the ids among them whose cancellation has been requested. */
  heartbeat(workerId: string, runIds: string[], at: number): Promise<string[]>;
  requestCancel(tenantId: string, runId: string, at: number): Promise<CancelResult>;
  /** Running runs whose last heartbeat is older than `before`. */
  listStaleRuns(before: number, limit: number): Promise<Run[]>;
  /** Counts of runs per status, for metrics. */
  countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>>;
}
