// The range of run ids a page of listRuns reads. Ids begin with their time (core/ids.ts), so a time range and
// a keyset cursor are both bounds on the id, and a page stays one range of whatever index it is read
// through: newest first, below `below`, at or above `atOrAbove`.

import { lowestIdAt } from './ids.js';

/** Above every id: the first page's upper bound. */
export const ABOVE_ALL_RUN_IDS = '~';

export interface RunIdRange {
  /** Ids strictly below this. */
  below: string;
  /** Ids at or above this ('' for no lower bound). */
  atOrAbove: string;
}

export function runIdRange(filter: { cursor?: string; fromMs?: number; toMs?: number }): RunIdRange {
  let below = filter.cursor ?? ABOVE_ALL_RUN_IDS;
  if (filter.toMs !== undefined) {
    const beforeTo = lowestIdAt('run', filter.toMs);
    if (beforeTo < below) below = beforeTo;
  }
  const atOrAbove = filter.fromMs === undefined ? '' : lowestIdAt('run', filter.fromMs);
  return { below, atOrAbove };
}
