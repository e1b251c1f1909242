// The overview's numbers (GET /v1/stats): a window at the clock's now, the store's counts for it, and the
// core's summary of them (core/run-stats.ts). Who may ask for which tenant is decided by the route.
// The window's settled minutes are read rolled up, the rest from the runs (core/run-stats-rollup.ts): the
// store first rolls up whatever settled since the last read, so a read costs the minutes since then.

import {
  STATS_LIST_LIMIT,
  statsWindowAt,
  summarizeRunStats,
  type RunStats,
  type StatsWindowName,
} from '../core/run-stats.js';
import { addRunCounts, rollupKeepFrom, settledEndOf } from '../core/run-stats-rollup.js';
import type { Clock } from '../ports/clock.js';
import type { RunStatsStore } from '../ports/store/run-stats-store.js';

/** One tenant's stats, or the fleet's when `tenantId` is null. */
export async function readRunStats(
  store: RunStatsStore,
  clock: Clock,
  tenantId: string | null,
  windowName: StatsWindowName,
): Promise<RunStats> {
  const now = clock.now();
  const window = statsWindowAt(windowName, now);
  const settledEnd = settledEndOf(window, now);
  await store.rollUpRunStats({ tenantId, until: settledEnd, keepFrom: rollupKeepFrom(now), readAt: now });
  const [rolled, recent] = await Promise.all([
    store.getRolledRunCounts({ tenantId, from: window.from, to: settledEnd, bucketMs: window.bucketMs }),
    store.getRunStats({
      tenantId,
      from: window.from,
      to: window.to,
      bucketMs: window.bucketMs,
      countFrom: settledEnd,
      limit: STATS_LIST_LIMIT,
    }),
  ]);
  return summarizeRunStats(window, { ...recent, ...addRunCounts(rolled, recent) });
}
