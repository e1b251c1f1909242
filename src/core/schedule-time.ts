// Schedule time: when a schedule's ticks fall. Pure computation over a cron library (croner) and the IANA time
// zone data built into the runtime (Intl); no I/O and no clock — callers pass the instants.
//
// Specs:
// - cron: 6 fields with seconds (`*/5 * * * * *`), or the classic 5 fields (seconds = 0), in an IANA time zone.
//   Day of month and weekday follow crontab(5), and Quartz's `0/15` is a step; see cron-pattern.ts.
// - every: a fixed interval (`30s`, `5m`, `1h`, `1h30m`; at least 1 s), its ticks anchored at an instant, so
//   they stay on the same grid across restarts: anchor + k × interval.
//
// The DST rule (cron specs; intervals are absolute and never notice DST), as in Vixie/ISC cron:
// - Spring forward: a fixed-time tick whose wall-clock time does not exist that day fires at the first instant
//   after the gap (02:30 on 2026-03-08 in America/New_York fires at 03:00 EDT). Ticks that fall on the same
//   instant fire once. A periodic tick (a wildcard or step in second, minute or hour) in the gap is skipped.
// - Fall back: a tick at a fixed wall-clock time fires once, at its first occurrence (01:30 EDT, not again at
//   01:30 EST). A tick whose second, minute or hour is a wildcard or step fires at every instant that matches,
//   in both occurrences of the repeated hour. Lists and ranges (`30 1,13 * * *`) are fixed times.
// Preview annotates such fires, so the rule is visible before it matters.

import { Cron } from 'croner';
import { toCronerPattern } from './cron-pattern.js';
import { HourglassError, invalid } from './errors.js';

export type TimeSpec =
  | { kind: 'cron'; expression: string; timezone: string }
  | { kind: 'every'; intervalMs: number; anchorMs: number };

export type DstNote = 'moved_out_of_gap' | 'repeated_time_first' | 'repeated_time_second';

export interface Fire {
  at: number;
  dst: DstNote | null;
}

const MIN_INTERVAL_MS = 1000;
const MAX_INTERVAL_MS = 366 * 24 * 3600 * 1000;
const EVERY_PATTERN = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Throws a validation error naming `timezone` unless it is an IANA zone this runtime knows. */
export function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw invalid(
      'timezone',
      `${JSON.stringify(timezone)} is not an IANA time zone (for example Europe/Berlin)`,
    );
  }
}

export function parseCron(expression: string, timezone = 'UTC'): TimeSpec {
  checkTimezone(timezone);
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) {
    throw invalid(
      'cron',
      `must have 6 fields (second minute hour day month weekday) or 5, not ${fields.length}`,
    );
  }
  const normalized = (fields.length === 5 ? ['0', ...fields] : fields).join(' ');
  try {
    cronOf(normalized, timezone, expression);
  } catch (error) {
    if (error instanceof HourglassError) throw error;
    throw invalid(
      'cron',
      `${JSON.stringify(expression)} is not a valid cron expression: ${(error as Error).message}`,
    );
  }
  return { kind: 'cron', expression: normalized, timezone };
}

export function parseEvery(text: string, anchorMs: number): TimeSpec {
  const match = EVERY_PATTERN.exec(text.trim());
  const [d, h, m, s] = (match?.slice(1) ?? []).map((part) => Number(part ?? 0));
  const intervalMs = ((((d ?? 0) * 24 + (h ?? 0)) * 60 + (m ?? 0)) * 60 + (s ?? 0)) * 1000;
  if (match === null || text.trim() === '' || !Number.isFinite(intervalMs)) {
    throw invalid('every', `${JSON.stringify(text)} is not an interval like "30s", "5m", "1h" or "1h30m"`);
  }
  if (intervalMs < MIN_INTERVAL_MS) throw invalid('every', 'must be at least 1s');
  if (intervalMs > MAX_INTERVAL_MS) throw invalid('every', 'must be at most 366d');
  return { kind: 'every', intervalMs, anchorMs };
}

/** The first tick strictly after `afterMs`, or null if there is none. */
export function nextFireAfter(spec: TimeSpec, afterMs: number): number | null {
  if (spec.kind === 'every') {
    if (afterMs < spec.anchorMs) return spec.anchorMs;
    return spec.anchorMs + (Math.floor((afterMs - spec.anchorMs) / spec.intervalMs) + 1) * spec.intervalMs;
  }
  return cronOf(spec.expression, spec.timezone).nextRun(new Date(afterMs))?.getTime() ?? null;
}

/**
 * A reusable "next tick after" for one spec: the cron expression is parsed once, and the last answer is
 * remembered, since the scheduler asks the same question for every schedule that shares the spec and tick.
 */
export function compileNextFire(spec: TimeSpec): (afterMs: number) => number | null {
  if (spec.kind === 'every') return (afterMs) => nextFireAfter(spec, afterMs);
  const cron = cronOf(spec.expression, spec.timezone);
  let lastAfter = NaN;
  let lastAnswer: number | null = null;
  return (afterMs) => {
    if (afterMs !== lastAfter) {
      lastAfter = afterMs;
      lastAnswer = cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    }
    return lastAnswer;
  };
}

/** Up to `count` ticks strictly before `beforeMs` and at or after `fromMs`, oldest first. */
export function ticksBefore(spec: TimeSpec, beforeMs: number, fromMs: number, count: number): number[] {
  if (count <= 0 || beforeMs <= fromMs) return [];
  if (spec.kind === 'every') {
    const ticks: number[] = [];
    const lastIndex = Math.floor((beforeMs - 1 - spec.anchorMs) / spec.intervalMs);
    for (let k = lastIndex; k >= 0 && ticks.length < count; k--) {
      const at = spec.anchorMs + k * spec.intervalMs;
      if (at < fromMs) break;
      ticks.push(at);
    }
    return ticks.reverse();
  }
  // croner includes a run earlier in the reference's own second; ask one more and filter exactly.
  return cronOf(spec.expression, spec.timezone)
    .previousRuns(count + 1, new Date(beforeMs))
    .map((date) => date.getTime())
    .filter((at) => at < beforeMs && at >= fromMs)
    .slice(0, count)
    .reverse();
}

/** The next `count` ticks strictly after `afterMs` (and before `endMs`), each with its DST note. */
export function previewFires(spec: TimeSpec, afterMs: number, count: number, endMs = Infinity): Fire[] {
  const fires: Fire[] = [];
  const cron = spec.kind === 'cron' ? cronOf(spec.expression, spec.timezone) : null;
  for (let at = nextFireAfter(spec, afterMs); at !== null && at < endMs && fires.length < count;) {
    fires.push({ at, dst: cron && spec.kind === 'cron' ? dstNote(cron, spec.timezone, at) : null });
    at = nextFireAfter(spec, at);
  }
  return fires;
}

function cronOf(expression: string, timezone: string, shown = expression): Cron {
  // domAndDow off (croner's OR, as crontab(5) when both day fields are restricted); toCronerPattern marks the
  // weekday for AND where crontab(5) has one field unrestricted, and turns Quartz's `a/n` into a range.
  // fixedTimeRule no-wildcard: the DST rule's fixed times include lists and ranges (`30 1,13 * * *`), as in
  // Vixie cron; croner's default counts only single values, and fired such a tick twice at fall back.
  return new Cron(toCronerPattern(expression, shown), {
    timezone,
    paused: true,
    domAndDow: false,
    fixedTimeRule: 'no-wildcard',
  });
}

function dstNote(cron: Cron, timezone: string, at: number): DstNote | null {
  if (!cron.match(new Date(at))) return 'moved_out_of_gap';
  // A repeated wall-clock time exists only next to a fall-back transition: look three hours either way.
  const before = offsetMinutes(timezone, at - 3 * 3600_000);
  const after = offsetMinutes(timezone, at + 3 * 3600_000);
  if (after >= before) return null;
  const shiftMs = (before - after) * 60_000;
  const wall = wallClock(timezone, at);
  if (wallClock(timezone, at + shiftMs) === wall) return 'repeated_time_first';
  if (wallClock(timezone, at - shiftMs) === wall) return 'repeated_time_second';
  return null;
}

function wallClock(timezone: string, at: number): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).format(new Date(at));
}

/** UTC offset of the zone at an instant, in minutes (New York in winter: −300). */
export function offsetMinutes(timezone: string, at: number): number {
  const name = new Intl.DateTimeFormat('en-US', { timeZone: timezone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(at))
    .find((part) => part.type === 'timeZoneName')?.value;
  const match = /GMT([+-])(\d{2}):(\d{2})/.exec(name ?? '');
  if (match === null) return 0; // "GMT" alone: UTC
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === '-' ? -minutes : minutes;
}
