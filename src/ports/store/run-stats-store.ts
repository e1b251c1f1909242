// Counts for the overview (GET /v1/stats): what a store aggregates in its own SQL over a window. What the
// buckets, outcomes and lag slots are, and everything derived from the counts, is core/run-stats.ts.

import type { RolledCounts, RolledCountsQuery, RunStatsRollup } from '../../core/run-stats-rollup.js';
import type { RunStatsCounts, RunStatsQuery } from '../../core/run-stats.js';

export interface RunStatsStore {
  /**
   * Runs finished in [from, to) per (bucket, outcome), runs started in it per lag slot (LAG_EDGES_MS) with
   * the largest lag, the running count, the latest failures and the next queued runs, of one tenant (or every
   * tenant when tenantId is null). Read through indexes whose first column is tenant_id: the cost depends on
   * the runs of the window, not on the tenant's history, nor on other tenants' runs.
   */
  getRunStats(query: RunStatsQuery): Promise<RunStatsCounts>;

  /**
   * Rolls up the tenant's minutes (each tenant's, for null) from its mark, or `keepFrom`, to `until`: per
   * minute, its finished runs by outcome and its started runs by lag slot, counted as getRunStats counts
   * them, written whole; then moves the mark to `until` (never back) and deletes minutes before `keepFrom`.
   * Safe to run concurrently with itself: racing callers write the same rows.
   */
  rollUpRunStats(rollup: RunStatsRollup): Promise<void>;

  /** The rolled-up minutes of [from, to) summed into buckets of bucketMs numbered from `from`. */
  getRolledRunCounts(query: RolledCountsQuery): Promise<RolledCounts>;
}
