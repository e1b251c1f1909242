// The run state machine. A run is queued, then running, then ends in one terminal status. A retry takes a
// running run back to queued with its attempt number raised; nothing leaves a terminal status.
//
//   queued ──▶ running ──▶ succeeded | failed | timed_out | oom_killed | cancelled | lost
//     │           │
//     │           ├──▶ queued (retry: attempt + 1, after the job's backoff)
//     │           └──▶ queued (released by a stopping worker: the same attempt, at once)
//     └──▶ cancelled (cancelled before a worker took it)
//
// A tick of a schedule that its overlap policy does not run is recorded as a run created directly `skipped`.

export const RUN_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'oom_killed',
  'cancelled',
  'lost',
  'skipped',
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

export const TERMINAL_STATUSES: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'oom_killed',
  'cancelled',
  'lost',
  'skipped',
];

/** Outcomes an attempt can end with on a worker (or by the reaper, for `lost`). */
export type AttemptOutcome = Exclude<RunStatus, 'queued' | 'running' | 'skipped'>;

export function isTerminal(status: RunStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** Outcomes worth another attempt when the job's retry policy allows one. A cancel is never retried. */
const RETRYABLE: readonly AttemptOutcome[] = ['failed', 'timed_out', 'oom_killed', 'lost'];

export interface RetryPolicy {
  maxAttempts: number;
  backoffSeconds: number;
}

/**
 * What happens after an attempt ends: the final status, or a retry at a later time. The backoff doubles with
 * each attempt (backoffSeconds, 2×, 4×, …), capped at one hour.
 */
export function decideAfterAttempt(
  policy: RetryPolicy,
  attempt: number,
  outcome: AttemptOutcome,
  nowMs: number,
): { retry: false } | { retry: true; retryAtMs: number } {
  if (!RETRYABLE.includes(outcome) || attempt >= policy.maxAttempts) return { retry: false };
  return { retry: true, retryAtMs: nowMs + retryDelaySeconds(policy, attempt) * 1000 };
}

/** The longest wait before a retry, however many attempts came before. */
export const MAX_RETRY_DELAY_SECONDS = 3600;

/** How long after attempt `attempt` (1, 2, …) fails its retry is due: backoffSeconds × 2^(attempt − 1), capped. */
export function retryDelaySeconds(policy: Pick<RetryPolicy, 'backoffSeconds'>, attempt: number): number {
  return Math.min(policy.backoffSeconds * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS);
}
