// The reaper: finds running runs whose worker stopped heartbeating and records their attempt as `lost`, which
// the job's retry policy may turn into another attempt (re-queued in the store and published to the queue).
// The write is fenced by (run, attempt, worker), so a worker that comes back late cannot overwrite it, and a
// run its worker finished meanwhile is left alone. The worker learns at its next heartbeat that the run is no
// longer its own (fenced) and abandons it, so a false "lost" does not leave the attempt running twice.
//
// States: idle ──start──▶ running (a sweep every intervalMs; sweeps never overlap) ──stop──▶ stopped
// (stop waits for a sweep in progress).

import { decideAfterAttempt, type AttemptOutcome } from '../core/run-state.js';
import type { Run } from '../core/run.js';
import type { Clock } from '../ports/clock.js';
import type { RunQueue } from '../ports/queue.js';
import type { RunSignals } from '../ports/run-events.js';
import type { AttemptStore } from '../ports/store/attempt-store.js';
import type { JobStore } from '../ports/store/job-store.js';
import type { RunStore } from '../ports/store/run-store.js';
import type { Logger } from './logger.js';
import { recordedOutcome, retryMessage } from './retry-message.js';
import { dispatchDue } from './run-dispatcher.js';
import type { WorkerMetrics } from './worker/worker-metrics.js';

export interface ReaperOptions {
  /** Stale attempts and their ends; the job's retry policy; dispatching a retry that is due. */
  store: AttemptStore & JobStore & Pick<RunStore, 'markDispatched'>;
  queue: RunQueue;
  clock: Clock;
  logger: Logger;
  /** Time between sweeps. */
  intervalMs: number;
  /** A running run whose last heartbeat is older than this is lost. */
  staleAfterMs: number;
  /** When given, in-process listeners hear at once about the runs it settles. */
  signals?: RunSignals;
  /** Most runs settled per store query (a sweep repeats while pages come back full). */
  batchSize?: number;
  /**
   * Told about each run it records as lost, like the worker's hook. The reaper never saw the process, so
   * `durationMs` is from the first start to the last heartbeat (first attempt only; 0 otherwise).
   */
  metrics?: WorkerMetrics;
  /**
   * Whether this process sweeps now. Where many processes share a store, one reaps: the scheduler node that
   * holds partition 0 (server/compose.ts). Absent: always (one process).
   */
  active?: () => boolean;
}

export type ReaperState = 'idle' | 'running' | 'stopped';

const DEFAULT_BATCH = 100;
/** Bounds one sweep, so a store that keeps returning the same rows cannot spin it forever. */
const MAX_PAGES_PER_SWEEP = 50;

export class Reaper {
  private readonly options: Readonly<ReaperOptions>;
  private readonly log: Logger;
  private state: ReaperState = 'idle';
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;

  constructor(options: ReaperOptions) {
    this.options = Object.freeze({ ...options });
    this.log = options.logger.child({ component: 'reaper' });
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`reaper cannot start: it is ${this.state}`);
    this.state = 'running';
    this.schedule();
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => undefined);
  }

  /** One sweep: settles every stale run found; returns how many it recorded as lost. */
  reapOnce(): Promise<number> {
    this.sweeping ??= this.sweep().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private schedule(): void {
    if (this.state !== 'running') return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.reapOnce()
        .catch((error: unknown) => this.log.error({ err: error }, 'reaper sweep failed'))
        .finally(() => this.schedule());
    }, this.options.intervalMs);
  }

  private async sweep(): Promise<number> {
    if (this.options.active?.() === false) return 0;
    const { store, clock, staleAfterMs } = this.options;
    const batchSize = this.options.batchSize ?? DEFAULT_BATCH;
    let reaped = 0;
    for (let page = 0; page < MAX_PAGES_PER_SWEEP; page++) {
      const stale = await store.listStaleRuns(clock.now() - staleAfterMs, batchSize);
      let settled = 0;
      for (const run of stale) {
        if (await this.reap(run)) settled++;
      }
      reaped += settled;
      // Stop when the page was short, or when nothing on it could be settled (it would come back unchanged).
      if (stale.length < batchSize || settled === 0) break;
    }
    return reaped;
  }

  private async reap(run: Run): Promise<boolean> {
    const { store, queue, clock } = this.options;
    const log = this.log.child({ runId: run.id, attempt: run.attempt, workerId: run.workerId });
    if (run.workerId === null) {
      log.warn({}, 'running run without a worker id; cannot fence it, leaving it');
      return false;
    }
    // A deleted job has no policy left to apply: its lost run is not retried.
    const job = await store.findJob(run.tenantId, run.jobId);
    const at = clock.now();
    const decision =
      job === null ? ({ retry: false } as const) : decideAfterAttempt(job.retry, run.attempt, 'lost', at);
    const retryAt = decision.retry ? decision.retryAtMs : null;
    const result = await store.finishAttempt({
      runId: run.id,
      attempt: run.attempt,
      workerId: run.workerId,
      outcome: 'lost',
      exitCode: null,
      reason: 'heartbeat lost',
      at,
      retryAt,
    });
    if (result === 'fenced') {
      log.debug({}, 'stale run was settled meanwhile; nothing to do');
      return false;
    }
    const outcome = recordedOutcome('lost', retryAt, result);
    this.recordMetrics(run, outcome);
    log.warn(
      { lastHeartbeatAt: run.heartbeatAt, outcome, requeued: result === 'requeued', retryAt },
      'run lost: its worker stopped heartbeating',
    );
    if (result === 'requeued' && retryAt !== null && job !== null) {
      await dispatchDue({ store: this.options.store, queue, clock: this.options.clock }, [
        retryMessage(run, job.resources, retryAt),
      ]).catch((error: unknown) =>
        log.warn({ err: error }, 'publishing the retry failed; it stays queued in the store'),
      );
      this.options.signals?.emit({ type: 'queued', runId: run.id });
    } else {
      this.options.signals?.emit({ type: 'finished', runId: run.id });
    }
    return true;
  }

  private recordMetrics(run: Run, outcome: AttemptOutcome): void {
    // startedAt is the first attempt's start: it says nothing about a later attempt.
    const firstStart = run.attempt === 1 ? run.startedAt : null;
    const durationMs =
      firstStart !== null && run.heartbeatAt !== null ? Math.max(0, run.heartbeatAt - firstStart) : 0;
    const lagMs = firstStart === null ? null : firstStart - run.dueAt;
    this.options.metrics?.runFinished(outcome, durationMs, lagMs);
  }
}
