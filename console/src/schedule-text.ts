// Schedules in words: the timing ("At 02:30, only on Monday", "Every 15 minutes"), daylight-saving notes and
// the verdicts of the ticks explanation, as the schedule pages say them.

import cronstrue from 'cronstrue';
import type { DstNote, Schedule, TickVerdict } from './api';

/** The schedule's timing in a sentence: cronstrue for a cron (6 fields, seconds first), ours for `every`. */
export function describeTiming(schedule: Pick<Schedule, 'cron' | 'every' | 'timezone'>): string {
  if (schedule.every !== null) return describeEvery(schedule.every);
  if (schedule.cron === null) return 'No timing';
  return `${describeCron(schedule.cron)} (${schedule.timezone ?? 'UTC'})`;
}

export function describeCron(cron: string): string {
  try {
    return cronstrue.toString(cron, { use24HourTimeFormat: true, verbose: false });
  } catch {
    // A dialect cronstrue does not read (a `+` weekday, say): the expression itself is the truth.
    return `On the cron expression ${cron}`;
  }
}

const UNITS: Record<string, [string, string]> = {
  s: ['second', 'seconds'],
  m: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  d: ['day', 'days'],
};

/** `30s` → "Every 30 seconds", `1h30m` → "Every 1 hour 30 minutes", `1d` → "Every day". */
export function describeEvery(every: string): string {
  const parts = [...every.matchAll(/(\d+)([smhd])/g)].map(([, n = '', unit = 's']) => {
    const [one, many] = UNITS[unit] ?? ['', ''];
    return { n: Number(n), one, many };
  });
  if (parts.length === 0) return `Every ${every}`;
  const [only] = parts;
  if (parts.length === 1 && only !== undefined && only.n === 1) return `Every ${only.one}`;
  return `Every ${parts.map((p) => `${p.n} ${p.n === 1 ? p.one : p.many}`).join(' ')}`;
}

export function dstText(note: DstNote | null): string | null {
  switch (note) {
    case 'moved_out_of_gap':
      return 'Moved out of the DST gap: this wall-clock time does not exist that day, so it runs at the first minute after the clocks spring forward';
    case 'repeated_time_first':
      return 'The first of a repeated wall-clock time: the clocks fall back afterwards';
    case 'repeated_time_second':
      return 'The second of a repeated wall-clock time, after the clocks fell back';
    default:
      return null;
  }
}

const VERDICTS: Record<TickVerdict, string> = {
  fired: 'Ran',
  fired_late: 'Ran late (caught up)',
  skipped: 'Skipped by the overlap policy',
  outside_window: 'Outside the schedule’s start and end',
  paused: 'Not run: paused',
  not_yet_due: 'Not due yet',
  pending: 'Due, not fired yet',
  unknown: 'Unknown (before the last change)',
  dropped: 'Missed, not caught up',
  manual: 'Run by hand',
};

export const verdictText = (verdict: TickVerdict): string => VERDICTS[verdict] ?? verdict;

/** An instant as the reader's clock shows it, with the ISO time for a tooltip. */
export function localTime(iso: string): string {
  return new Date(iso).toLocaleString();
}
