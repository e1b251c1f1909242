// The overview's numbers (GET /v1/stats): a window at the clock's now, the store's counts for it, and the
// core's summary of them (core/run-stats.ts). Who may ask for which tenant is decided by the route.

import {
  STATS_LIST_LIMIT,
  statsWindowAt,
  summarizeRunStats,
  type RunStats,
  type StatsWindowName,
} from '../core/run-stats.js';
import type { Clock } from '../ports/clock.js';
import type { RunStatsStore } from '../ports/store/run-stats-store.js';

/** One tenant's stats, or the fleet's when `tenantId` is null. */
export async function readRunStats(
  store: RunStatsStore,
  clock: Clock,
  tenantId: string | null,
  windowName: StatsWindowName,
): Promise<RunStats> {
  const window = statsWindowAt(windowName, clock.now());
  const counts = await store.getRunStats({
    tenantId,
    from: window.from,
    to: window.to,
    bucketMs: window.bucketMs,
    limit: STATS_LIST_LIMIT,
  });
  return summarizeRunStats(window, counts);
}
