// What a schedule's overlap policy does with a tick whose run does not exist yet, given the schedule's
// unfinished (queued or running) runs, newest first:
//
//   allow      → queued (the store need not look at the unfinished runs: overlapLooksAtUnfinished)
//   skip       → a `skipped` run with the reason, if any is unfinished; else queued
//   buffer_one → queued, blocked by the newest unfinished; `skipped` if one is already waiting (blocked);
//                queued if none
//   replace    → the unfinished queued ones cancelled, the running ones asked to stop (all for
//                replacedBy(tick)); queued, blocked by the newest running one if any
//
// A blocked run is queued but not dispatched until its blocker is neither queued nor running. Each store
// adapter reads the unfinished runs and writes the decision in the transaction that fires the tick.

import { replacedBy } from './cancel-reason.js';
import type { OverlapPolicy } from './schedule.js';

/** An unfinished run of the schedule, as the policies see it. */
export interface UnfinishedRun {
  id: string;
  status: 'queued' | 'running';
  /** The run it waits for (buffer_one, replace), or null. */
  blockedBy: string | null;
}

export interface OverlapDecision {
  /** The tick's run: queued (to run, or to wait for `blockedBy`), or recorded as skipped. */
  status: 'queued' | 'skipped';
  /** Why a tick is skipped; null when queued. */
  reason: string | null;
  /** The run a queued tick waits for; null: it is dispatched at once. */
  blockedBy: string | null;
  /** `replace`: the earlier runs the tick ends, each for `reason`; null for the other policies. */
  replaced: { cancel: string[]; stop: string[]; reason: string } | null;
}

/** Whether the policy's decision depends on the schedule's unfinished runs (so the store must read them). */
export function overlapLooksAtUnfinished(policy: OverlapPolicy): boolean {
  return policy !== 'allow';
}

/**
 * The policy's decision for the tick whose run id is `tickRunId`; `unfinished` lists the schedule's
 * unfinished runs newest first (any list will do for `allow`).
 */
export function decideOverlap(
  policy: OverlapPolicy,
  tickRunId: string,
  unfinished: readonly UnfinishedRun[],
): OverlapDecision {
  const queued: OverlapDecision = { status: 'queued', reason: null, blockedBy: null, replaced: null };
  if (policy === 'allow') return queued;
  const [newest] = unfinished;
  if (newest === undefined) return queued;
  switch (policy) {
    case 'skip':
      return { ...queued, status: 'skipped', reason: `previous run ${newest.id} is still ${newest.status}` };
    case 'buffer_one': {
      const waiting = unfinished.find((run) => run.blockedBy !== null);
      return waiting
        ? { ...queued, status: 'skipped', reason: `a run is already waiting: ${waiting.id}` }
        : { ...queued, blockedBy: newest.id };
    }
    case 'replace': {
      const cancel = unfinished.filter((run) => run.status === 'queued').map((run) => run.id);
      const stop = unfinished.filter((run) => run.status === 'running').map((run) => run.id);
      return {
        ...queued,
        blockedBy: stop[0] ?? null,
        replaced: { cancel, stop, reason: replacedBy(tickRunId) },
      };
    }
  }
}
