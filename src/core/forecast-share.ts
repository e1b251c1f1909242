// What one schedule adds to the load forecast's counts (core/load-forecast.ts), and which schedules share a
// count. The stores keep, per tenant and forecast key, the number of schedules and the memory their runs
// request, changed in the same transaction as every schedule write, so a forecast reads one row per
// distinct timing instead of every schedule.
//
// The key holds everything that moves a tick as the forecast counts it: the spec (a cron expression and its
// zone, or an interval and its anchor) and the inclusive bounds. Jitter is not in it, since the forecast
// counts ticks at their nominal time; the job is not in it, since what a schedule's runs bring besides their
// number is the memory they request, which is summed. Paused and deleted schedules add nothing.

import { memoryRequestOf, type JobResources } from './job.js';
import type { TimeSpec } from './schedule-time.js';

/** The timing of a forecast's group of schedules. */
export interface ForecastTiming {
  spec: TimeSpec;
  /** Inclusive bounds of its ticks; null for unbounded. */
  startAt: number | null;
  endAt: number | null;
}

/** What a set of schedules of one timing adds: their number and the memory their runs request together. */
export interface ForecastShare {
  key: string;
  timing: ForecastTiming;
  schedules: number;
  memoryMb: number;
}

/** Schedules with equal keys tick at the same instants (cron text, zone, interval, anchor, bounds). */
export function forecastKeyOf(timing: ForecastTiming): string {
  const { spec } = timing;
  const ticks =
    spec.kind === 'cron' ? `c|${spec.expression}|${spec.timezone}` : `e|${spec.intervalMs}|${spec.anchorMs}`;
  return `${ticks}|${timing.startAt}|${timing.endAt}`;
}

/** Whether a schedule's ticks are counted: live (not deleted) and not paused. */
export function countsInForecast(schedule: { paused: boolean; deleted: boolean }): boolean {
  return !schedule.deleted && !schedule.paused;
}

/**
 * The share of `schedules` schedules of one timing whose job asks for `resources` (a negative count takes
 * them away). Null when they are not counted.
 */
export function forecastShareOf(
  timing: ForecastTiming,
  state: { paused: boolean; deleted: boolean },
  resources: JobResources,
  schedules = 1,
): ForecastShare | null {
  if (!countsInForecast(state)) return null;
  return {
    key: forecastKeyOf(timing),
    timing,
    schedules,
    memoryMb: schedules * memoryRequestOf(resources),
  };
}

/** What a job's change of memory moves for `schedules` of its counted schedules of one timing. */
export function memoryChangeShare(
  timing: ForecastTiming,
  schedules: number,
  before: JobResources,
  after: JobResources,
): ForecastShare | null {
  const delta = schedules * (memoryRequestOf(after) - memoryRequestOf(before));
  if (delta === 0) return null;
  return { key: forecastKeyOf(timing), timing, schedules: 0, memoryMb: delta };
}
