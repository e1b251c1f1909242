// The overview's counts, kept per minute once a minute has settled, so a window's cost stops growing with the
// runs it holds. A store keeps, per tenant and minute, the runs that finished by outcome and the runs that
// started by lag slot (with the largest lag), exactly as run-stats.ts counts them, and a mark per tenant:
// every minute before it is rolled up. A window is then read in two parts:
//
//   window.from ─────────── rolled minutes ─────────── settledEnd ── the runs themselves ── window.to
//
// A minute settles STATS_SETTLE_MS after it ends. A run's finish or start time is the clock of the process
// that recorded it, committed a moment later; a record that arrives later than that, stamped with an older
// time (a process whose clock is minutes behind), is not in the minute already rolled up. That is the one
// way a rolled-up count can differ from a recount, and why the margin is minutes, not seconds.
//
// Rolling up is idempotent (a minute's counts are written whole, never added to) and the mark only moves
// forward, so two readers racing to roll up the same minutes write the same rows. Minutes older than the
// longest window are deleted as the mark moves.

import { STATS_WINDOWS, type LagSlotCounts, type OutcomeCount, type StatsWindow } from './run-stats.js';

export const ROLLUP_MINUTE_MS = 60_000;

/** How long after its end a minute is rolled up: see the header. */
export const STATS_SETTLE_MS = 5 * 60_000;

/** The end of the rolled part of `window` at `now`: a whole minute, within the window. */
export function settledEndOf(window: StatsWindow, now: number): number {
  const settled = Math.floor((now - STATS_SETTLE_MS) / ROLLUP_MINUTE_MS) * ROLLUP_MINUTE_MS;
  return Math.min(window.to, Math.max(window.from, settled));
}

/** The first minute a window read at `now` may need: the start of the longest window. Older ones can go. */
export function rollupKeepFrom(now: number): number {
  const { windowMs, bucketMs } = STATS_WINDOWS['24h'];
  return (Math.floor(now / bucketMs) + 1) * bucketMs - windowMs;
}

/**
 * What a store rolls up: one tenant's minutes (or each tenant's, when null) up to `until`. A read records
 * when it read (`readAt`); the background roll-up (stats-roller.ts) passes `readSince` instead, and rolls up
 * only the tenants read since then, so that their next read finds the day rolled up.
 */
export interface RunStatsRollup {
  tenantId: string | null;
  /** Exclusive, a whole minute: minutes before it are rolled up when the call returns. */
  until: number;
  /** Minutes before it are deleted, and never rolled up. */
  keepFrom: number;
  readAt?: number;
  /** With tenantId null: only the tenants whose last read was at or after it. */
  readSince?: number;
}

/** How long after its last read the background roll-up keeps a tenant rolled up: past the longest window. */
export const ROLLUP_KEEP_READ_MS = 25 * 3_600_000;

/** Rolled-up minutes read as a window's buckets: [from, to) of whole minutes, numbered from `from`. */
export interface RolledCountsQuery {
  tenantId: string | null;
  from: number;
  to: number;
  bucketMs: number;
}

export interface RolledCounts extends LagSlotCounts {
  outcomes: OutcomeCount[];
}

/** The counts of two parts of one window, as one: outcome rows appended (summing adds them), slots summed. */
export function addRunCounts(a: RolledCounts, b: RolledCounts): RolledCounts {
  const slots = Math.max(a.lagSlots.length, b.lagSlots.length);
  return {
    outcomes: [...a.outcomes, ...b.outcomes],
    lagSlots: Array.from({ length: slots }, (_, i) => (a.lagSlots[i] ?? 0) + (b.lagSlots[i] ?? 0)),
    maxLagMs:
      a.maxLagMs === null ? b.maxLagMs : b.maxLagMs === null ? a.maxLagMs : Math.max(a.maxLagMs, b.maxLagMs),
  };
}
