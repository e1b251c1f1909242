// The dispatch sweep: the store is the outbox of the queue (core/dispatch.ts). Every DISPATCH_SWEEP_INTERVAL_MS
// it publishes the queued runs that come within the queue's horizon (a one-off run for later, a retry after a
// long backoff: their producers left them in the store) and those dispatched long ago but never claimed (their
// message lost). Each sweep takes its runs from the store atomically, so several sweepers — one per scheduler
// process — never publish one run at once. At start, a queue that does not outlive its process (the in-process
// one) is empty: the first sweep publishes every queued run within the horizon, dispatched or not.

import {
  DISPATCH_SWEEP_INTERVAL_MS,
  QUEUE_HORIZON_MS,
  reachesQueueNow,
  REDISPATCH_AFTER_MS,
} from '../core/dispatch.js';
import type { Clock } from '../ports/clock.js';
import type { QueueMessage, RunQueue } from '../ports/queue.js';
import type { RunSignals } from '../ports/run-events.js';
import type { RunStore } from '../ports/store/run-store.js';
import type { Logger } from './logger.js';

export interface RunDispatcherDeps {
  store: Pick<RunStore, 'takeRunsToDispatch'>;
  queue: RunQueue;
  signals: RunSignals;
  clock: Clock;
  logger: Logger;
  /**
   * Whether this process sweeps now. Where many processes share a store, one sweeps: the scheduler node that
   * holds partition 0 (server/compose.ts); a second one for a moment, at a handover, is harmless (the store
   * hands each run to one sweep). Absent: always.
   */
  active?: () => boolean;
}

/** Runs taken from the store per statement; a sweep goes on while they come full. */
const BATCH = 1_000;

/** How often a sweep also looks for dispatched runs never claimed (a heavier query than the due ones). */
const REDISPATCH_CHECK_INTERVAL_MS = 10_000;

export class RunDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private stopped = false;
  private lastRedispatchCheck = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: RunDispatcherDeps,
    private readonly intervalMs = DISPATCH_SWEEP_INTERVAL_MS,
  ) {}

  /** Runs the first sweep (everything within the horizon, for a queue that starts empty), then the timer. */
  async start(): Promise<number> {
    const first = await this.sweep(!this.deps.queue.durable);
    if (!this.stopped) {
      this.timer = setInterval(() => void this.sweep(false), this.intervalMs);
      this.timer.unref();
    }
    return first;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.sweeping;
  }

  /** Publishes what is due; `everything` republishes runs dispatched recently too. Returns how many. */
  sweep(everything: boolean): Promise<number> {
    // One sweep at a time: a slow one is not overtaken by the next tick.
    if (this.sweeping !== null) return this.sweeping;
    this.sweeping = this.sweepOnce(everything).finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async sweepOnce(everything: boolean): Promise<number> {
    if (this.deps.active?.() === false) return 0;
    let published = 0;
    const startedAt = this.deps.clock.now();
    const checkRedispatch =
      everything || startedAt - this.lastRedispatchCheck >= REDISPATCH_CHECK_INTERVAL_MS;
    if (checkRedispatch) this.lastRedispatchCheck = startedAt;
    try {
      for (;;) {
        const now = this.deps.clock.now();
        const messages = await this.deps.store.takeRunsToDispatch({
          availableBy: now + QUEUE_HORIZON_MS,
          // Everything dispatched before this sweep began; never what it marked itself (at `now` ≥ that).
          redispatchBefore: !checkRedispatch ? null : everything ? startedAt : now - REDISPATCH_AFTER_MS,
          at: now,
          limit: BATCH,
        });
        if (messages.length > 0) await this.deps.queue.publish(messages);
        for (const message of messages) this.deps.signals.emit({ type: 'queued', runId: message.runId });
        published += messages.length;
        if (messages.length < BATCH) return published;
      }
    } catch (error) {
      // Taken but not published: they are dispatched again after REDISPATCH_AFTER_MS.
      this.deps.logger.warn({ err: error }, 'the dispatch sweep failed; the next one retries');
      return published;
    }
  }
}

/**
 * What a producer does with runs it has just made queued in the store: those within the queue's horizon are
 * marked dispatched at `at` and published now; the others are left to the sweep.
 */
export async function dispatchDue(
  deps: { store: Pick<RunStore, 'markDispatched'>; queue: RunQueue; clock: Clock },
  messages: readonly QueueMessage[],
): Promise<{ published: QueueMessage[]; at: number }> {
  const now = deps.clock.now();
  const due = messages.filter((message) => reachesQueueNow(message.availableAt, now));
  if (due.length === 0) return { published: due, at: now };
  // Marked first, so the timeline reads dispatched → claimed; a crash between the two leaves a run dispatched
  // but unclaimed, which the sweep publishes again.
  await deps.store.markDispatched(
    due.map((message) => message.runId),
    now,
  );
  await deps.queue.publish(due);
  return { published: due, at: now };
}
