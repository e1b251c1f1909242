import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { Job } from '../../src/core/job.js';
import type { Run } from '../../src/core/run.js';
import type { RunSignal } from '../../src/ports/run-events.js';
import { Reaper } from '../../src/services/reaper.js';
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

async function withWorld(test: (world: WorkerWorld) => Promise<void>): Promise<void> {
  const world = await openWorld();
  try {
    await test(world);
  } finally {
    await world.close();
  }
}

function reaperFor(world: WorkerWorld, intervalMs = 60_000): Reaper {
  return new Reaper({
    store: world.store,
    queue: world.queue,
    clock: systemClock,
    logger: silentLogger,
    intervalMs,
    staleAfterMs: STALE_AFTER_MS,
    signals: world.signals,
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

describe('Reaper', () => {
  it('records a run whose heartbeat stopped as lost when the job allows no retry', async () => {
    await withWorld(async (world) => {
      const job = await createJob(world);
      const stale = await runningSince(world, job, 10_000);
      const fresh = await runningSince(world, job, 0, 'wrk_alive');
      const signals: RunSignal[] = [];
      world.signals.on((signal) => signals.push(signal));

      assert.equal(await reaperFor(world).reapOnce(), 1);
      const lost = await getRun(world, stale);
      assert.equal(lost.status, 'lost');
      assert.equal(lost.reason, 'heartbeat lost');
      assert.equal((await getRun(world, fresh)).status, 'running');
      assert.equal(await world.queue.depth(), 0);
      assert.deepEqual(signals, [{ type: 'finished', runId: stale.id }]);
    });
  });

  it("retries a lost run per its job's policy and publishes the next attempt", async () => {
    await withWorld(async (world) => {
      const job = await createJob(world, {
        retry: { maxAttempts: 2, backoffSeconds: 0 },
        resources: { memoryMb: 96 },
      });
      const stale = await runningSince(world, job, 10_000);
      assert.equal(await reaperFor(world).reapOnce(), 1);
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
        availableAt: requeued.availableAt,
      });
      await delivery?.ack();
    });
  });

  it('does not retry a lost run whose job was deleted', async () => {
    await withWorld(async (world) => {
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
    await withWorld(async (world) => {
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
