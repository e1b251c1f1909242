// A schedule as a request describes it → the Schedule the store keeps: defaults filled, every rule checked with
// an error naming the field, and the watermark (`nextFireAt`) placed. Pure: the caller passes `now` and the
// tenant's plan. Used for creation (over no schedule) and for PATCH (over the current one).

import { HourglassError, invalid } from '../core/errors.js';
import {
  CATCHUP_BOUNDS,
  CATCHUP_MODES,
  MAX_JITTER_SECONDS,
  OVERLAP_POLICIES,
  timeSpecOf,
  type CatchupPolicy,
  type OverlapPolicy,
  type Schedule,
  type ScheduleSpec,
} from '../core/schedule.js';
import { nextFireAfter, parseCron, parseEvery } from '../core/schedule-time.js';
import type { PlanLimits } from '../core/tenant.js';
import { parseInstant } from './input-time.js';

export interface ScheduleInput {
  cron?: string;
  /** IANA zone of a cron schedule; UTC by default. */
  timezone?: string;
  every?: string;
  /** ISO 8601; null clears it (in a PATCH). */
  startAt?: string | null;
  endAt?: string | null;
  paused?: boolean;
  overlapPolicy?: OverlapPolicy;
  catchup?: Partial<CatchupPolicy>;
  jitterSeconds?: number;
  /** Overrides for its runs; null (or omitted at creation) means the job's own. */
  args?: string[] | null;
  env?: Record<string, string> | null;
}

/** Ticks looked at to find a cron expression's closest two (its effective interval). */
const CRON_GAP_SAMPLE = 20;

/**
 * `input` applied over `base` (a new schedule's defaults, or the current schedule for a PATCH). A change of
 * timing, and a resume, place the watermark at the first tick from now: ticks missed while paused, or under
 * the old timing, are not caught up. The version is the caller's to raise.
 */
export function applyScheduleInput(
  base: Omit<Schedule, 'spec'> & { spec: ScheduleSpec | null },
  input: ScheduleInput,
  limits: PlanLimits,
  now: number,
): Schedule {
  const startAt = input.startAt === undefined ? base.startAt : instantOrNull('startAt', input.startAt);
  const endAt = input.endAt === undefined ? base.endAt : instantOrNull('endAt', input.endAt);
  if (startAt !== null && endAt !== null && endAt <= startAt) {
    throw invalid('endAt', 'must be after startAt');
  }
  const spec = resolveSpec(base.spec, input, anchorOf(startAt, base.createdAt));
  const timingChanged =
    base.spec === null ||
    JSON.stringify(spec) !== JSON.stringify(base.spec) ||
    startAt !== base.startAt ||
    endAt !== base.endAt;
  if (timingChanged) checkInterval(spec, limits, now);
  const schedule: Schedule = {
    ...base,
    spec,
    startAt,
    endAt,
    paused: input.paused ?? base.paused,
    overlapPolicy: input.overlapPolicy ?? base.overlapPolicy,
    catchup: resolveCatchup({ ...base.catchup, ...input.catchup }),
    jitterSeconds: resolveJitter(input.jitterSeconds ?? base.jitterSeconds),
    args: input.args === undefined ? base.args : input.args,
    env: input.env === undefined ? base.env : input.env,
    updatedAt: now,
  };
  checkOverlap(schedule.overlapPolicy);
  const resumed = base.paused && !schedule.paused;
  if (timingChanged || resumed) schedule.nextFireAt = firstTickFrom(schedule, now);
  return schedule;
}

/** The first tick at or after max(now, startAt), or null when there is none before `endAt`. */
export function firstTickFrom(
  schedule: Pick<Schedule, 'spec' | 'startAt' | 'endAt'>,
  now: number,
): number | null {
  const from = Math.max(now, schedule.startAt ?? now);
  const at = nextFireAfter(timeSpecOf(schedule.spec), from - 1);
  return at === null || (schedule.endAt !== null && at > schedule.endAt) ? null : at;
}

/**
 * Intervals stay on one grid across restarts and edits: anchored at startAt exactly (so schedules can be
 * phased within a second), or else at the creation time's whole second.
 */
function anchorOf(startAt: number | null, createdAt: number): number {
  return startAt ?? Math.floor(createdAt / 1000) * 1000;
}

function resolveSpec(current: ScheduleSpec | null, input: ScheduleInput, anchorAt: number): ScheduleSpec {
  if (input.cron !== undefined && input.every !== undefined) {
    throw invalid('every', 'give either cron or every, not both');
  }
  const kind = input.cron !== undefined ? 'cron' : input.every !== undefined ? 'every' : current?.kind;
  if (kind === undefined) {
    throw invalid('body', 'give cron (an expression, with an optional timezone) or every (like "30s")');
  }
  if (kind === 'cron') {
    const timezone = input.timezone ?? (current?.kind === 'cron' ? current.timezone : 'UTC');
    const expression = input.cron ?? (current?.kind === 'cron' ? current.cron : '');
    const parsed = parseCron(expression, timezone);
    return { kind: 'cron', cron: parsed.kind === 'cron' ? parsed.expression : expression, timezone };
  }
  if (input.timezone !== undefined) {
    throw invalid('timezone', 'applies only to a cron schedule; an interval is the same in every zone');
  }
  const every = (input.every ?? (current?.kind === 'every' ? current.every : '')).trim();
  const parsed = parseEvery(every, anchorAt);
  return { kind: 'every', every, intervalMs: parsed.kind === 'every' ? parsed.intervalMs : 0, anchorAt };
}

/** The plan's minimum interval: an interval's length, or the closest two of a cron's next ticks. */
function checkInterval(spec: ScheduleSpec, limits: PlanLimits, now: number): void {
  const minMs = limits.minIntervalSeconds * 1000;
  const field = spec.kind;
  let shortest = spec.kind === 'every' ? spec.intervalMs : Infinity;
  if (spec.kind === 'cron') {
    const timeSpec = timeSpecOf(spec);
    let previous = nextFireAfter(timeSpec, now);
    if (previous === null) throw invalid('cron', `${JSON.stringify(spec.cron)} never fires`);
    for (let i = 0; i < CRON_GAP_SAMPLE; i++) {
      const next = nextFireAfter(timeSpec, previous);
      if (next === null) break;
      shortest = Math.min(shortest, next - previous);
      previous = next;
    }
  }
  if (shortest < minMs) {
    throw new HourglassError(
      'plan_limit_exceeded',
      `${field}: fires ${shortest / 1000} s apart; the plan's minimum interval is ${limits.minIntervalSeconds} s`,
      { field, limit: 'minIntervalSeconds' },
    );
  }
}

function resolveCatchup(catchup: CatchupPolicy): CatchupPolicy {
  if (!CATCHUP_MODES.includes(catchup.mode)) {
    throw invalid('catchup.mode', `must be one of ${CATCHUP_MODES.join(', ')}`);
  }
  checkWhole('catchup.windowSeconds', catchup.windowSeconds, 1, CATCHUP_BOUNDS.maxWindowSeconds);
  checkWhole('catchup.maxRuns', catchup.maxRuns, 1, CATCHUP_BOUNDS.maxRuns);
  return { mode: catchup.mode, windowSeconds: catchup.windowSeconds, maxRuns: catchup.maxRuns };
}

function resolveJitter(seconds: number): number {
  checkWhole('jitterSeconds', seconds, 0, MAX_JITTER_SECONDS);
  return seconds;
}

function checkOverlap(policy: OverlapPolicy): void {
  if (!OVERLAP_POLICIES.includes(policy)) {
    throw invalid('overlapPolicy', `must be one of ${OVERLAP_POLICIES.join(', ')}`);
  }
}

function checkWhole(field: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `must be a whole number from ${min} to ${max}`);
  }
}

function instantOrNull(field: string, text: string | null): number | null {
  return text === null ? null : parseInstant(field, text);
}
