// Keeps the gauge hourglass_runs_due{within="1m"|"5m"|"15m"} current: the fleet's forecast
// (forecast-service.ts) of the next 15 minutes at one-minute steps, every 15 s, so that an autoscaler can
// add workers before a burst arrives. The grouped schedules are read again only when a schedule changed
// (the store's change sequence moved) or a minute passed, so a quiet fleet costs one small read a period.
// States: stopped → running (a timer) → stopped. A failed refresh keeps the last values and is logged.

import type { Logger } from './logger.js';
import type { Clock } from '../ports/clock.js';
import type { ForecastService } from './forecast-service.js';

export const RUNS_DUE_PERIOD_MS = 15_000;
const WINDOWS = [
  { within: '1m', steps: 1 },
  { within: '5m', steps: 5 },
  { within: '15m', steps: 15 },
] as const;

export interface RunsDueSink {
  set(labels: { within: string }, value: number): void;
}

export class RunsDueGauge {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly forecast: ForecastService,
    private readonly gauge: RunsDueSink,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly periodMs = RUNS_DUE_PERIOD_MS,
  ) {}

  start(): void {
    if (this.timer !== null) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.periodMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One refresh; a refresh still going when the next is due is not doubled. */
  refresh(): Promise<void> {
    this.running ??= this.update().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async update(): Promise<void> {
    try {
      const now = this.clock.now();
      const steps = await this.forecast.forecastFleetSoon(now, 15);
      for (const { within, steps: count } of WINDOWS) {
        let runs = 0;
        for (const step of steps.slice(0, count)) runs += step.runs;
        this.gauge.set({ within }, runs);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'the runs-due forecast failed; the gauge keeps its last values');
    }
  }
}
