// A schedule's watermark — the nominal time of its first tick not fired yet — is kept in two places:
//
// - per schedule, written when the schedule changes (created, timing changed, resumed) or ends;
// - per partition, written by the partition's owner with every batch it fires: the partition's *frontier*,
//   "every tick due at or before `firedThrough` is fired, for each schedule whose last change I had seen
//   (change sequence ≤ `changeSeq`)".
//
// Read together, the watermark is the later of the schedule's own and its first tick due after the frontier.
// Firing thus writes one row per partition, not one per schedule. The frontier only ever vouches for what was
// fired, so a watermark read this way is never past a tick that was not; it may be behind one that was (a
// frontier held back by a catch-up), and then the tick's derived run id makes a second firing a no-op.

import { nextFireAfter } from './schedule-time.js';
import { jitterOffsetMs, timeSpecOf, type Schedule, type ScheduleSpec } from './schedule.js';

export interface PartitionFrontier {
  /** Every tick due (nominal time plus jitter) at or before this was fired… */
  firedThrough: number;
  /** …for each schedule whose change sequence is at most this. */
  changeSeq: number;
}

export type StoredWatermark = Pick<Schedule, 'id' | 'spec' | 'jitterSeconds' | 'endAt' | 'nextFireAt'> & {
  changeSeq: number;
};

/** The first tick of `spec` strictly after `afterMs`; callers loading many schedules pass a memoised one. */
export type NextTickAfter = (spec: ScheduleSpec, afterMs: number) => number | null;

const nextTickAfter: NextTickAfter = (spec, afterMs) => nextFireAfter(timeSpecOf(spec), afterMs);

/** The watermark of a schedule read with its partition's frontier (undefined: none recorded). */
export function resolveWatermark(
  schedule: StoredWatermark,
  frontier: PartitionFrontier | undefined,
  nextAfter: NextTickAfter = nextTickAfter,
): number | null {
  const stored = schedule.nextFireAt;
  if (stored === null || frontier === undefined || schedule.changeSeq > frontier.changeSeq) return stored;
  const jitterMs = jitterOffsetMs(schedule.id, schedule.jitterSeconds);
  if (stored + jitterMs > frontier.firedThrough) return stored;
  const next = nextAfter(schedule.spec, frontier.firedThrough - jitterMs);
  if (next === null || (schedule.endAt !== null && next > schedule.endAt)) return null;
  return Math.max(next, stored);
}

/**
 * A "next tick after" that remembers its answers for one large read: after a frontier moved, the schedules of a
 * partition that share a spec (and jitter) all ask the same question.
 */
export function memoisedNextTick(): NextTickAfter {
  const answers = new Map<string, number | null>();
  return (spec: ScheduleSpec, afterMs: number) => {
    // An interval's next tick is arithmetic: cheaper than the key.
    if (spec.kind === 'every') return nextFireAfter(timeSpecOf(spec), afterMs);
    const key = `${spec.timezone}|${spec.cron}|${afterMs}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = nextFireAfter(timeSpecOf(spec), afterMs);
      answers.set(key, answer);
    }
    return answer;
  };
}
