// The RunStatsStore contract (src/ports/store/run-stats-store.ts), run against every adapter in
// STORE_FACTORIES: runs seeded at known finish times, outcomes and lags give exact buckets (edges included,
// the window's ends excluded, a run made long before the window counted when it ends), exact lag slots and
// the percentiles read from them, the running count, the latest failures newest first and the next queued
// runs; one tenant sees none of another's runs, and the fleet (tenantId null) sees both.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { newQueuedRun, type Run } from '../../src/core/run.js';
import {
  statsWindowAt,
  summarizeRunStats,
  type RunStats,
  type StatsOutcome,
} from '../../src/core/run-stats.js';
import type { Store } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { seedJob, withStore } from './store-fixtures.js';

/** 10:00:30 UTC: the 1h window is 09:01 to 10:01, its buckets whole minutes. */
const NOW = Date.UTC(2025, 0, 1, 10, 0, 30);
const WINDOW = statsWindowAt('1h', NOW);
const W0 = WINDOW.from;
const DAY = 86_400_000;

let serial = 0;
/** A run as the store would hold it; its id carries `idTime` (by default a little before it finished). */
function runOf(job: Job, fields: Partial<Run> & { idTime?: number }): Run {
  const idTime = fields.idTime ?? (fields.finishedAt ?? fields.startedAt ?? W0) - 60_000 + serial++;
  const run = newQueuedRun({
    id: newId('run', idTime, (n) => randomBytes(n)),
    tenantId: job.tenantId,
    jobId: job.id,
    createdAt: idTime,
  });
  const { idTime: _ignored, ...rest } = fields;
  return { ...run, ...rest };
}

async function insert(store: Store, runs: Run[]): Promise<void> {
  for (const run of runs) {
    const result = await store.insertRun({ run, requestHash: null });
    assert.equal(result.inserted, true);
  }
}

const ended = (
  job: Job,
  status: StatsOutcome,
  offset: number,
  extra: Partial<Run> & { idTime?: number } = {},
) => runOf(job, { status, finishedAt: W0 + offset, ...extra });

/** A running run started `offset` ms into the window, `lag` ms after its due time. */
const running = (job: Job, offset: number, lag: number) =>
  runOf(job, { status: 'running', startedAt: W0 + offset, dueAt: W0 + offset - lag, workerId: 'wrk_a' });

const queued = (job: Job, availableOffset: number) =>
  runOf(job, {
    availableAt: W0 + availableOffset,
    dueAt: W0 + availableOffset,
    idTime: W0 - 1000 + serial++,
  });

/** Tenant A's runs; returned with the ids the lists should name. */
async function seedTenantA(store: Store) {
  const job = await seedJob(store);
  const failed = ended(job, 'failed', 300_001, {
    exitCode: 2,
    reason: 'exit code 2',
    startedAt: W0 + 290_000,
    dueAt: W0 + 290_000 - 20,
  });
  const timedOut = ended(job, 'timed_out', 300_002, { reason: 'timed out after 60 s' });
  const lost = ended(job, 'lost', 1_800_000);
  const oom = ended(job, 'oom_killed', 3_599_999, { exitCode: 137 });
  const lags = [-5, 0, 9, 10, 49, 50, 1000, 299_999, 300_000, 1_234_567];
  const soon = [queued(job, 5000), queued(job, 1000), queued(job, 3000)];
  await insert(store, [
    ended(job, 'succeeded', 0),
    ended(job, 'succeeded', 59_999),
    ended(job, 'succeeded', 60_000),
    failed,
    timedOut,
    lost,
    ended(job, 'cancelled', 1_800_000),
    ended(job, 'skipped', 600_000),
    oom,
    // Outside the window: just before it, and at its end (exclusive).
    ended(job, 'succeeded', -1),
    ended(job, 'succeeded', 3_600_000),
    // Made ten days before the window (a future run, say), ending in it.
    ended(job, 'succeeded', 420_000, { idTime: W0 - 10 * DAY }),
    ...lags.map((lag, i) => running(job, 1000 * (i + 1), lag)),
    // Running, but started before the window: counted running, not in the lags.
    running(job, -1, 7),
    ...soon,
  ]);
  return { job, failures: [oom, lost, timedOut, failed], upcoming: [soon[1], soon[2], soon[0]] };
}

async function seedTenantB(store: Store) {
  const job = await seedJob(store);
  const failed = ended(job, 'failed', 300_003, { exitCode: 1 });
  const next = queued(job, 2000);
  await insert(store, [failed, running(job, 100, 3000), next]);
  return { job, failed, next };
}

async function statsOf(store: Store, tenantId: string | null, limit = 10): Promise<RunStats> {
  const counts = await store.getRunStats({
    tenantId,
    from: WINDOW.from,
    to: WINDOW.to,
    bucketMs: WINDOW.bucketMs,
    limit,
  });
  return summarizeRunStats(WINDOW, counts);
}

/** The non-zero counts of the series, as `bucket:outcome` → count. */
function nonZero(stats: RunStats): Record<string, number> {
  const out: Record<string, number> = {};
  stats.series.forEach((entry, bucket) => {
    for (const [outcome, count] of Object.entries(entry.counts))
      if (count > 0) out[`${bucket}:${outcome}`] = count;
  });
  return out;
}

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`RunStatsStore contract (${factory.name})`, () => {
    test('counts runs by the bucket they finished in and their outcome', async (store) => {
      const { job } = await seedTenantA(store);
      const stats = await statsOf(store, job.tenantId);
      assert.equal(stats.series.length, 60);
      assert.equal(stats.series[1]?.start, W0 + 60_000);
      assert.deepEqual(nonZero(stats), {
        '0:succeeded': 2,
        '1:succeeded': 1,
        '5:failed': 1,
        '5:timed_out': 1,
        '7:succeeded': 1,
        '10:skipped': 1,
        '30:lost': 1,
        '30:cancelled': 1,
        '59:oom_killed': 1,
      });
    });

    test('counts the lags of runs started in the window in fixed slots, with percentiles', async (store) => {
      const { job } = await seedTenantA(store);
      const { lag, runningNow } = await statsOf(store, job.tenantId);
      // Lags -5, 0, 9 | 10, 20 | 49 | 50 | 1000 | 299 999 | 300 000, 1 234 567 (edges 10, 25, 50, …, 300 000).
      assert.deepEqual(lag.counts, [3, 2, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2]);
      assert.equal(lag.count, 11);
      assert.equal(lag.p50Ms, 50); // the 6th smallest (49) is in the slot below 50
      assert.equal(lag.p99Ms, 1_234_567); // the 11th is in the open last slot: the largest lag
      assert.equal(lag.maxMs, 1_234_567);
      assert.equal(runningNow, 11);
    });

    test('lists the latest failures newest first, and the next queued runs', async (store) => {
      const { job, failures, upcoming } = await seedTenantA(store);
      const stats = await statsOf(store, job.tenantId);
      assert.deepEqual(
        stats.recentFailures.map((r) => r.id),
        failures.map((r) => r.id),
      );
      const failed = stats.recentFailures[3];
      assert.deepEqual(failed && { ...failed, id: '' }, {
        id: '',
        tenantId: job.tenantId,
        jobId: job.id,
        scheduleId: null,
        status: 'failed',
        exitCode: 2,
        reason: 'exit code 2',
        finishedAt: W0 + 300_001,
      });
      assert.deepEqual(
        stats.upcoming.map((r) => [r.id, r.availableAt - W0]),
        upcoming.map((r) => [r?.id, (r?.availableAt ?? 0) - W0]),
      );
      const limited = await statsOf(store, job.tenantId, 2);
      assert.deepEqual(
        limited.recentFailures.map((r) => r.status),
        ['oom_killed', 'lost'],
      );
      assert.equal(limited.upcoming.length, 2);
    });

    test('an empty window has zero counts and no percentiles', async (store) => {
      const job = await seedJob(store);
      const stats = await statsOf(store, job.tenantId);
      assert.deepEqual(nonZero(stats), {});
      assert.deepEqual(stats.lag.counts, new Array(14).fill(0));
      assert.equal(stats.lag.p50Ms, null);
      assert.equal(stats.lag.maxMs, null);
      assert.equal(stats.runningNow, 0);
      assert.deepEqual([stats.recentFailures, stats.upcoming], [[], []]);
    });

    test('a tenant sees only its own runs; the fleet sees every tenant’s', async (store) => {
      const a = await seedTenantA(store);
      const b = await seedTenantB(store);
      const onlyB = await statsOf(store, b.job.tenantId);
      assert.deepEqual(nonZero(onlyB), { '5:failed': 1 });
      assert.equal(onlyB.lag.count, 1);
      assert.equal(onlyB.runningNow, 1);
      assert.deepEqual(
        onlyB.recentFailures.map((r) => r.id),
        [b.failed.id],
      );
      assert.deepEqual(
        onlyB.upcoming.map((r) => r.id),
        [b.next.id],
      );
      const onlyA = await statsOf(store, a.job.tenantId);
      assert.equal(nonZero(onlyA)['5:failed'], 1);
      assert.equal(onlyA.runningNow, 11);

      const fleet = await statsOf(store, null);
      assert.equal(nonZero(fleet)['5:failed'], 2);
      assert.equal(fleet.runningNow, 12);
      assert.equal(fleet.lag.count, 12);
      assert.equal(fleet.lag.counts[8], 1); // B's 3000 ms: 2500 ≤ lag < 5000
      assert.deepEqual(
        fleet.recentFailures.map((r) => r.id),
        [a.failures[0], a.failures[1], b.failed, a.failures[2], a.failures[3]].map((r) => r?.id),
      );
      assert.deepEqual(
        fleet.upcoming.map((r) => r.tenantId),
        [a.job.tenantId, b.job.tenantId, a.job.tenantId, a.job.tenantId],
      );
    });
  });
}
