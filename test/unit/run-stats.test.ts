// The overview's definitions (core/run-stats.ts): windows end with the bucket holding now, lag slots hold
// the lags below their edge, percentiles are the upper edge of the slot holding the rank, capped by the
// largest lag, and a summary fills every bucket and outcome.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  LAG_EDGES_MS,
  lagSlotOf,
  percentileOfSlots,
  statsWindowAt,
  summarizeRunStats,
} from '../../src/core/run-stats.js';

describe('run stats definitions', () => {
  it('ends a window with the bucket that holds now', () => {
    const now = Date.UTC(2025, 0, 1, 10, 7, 30);
    assert.deepEqual(statsWindowAt('1h', now), {
      name: '1h',
      from: Date.UTC(2025, 0, 1, 9, 8),
      to: Date.UTC(2025, 0, 1, 10, 8),
      bucketMs: 60_000,
      buckets: 60,
    });
    const day = statsWindowAt('24h', now);
    assert.deepEqual(
      [day.from, day.to, day.buckets],
      [Date.UTC(2024, 11, 31, 10, 15), Date.UTC(2025, 0, 1, 10, 15), 96],
    );
    // On an edge, now opens a new bucket.
    assert.equal(statsWindowAt('1h', Date.UTC(2025, 0, 1, 10, 8)).to, Date.UTC(2025, 0, 1, 10, 9));
  });

  it('puts a lag in the slot of the first edge above it', () => {
    assert.deepEqual([-1, 0, 9, 10, 24, 25, 299_999, 300_000, 1e9].map(lagSlotOf), [
      0,
      0,
      0,
      1,
      1,
      2,
      LAG_EDGES_MS.length - 1,
      LAG_EDGES_MS.length,
      LAG_EDGES_MS.length,
    ]);
  });

  it('reads percentiles as slot upper edges, capped by the largest lag', () => {
    const counts = [0, 0, 0, 98, 1, 1]; // 98 lags in [50, 100), one in [100, 250), one in [250, 500)
    assert.equal(percentileOfSlots(counts, 300, 50), 100);
    assert.equal(percentileOfSlots(counts, 300, 99), 250);
    assert.equal(percentileOfSlots(counts, 300, 100), 300); // the slot's edge (500) is above the largest
    assert.equal(percentileOfSlots([1], 3, 50), 3);
    assert.equal(percentileOfSlots([0, 0], null, 50), null);
  });

  it('fills every bucket and outcome of a summary', () => {
    const window = statsWindowAt('1h', Date.UTC(2025, 0, 1, 10, 0));
    const stats = summarizeRunStats(window, {
      outcomes: [{ bucket: 59, outcome: 'failed', count: 2 }],
      lagSlots: [1],
      maxLagMs: 4,
      runningNow: 0,
      recentFailures: [],
      upcoming: [],
    });
    assert.equal(stats.series.length, 60);
    assert.equal(stats.series[59]?.counts.failed, 2);
    assert.equal(stats.series[0]?.counts.succeeded, 0);
    assert.equal(stats.lag.counts.length, LAG_EDGES_MS.length + 1);
    assert.deepEqual([stats.lag.count, stats.lag.p50Ms, stats.lag.p99Ms], [1, 4, 4]);
  });
});
