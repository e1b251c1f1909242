import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { Job } from '../../src/core/job.js';
import type { Run } from '../../src/core/run.js';
import type { AttemptOutcome } from '../../src/core/run-state.js';
import type { RunSignal } from '../../src/ports/run-events.js';
import { Reaper } from '../../src/services/reaper.js';
import type { WorkerMetrics } from '../../src/services/worker/worker-metrics.js';
import { EVERY_PAIR, type AdapterPair } from '../support/adapter-pairs.js';
import {
  createJob,
  createRun,
  getRun,
  openWorld,
  silentLogger,
  waitForStatus,
  type WorkerWorld,
} from '../support/worker-fixtures.js';

const STALE_AFTER_MS = 1000;

async function withWorld(adapters: AdapterPair, test: (world: WorkerWorld) => Promise<void>): Promise<void> {
  const world = await openWorld(adapters);
  try {
    await test(world);
  } finally {
    await world.close();
  }
}

type Counted = { outcome: AttemptOutcome; durationMs: number; lagMs: number | null };

function reaperFor(world: WorkerWorld, intervalMs = 60_000, counted: Counted[] = []): Reaper {
  const metrics: WorkerMetrics = {
    runFinished: (outcome, durationMs, lagMs) => counted.push({ outcome, durationMs, lagMs }),
  };
  return new Reaper({
    store: world.store,
    queue: world.queue,
    clock: systemClock,
    logger: silentLogger,
    intervalMs,
    staleAfterMs: STALE_AFTER_MS,
    signals: world.signals,
    metrics,
  });
}

/** A run claimed by a worker whose last heartbeat was `ageMs` ago. */
async function runningSince(
  world: WorkerWorld,
  job: Job,
  ageMs: number,
  workerId = 'wrk_gone',
): Promise<Run> {
  const run = await createRun(world, job);
  const claimed = await world.store.claimRun(run.id, 1, workerId, Date.now() - ageMs);
  assert.ok(claimed);
  return claimed.run;
}

// Every store with every queue: the reaper reads the store and publishes the retries it decides on.
for (const adapters of EVERY_PAIR) {
  describe(`Reaper (${adapters.name})`, { skip: adapters.skip }, () => {
    it('records a run whose heartbeat stopped as lost when the job allows no retry', async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world);
        const stale = await runningSince(world, job, 10_000);
        const fresh = await runningSince(world, job, 0, 'wrk_alive');
        const signals: RunSignal[] = [];
        world.signals.on((signal) => signals.push(signal));
        const counted: Counted[] = [];

        assert.equal(await reaperFor(world, 60_000, counted).reapOnce(), 1);
        const lost = await getRun(world, stale);
        assert.equal(lost.status, 'lost');
        assert.equal(lost.reason, 'heartbeat lost');
        assert.equal((await getRun(world, fresh)).status, 'running');
        assert.equal(await world.queue.depth(), 0);
        assert.deepEqual(signals, [{ type: 'finished', runId: stale.id }]);
        assert.deepEqual(counted, [{ outcome: 'lost', durationMs: 0, lagMs: null }], 'it never started');
      });
    });

    it("retries a lost run per its job's policy and publishes the next attempt", async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world, {
          retry: { maxAttempts: 2, backoffSeconds: 0 },
          resources: { memoryMb: 96 },
        });
        const stale = await runningSince(world, job, 10_000);
        const signals: RunSignal[] = [];
        world.signals.on((signal) => signals.push(signal));
        const counted: Counted[] = [];
        assert.equal(await reaperFor(world, 60_000, counted).reapOnce(), 1);
        assert.deepEqual(signals, [{ type: 'queued', runId: stale.id }]);
        assert.deepEqual(
          counted.map((c) => c.outcome),
          ['lost'],
        );
        const requeued = await getRun(world, stale);
        assert.equal(requeued.status, 'queued');
        assert.equal(requeued.attempt, 2);
        assert.equal(requeued.reason, 'heartbeat lost');
        const [delivery] = await world.queue.pull(1, 1000);
        assert.deepEqual(delivery?.message, {
          runId: stale.id,
          tenantId: stale.tenantId,
          attempt: 2,
          memoryMb: 96,
          memoryRequestMb: 24,
          availableAt: requeued.availableAt,
        });
        await delivery?.ack();
      });
    });

    it('counts a lost first attempt with its lag, and its time alive as the duration', async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world);
        const run = await createRun(world, job);
        const claimedAt = Date.now() - 10_000;
        assert.ok(await world.store.claimRun(run.id, 1, 'wrk_gone', claimedAt));
        await world.store.markStarted(run.id, 1, 'wrk_gone', claimedAt + 100);
        await world.store.heartbeat('wrk_gone', [{ runId: run.id, attempt: 1 }], claimedAt + 2100);
        const counted: Counted[] = [];
        assert.equal(await reaperFor(world, 60_000, counted).reapOnce(), 1);
        assert.deepEqual(counted, [
          { outcome: 'lost', durationMs: 2000, lagMs: claimedAt + 100 - run.nominalTime },
        ]);
      });
    });

    it('ends a stale run whose cancel was requested as cancelled, whatever its retry policy', async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world, { retry: { maxAttempts: 3, backoffSeconds: 0 } });
        const stale = await runningSince(world, job, 10_000);
        await world.store.requestCancel(world.tenant.id, stale.id, Date.now());
        const signals: RunSignal[] = [];
        world.signals.on((signal) => signals.push(signal));
        const counted: Counted[] = [];
        assert.equal(await reaperFor(world, 60_000, counted).reapOnce(), 1);
        const ended = await getRun(world, stale);
        assert.deepEqual([ended.status, ended.attempt], ['cancelled', 1]);
        assert.equal(await world.queue.depth(), 0, 'no retry published');
        assert.deepEqual(signals, [{ type: 'finished', runId: stale.id }]);
        assert.deepEqual(
          counted.map((c) => c.outcome),
          ['cancelled'],
          'counted as what the store kept',
        );
      });
    });

    it('leaves alone, and does not count, a stale run settled between the lookup and the write', async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world);
        const stale = await runningSince(world, job, 10_000);
        const snapshot = await world.store.listStaleRuns(Date.now() - STALE_AFTER_MS, 10);
        assert.deepEqual(
          snapshot.map((r) => r.id),
          [stale.id],
        );
        // Its worker released it (stopping) after the sweep read it as stale.
        assert.ok(await world.store.releaseRun(stale.id, 1, 'wrk_gone', Date.now(), 'worker stopped'));
        const lateView = new Proxy(world.store, {
          get(target, property) {
            if (property === 'listStaleRuns') return async () => snapshot;
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const signals: RunSignal[] = [];
        world.signals.on((signal) => signals.push(signal));
        const counted: Counted[] = [];
        const reaper = new Reaper({
          store: lateView,
          queue: world.queue,
          clock: systemClock,
          logger: silentLogger,
          intervalMs: 60_000,
          staleAfterMs: STALE_AFTER_MS,
          signals: world.signals,
          metrics: {
            runFinished: (outcome, durationMs, lagMs) => counted.push({ outcome, durationMs, lagMs }),
          },
        });
        assert.equal(await reaper.reapOnce(), 0);
        assert.deepEqual(counted, []);
        assert.deepEqual(signals, []);
        const current = await getRun(world, stale);
        assert.deepEqual([current.status, current.attempt], ['queued', 1]);
      });
    });

    it('does not retry a lost run whose job was deleted', async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world, { retry: { maxAttempts: 3, backoffSeconds: 0 } });
        const stale = await runningSince(world, job, 10_000);
        await world.store.deleteJob(job.tenantId, job.id, Date.now());
        assert.equal(await reaperFor(world).reapOnce(), 1);
        const lost = await getRun(world, stale);
        assert.equal(lost.status, 'lost');
        assert.equal(lost.attempt, 1);
        assert.equal(await world.queue.depth(), 0);
      });
    });

    it('sweeps every intervalMs once started, and stops', async () => {
      await withWorld(adapters, async (world) => {
        const job = await createJob(world);
        const reaper = reaperFor(world, 50);
        reaper.start();
        try {
          const stale = await runningSince(world, job, 10_000);
          const lost = await waitForStatus(world, stale, 'lost');
          assert.equal(lost.reason, 'heartbeat lost');
        } finally {
          await reaper.stop();
        }
      });
    });
  });
}
