// The heartbeat of the attempts a worker holds: on a timer, it tells the store which attempts are still in
// hand, and stops the ones the store answers about — a cancel was requested, or the attempt is fenced (no
// longer this worker's: reaped, retried, finished), which abandons it. It owns the timer and the in-flight
// flag, so beats never overlap (a slow store skips beats rather than stacking them). States:
//
//   started ──(tick, attempts in hand)──▶ beating ──(store answered or failed)──▶ started
//   either ──stop──▶ stopped (a beat in flight still finishes)

import type { Clock } from '../../ports/clock.js';
import type { AttemptStore, HeldAttempt } from '../../ports/store/attempt-store.js';
import type { Logger } from '../logger.js';
import type { StopCause } from './execution.js';

export interface HeartbeatOptions {
  readonly store: AttemptStore;
  readonly clock: Clock;
  readonly workerId: string;
  readonly intervalMs: number;
  readonly log: Logger;
  /** The attempts in hand now. */
  readonly held: () => HeldAttempt[];
  /** Stops the run's execution early, only if it is still that attempt of the run. */
  readonly stopRun: (runId: string, cause: StopCause, attempt: number | undefined) => void;
}

/** Starts beating every `intervalMs`; returns the function that stops the timer. */
export function startHeartbeat(options: HeartbeatOptions): () => void {
  let beating = false;
  const beat = async (): Promise<void> => {
    if (beating) return;
    const held = options.held();
    if (held.length === 0) return;
    beating = true;
    try {
      await beatOnce(options, held);
    } catch (error) {
      options.log.warn({ err: error }, 'heartbeat failed');
    } finally {
      beating = false;
    }
  };
  const timer = setInterval(() => void beat(), options.intervalMs);
  return () => clearInterval(timer);
}

/**
 * Refreshes the heartbeats of the attempts in hand. The store answers which to stop (cancel requested) and
 * which are no longer this worker's (fenced: reaped, retried, finished), which are abandoned.
 */
async function beatOnce(options: HeartbeatOptions, held: HeldAttempt[]): Promise<void> {
  const { store, clock, workerId, log, stopRun } = options;
  const answer = await store.heartbeat(workerId, held, clock.now());
  // The attempts in hand may have changed while the store answered: act only on the attempt the answer is about.
  const attemptOf = new Map(held.map(({ runId, attempt }) => [runId, attempt]));
  for (const runId of answer.fenced) {
    log.warn({ runId, attempt: attemptOf.get(runId) }, 'run no longer this worker’s; abandoning it');
    stopRun(runId, 'fenced', attemptOf.get(runId));
  }
  for (const runId of answer.cancel) stopRun(runId, 'cancel', attemptOf.get(runId));
}
