// Keeps the overview's counts rolled up between reads (core/run-stats-rollup.ts): every minute, the minutes
// that settled are rolled up for each tenant read in the last ROLLUP_KEEP_READ_MS, so a tenant that looks
// at its overview once a day finds its day rolled up, instead of its read paying for it. A tenant never
// read costs nothing. Runs in each api process; racing roll-ups of one tenant find nothing left to do.
// States: stopped → running (a timer) → stopped. A failed roll-up is logged and tried again next period.

import {
  ROLLUP_KEEP_READ_MS,
  ROLLUP_MINUTE_MS,
  rollupKeepFrom,
  STATS_SETTLE_MS,
} from '../core/run-stats-rollup.js';
import type { Clock } from '../ports/clock.js';
import type { RunStatsStore } from '../ports/store/run-stats-store.js';
import type { Logger } from './logger.js';

export class StatsRoller {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly store: RunStatsStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly periodMs = ROLLUP_MINUTE_MS,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => void this.rollUp(), this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One roll-up of the recently read tenants; one still going when the next is due is not doubled. */
  rollUp(): Promise<void> {
    this.running ??= this.rollUpRecentlyRead().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async rollUpRecentlyRead(): Promise<void> {
    const now = this.clock.now();
    try {
      await this.store.rollUpRunStats({
        tenantId: null,
        readSince: now - ROLLUP_KEEP_READ_MS,
        until: Math.floor((now - STATS_SETTLE_MS) / ROLLUP_MINUTE_MS) * ROLLUP_MINUTE_MS,
        keepFrom: rollupKeepFrom(now),
      });
    } catch (error) {
      this.logger.warn(
        { error: (error as Error).message },
        'rolling up the overview counts failed; trying again next minute',
      );
    }
  }
}
