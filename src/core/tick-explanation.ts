// Why a schedule's tick did or did not run: one verdict per tick of a window, decided from what the store
// keeps — the schedule, its runs in the window (a tick's run id is derived from the tick), and its pause
// intervals — so that every store explains a tick the same way. Pure: the caller computes the ticks (with
// their DST notes) and reads the rest.
//
// Verdicts, in the order they are tried:
//   fired / fired_late  its run exists; fired_late when a scheduler caught it up after missing it
//   skipped             its run was recorded `skipped` by the overlap policy (the reason names the run it met)
//   outside_window      before the schedule's startAt or after its endAt
//   paused              inside a recorded pause (or, for a tick still to come, the schedule is paused now)
//   not_yet_due         after now
//   pending             due, but the schedule's watermark has not passed it: no scheduler has fired it yet
//                       (one is behind or down; its catch-up policy decides when it comes back)
//   unknown             no run, before the schedule's last change: its timing then may have been different,
//                       or it was paused before pauses were recorded
//   dropped             no run, and the watermark moved past it: missed while no scheduler held the schedule,
//                       and not fired by its catch-up policy (skip, or outside `latest`/`all`'s window)
//   manual              not a tick: a run of the schedule made by hand (POST /v1/schedules/{id}/runs), listed
//                       at its creation time; it never stands for a tick, which keeps its own verdict
//
// A tick is never rate-limited at firing: the plan's run rate is checked when a schedule is created, resumed
// or made faster (schedule-rate.ts), so no verdict for it exists. DST is a note beside the verdict: a tick
// moved out of a spring-forward gap, or the first or second of a repeated wall-clock time, still fires.

import type { RunStatus } from './run-state.js';
import type { CatchupMode } from './schedule.js';
import type { DstNote, Fire } from './schedule-time.js';

export const TICK_VERDICTS = [
  'fired',
  'fired_late',
  'skipped',
  'outside_window',
  'paused',
  'not_yet_due',
  'pending',
  'unknown',
  'dropped',
  'manual',
] as const;

export type TickVerdict = (typeof TICK_VERDICTS)[number];

/** A run of the schedule, as far as explaining its tick needs. */
export interface TickRun {
  id: string;
  nominalTime: number;
  status: RunStatus;
  reason: string | null;
  createdAt: number;
  /** Stored for runs fired in bulk (true: caught up late); null for runs fired tick by tick. */
  firedLate: boolean | null;
  /** Made by hand, not by a tick (its id is not the tick's derived id); false when left out. */
  manual?: boolean;
}

/** A span the schedule was paused: [pausedAt, resumedAt), resumedAt null while still paused. */
export interface PauseInterval {
  pausedAt: number;
  resumedAt: number | null;
}

export interface TickSchedule {
  startAt: number | null;
  endAt: number | null;
  paused: boolean;
  updatedAt: number;
  /** The watermark: the first tick not fired yet; null when it will never fire again. */
  nextFireAt: number | null;
  catchupMode: CatchupMode;
}

export interface TickExplanation {
  nominalTime: number;
  verdict: TickVerdict;
  /** A sentence saying why. */
  reason: string;
  runId: string | null;
  runStatus: RunStatus | null;
  dst: DstNote | null;
}

export interface TickFacts {
  /** The ticks of the window under the schedule's current timing, oldest first, with their DST notes. */
  fires: readonly Fire[];
  /** The schedule's runs whose tick is in the window (those of an earlier timing included). */
  runs: readonly TickRun[];
  pauses: readonly PauseInterval[];
  schedule: TickSchedule;
  now: number;
  /** The scheduler's grace: a run created more than this after its tick was caught up late. */
  lateGraceMs: number;
}

/** One explanation per tick of `fires`, and per run whose tick is not one of them, oldest first. */
export function explainTicks(facts: TickFacts): TickExplanation[] {
  const runs = new Map(facts.runs.filter((run) => run.manual !== true).map((run) => [run.nominalTime, run]));
  const explained = facts.fires.map((fire) => {
    const run = runs.get(fire.at);
    runs.delete(fire.at);
    return run ? explainRun(run, fire.dst, facts.lateGraceMs) : explainMissing(fire, facts);
  });
  // Runs of ticks the current timing does not have: fired under an earlier timing.
  for (const run of runs.values()) explained.push(explainRun(run, null, facts.lateGraceMs));
  for (const run of facts.runs) if (run.manual === true) explained.push(explainManualRun(run));
  return explained.sort((a, b) => a.nominalTime - b.nominalTime);
}

function explainRun(run: TickRun, dst: DstNote | null, lateGraceMs: number): TickExplanation {
  const base = { nominalTime: run.nominalTime, runId: run.id, runStatus: run.status, dst };
  if (run.status === 'skipped') {
    return {
      ...base,
      verdict: 'skipped',
      reason: `skipped by the overlap policy: ${run.reason ?? ''}`.trim(),
    };
  }
  const late = run.firedLate ?? run.createdAt - run.nominalTime > lateGraceMs;
  const ended = run.reason === null ? run.status : `${run.status} (${run.reason})`;
  return late
    ? {
        ...base,
        verdict: 'fired_late',
        reason: `caught up late by the catch-up policy at ${iso(run.createdAt)}; ${ended}`,
      }
    : { ...base, verdict: 'fired', reason: `fired; ${ended}` };
}

function explainManualRun(run: TickRun): TickExplanation {
  const ended = run.reason === null ? run.status : `${run.status} (${run.reason})`;
  return {
    nominalTime: run.nominalTime,
    verdict: 'manual',
    reason: `run by hand at ${iso(run.createdAt)}, outside the schedule's timing; ${ended}`,
    runId: run.id,
    runStatus: run.status,
    dst: null,
  };
}

function explainMissing(fire: Fire, facts: TickFacts): TickExplanation {
  const { schedule, now } = facts;
  const at = fire.at;
  const base = { nominalTime: at, runId: null, runStatus: null, dst: fire.dst };
  const say = (verdict: TickVerdict, reason: string): TickExplanation => ({ ...base, verdict, reason });
  if (schedule.startAt !== null && at < schedule.startAt) {
    return say('outside_window', `before the schedule's startAt ${iso(schedule.startAt)}`);
  }
  if (schedule.endAt !== null && at > schedule.endAt) {
    return say('outside_window', `after the schedule's endAt ${iso(schedule.endAt)}`);
  }
  const pause = facts.pauses.find((p) => p.pausedAt <= at && (p.resumedAt === null || at < p.resumedAt));
  if (pause !== undefined) {
    const until = pause.resumedAt === null ? 'still paused' : `resumed ${iso(pause.resumedAt)}`;
    return say('paused', `the schedule was paused at ${iso(pause.pausedAt)} (${until})`);
  }
  if (at > now) {
    return schedule.paused
      ? say('paused', 'the schedule is paused: it will not fire unless resumed first')
      : say('not_yet_due', 'not due yet');
  }
  if (schedule.nextFireAt !== null && at >= schedule.nextFireAt) {
    return say(
      'pending',
      `due, not fired yet: no scheduler has reached it (its catch-up policy, ${schedule.catchupMode}, ` +
        'decides whether it still runs)',
    );
  }
  if (at < schedule.updatedAt) {
    return say(
      'unknown',
      `no run, and the schedule was changed at ${iso(schedule.updatedAt)}, after this tick: ` +
        'its timing may have been different then',
    );
  }
  return say(
    'dropped',
    `missed while no scheduler held the schedule, and not fired by its catch-up policy (${schedule.catchupMode})`,
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
