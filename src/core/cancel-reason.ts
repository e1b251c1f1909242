// What cancelling a run means in each state, and the reasons a cancelled run records. Every store adapter
// writes these, so the words and the decisions are the same whichever store holds the run:
//
//   queued        → cancelled at once (a worker never sees it)
//   running       → its cancel is requested; the worker holding it stops it, and it is never retried
//   anything else → already finished: nothing to cancel
//
// A queued run blocked by an earlier run of its schedule is queued like any other: cancelled at once.

import type { AttemptOutcome, RunStatus } from './run-state.js';

/** A tenant asked for the run to stop (`POST /v1/runs/{id}/cancel`). */
export const CANCELLED_BY_REQUEST = 'cancelled by request';

/** The run's job was deleted: its queued runs are cancelled and its running ones asked to stop. */
export const CANCELLED_BY_JOB_DELETION = 'job deleted';

/** A tick of a `replace` schedule ended this earlier run of the schedule. */
export function replacedBy(runId: string): string {
  return `replaced by ${runId}`;
}

/** What a cancel does to a run in a given status (the store's CancelResult state). */
export type CancelEffect = 'cancelled' | 'requested' | 'already_finished';

export function cancelEffectOf(status: RunStatus): CancelEffect {
  if (status === 'queued') return 'cancelled';
  if (status === 'running') return 'requested';
  return 'already_finished';
}

/**
 * How a run ends when its attempt is not taken back to queued: with the attempt's own outcome when no retry
 * was due; when one was due, the store refused it only because the run's cancel had been requested, so the
 * run ends cancelled by that request, whatever the attempt ended with.
 */
export function endWithoutRetry(
  outcome: AttemptOutcome,
  reason: string | null,
  retryWasDue: boolean,
): { status: AttemptOutcome; reason: string | null } {
  return retryWasDue ? { status: 'cancelled', reason: CANCELLED_BY_REQUEST } : { status: outcome, reason };
}
