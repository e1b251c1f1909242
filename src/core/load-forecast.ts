// The load forecast: how many runs the known schedules (and one-off runs queued for later) will start in each
// step of a window, and the memory they request. Pure computation over groups of schedules that share one
// timing, so its cost follows the number of distinct specs and their ticks, not the number of schedules.
//
// Ticks are those of schedule-time.ts (the preview's), counted at their nominal time: a schedule's jitter, a
// fixed offset below jitterSeconds, is not applied. Agreement with croner, which the scheduler and the
// preview use, is kept by using croner itself wherever the fast path below could differ:
// - intervals are arithmetic (anchor + k × interval);
// - a cron spec whose fields are numbers, names, ranges, steps and lists is expanded by hand over stretches
//   of constant UTC offset (a day of wall-clock time is then a day of UTC, and every tick is a wall-clock
//   match), with croner's day-of-month and weekday rule (see cron-pattern.ts);
// - every other cron spec, and every spec within a few hours of a UTC offset change (where the DST rule moves
//   or drops ticks), is enumerated by croner (compileNextFire), tick by tick.

import { toCronerPattern } from './cron-pattern.js';
import { forecastKeyOf } from './forecast-share.js';
import { compileNextFire, type TimeSpec } from './schedule-time.js';

/** Schedules that share a timing, with their number and the memory their runs request in all. */
export interface ForecastGroup {
  spec: TimeSpec;
  /** Inclusive bounds of its ticks; null for unbounded. */
  startAt: number | null;
  endAt: number | null;
  /** Runs each tick makes: the number of schedules in the group. */
  runs: number;
  /** Memory, in MiB, those runs request together. */
  memoryMb: number;
}

/** Runs queued for later (one-off runs, retries after a backoff) due at one instant. */
export interface QueuedLoad {
  at: number;
  runs: number;
  memoryMb: number;
}

export interface ForecastWindow {
  /** Steps start at `fromMs`, `stepMs` apart; the last one ends at `toMs` (it may be shorter). */
  fromMs: number;
  toMs: number;
  stepMs: number;
  /** No tick before this instant is counted (the past has fired already); `fromMs` when absent. */
  notBeforeMs?: number;
}

export interface ForecastStep {
  at: number;
  runs: number;
  memoryMb: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** Around an offset change, croner decides: the DST rule reaches at most a few hours from the change. */
const TRANSITION_MARGIN_MS = 4 * HOUR_MS;

export function forecastLoad(
  window: ForecastWindow,
  groups: readonly ForecastGroup[],
  queued: readonly QueuedLoad[] = [],
): ForecastStep[] {
  const { fromMs, toMs, stepMs } = window;
  const steps = Math.max(0, Math.ceil((toMs - fromMs) / stepMs));
  const runs = new Float64Array(steps);
  const memory = new Float64Array(steps);
  const lo = Math.max(fromMs, window.notBeforeMs ?? fromMs);
  const add = (at: number, count: number, mb: number) => {
    const index = Math.floor((at - fromMs) / stepMs);
    runs[index] = (runs[index] ?? 0) + count;
    memory[index] = (memory[index] ?? 0) + mb;
  };
  // Groups of one spec are merged, so each spec's ticks are found once.
  for (const [, merged] of mergeBySpec(groups)) {
    const start = Math.max(lo, merged.startAt ?? -Infinity);
    const end = Math.min(toMs, merged.endAt === null ? Infinity : merged.endAt + 1);
    if (start >= end) continue;
    forEachTick(merged.spec, start, end, (at) => add(at, merged.runs, merged.memoryMb));
  }
  for (const load of queued) {
    if (load.at >= lo && load.at < toMs) add(load.at, load.runs, load.memoryMb);
  }
  return Array.from({ length: steps }, (_, i) => ({
    at: fromMs + i * stepMs,
    runs: runs[i] ?? 0,
    memoryMb: memory[i] ?? 0,
  }));
}

function mergeBySpec(groups: readonly ForecastGroup[]): Map<string, ForecastGroup> {
  const merged = new Map<string, ForecastGroup>();
  for (const group of groups) {
    const key = forecastKeyOf(group);
    const seen = merged.get(key);
    if (seen === undefined) merged.set(key, { ...group });
    else {
      seen.runs += group.runs;
      seen.memoryMb += group.memoryMb;
    }
  }
  return merged;
}

/** Calls `emit` with every tick of the spec in [startMs, endMs), in order. */
export function forEachTick(
  spec: TimeSpec,
  startMs: number,
  endMs: number,
  emit: (at: number) => void,
): void {
  if (spec.kind === 'every') {
    const first = Math.max(0, Math.ceil((startMs - spec.anchorMs) / spec.intervalMs));
    for (let at = spec.anchorMs + first * spec.intervalMs; at < endMs; at += spec.intervalMs) emit(at);
    return;
  }
  const fields = wallClockFields(spec.expression);
  if (fields === null) return enumerateWithCroner(spec, startMs, endMs, emit);
  for (const stretch of offsetStretches(spec.timezone, startMs, endMs)) {
    if (stretch.offsetMs === null) enumerateWithCroner(spec, stretch.startMs, stretch.endMs, emit);
    else expandDaily(fields, stretch.offsetMs, stretch.startMs, stretch.endMs, emit);
  }
}

function enumerateWithCroner(
  spec: TimeSpec,
  startMs: number,
  endMs: number,
  emit: (at: number) => void,
): void {
  const next = compileNextFire(spec);
  for (let at = next(startMs - 1); at !== null && at < endMs; at = next(at)) emit(at);
}

interface WallClockFields {
  seconds: number[];
  minutes: number[];
  hours: number[];
  /** Whether a local day (its day of month, month, weekday) has ticks; null when every day has. */
  day: ((dayOfMonth: number, month: number, weekday: number) => boolean) | null;
}

const wallClockCache = new Map<string, WallClockFields | null>();
const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * The fields of a spec made of numbers, names, `*`, ranges, steps and lists, as croner reads them after
 * cron-pattern.ts (domAndDow off): a weekday marked `+` ANDs with the day of month, a weekday `*` leaves the
 * day of month alone to decide, and two restricted fields OR. Null for anything else (L, W, #…).
 */
function wallClockFields(expression: string): WallClockFields | null {
  if (wallClockCache.has(expression)) return wallClockCache.get(expression) ?? null;
  let fields: WallClockFields | null = null;
  try {
    const [second, minute, hour, dom, month, weekday] = toCronerPattern(expression).split(' ');
    if (second && minute && hour && dom && month && weekday)
      fields = parseFields(second, minute, hour, dom, month, weekday);
  } catch {
    fields = null; // croner will say what it makes of it
  }
  if (wallClockCache.size > 100_000) wallClockCache.clear();
  wallClockCache.set(expression, fields);
  return fields;
}

function parseFields(
  second: string,
  minute: string,
  hour: string,
  dom: string,
  month: string,
  weekday: string,
): WallClockFields | null {
  const seconds = valuesOf(second, 0, 59);
  const minutes = valuesOf(minute, 0, 59);
  const hours = valuesOf(hour, 0, 23);
  const and = weekday.startsWith('+');
  const unrestricted = (field: string) => field === '*' || field === '?';
  const domField = dom === '?' ? '*' : dom;
  const weekdayField = and ? weekday.slice(1) : weekday === '?' ? '*' : weekday;
  const days = valuesOf(domField, 1, 31);
  const months = valuesOf(named(month, MONTH_NAMES, 1), 1, 12);
  const weekdayValues = valuesOf(named(weekdayField, WEEKDAY_NAMES, 0), 0, 7);
  if (!seconds || !minutes || !hours || !days || !months || !weekdayValues) return null;
  const daySet = new Set(days);
  const monthSet = new Set(months);
  const weekdaySet = new Set(weekdayValues.map((w) => (w === 7 ? 0 : w)));
  const everyDay = unrestricted(domField) && unrestricted(month) && unrestricted(weekdayField);
  const day = everyDay
    ? null
    : (dayOfMonth: number, monthOfYear: number, weekdayOf: number): boolean => {
        if (!monthSet.has(monthOfYear)) return false;
        if (and) return daySet.has(dayOfMonth) && weekdaySet.has(weekdayOf);
        if (unrestricted(weekdayField)) return daySet.has(dayOfMonth);
        return daySet.has(dayOfMonth) || weekdaySet.has(weekdayOf);
      };
  return { seconds, minutes, hours, day };
}

/** Names (MON, jan) in a field replaced by their numbers. */
function named(field: string, names: readonly string[], first: number): string {
  return field.replace(/[A-Za-z]{3}/g, (name) => {
    const index = names.indexOf(name.toUpperCase());
    return index < 0 ? name : String(index + first);
  });
}

const ITEM = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/;

/** The sorted values of a field of numbers, `*`, ranges, steps and lists; null for anything else. */
function valuesOf(field: string, min: number, max: number): number[] | null {
  const values = new Set<number>();
  for (const item of field.split(',')) {
    const match = ITEM.exec(item);
    if (match === null) return null;
    const [, whole, fromText, toText, stepText] = match;
    const from = whole === '*' ? min : Number(fromText);
    const to = whole === '*' ? max : toText !== undefined ? Number(toText) : stepText ? max : from;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (from < min || from > to || to > max || step < 1) return null;
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return [...values].sort((a, b) => a - b);
}

function expandDaily(
  fields: WallClockFields,
  offsetMs: number,
  startMs: number,
  endMs: number,
  emit: (at: number) => void,
): void {
  const firstDay = Math.floor((startMs + offsetMs) / DAY_MS);
  const lastDay = Math.floor((endMs - 1 + offsetMs) / DAY_MS);
  for (let day = firstDay; day <= lastDay; day++) {
    if (fields.day !== null) {
      const date = new Date(day * DAY_MS);
      if (!fields.day(date.getUTCDate(), date.getUTCMonth() + 1, date.getUTCDay())) continue;
    }
    const midnight = day * DAY_MS - offsetMs;
    for (const h of fields.hours) {
      const hour = midnight + h * HOUR_MS;
      if (hour + HOUR_MS <= startMs || hour >= endMs) continue;
      for (const m of fields.minutes) {
        const minute = hour + m * 60_000;
        for (const s of fields.seconds) {
          const at = minute + s * 1000;
          if (at >= startMs && at < endMs) emit(at);
        }
      }
    }
  }
}

interface OffsetStretch {
  startMs: number;
  endMs: number;
  /** The zone's constant UTC offset over the stretch; null near an offset change (croner's to decide). */
  offsetMs: number | null;
}

const stretchCache = new Map<string, OffsetStretch[]>();

/** [startMs, endMs) cut into stretches of one UTC offset, and the hours around each change of it. */
export function offsetStretches(timezone: string, startMs: number, endMs: number): OffsetStretch[] {
  // Every spec of a zone in one forecast asks for the same window: its offsets are read once.
  const key = `${timezone}|${startMs}|${endMs}`;
  let stretches = stretchCache.get(key);
  if (stretches === undefined) {
    if (stretchCache.size > 10_000) stretchCache.clear();
    stretches = findStretches(timezone, startMs, endMs);
    stretchCache.set(key, stretches);
  }
  return stretches;
}

function findStretches(timezone: string, startMs: number, endMs: number): OffsetStretch[] {
  const offset = offsetReader(timezone);
  const firstHour = Math.floor((startMs - TRANSITION_MARGIN_MS) / HOUR_MS) * HOUR_MS;
  const unsafe: [number, number][] = [];
  let previous = offset(firstHour);
  for (let at = firstHour + HOUR_MS; at <= endMs + TRANSITION_MARGIN_MS; at += HOUR_MS) {
    const current = offset(at);
    if (current !== previous) {
      const from = at - HOUR_MS - TRANSITION_MARGIN_MS;
      const to = at + TRANSITION_MARGIN_MS;
      const last = unsafe[unsafe.length - 1];
      if (last !== undefined && last[1] >= from) last[1] = to;
      else unsafe.push([from, to]);
    }
    previous = current;
  }
  const stretches: OffsetStretch[] = [];
  let cursor = startMs;
  for (const [from, to] of unsafe) {
    if (to <= cursor || from >= endMs) continue;
    if (from > cursor) stretches.push({ startMs: cursor, endMs: from, offsetMs: offset(cursor) });
    stretches.push({ startMs: Math.max(cursor, from), endMs: Math.min(endMs, to), offsetMs: null });
    cursor = Math.min(endMs, to);
  }
  if (cursor < endMs) stretches.push({ startMs: cursor, endMs, offsetMs: offset(cursor) });
  return stretches;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's UTC offset at an instant, in ms, with one formatter per zone (making one is the slow part). */
function offsetReader(timezone: string): (at: number) => number {
  let format = formatters.get(timezone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' });
    formatters.set(timezone, format);
  }
  const zone = format;
  return (at) => {
    const name = zone.formatToParts(new Date(at)).find((part) => part.type === 'timeZoneName')?.value;
    const match = /GMT([+-])(\d{2}):(\d{2})(?::(\d{2}))?/.exec(name ?? '');
    if (match === null) return 0; // "GMT" alone: UTC
    const ms = ((Number(match[2]) * 60 + Number(match[3])) * 60 + Number(match[4] ?? 0)) * 1000;
    return match[1] === '-' ? -ms : ms;
  };
}
