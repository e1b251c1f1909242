// Fixtures of the load forecast counts' tests: the counts a store reads, and the same recomputed from the
// schedules it lists, by the core's rule (core/forecast-share.ts), keyed alike so that they compare.

import assert from 'node:assert/strict';
import { forecastKeyOf, forecastShareOf } from '../../src/core/forecast-share.js';
import { timeSpecOf } from '../../src/core/schedule.js';
import type { ScheduleLoadGroup, Store } from '../../src/ports/store.js';

export type Counts = Map<string, { schedules: number; memoryMb: number }>;

function add(counts: Counts, key: string, schedules: number, memoryMb: number): void {
  const seen = counts.get(key) ?? { schedules: 0, memoryMb: 0 };
  counts.set(key, { schedules: seen.schedules + schedules, memoryMb: seen.memoryMb + memoryMb });
}

export function countsOf(groups: readonly ScheduleLoadGroup[]): Counts {
  const counts: Counts = new Map();
  for (const group of groups) {
    assert.ok(group.schedules > 0, `no empty row is left behind: ${forecastKeyOf(group)}`);
    add(counts, forecastKeyOf(group), group.schedules, group.memoryMb);
  }
  return counts;
}

/** The counts recomputed from every live schedule the store lists for the tenant, and their jobs. */
export async function recount(store: Store, tenantId: string, into: Counts = new Map()): Promise<Counts> {
  let cursor: string | undefined;
  do {
    const page = await store.listSchedules(tenantId, { limit: 50, ...(cursor ? { cursor } : {}) });
    for (const schedule of page.items) {
      const job = await store.findJob(tenantId, schedule.jobId);
      assert.ok(job !== null, 'a live schedule has a live job');
      const timing = { spec: timeSpecOf(schedule.spec), startAt: schedule.startAt, endAt: schedule.endAt };
      const share = forecastShareOf(timing, { paused: schedule.paused, deleted: false }, job.resources);
      if (share !== null) add(into, share.key, share.schedules, share.memoryMb);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return into;
}

export const sorted = (counts: Counts) => [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
