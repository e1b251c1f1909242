// What follows a recorded attempt, shared by the worker agent and the reaper: the queue message of the next
// attempt when the store requeued the run, and the outcome the store actually kept. Pure.

import type { AttemptOutcome } from '../core/run-state.js';
import { memoryRequestOf, type JobResources } from '../core/job.js';
import type { Run } from '../core/run.js';
import type { QueueMessage } from '../ports/queue.js';
import type { FinishResult } from '../ports/store/attempt-store.js';

/** The message for attempt + 1 of a run the store has requeued; the queue only speeds it up. */
export function retryMessage(
  run: Pick<Run, 'id' | 'tenantId' | 'attempt'>,
  resources: JobResources,
  retryAt: number,
): QueueMessage {
  return {
    runId: run.id,
    tenantId: run.tenantId,
    attempt: run.attempt + 1,
    memoryMb: resources.memoryMb,
    memoryRequestMb: memoryRequestOf(resources),
    availableAt: retryAt,
  };
}

/**
 * The outcome the store recorded for an attempt that was not fenced off: the attempt's own, except that a
 * retry asked for on a run whose cancel was requested ends the run `cancelled` instead (finishAttempt's rule).
 */
export function recordedOutcome(
  outcome: AttemptOutcome,
  retryAt: number | null,
  result: Exclude<FinishResult, 'fenced'>,
): AttemptOutcome {
  return result === 'finished' && retryAt !== null ? 'cancelled' : outcome;
}
