// The worker's (and the reaper's) metrics hook. The composition root binds it to Prometheus; services never
// import prom-client.

import type { AttemptOutcome } from '../../core/run-state.js';

export interface WorkerMetrics {
  /**
   * Called once per attempt whose end was recorded in the store (not for fenced-off attempts, nor for runs a
   * stopping worker released), with the outcome the store kept (a retry of a run whose cancel was requested
   * is kept as `cancelled`). `durationMs` is from the process start to its end (0 when it never started);
   * `lagMs` is start time − due time (core/run.ts lagMs), given for a run's first attempt only (null otherwise, or when it
   * never started).
   */
  runFinished(outcome: AttemptOutcome, durationMs: number, lagMs: number | null): void;
}
