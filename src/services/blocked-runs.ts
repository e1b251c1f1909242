// Runs held back by their schedule's overlap policy (buffer_one, replace) wait for an earlier run to end.
// When a run finishes, the runs it blocked are released into the queue at once; a sweep every few seconds
// releases any whose blocker ended without that (a crash between the two), so none waits forever.

import type { Clock } from '../ports/clock.js';
import type { RunQueue } from '../ports/queue.js';
import type { RunSignals } from '../ports/run-events.js';
import type { RunStore } from '../ports/store/run-store.js';
import type { Logger } from './logger.js';

export interface BlockedRunReleaserDeps {
  store: RunStore;
  queue: RunQueue;
  signals: RunSignals;
  clock: Clock;
  logger: Logger;
}

export class BlockedRunReleaser {
  private unsubscribe: (() => void) | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: BlockedRunReleaserDeps,
    private readonly sweepIntervalMs = 5_000,
  ) {}

  start(): void {
    this.unsubscribe = this.deps.signals.on((signal) => {
      if (signal.type === 'finished') this.track(this.release(signal.runId));
    });
    this.sweepTimer = setInterval(() => this.track(this.release(null)), this.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    await Promise.all(this.inFlight);
  }

  /** Releases the runs blocked by `finishedRunId` (or, for null, by any run that has ended). */
  async release(finishedRunId: string | null): Promise<number> {
    try {
      const messages = await this.deps.store.releaseBlockedRuns(finishedRunId, this.deps.clock.now());
      if (messages.length > 0) {
        await this.deps.queue.publish(messages);
        for (const message of messages) this.deps.signals.emit({ type: 'queued', runId: message.runId });
      }
      return messages.length;
    } catch (error) {
      this.deps.logger.warn(
        { err: error, finishedRunId },
        'releasing blocked runs failed; the sweep retries',
      );
      return 0;
    }
  }

  private track(work: Promise<unknown>): void {
    const done = work.then(() => undefined);
    this.inFlight.add(done);
    void done.finally(() => this.inFlight.delete(done));
  }
}
