// The store port: everything Hourglass keeps durably. Services use only this interface; the SQLite adapter
// (and later PostgreSQL) implement it, and one contract suite (test/contract/store.contract.ts) runs against
// every adapter. Every tenant-facing read takes the tenant id, so another tenant's ids are simply not found.
//
// Worker-side writes are fenced by (run id, attempt, worker id): a stale attempt's results are rejected, and
// a heartbeat answers which of the worker's attempts are no longer its own, so it stops running them.

import type { Job } from '../core/job.js';
import type { CatchupPolicy, Schedule, ScheduleSpec } from '../core/schedule.js';
import type { QueueMessage } from './queue.js';
import type { AttemptOutcome, RunStatus } from '../core/run-state.js';
import type { Run, RunEvent } from '../core/run.js';
import type { ApiKey, Tenant } from '../core/tenant.js';
import type { RegistryCredentialInfo, SealedRegistryCredential } from '../core/registry-credential.js';

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface RunFilter {
  jobId?: string;
  scheduleId?: string;
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
  /** The image digest this attempt ran (sha256:…); absent or null keeps what an earlier attempt recorded. */
  imageDigest?: string | null;
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

export interface ScheduleFilter {
  jobId?: string;
  limit: number;
  /** The last id of the previous page; schedules are listed oldest first. */
  cursor?: string;
}

/** A schedule as the scheduler engine needs it: its timing, not its runs' args and env. */
export interface ScheduleTiming {
  id: string;
  partition: number;
  version: number;
  spec: ScheduleSpec;
  startAt: number | null;
  endAt: number | null;
  jitterSeconds: number;
  catchup: CatchupPolicy;
  paused: boolean;
  /** Deleted (itself or with its job): it fires no more. */
  deleted: boolean;
  nextFireAt: number | null;
  /** Store-wide sequence of schedule changes; reconciliation reads the changes after the last it saw. */
  changeSeq: number;
}

/** A scheduler node's hold on one partition; every write for the partition carries its epoch. */
export interface PartitionLease {
  partition: number;
  epoch: number;
}

export interface LeaseRound {
  /** The scheduler node. */
  owner: string;
  partitionCount: number;
  ttlMs: number;
  now: number;
}

/** One tick to fire, as the engine computed it. */
export interface TickFire {
  scheduleId: string;
  /** The schedule's partition (fixed at its creation): the lease the tick is fenced by. */
  partition: number;
  /** The schedule version it was computed from: a schedule changed since is not fired (see `stale`). */
  version: number;
  nominalTime: number;
  /** Nominal time plus the schedule's jitter: when the run's process should start. */
  dueAt: number;
  /** The watermark after it: the next tick's nominal time, or null when there will be none. */
  nextFireAt: number | null;
  /** scheduledRunId(scheduleId, nominalTime). */
  runId: string;
  /** A missed tick fired late by the catch-up policy (after downtime or a takeover); its timeline says so. */
  late: boolean;
}

/**
 * What a scheduler node vouches for with a batch (see src/core/watermark.ts): in every partition it holds,
 * every tick due at or before `firedThrough` is fired once the batch is, for each schedule whose change
 * sequence is at most `changeSeq` (the changes it has applied).
 */
export interface FiredThrough {
  firedThrough: number;
  changeSeq: number;
}

export interface FireResult {
  /** Partitions whose lease is no longer this owner's at that epoch: nothing was written for their ticks. */
  fenced: number[];
  /** Runs created `queued` and not blocked, in no particular order: to publish now (dispatchedAt is set). */
  queued: QueueMessage[];
  /** Ticks recorded as `skipped` runs by their overlap policy (run ids). */
  skipped: string[];
  /** Runs created waiting for an earlier run of their schedule to end (buffer_one, replace). */
  blocked: string[];
  /** Ticks whose run already existed (fired before): nothing written for them but the watermark. */
  duplicates: string[];
  /** Schedules changed, paused or deleted since the engine computed the tick: not fired; to be reloaded. */
  stale: string[];
  /** Replace policy: the earlier runs cancelled while queued, and those asked to stop while running. */
  cancelled: string[];
  stopping: string[];
}

export interface DispatchQuery {
  availableBy: number;
  /** Dispatched runs are taken again if dispatched before this; null takes only never-dispatched ones. */
  redispatchBefore: number | null;
  at: number;
  limit: number;
}

export interface Store {
  close(): Promise<void>;

  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;

  createTenant(tenant: Tenant): Promise<void>;
  getTenant(id: string): Promise<Tenant | null>;
  listTenants(): Promise<Tenant[]>;
  /** Replaces the tenant's plan limits (an admin's change); null when there is no such tenant. */
  updateTenantLimits(id: string, limits: Tenant['limits']): Promise<Tenant | null>;

  createApiKey(key: ApiKey): Promise<void>;
  findApiKeyByHash(secretHash: string): Promise<ApiKey | null>;
  getApiKey(id: string): Promise<ApiKey | null>;
  revokeApiKey(id: string, at: number): Promise<void>;
  /** Every API key (admin and tenant) in id order, or one tenant's; revoked ones included. */
  listApiKeys(tenantId: string | null): Promise<ApiKey[]>;
  /** Sets the key's lastUsedAt to `at`, unless it was last used after `unlessUsedAfter`. */
  recordApiKeyUse(id: string, at: number, unlessUsedAfter: number): Promise<void>;
  /** Revokes every admin key not revoked yet, except `keepKeyId`; returns how many it revoked. */
  revokeOtherAdminKeys(keepKeyId: string, at: number): Promise<number>;

  // Registry logins: sealed by the service, stored and returned sealed (core/registry-credential.ts).

  /**
   * Creates or replaces the tenant's login for its host (a replacement keeps createdAt); true when created.
   * A new one beyond `maxPerTenant` throws `plan_limit_exceeded`, checked in the same transaction.
   */
  putRegistryCredential(entry: SealedRegistryCredential, maxPerTenant: number): Promise<boolean>;
  /** False when the tenant had no login for that host. */
  deleteRegistryCredential(tenantId: string, host: string): Promise<boolean>;
  /** The tenant's logins in host order, without their sealed passwords. */
  listRegistryCredentials(tenantId: string): Promise<RegistryCredentialInfo[]>;
  getRegistryCredential(tenantId: string, host: string): Promise<SealedRegistryCredential | null>;

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
  ): Promise<{ cancelled: string[]; stopping: string[]; schedules: string[] }>;

  /** Inserts the run and its `created` event; a repeated (tenant, idempotency key) returns the first run. */
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
   */
  takeRunsToDispatch(query: DispatchQuery): Promise<QueueMessage[]>;
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

  /**
   * Runs blocked by `finishedRunId` (now ended) become available at `now`; returns their queue messages.
   * Runs blocked by a run that ended without this being called (a crash) are released when `finishedRunId`
   * is null: the reconciliation's safety net.
   */
  releaseBlockedRuns(finishedRunId: string | null, now: number): Promise<QueueMessage[]>;

  // Schedules (tenant-facing). Every change raises the schedule's version and the store's change sequence.

  /**
   * Inserts the schedule if the tenant has fewer than `maxSchedules` live ones, checked in the same
   * transaction; throws `plan_limit_exceeded` if not, and `not_found` (field `jobId`) if its job is not live.
   */
  insertSchedule(schedule: Schedule, maxSchedules: number): Promise<void>;
  /** Live schedules only. */
  getSchedule(tenantId: string, scheduleId: string): Promise<Schedule | null>;
  /**
   * Live schedules, oldest first. A `jobId` the tenant does not have (another tenant's, or none) throws
   * not_found naming it, as listRuns does; a deleted job of its own lists none.
   */
  listSchedules(tenantId: string, filter: ScheduleFilter): Promise<Page<Schedule>>;
  /**
   * Writes every field of the schedule if its stored version is `schedule.version − 1` (the caller raised it);
   * false when another change came first (or it was deleted), and nothing was written.
   */
  updateSchedule(schedule: Schedule): Promise<boolean>;
  /** Soft-deletes it; its runs stay readable. False when there was no such live schedule. */
  deleteSchedule(tenantId: string, scheduleId: string, at: number): Promise<boolean>;

  // The scheduler engine's side.

  /** Live, unpaused schedules with a next tick, of these partitions, in id order after `afterId`. */
  loadSchedules(
    partitions: readonly number[],
    afterId: string | null,
    limit: number,
  ): Promise<ScheduleTiming[]>;
  /** One schedule's timing, deleted or paused included; null if it never existed. */
  getScheduleTiming(scheduleId: string): Promise<ScheduleTiming | null>;
  /** Schedules of these partitions changed after `afterSeq` (deleted and paused included), in change order. */
  listScheduleChanges(
    partitions: readonly number[],
    afterSeq: number,
    limit: number,
  ): Promise<ScheduleTiming[]>;
  /** The latest change sequence number (0 before any change). */
  latestScheduleChange(): Promise<number>;
  /**
   * One lease round for a scheduler node, in one transaction: the node is recorded as a live member until
   * now + ttl; it renews the leases it holds, gives back those beyond its fair share (partitionCount ÷ live
   * members, rounded up; highest partitions first), and takes free or expired partitions up to that share,
   * each taken one with a new epoch. Returns every lease it holds after the round.
   */
  syncPartitionLeases(round: LeaseRound): Promise<PartitionLease[]>;
  /** Gives back every lease of the node and its membership (a graceful stop): others take them at once. */
  releasePartitionLeases(owner: string): Promise<void>;
  /**
   * Fires ticks of any of the owner's partitions in one transaction (one commit for the whole batch), each
   * fenced by its partition's lease in `leases`: creates each tick's run (ignoring a run id that exists) as its
   * schedule's overlap policy says, and marks queued ones dispatched at `now`. Watermarks move by partition:
   * `through`, when given, becomes the frontier of every partition whose lease is current; a schedule's own
   * watermark is written only when its tick has no next (`nextFireAt` null: the schedule ended). A tick whose
   * partition has no current lease here writes nothing.
   */
  fireTicks(
    owner: string,
    leases: readonly PartitionLease[],
    fires: readonly TickFire[],
    now: number,
    through?: FiredThrough,
  ): Promise<FireResult>;
  /** Moves watermarks without firing (ticks skipped by catch-up, a schedule ended), fenced like fireTicks. */
  advanceWatermarks(
    owner: string,
    lease: PartitionLease,
    marks: readonly { scheduleId: string; version: number; nextFireAt: number | null }[],
  ): Promise<boolean>;
}
