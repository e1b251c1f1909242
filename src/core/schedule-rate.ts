// Schedule rates: how many runs a schedule makes per second on average, which is what it adds to its tenant's
// run rate. A tenant's live schedules together may make at most the plan's `runsPerSecond`: a schedule is
// admitted (created, resumed, or given a faster timing) only while the sum still fits (docs/scheduler.md).
//
// - every: one tick per interval, 1000 / intervalMs per second.
// - cron: the ticks of one average day, over a day's seconds. A cron's fields are independent but for the
//   day ones, so a day holds |seconds| × |minutes| × |hours| ticks on each matching day, and the matching days
//   are counted over four whole years (1,461 days, one of them 29 February): "on the 31st", "on Fridays" and
//   "on 29 February" average over the months and years they skip. Each field is counted by the cron library
//   itself (a cron of that field alone), so the count follows exactly the rules the scheduler fires by.
//   Time zones and DST move ticks, not their average, and are left out (the counting is in UTC).

import { compileNextFire, type TimeSpec } from './schedule-time.js';

const SECOND_MS = 1000;
const MINUTE_MS = 60 * SECOND_MS;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
/** 2001-01-01T00:00Z to 2005-01-01T00:00Z: four years, 2004 a leap year. */
const SPAN_START = Date.UTC(2001, 0, 1);
const SPAN_DAYS = 4 * 365 + 1;
/** Rates are compared with this slack, so that ten `every: 10s` schedules fit a plan of 1/s exactly. */
const EPSILON = 1e-9;

const cronRates = new Map<string, number>();
const CRON_RATES_KEPT = 10_000;

/** The average number of ticks per second of a time spec. */
export function averageTicksPerSecond(spec: TimeSpec): number {
  if (spec.kind === 'every') return SECOND_MS / spec.intervalMs;
  const known = cronRates.get(spec.expression);
  if (known !== undefined) return known;
  const rate = cronRate(spec.expression);
  if (cronRates.size >= CRON_RATES_KEPT) cronRates.clear();
  cronRates.set(spec.expression, rate);
  return rate;
}

/** Whether schedules making `ratePerSecond` runs per second in all fit a plan of `runsPerSecond`. */
export function fitsRunRate(ratePerSecond: number, runsPerSecond: number): boolean {
  return ratePerSecond <= runsPerSecond + EPSILON;
}

function cronRate(expression: string): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`not a 6-field cron expression: ${expression}`);
  const [second, minute, hour, day, month, weekday] = fields as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const seconds = ticksIn(`${second} * * * * *`, MINUTE_MS);
  const minutes = ticksIn(`0 ${minute} * * * *`, HOUR_MS);
  const hours = ticksIn(`0 0 ${hour} * * *`, DAY_MS);
  const everyDay = [day, month, weekday].every((field) => field === '*' || field === '?');
  const days = everyDay ? SPAN_DAYS : ticksIn(`0 0 0 ${day} ${month} ${weekday}`, SPAN_DAYS * DAY_MS);
  return (seconds * minutes * hours * days) / ((SPAN_DAYS * DAY_MS) / SECOND_MS);
}

/** Ticks of the cron in [SPAN_START, SPAN_START + lengthMs), in UTC. */
function ticksIn(expression: string, lengthMs: number): number {
  const next = compileNextFire({ kind: 'cron', expression, timezone: 'UTC' });
  const end = SPAN_START + lengthMs;
  let count = 0;
  for (let at = next(SPAN_START - 1); at !== null && at < end; at = next(at)) count++;
  return count;
}
