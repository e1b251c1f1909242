// Records how an attempt ended, or gives a claimed run back, and follows up on what the store did: the
// execution's slot is given back as soon as the store has answered (so a retry can come back to this worker at
// once), then the metrics, the log line, the retry message and the run signal.
//
// It holds no state: each write is fenced by the store (worker id and attempt), so an attempt this worker no
// longer owns (reaped, retried, finished elsewhere) cannot overwrite whoever settled the run. Failures to
// record are left to the reaper.

import type { Job } from '../../core/job.js';
import { decideAfterAttempt, type AttemptOutcome } from '../../core/run-state.js';
import { lagMs, type Run } from '../../core/run.js';
import type { Clock } from '../../ports/clock.js';
import type { RunQueue } from '../../ports/queue.js';
import type { RunSignals } from '../../ports/run-events.js';
import type { AttemptStore, ClaimedRun } from '../../ports/store/attempt-store.js';
import type { RunStore } from '../../ports/store/run-store.js';
import type { Logger } from '../logger.js';
import { recordedOutcome, retryMessage } from '../retry-message.js';
import { dispatchDue } from '../run-dispatcher.js';
import type { Execution } from './execution.js';
import type { WorkerMetrics } from './worker-metrics.js';

/** The reason a run is released when its worker stops: the attempt is given back, not spent. */
export const WORKER_STOPPED = 'worker stopped';

/** What recording needs from the worker; the agent builds it once. */
export interface RecorderContext {
  readonly workerId: string;
  /** The attempt's writes; dispatching a retry that is due. */
  readonly store: AttemptStore & Pick<RunStore, 'markDispatched'>;
  readonly queue: RunQueue;
  readonly signals: RunSignals;
  readonly clock: Clock;
  readonly metrics?: WorkerMetrics | undefined;
  /** Gives an execution's slot and memory back to the agent; does nothing the second time. */
  readonly retire: (execution: Execution) => void;
}

export interface AttemptEnd {
  outcome: AttemptOutcome;
  exitCode: number | null;
  reason: string | null;
  /** False for an end no retry can help (a run too big for any worker). */
  retryable: boolean;
  /** From the process start to its end; 0 when it never started. */
  durationMs: number;
  startedAt: number | null;
  /** The image digest the attempt ran; null when none (a host command, or the pull failed). */
  imageDigest?: string | null;
}

/**
 * Records an attempt's end (fenced) and follows up on what the store did: metrics, the retry message, the
 * signal. The execution, if any, is retired as soon as the store has answered, so a retry can come back to
 * this worker at once.
 */
export async function recordAttemptEnd(
  ctx: RecorderContext,
  { run, job }: ClaimedRun,
  end: AttemptEnd,
  execution: Execution | null,
  log: Logger,
): Promise<void> {
  const at = ctx.clock.now();
  const decision = end.retryable
    ? decideAfterAttempt(job.retry, run.attempt, end.outcome, at)
    : ({ retry: false } as const);
  const retryAt = decision.retry ? decision.retryAtMs : null;
  const result = await ctx.store.finishAttempt({
    runId: run.id,
    attempt: run.attempt,
    workerId: ctx.workerId,
    outcome: end.outcome,
    exitCode: end.exitCode,
    reason: end.reason,
    at,
    retryAt,
    imageDigest: end.imageDigest ?? null,
  });
  if (execution !== null) ctx.retire(execution);
  if (result === 'fenced') {
    // Not this worker's to count: whoever settled the run (reaper, another worker) records it.
    if (execution?.stopCause === 'fenced') log.info({ outcome: end.outcome }, 'abandoned attempt ended');
    else log.warn({ outcome: end.outcome }, 'attempt result fenced off: the run is no longer this worker’s');
    return;
  }
  const outcome = recordedOutcome(end.outcome, retryAt, result);
  const lag = run.attempt === 1 ? lagMs({ startedAt: end.startedAt, dueAt: run.dueAt }) : null;
  ctx.metrics?.runFinished(outcome, end.durationMs, lag);
  const fields = {
    outcome,
    exitCode: end.exitCode,
    reason: end.reason,
    retryAt: result === 'requeued' ? retryAt : null,
    durationMs: Math.round(end.durationMs),
  };
  if (outcome === 'succeeded') log.debug(fields, 'attempt finished');
  else log.info(fields, 'attempt finished');

  if (result === 'finished' || retryAt === null) {
    ctx.signals.emit({ type: 'finished', runId: run.id });
    return;
  }
  await publishRetry(ctx, run, job, retryAt, log);
}

/** The store already holds the retry as queued; the queue only speeds it up (the sweep is the safety net). */
async function publishRetry(
  ctx: RecorderContext,
  run: Run,
  job: Job,
  retryAt: number,
  log: Logger,
): Promise<void> {
  // A retry later than the queue's horizon waits in the store for the dispatch sweep.
  await dispatchDue(ctx, [retryMessage(run, job.resources, retryAt)]).catch((error: unknown) =>
    log.warn({ err: error }, 'publishing the retry failed; it stays queued in the store'),
  );
  ctx.signals.emit({ type: 'queued', runId: run.id });
}

/** Fails a claimed run that can never run (no retry helps), without executing it. */
export async function failWithoutRunning(
  ctx: RecorderContext,
  claimed: ClaimedRun,
  reason: string,
  log: Logger,
): Promise<void> {
  const end: AttemptEnd = {
    outcome: 'failed',
    exitCode: null,
    reason,
    retryable: false,
    durationMs: 0,
    startedAt: null,
  };
  await recordAttemptEnd(ctx, claimed, end, null, log).catch((error: unknown) =>
    log.error({ err: error }, 'recording a failed run failed; the reaper will settle it'),
  );
}

/** Gives a claimed run back to the queue, same attempt. A failure leaves it to the reaper. */
export async function releaseRun(ctx: RecorderContext, run: Run, reason: string, log: Logger): Promise<void> {
  try {
    if (await ctx.store.releaseRun(run.id, run.attempt, ctx.workerId, ctx.clock.now(), reason)) {
      log.info({ reason }, 'run released: queued again with the same attempt');
      ctx.signals.emit({ type: 'queued', runId: run.id });
    } else {
      log.warn({ reason }, 'releasing the run was fenced off: it is no longer this worker’s');
    }
  } catch (error) {
    log.error({ err: error }, 'releasing a run failed; the reaper will settle it');
  }
}
