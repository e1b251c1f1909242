// The load forecast (core/load-forecast.ts) as the API and the metrics ask for it: a window checked against
// its limits, the store's schedule counts by timing and queued runs of a tenant (or of the fleet), and the
// steps.
// Ticks before now are not counted: they have fired, or been missed, already.

import { invalid } from '../core/errors.js';
import { memoryRequestOf } from '../core/job.js';
import { forecastLoad, type ForecastGroup, type ForecastStep } from '../core/load-forecast.js';
import type { Clock } from '../ports/clock.js';
import type {
  LoadForecastStore,
  QueuedLoadGroup,
  ScheduleLoadGroup,
} from '../ports/store/load-forecast-store.js';
import type { ScheduleTimingStore } from '../ports/store/schedule-timing-store.js';
import { parseInstant } from './input-time.js';

export const FORECAST_LIMITS = Object.freeze({
  maxWindowSeconds: 7 * 86_400,
  maxSteps: 10_080,
  minStepSeconds: 1,
  defaultStepSeconds: 60,
  defaultWindowSeconds: 3600,
});

export interface ForecastInput {
  /** ISO 8601 instants; `from` defaults to now, `to` to an hour after `from`. */
  from?: string;
  to?: string;
  stepSeconds?: number;
}

export interface ForecastWindowMs {
  fromMs: number;
  toMs: number;
  stepMs: number;
}

/** The window a request asks for, within FORECAST_LIMITS; throws naming the field at fault. */
export function resolveForecastWindow(input: ForecastInput, now: number): ForecastWindowMs {
  const fromMs = input.from === undefined ? now : parseInstant('from', input.from);
  const toMs =
    input.to === undefined
      ? fromMs + FORECAST_LIMITS.defaultWindowSeconds * 1000
      : parseInstant('to', input.to);
  const stepSeconds = input.stepSeconds ?? FORECAST_LIMITS.defaultStepSeconds;
  if (!Number.isInteger(stepSeconds) || stepSeconds < FORECAST_LIMITS.minStepSeconds) {
    throw invalid(
      'stepSeconds',
      `must be a whole number of seconds, at least ${FORECAST_LIMITS.minStepSeconds}`,
    );
  }
  if (toMs <= fromMs) throw invalid('to', 'must be after from');
  if (toMs - fromMs > FORECAST_LIMITS.maxWindowSeconds * 1000) {
    throw invalid(
      'to',
      `the window from "from" to "to" may be at most ${FORECAST_LIMITS.maxWindowSeconds / 86_400} days`,
    );
  }
  const stepMs = stepSeconds * 1000;
  const steps = Math.ceil((toMs - fromMs) / stepMs);
  if (steps > FORECAST_LIMITS.maxSteps) {
    throw invalid(
      'stepSeconds',
      `this window at ${stepSeconds} s steps is ${steps} steps; at most ${FORECAST_LIMITS.maxSteps} (a larger step or a shorter window)`,
    );
  }
  return { fromMs, toMs, stepMs };
}

/** How long schedule counts are reused while no schedule changes (a job's memory may change meanwhile). */
const GROUPS_MAX_AGE_MS = 60_000;
const GROUPS_CACHED_MAX = 1000;

export class ForecastService {
  /** Schedule counts by tenant ('' for the fleet), with the change sequence and time they were read at. */
  private readonly groups = new Map<string, { seq: number; readAt: number; groups: ScheduleLoadGroup[] }>();

  constructor(
    private readonly store: LoadForecastStore & Pick<ScheduleTimingStore, 'latestScheduleChange'>,
    private readonly clock: Clock,
  ) {}

  /** The steps of the window for one tenant's schedules and queued runs, or the fleet's (tenantId null). */
  async forecast(tenantId: string | null, input: ForecastInput): Promise<ForecastStep[]> {
    const now = this.clock.now();
    return this.forecastWindow(tenantId, resolveForecastWindow(input, now), now);
  }

  /** The fleet's next `minutes` one-minute steps from `now`, for the metrics. */
  forecastFleetSoon(now: number, minutes: number): Promise<ForecastStep[]> {
    return this.forecastWindow(null, { fromMs: now, toMs: now + minutes * 60_000, stepMs: 60_000 }, now);
  }

  async forecastWindow(
    tenantId: string | null,
    window: ForecastWindowMs,
    now: number,
  ): Promise<ForecastStep[]> {
    const [schedules, queued] = await Promise.all([
      this.scheduleGroups(tenantId, now),
      this.store.listQueuedLoad(tenantId, Math.max(now, window.fromMs), window.toMs),
    ]);
    return this.compute(window, now, schedules, queued);
  }

  /**
   * The store's schedule counts, read again only when a schedule changed anywhere (the change sequence
   * moved) or a minute passed. The read costs the number of distinct timings (the store keeps the counts);
   * kept, it spares the gauge's refresh every 15 s even that, and a tenant's repeated reads.
   */
  private async scheduleGroups(tenantId: string | null, now: number): Promise<ScheduleLoadGroup[]> {
    const key = tenantId ?? '';
    const seq = await this.store.latestScheduleChange();
    const cached = this.groups.get(key);
    if (cached !== undefined && cached.seq === seq && now - cached.readAt < GROUPS_MAX_AGE_MS) {
      return cached.groups;
    }
    const groups = await this.store.listScheduleLoad(tenantId, now);
    if (this.groups.size >= GROUPS_CACHED_MAX) this.groups.clear();
    this.groups.set(key, { seq, readAt: now, groups });
    return groups;
  }

  private compute(
    window: ForecastWindowMs,
    now: number,
    schedules: readonly ScheduleLoadGroup[],
    queued: readonly QueuedLoadGroup[],
  ): ForecastStep[] {
    const groups: ForecastGroup[] = schedules.map((group) => ({
      spec: group.spec,
      startAt: group.startAt,
      endAt: group.endAt,
      runs: group.schedules,
      memoryMb: group.memoryMb,
    }));
    const later = queued.map((load) => ({
      at: load.at,
      runs: load.runs,
      memoryMb: load.runs * requestOf(load),
    }));
    return forecastLoad({ ...window, notBeforeMs: now }, groups, later);
  }
}

function requestOf(group: { memoryMb: number; memoryRequestMb: number | null }): number {
  return memoryRequestOf(
    group.memoryRequestMb === null
      ? { memoryMb: group.memoryMb }
      : { memoryMb: group.memoryMb, memoryRequestMb: group.memoryRequestMb },
  );
}
