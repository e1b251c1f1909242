// The worker's metrics hook. The composition root binds it to Prometheus; services never import prom-client.

import type { AttemptOutcome } from '../../core/run-state.js';

export interface WorkerMetrics {
  /**
   * Called once per attempt whose end this worker recorded in the store (not for fenced-off attempts).
   * `durationMs` is from the process start to its end (0 when it never started); `lagMs` is start time −
   * nominal time, given for a run's first attempt only (null otherwise, or when it never started).
   */
  runFinished(outcome: AttemptOutcome, durationMs: number, lagMs: number | null): void;
}
