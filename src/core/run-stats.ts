// What the overview's numbers mean, in one place, so that every store counts the same thing: the windows and
// their buckets, which runs a bucket counts, the lag histogram's edges, and how percentiles are read from it.
// A store only counts (per bucket and outcome, per lag slot); everything else is computed here.
//
//   window  bucket   buckets  the window
//   1h      1 min    60       the hour up to the end of the current minute
//   24h     15 min   96       the day up to the end of the current quarter hour
//
// The last bucket is the current one, still filling. A run is counted in the bucket of its finishedAt, by the
// outcome it ended with (queued and running runs have none yet); its lag (startedAt − dueAt, run.ts lagMs)
// in the window of its startedAt. Both are exact, whenever the run was created: a future run made weeks
// ahead counts when it ends, like any other.

import type { RunStatus } from './run-state.js';

export const STATS_WINDOWS = {
  '1h': { windowMs: 3_600_000, bucketMs: 60_000 },
  '24h': { windowMs: 86_400_000, bucketMs: 900_000 },
} as const;

export type StatsWindowName = keyof typeof STATS_WINDOWS;

/** The outcomes a bucket counts: every terminal status. */
export const STATS_OUTCOMES = [
  'succeeded',
  'failed',
  'timed_out',
  'oom_killed',
  'lost',
  'cancelled',
  'skipped',
] as const satisfies readonly RunStatus[];

export type StatsOutcome = (typeof STATS_OUTCOMES)[number];

/** Outcomes listed as recent failures: the run did not do its work, and nobody asked it not to. */
export const FAILURE_OUTCOMES = [
  'failed',
  'timed_out',
  'oom_killed',
  'lost',
] as const satisfies readonly RunStatus[];

/**
 * Upper edges of the lag histogram's slots, in ms: slot i holds lags below LAG_EDGES_MS[i] (and at or above
 * the edge before it); the last slot, one more than the edges, holds lags at or above the last edge. Slot 0
 * holds negative lags too (a process started before its due time by clock skew). Fixed, so that two
 * windows, two stores or two servers give histograms that add up.
 */
export const LAG_EDGES_MS: readonly number[] = Object.freeze([
  10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000, 300_000,
]);

/** How many recent failures and upcoming runs the overview lists. */
export const STATS_LIST_LIMIT = 10;

export interface StatsWindow {
  name: StatsWindowName;
  /** The first bucket's start (inclusive), epoch ms. */
  from: number;
  /** The last bucket's end (exclusive). */
  to: number;
  bucketMs: number;
  buckets: number;
}

/** The window ending with the bucket that holds `now`. */
export function statsWindowAt(name: StatsWindowName, now: number): StatsWindow {
  const { windowMs, bucketMs } = STATS_WINDOWS[name];
  const to = (Math.floor(now / bucketMs) + 1) * bucketMs;
  return { name, from: to - windowMs, to, bucketMs, buckets: windowMs / bucketMs };
}

/** The lag slot of one lag, as the stores' CASE expressions compute it (tested against them). */
export function lagSlotOf(lagMs: number): number {
  const slot = LAG_EDGES_MS.findIndex((edge) => lagMs < edge);
  return slot === -1 ? LAG_EDGES_MS.length : slot;
}

/**
 * The p-th percentile (0 < p ≤ 100) read from slot counts: the upper edge of the slot that holds the
 * ⌈p·n/100⌉-th smallest lag — an upper bound at the histogram's resolution — but never above the largest lag
 * seen (which is also the answer in the open last slot). Null with no lags.
 */
export function percentileOfSlots(
  counts: readonly number[],
  maxLagMs: number | null,
  p: number,
): number | null {
  const total = counts.reduce((sum, count) => sum + count, 0);
  if (total === 0 || maxLagMs === null) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const [slot, count] of counts.entries()) {
    seen += count;
    if (seen >= rank) return Math.min(LAG_EDGES_MS[slot] ?? maxLagMs, maxLagMs);
  }
  return maxLagMs;
}

/** What a store counts for a window: runs of one tenant, or of every tenant when tenantId is null. */
export interface RunStatsQuery {
  tenantId: string | null;
  from: number;
  to: number;
  bucketMs: number;
  /**
   * Counts (outcomes, lags) are of [countFrom, to), buckets still numbered from `from`; the failures list is
   * of the whole [from, to). The part before countFrom is read rolled up (run-stats-rollup.ts). Default: from.
   */
  countFrom?: number;
  /** How many recent failures and upcoming runs to return. */
  limit: number;
}

export interface OutcomeCount {
  /** 0-based, from the window's start: ⌊(finishedAt − from) / bucketMs⌋. */
  bucket: number;
  outcome: StatsOutcome;
  count: number;
}

export interface FailedRunSummary {
  id: string;
  tenantId: string;
  jobId: string;
  scheduleId: string | null;
  status: StatsOutcome;
  exitCode: number | null;
  reason: string | null;
  finishedAt: number;
}

export interface UpcomingRunSummary {
  id: string;
  tenantId: string;
  jobId: string;
  scheduleId: string | null;
  availableAt: number;
  dueAt: number;
}

export interface LagSlotCounts {
  /** Runs started in the window per lag slot: at most LAG_EDGES_MS.length + 1 numbers. */
  lagSlots: number[];
  /** The largest lag of a run started in the window; null if none. */
  maxLagMs: number | null;
}

/** What a store returns: counts only, no derived numbers. */
export interface RunStatsCounts extends LagSlotCounts {
  outcomes: OutcomeCount[];
  runningNow: number;
  /** Newest first, finished in the window, at most `limit`. */
  recentFailures: FailedRunSummary[];
  /** Queued runs, soonest available first, at most `limit`. */
  upcoming: UpcomingRunSummary[];
}

export interface RunStats {
  window: StatsWindow;
  /** One entry per bucket, oldest first, each outcome present (0 when none). */
  series: { start: number; counts: Record<StatsOutcome, number> }[];
  lag: {
    count: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    edgesMs: readonly number[];
    counts: number[];
  };
  runningNow: number;
  recentFailures: FailedRunSummary[];
  upcoming: UpcomingRunSummary[];
}

const zeroCounts = (): Record<StatsOutcome, number> =>
  Object.fromEntries(STATS_OUTCOMES.map((outcome) => [outcome, 0])) as Record<StatsOutcome, number>;

/** The overview's numbers from a store's counts. */
export function summarizeRunStats(window: StatsWindow, counts: RunStatsCounts): RunStats {
  const series = Array.from({ length: window.buckets }, (_, i) => ({
    start: window.from + i * window.bucketMs,
    counts: zeroCounts(),
  }));
  for (const { bucket, outcome, count } of counts.outcomes) {
    const entry = series[bucket];
    if (entry !== undefined) entry.counts[outcome] += count;
  }
  const lagSlots = Array.from({ length: LAG_EDGES_MS.length + 1 }, (_, i) => counts.lagSlots[i] ?? 0);
  return {
    window,
    series,
    lag: {
      count: lagSlots.reduce((sum, count) => sum + count, 0),
      p50Ms: percentileOfSlots(lagSlots, counts.maxLagMs, 50),
      p99Ms: percentileOfSlots(lagSlots, counts.maxLagMs, 99),
      maxMs: counts.maxLagMs,
      edgesMs: LAG_EDGES_MS,
      counts: lagSlots,
    },
    runningNow: counts.runningNow,
    recentFailures: counts.recentFailures,
    upcoming: counts.upcoming,
  };
}

/**
 * The SQL CASE that gives a lag's slot, from LAG_EDGES_MS: the same text serves SQLite and PostgreSQL, and is
 * built here so the stores cannot drift from lagSlotOf. `lag` is an SQL expression.
 */
export function lagSlotSql(lag: string): string {
  const whens = LAG_EDGES_MS.map((edge, slot) => `WHEN ${lag} < ${edge} THEN ${slot}`).join(' ');
  return `CASE ${whens} ELSE ${LAG_EDGES_MS.length} END`;
}
