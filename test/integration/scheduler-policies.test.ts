// Catch-up after downtime and overlap policies, driven by a manual clock through the engine and a real store.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CatchupMode } from '../../src/core/schedule.js';
import { EACH_ADAPTER_ONCE } from '../support/adapter-pairs.js';
import { SchedulerWorld, step } from '../support/scheduler-fixtures.js';

// Each store with the embedded queue, and each other queue with SQLite (adapter-pairs.ts EACH_ADAPTER_ONCE):
// the engine's decisions are the store's transactions; the queue only carries what it published.
for (const adapters of EACH_ADAPTER_ONCE) {
  describe(`catch-up after downtime (${adapters.name})`, { skip: adapters.skip }, () => {
    let world: SchedulerWorld;
    beforeEach(async () => {
      world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
    });
    afterEach(() => world.close());

    /** Fires 12:00:00–12:00:10 on one node, stops it, and brings a new node up at `backAt`. */
    async function downtime(
      catchup: { mode: CatchupMode; windowSeconds?: number; maxRuns?: number },
      backAt: string,
      options: { catchupPerSecond?: number } = {},
    ): Promise<{ id: string; next: () => Promise<void> }> {
      const first = world.node('before');
      const schedule = await world.addSchedule({ every: '10s', catchup });
      await world.runFor(10_000, 1000, [first]);
      await first.engine.stop(); // the leases are given back; a crash is the lease tests' subject
      world.clock.set(backAt);
      const second = world.node('after', options);
      return { id: schedule.id, next: () => step(second.engine) };
    }

    it('skip: no missed tick runs; the next regular one does', async () => {
      const { id, next } = await downtime({ mode: 'skip' }, '2026-06-01T12:05:03.000Z');
      await next();
      world.clock.set('2026-06-01T12:05:10.000Z');
      await next();
      assert.deepEqual(await world.ticksOf(id), [
        '2026-06-01T12:00:00.000Z',
        '2026-06-01T12:00:10.000Z',
        '2026-06-01T12:05:10.000Z',
      ]);
    });

    it('latest: the most recent missed tick runs once, late, under its own nominal time', async () => {
      const { id, next } = await downtime({ mode: 'latest' }, '2026-06-01T12:05:03.000Z');
      await next();
      world.clock.set('2026-06-01T12:05:10.000Z');
      await next();
      const runs = await world.runsOf(id);
      assert.deepEqual(
        runs.map((r) => new Date(r.nominalTime).toISOString()),
        [
          '2026-06-01T12:00:00.000Z',
          '2026-06-01T12:00:10.000Z',
          '2026-06-01T12:05:00.000Z',
          '2026-06-01T12:05:10.000Z',
        ],
      );
      assert.equal(runs[2]?.createdAt, Date.parse('2026-06-01T12:05:03.000Z'), 'fired when caught up');
    });

    it('latest: nothing when the missed tick is older than the window', async () => {
      const { id, next } = await downtime({ mode: 'latest', windowSeconds: 2 }, '2026-06-01T12:05:05.000Z');
      await next();
      assert.deepEqual(await world.ticksOf(id), ['2026-06-01T12:00:00.000Z', '2026-06-01T12:00:10.000Z']);
    });

    it('a tick less than the late grace old is late, not missed: it fires whatever the mode', async () => {
      const { id, next } = await downtime({ mode: 'skip' }, '2026-06-01T12:00:20.400Z');
      await next();
      assert.deepEqual((await world.ticksOf(id)).slice(-1), ['2026-06-01T12:00:20.000Z']);
    });

    it('all: every missed tick in the window, the most recent maxRuns, spread by the rate limit', async () => {
      const { id, next } = await downtime(
        { mode: 'all', windowSeconds: 3600, maxRuns: 5 },
        '2026-06-01T12:05:03.000Z',
        { catchupPerSecond: 2 },
      );
      await next();
      assert.equal((await world.ticksOf(id)).length, 2 + 2, 'two now: the rate allows two per second');
      for (let i = 0; i < 3; i++) {
        world.clock.advance(1000);
        await next();
      }
      assert.deepEqual(await world.ticksOf(id), [
        '2026-06-01T12:00:00.000Z',
        '2026-06-01T12:00:10.000Z',
        '2026-06-01T12:04:20.000Z',
        '2026-06-01T12:04:30.000Z',
        '2026-06-01T12:04:40.000Z',
        '2026-06-01T12:04:50.000Z',
        '2026-06-01T12:05:00.000Z',
      ]);
    });

    it('all: a tick exactly windowSeconds old is in the window; one a millisecond older is not', async () => {
      // Back at 12:05:03 with a 23 s window: the window starts at 12:04:40, a tick.
      const { id, next } = await downtime(
        { mode: 'all', windowSeconds: 23, maxRuns: 100 },
        '2026-06-01T12:05:03.000Z',
      );
      await next();
      assert.deepEqual((await world.ticksOf(id)).slice(2), [
        '2026-06-01T12:04:40.000Z',
        '2026-06-01T12:04:50.000Z',
        '2026-06-01T12:05:00.000Z',
      ]);
    });

    it('all: a millisecond later, the tick at the window’s start has left it', async () => {
      const { id, next } = await downtime(
        { mode: 'all', windowSeconds: 23, maxRuns: 100 },
        '2026-06-01T12:05:03.001Z',
      );
      await next();
      assert.deepEqual((await world.ticksOf(id)).slice(2), [
        '2026-06-01T12:04:50.000Z',
        '2026-06-01T12:05:00.000Z',
      ]);
    });

    it('latest: the missed tick exactly windowSeconds old runs', async () => {
      const { id, next } = await downtime({ mode: 'latest', windowSeconds: 3 }, '2026-06-01T12:05:03.000Z');
      await next();
      assert.deepEqual((await world.ticksOf(id)).slice(2), ['2026-06-01T12:05:00.000Z']);
    });

    it('latest: a millisecond older than windowSeconds, it does not', async () => {
      const { id, next } = await downtime({ mode: 'latest', windowSeconds: 3 }, '2026-06-01T12:05:03.001Z');
      await next();
      assert.deepEqual((await world.ticksOf(id)).slice(2), []);
    });

    it('all: only within the window', async () => {
      const { id, next } = await downtime(
        { mode: 'all', windowSeconds: 25, maxRuns: 100 },
        '2026-06-01T12:05:03.000Z',
      );
      await next();
      assert.deepEqual((await world.ticksOf(id)).slice(2), [
        '2026-06-01T12:04:40.000Z',
        '2026-06-01T12:04:50.000Z',
        '2026-06-01T12:05:00.000Z',
      ]);
    });
  });

  describe(`overlap policies (${adapters.name})`, { skip: adapters.skip }, () => {
    let world: SchedulerWorld;
    beforeEach(async () => {
      world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
    });
    afterEach(() => world.close());

    /** Claims the run of the schedule's first tick, so it is running when the next ticks come. */
    async function firstRunRunning(policy: 'allow' | 'skip' | 'buffer_one' | 'replace'): Promise<string> {
      world.node('n1');
      const schedule = await world.addSchedule({ every: '10s', overlapPolicy: policy });
      await world.runFor(1000);
      const [first] = await world.runsOf(schedule.id);
      assert.ok(first);
      assert.ok(await world.store.claimRun(first.id, 1, 'wrk_test', world.clock.now()));
      await world.runFor(20_000, 1000);
      return schedule.id;
    }

    it('allow: the next ticks run alongside', async () => {
      const id = await firstRunRunning('allow');
      assert.deepEqual(
        (await world.runsOf(id)).map((r) => r.status),
        ['running', 'queued', 'queued'],
      );
    });

    it('skip: each tick while a run is unfinished is recorded as skipped, with the reason', async () => {
      const id = await firstRunRunning('skip');
      const runs = await world.runsOf(id);
      assert.deepEqual(
        runs.map((r) => r.status),
        ['running', 'skipped', 'skipped'],
      );
      assert.match(runs[1]?.reason ?? '', /still running/);
      assert.notEqual(runs[1]?.finishedAt, null);
    });

    it('buffer_one: one tick waits for the running run, the next is skipped; its end releases the wait', async () => {
      const id = await firstRunRunning('buffer_one');
      const [first, waiting, skipped] = await world.runsOf(id);
      assert.equal(waiting?.status, 'queued');
      assert.equal(waiting?.blockedBy, first?.id);
      assert.equal(skipped?.status, 'skipped');
      assert.ok(first && waiting);
      await world.store.finishAttempt({
        runId: first.id,
        attempt: 1,
        workerId: 'wrk_test',
        outcome: 'succeeded',
        exitCode: 0,
        reason: null,
        at: world.clock.now(),
        retryAt: null,
      });
      const released = await world.store.releaseBlockedRuns(first.id, world.clock.now());
      assert.deepEqual(
        released.map((m) => m.runId),
        [waiting.id],
      );
      assert.equal((await world.store.getRun(world.tenant.id, waiting.id))?.blockedBy, null);
    });

    it('replace: the running run is asked to stop, and the new one waits for it', async () => {
      const id = await firstRunRunning('replace');
      const runs = await world.runsOf(id);
      const [first, second, third] = runs;
      assert.notEqual(first?.cancelRequestedAt, null, 'the running one was asked to stop');
      assert.equal(second?.status, 'cancelled', 'the waiting one was replaced by the next tick');
      assert.equal(third?.status, 'queued');
      assert.equal(third?.blockedBy, first?.id);
    });
  });

  describe(`the engine loop (${adapters.name})`, { skip: adapters.skip }, () => {
    let world: SchedulerWorld;
    beforeEach(async () => {
      world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
    });
    afterEach(() => world.close());

    it('waits for the catch-up rate instead of spinning: the rest of the process keeps its turns', async () => {
      const first = world.node('before');
      const schedule = await world.addSchedule({ every: '1s', catchup: { mode: 'all', maxRuns: 100 } });
      await world.runFor(1000, 1000, [first]);
      await first.engine.stop();
      world.clock.set('2026-06-01T12:01:00.000Z');
      const second = world.node('after', { catchupPerSecond: 2 });
      await second.engine.start();
      // The clock does not move: two late ticks may go, the rest must wait for time that never comes.
      const started = performance.now();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const waited = performance.now() - started;
      await second.engine.stop();
      assert.ok(waited < 1000, `a 50 ms timer took ${Math.round(waited)} ms`);
      // 12:00:00 and :01 before; now the two late ticks the rate allows, and 12:00:59 (within the late grace)
      // and 12:01:00 as regular ticks.
      assert.equal((await world.ticksOf(schedule.id)).length, 2 + 2 + 2);
    });

    it('fires ticks due a few ms apart together: not sooner than fireIntervalMs after the last firing', async () => {
      const t0 = Date.parse('2026-06-01T12:00:00.000Z');
      // Two schedules a second apart each, 10 ms apart from each other; one firing, then when the next is.
      const nextFiringWith = async (fireIntervalMs: number): Promise<number> => {
        const own = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
        try {
          const node = own.node('n1', { leadMs: 800, fireIntervalMs });
          await own.addSchedule({ every: '1s' }); // ticks at t0 + k s
          await own.addSchedule({ every: '1s', startAt: new Date(t0 + 10).toISOString() }); // t0 + 10 ms + k s
          own.clock.set(t0 + 200); // 800 ms before t0 + 1 s: that tick is fired; the other is due 10 ms later
          await step(node.engine);
          return node.engine.nextFireAt();
        } finally {
          await own.close();
        }
      };
      assert.equal(await nextFiringWith(0), t0 + 210, 'its lead ahead of the next tick');
      assert.equal(await nextFiringWith(100), t0 + 300, 'the interval after the last firing');
    });

    it('a node that stalled past its leases sends the ticks it slept through to the catch-up policy', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ every: '1s', catchup: { mode: 'skip' } });
      await world.runFor(2000, 1000);
      world.clock.advance(5 * 60_000); // the process was paused; nobody else took its partitions
      await step(node.engine);
      // Not 300 ticks fired late as if on time: `skip` drops them; 12:05:01 is within the late grace.
      assert.deepEqual(await world.ticksOf(schedule.id), [
        '2026-06-01T12:00:00.000Z',
        '2026-06-01T12:00:01.000Z',
        '2026-06-01T12:00:02.000Z',
        '2026-06-01T12:05:01.000Z',
        '2026-06-01T12:05:02.000Z',
      ]);
    });
  });
}
