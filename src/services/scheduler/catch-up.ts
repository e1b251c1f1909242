// What a scheduler does with a schedule it (re)loads: from the schedule's watermark (the first tick not fired
// yet) and the present, which missed ticks to fire late under the schedule's catch-up policy, and which tick
// is the next regular one. Pure: the engine applies the plan.
//
// A tick less than `lateGraceMs` old is not missed, only late: it fires as a regular tick. Older ones are
// missed: `skip` drops them, `latest` keeps the most recent within the window, `all` keeps the most recent
// `maxRuns` within the window.

import { nextFireAfter, ticksBefore } from '../../core/schedule-time.js';
import { timeSpecOf } from '../../core/schedule.js';
import type { ScheduleTiming } from '../../ports/store/schedule-timing-store.js';

export interface ResumePlan {
  /** Missed ticks to fire late, oldest first. */
  catchup: number[];
  /** The first regular tick, or null when the schedule has no more. */
  next: number | null;
}

export function planResume(timing: ScheduleTiming, now: number, lateGraceMs: number): ResumePlan {
  const watermark = timing.nextFireAt;
  const endAt = timing.endAt ?? Infinity;
  if (watermark === null || watermark > endAt) return { catchup: [], next: null };
  const spec = timeSpecOf(timing.spec);
  const missedBefore = now - lateGraceMs;
  if (watermark >= missedBefore) return { catchup: [], next: watermark };

  const first = nextFireAfter(spec, missedBefore - 1);
  const next = first !== null && first <= endAt ? first : null;
  const { mode, windowSeconds, maxRuns } = timing.catchup;
  if (mode === 'skip') return { catchup: [], next };
  const from = Math.max(watermark, now - windowSeconds * 1000);
  const before = Math.min(missedBefore, endAt + 1);
  const catchup = ticksBefore(spec, before, from, mode === 'latest' ? 1 : maxRuns);
  return { catchup, next };
}
