// The overview's rolled-up minutes (core/run-stats-rollup.ts, RunStatsStore.rollUpRunStats and
// getRolledRunCounts) on every adapter in STORE_FACTORIES: what GET /v1/stats answers through the roll-up
// equals a recount from the runs, for one tenant, another and the fleet, for both windows, as the clock moves
// and runs keep ending between reads; rolling up twice, or twice at once, changes nothing; minutes older than
// the longest window are deleted.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { newQueuedRun, type Run } from '../../src/core/run.js';
import {
  ROLLUP_KEEP_READ_MS,
  rollupKeepFrom,
  settledEndOf,
  STATS_SETTLE_MS,
} from '../../src/core/run-stats-rollup.js';
import {
  STATS_OUTCOMES,
  statsWindowAt,
  summarizeRunStats,
  type RunStats,
  type StatsWindowName,
} from '../../src/core/run-stats.js';
import type { Store } from '../../src/ports/store.js';
import { StatsRoller } from '../../src/services/stats-roller.js';
import { readRunStats } from '../../src/services/stats-service.js';
import { ManualClock } from '../support/manual-clock.js';
import { seededRandom } from '../support/seeded-random.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { silentLogger } from '../support/worker-fixtures.js';
import { seedJob, withStore } from './store-fixtures.js';

const START = Date.UTC(2025, 0, 2, 10, 7, 13);
const HOUR = 3_600_000;

/** Runs of `job` that ended (and started) at random times in [from, to), with random outcomes and lags. */
function randomRuns(
  job: Job,
  random: () => number,
  count: number,
  from: number,
  to: number,
  longestMs = 120_000,
): Run[] {
  return Array.from({ length: count }, () => {
    const finishedAt = Math.floor(from + random() * (to - from));
    const startedAt = finishedAt - Math.floor(random() * longestMs);
    const status = STATS_OUTCOMES[Math.floor(random() * STATS_OUTCOMES.length)] ?? 'succeeded';
    const idTime = startedAt - 1000 - Math.floor(random() * HOUR);
    const run = newQueuedRun({
      id: newId('run', idTime, (n) => randomBytes(n)),
      tenantId: job.tenantId,
      jobId: job.id,
      createdAt: idTime,
    });
    const lag = Math.floor(random() * random() * 400_000) - 20;
    return { ...run, status, finishedAt, startedAt, dueAt: startedAt - lag };
  });
}

async function insert(store: Store, runs: Run[]): Promise<void> {
  for (const run of runs) assert.equal((await store.insertRun({ run, requestHash: null })).inserted, true);
}

/** The same window counted from the runs alone, with no roll-up. */
async function recount(store: Store, tenantId: string | null, name: StatsWindowName, now: number) {
  const window = statsWindowAt(name, now);
  const counts = await store.getRunStats({
    tenantId,
    from: window.from,
    to: window.to,
    bucketMs: window.bucketMs,
    limit: 10,
  });
  return summarizeRunStats(window, counts);
}

const comparable = (stats: RunStats) => ({
  series: stats.series,
  lag: stats.lag,
  failures: stats.recentFailures,
});

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`run stats roll-up (${factory.name})`, () => {
    test('reads through the roll-up equal a recount, as time moves and runs keep ending', async (store) => {
      const random = seededRandom(7);
      const a = await seedJob(store);
      const b = await seedJob(store);
      await insert(store, randomRuns(a, random, 400, START - 26 * HOUR, START));
      await insert(store, randomRuns(b, random, 100, START - 26 * HOUR, START));
      const clock = new ManualClock(START);
      let previous = START;
      for (const step of [0, 7 * 60_000 + 1, 61_000, 3 * HOUR, 0]) {
        clock.advance(step);
        const now = clock.now();
        // Runs that ended since the last read, some within the settling margin of the new now.
        await insert(store, randomRuns(a, random, 60, previous, now + 1));
        previous = now + 1;
        for (const tenantId of [a.tenantId, b.tenantId, null]) {
          for (const name of ['1h', '24h'] as const) {
            const read = await readRunStats(store, clock, tenantId, name);
            const label = `${tenantId ?? 'fleet'} ${name} at +${now - START} ms`;
            assert.deepEqual(comparable(read), comparable(await recount(store, tenantId, name, now)), label);
            if (tenantId === a.tenantId) {
              // Not a vacuous comparison: the window holds lags and failures.
              assert.ok(read.lag.count > 0 && read.recentFailures.length > 0, label);
            }
          }
        }
        // Records that arrive late, stamped up to 3 minutes back, the settling margin's business: counted.
        await insert(store, randomRuns(a, random, 10, now - 3 * 60_000 + 1000, now, 60_000));
      }
    });

    test('rolling up again, or twice at once, changes nothing', async (store) => {
      const random = seededRandom(11);
      const job = await seedJob(store);
      await insert(store, randomRuns(job, random, 300, START - 25 * HOUR, START));
      const window = statsWindowAt('24h', START);
      const rollup = {
        tenantId: job.tenantId,
        until: settledEndOf(window, START),
        keepFrom: rollupKeepFrom(START),
      };
      const rolled = () =>
        store.getRolledRunCounts({
          tenantId: job.tenantId,
          from: window.from,
          to: rollup.until,
          bucketMs: 900_000,
        });
      await Promise.all([store.rollUpRunStats(rollup), store.rollUpRunStats(rollup)]);
      const once = await rolled();
      await store.rollUpRunStats(rollup);
      await store.rollUpRunStats({ ...rollup, until: rollup.until - HOUR }); // a mark never goes back
      const twice = await rolled();
      const sortRows = (rows: typeof once.outcomes) =>
        [...rows].sort((x, y) => x.bucket - y.bucket || x.outcome.localeCompare(y.outcome));
      assert.deepEqual(sortRows(twice.outcomes), sortRows(once.outcomes));
      assert.deepEqual([twice.lagSlots, twice.maxLagMs], [once.lagSlots, once.maxLagMs]);
      const total = once.outcomes.reduce((sum, row) => sum + row.count, 0);
      assert.ok(total > 200, `rolled ${total} runs`);
    });

    test('the background roll-up keeps tenants read in the last day rolled up, and only those', async (store) => {
      const random = seededRandom(17);
      const read = await seedJob(store);
      const unread = await seedJob(store);
      const clock = new ManualClock(START);
      await readRunStats(store, clock, read.tenantId, '1h');
      clock.advance(3 * HOUR);
      for (const job of [read, unread]) await insert(store, randomRuns(job, random, 100, START, clock.now()));
      await new StatsRoller(store, clock, silentLogger).rollUp();
      const rolled = (tenantId: string) =>
        store.getRolledRunCounts({ tenantId, from: START - HOUR, to: clock.now(), bucketMs: HOUR });
      const total = (counts: { outcomes: { count: number }[] }) =>
        counts.outcomes.reduce((sum, row) => sum + row.count, 0);
      // Everything but the last minutes, still settling, is rolled up for the tenant that was read.
      const settled = Math.floor((clock.now() - STATS_SETTLE_MS) / 60_000) * 60_000;
      const expected = (await recount(store, read.tenantId, '24h', clock.now())).series
        .filter((bucket) => bucket.start < settled - 900_000)
        .reduce((sum, bucket) => sum + Object.values(bucket.counts).reduce((x, y) => x + y, 0), 0);
      assert.ok(total(await rolled(read.tenantId)) >= expected && expected > 50, `${expected}`);
      assert.equal(total(await rolled(unread.tenantId)), 0);
      // Each read keeps it so for another day; a day and more after its last read, it is no longer.
      const lastHour = () =>
        store.getRolledRunCounts({
          tenantId: read.tenantId,
          from: clock.now() - 2 * HOUR,
          to: clock.now(),
          bucketMs: HOUR,
        });
      const runsThenRollUp = async () => {
        await insert(store, randomRuns(read, random, 50, clock.now() - HOUR, clock.now() - 10 * 60_000));
        await new StatsRoller(store, clock, silentLogger).rollUp();
      };
      clock.advance(20 * HOUR);
      await readRunStats(store, clock, read.tenantId, '1h');
      clock.advance(6 * HOUR); // 29 h after the first read, 6 h after the second
      await runsThenRollUp();
      assert.ok(total(await lastHour()) > 0);
      clock.advance(ROLLUP_KEEP_READ_MS);
      await runsThenRollUp();
      assert.equal(total(await lastHour()), 0);
    });

    test('deletes minutes older than the longest window', async (store) => {
      const random = seededRandom(13);
      const job = await seedJob(store);
      await insert(store, randomRuns(job, random, 200, START - 24 * HOUR, START));
      const tenantId = job.tenantId;
      const keepFrom = rollupKeepFrom(START);
      await store.rollUpRunStats({ tenantId, until: START - 10 * 60_000, keepFrom });
      const old = { tenantId, from: keepFrom, to: keepFrom + 6 * HOUR, bucketMs: HOUR };
      assert.ok((await store.getRolledRunCounts(old)).outcomes.length > 0);
      const later = START + 12 * HOUR;
      await store.rollUpRunStats({ tenantId, until: later - 10 * 60_000, keepFrom: rollupKeepFrom(later) });
      const gone = await store.getRolledRunCounts(old);
      assert.deepEqual([gone.outcomes, gone.maxLagMs], [[], null]);
    });
  });
}
