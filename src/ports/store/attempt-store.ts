// A worker's side of a run: claiming an attempt, recording its start and end, giving it back, heartbeats,
// and the reaper's view of attempts whose heartbeat stopped.
//
// Worker-side writes are fenced by (run id, attempt, worker id): a stale attempt's results are rejected, and
// a heartbeat answers which of the worker's attempts are no longer its own, so it stops running them.
//
// Concurrency: every write here is conditional on the run's row as it is when written — status, attempt and
// worker in the UPDATE's WHERE clause (or the row locked first) — never on an earlier read of it. Each event
// of a run's timeline is written in the transaction of the change it records, in commit order.

import type { Job } from '../../core/job.js';
import type { AttemptOutcome } from '../../core/run-state.js';
import type { Run } from '../../core/run.js';

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

export interface AttemptStore {
  /**
   * queued → running for this attempt and worker; null if the run is no longer queued at that attempt (or is
   * blocked). Concurrency: one winner per (run, attempt) — of concurrent claims from any process, at most one
   * returns the run, and a claim of an attempt older than the run's never does.
   */
  claimRun(runId: string, attempt: number, workerId: string, at: number): Promise<ClaimedRun | null>;
  /** The job's process (or container) has started: sets startedAt once per run (the first attempt's). Fenced. */
  markStarted(runId: string, attempt: number, workerId: string, at: number): Promise<void>;
  /**
   * Records the end of an attempt: the run finishes, or is requeued when `retryAt` is set (unless its cancel
   * was requested: then it finishes as `cancelled`); 'fenced' if the attempt is no longer this worker's.
   * Concurrency: of a worker's result and the reaper's `lost` for one attempt, exactly one is recorded and the
   * other is fenced; a cancel requested before the end commits is never retried.
   */
  finishAttempt(result: AttemptResult): Promise<FinishResult>;
  /**
   * Gives a running attempt back without ending it (the worker is stopping): the run is queued again with the
   * same attempt, available at `at`, with a `released` event carrying the reason. False if fenced off.
   * Fenced like finishAttempt: a release and an end of one attempt never both apply.
   */
  releaseRun(runId: string, attempt: number, workerId: string, at: number, reason: string): Promise<boolean>;
  /**
   * Refreshes the heartbeats of the worker's attempts that are still its own, and answers which of them to
   * stop (cancel requested) and which are no longer its own (fenced). One conditional write per attempt.
   */
  heartbeat(workerId: string, runs: HeldAttempt[], at: number): Promise<HeartbeatAnswer>;
  /**
   * Running runs whose last heartbeat is older than `before`. A read: the reaper's finishAttempt that follows
   * is fenced by attempt and worker, not by the heartbeat's age, so a worker that beat meanwhile learns at its
   * next heartbeat that the attempt is no longer its own.
   */
  listStaleRuns(before: number, limit: number): Promise<Run[]>;
}
