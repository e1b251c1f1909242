// The scheduler engine driven by a manual clock on each store and queue: ticks, derived run ids, pre-dispatch
// lead, start/end/pause, changes, jitter. Catch-up, overlap, DST and leases have their own files.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { jitterOffsetMs, partitionOf, scheduledRunId } from '../../src/core/schedule.js';
import type { FiredThrough, Store } from '../../src/ports/store.js';
import { EACH_ADAPTER_ONCE } from '../support/adapter-pairs.js';
import { SchedulerWorld, step } from '../support/scheduler-fixtures.js';

const iso = (ms: number): string => new Date(ms).toISOString();

// Each store with the embedded queue, and each other queue with SQLite (adapter-pairs.ts EACH_ADAPTER_ONCE):
// the engine's decisions are the store's transactions; the queue only carries what it published.
for (const adapters of EACH_ADAPTER_ONCE) {
  describe(`scheduler engine (${adapters.name})`, { skip: adapters.skip }, () => {
    let world: SchedulerWorld;
    beforeEach(async () => {
      world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
    });
    afterEach(() => world.close());

    it('fires a per-second cron once per tick, each run under the id derived from its tick', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ cron: '*/1 * * * * *' });
      await step(node.engine);
      await world.runFor(10_000);
      const runs = await world.runsOf(schedule.id);
      assert.deepEqual(
        runs.map((run) => iso(run.nominalTime)),
        Array.from({ length: 11 }, (_, i) => iso(Date.parse('2026-06-01T12:00:00.000Z') + i * 1000)),
      );
      for (const run of runs) {
        assert.equal(run.id, scheduledRunId(schedule.id, run.nominalTime));
        assert.equal(run.scheduleId, schedule.id);
        assert.equal(run.status, 'queued');
        assert.equal(run.dueAt, run.nominalTime);
      }
      const published = await world.drain();
      assert.equal(published.length, 11);
      assert.equal(new Set(published.map((m) => m.runId)).size, 11);
      const stored = await world.store.getSchedule(world.tenant.id, schedule.id);
      assert.equal(stored?.nextFireAt, Date.parse('2026-06-01T12:00:11.000Z'), 'the watermark follows');
    });

    it('a node taking over after a crash resumes from the frontier: only the ticks nobody fired are missed', async () => {
      const first = world.node('n1', { leaseTtlMs: 2_000 });
      const catchup = { mode: 'all' as const, windowSeconds: 3600, maxRuns: 100 };
      const schedule = await world.addSchedule({ cron: '*/1 * * * * *', catchup });
      await world.runFor(5_000, 250, [first]);
      assert.equal((await world.runsOf(schedule.id)).length, 6, 'ticks 0–5 s fired');
      // n1 dies holding its leases (no stop); n2 takes the partitions once they have expired.
      world.clock.advance(3_000);
      const second = world.node('n2', { leaseTtlMs: 2_000 });
      await second.engine.syncLeases();
      // Its watermark reads as 12:00:06 (the first tick past n1's last frontier), not as the schedule's own
      // (12:00:00): one missed tick (6 s) to catch up, 7 s still within the late grace, none fired again.
      assert.equal(second.engine.stats().catchupsPending, 1);
      await world.runFor(2_000, 250, [second]);
      assert.deepEqual(
        await world.ticksOf(schedule.id),
        Array.from({ length: 11 }, (_, i) => iso(Date.parse('2026-06-01T12:00:00.000Z') + i * 1000)),
      );
    });

    it('fires the ticks due together in run id order, a batch at a time, the frontier behind the batches unsent', async () => {
      // The world's store, its fireTicks seen through a wrapper that records each batch and fails the second.
      const batches: { runIds: string[]; through: FiredThrough | undefined }[] = [];
      const store: Store = Object.create(world.store) as Store;
      store.fireTicks = async (owner, leases, fires, now, through) => {
        batches.push({ runIds: fires.map((fire) => fire.runId), through });
        if (batches.length === 2) throw new Error('disk I/O error');
        return world.store.fireTicks(owner, leases, fires, now, through);
      };
      const node = world.node('n1', { batchSize: 2 }, store);
      const schedules = [];
      for (let i = 0; i < 7; i++) schedules.push(await world.addSchedule({ every: '1s' }));
      const due = world.clock.now();
      await assert.rejects(step(node.engine), /disk I\/O error/);
      const expected = schedules.map((s) => scheduledRunId(s.id, due)).sort();
      assert.deepEqual(
        batches.map((b) => b.runIds),
        [expected.slice(0, 2), expected.slice(2, 4)],
      );
      // With batches of the same tick still to send, the first one vouches for nothing at that tick.
      assert.ok((batches[0]?.through?.firedThrough ?? Infinity) < due);

      // The failed batch and the ones after it go first at the next firing, in the same order.
      await node.engine.fireDue();
      assert.deepEqual(
        batches.slice(2, 5).map((b) => b.runIds),
        [expected.slice(2, 4), expected.slice(4, 6), expected.slice(6)],
      );
      assert.ok((batches[3]?.through?.firedThrough ?? Infinity) < due);
      assert.ok((batches[4]?.through?.firedThrough ?? 0) >= due, 'the last batch of the tick vouches for it');
      assert.deepEqual(
        (await world.drain()).map((m) => m.runId),
        expected,
      );
    });

    it('a burst longer than the lease round gives way to it, and fires every tick on time', async () => {
      // Each batch takes 5 s to write: past the round (TTL / 3) after the first, past the TTL after two.
      const store: Store = Object.create(world.store) as Store;
      store.fireTicks = async (...args) => {
        world.clock.advance(5_000);
        return world.store.fireTicks(...args);
      };
      const node = world.node('n1', { batchSize: 2, leaseTtlMs: 10_000 }, store);
      const schedules = [];
      for (let i = 0; i < 8; i++) schedules.push(await world.addSchedule({ every: '1h' }));
      for (let i = 0; i < 10; i++) await step(node.engine);
      for (const schedule of schedules) {
        const [run] = await world.runsOf(schedule.id);
        assert.ok(run, 'fired');
        const created = (await world.store.getRunEvents(run.id))[0];
        assert.doesNotMatch(created?.detail ?? '', /caught up/, 'fired as a regular tick, not by catch-up');
      }
      assert.equal(node.engine.stats().partitions, 256);
    });

    it('fires a lead ahead of the due time, and never before', async () => {
      const node = world.node('n1', { leadMs: 800 });
      const schedule = await world.addSchedule({ every: '5s' });
      await step(node.engine);
      await world.drain();
      const firstTick = Date.parse('2026-06-01T12:00:05.000Z');
      world.clock.set(firstTick - 801);
      await step(node.engine);
      assert.deepEqual(await world.ticksOf(schedule.id), [iso(firstTick - 5000)]);
      world.clock.set(firstTick - 800);
      await step(node.engine);
      const runs = await world.runsOf(schedule.id);
      assert.equal(runs.length, 2);
      assert.equal(runs[1]?.dispatchedAt, firstTick - 800, 'dispatched a lead before it is due');
      assert.equal(runs[1]?.availableAt, firstTick);
      assert.equal((await world.drain()).length, 1);
    });

    it('keeps to startAt and endAt, and marks a finished schedule so it is not loaded again', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({
        every: '10s',
        startAt: '2026-06-01T12:00:30.000Z',
        endAt: '2026-06-01T12:01:00.000Z',
      });
      await world.runFor(120_000, 1000);
      assert.deepEqual(await world.ticksOf(schedule.id), [
        '2026-06-01T12:00:30.000Z',
        '2026-06-01T12:00:40.000Z',
        '2026-06-01T12:00:50.000Z',
        '2026-06-01T12:01:00.000Z',
      ]);
      assert.equal((await world.store.getSchedule(world.tenant.id, schedule.id))?.nextFireAt, null);
      assert.equal(node.engine.stats().schedules, 0);
    });

    it('fires nothing for a paused schedule, and picks up its resume from the change event', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ every: '1s', paused: true });
      await world.runFor(3000);
      assert.deepEqual(await world.ticksOf(schedule.id), []);
      const resumed = {
        ...schedule,
        paused: false,
        version: 2,
        nextFireAt: world.clock.now() + 1000,
        updatedAt: world.clock.now(),
      };
      assert.equal(await world.store.updateSchedule(resumed), true);
      node.changes.emit({ scheduleId: schedule.id, partition: schedule.partition });
      await node.engine.applyChanges();
      await node.engine.fireDue();
      world.clock.advance(1000);
      await node.engine.fireDue();
      assert.deepEqual(await world.ticksOf(schedule.id), ['2026-06-01T12:00:04.000Z']);
    });

    it('applies a change of spec within the step it is heard, and deletion stops the ticks', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ every: '1s' });
      await world.runFor(2000);
      const changed = {
        ...schedule,
        spec: { kind: 'every' as const, every: '10s', intervalMs: 10_000, anchorAt: schedule.createdAt },
        version: 2,
        nextFireAt: Date.parse('2026-06-01T12:00:10.000Z'),
        updatedAt: world.clock.now(),
      };
      assert.equal(await world.store.updateSchedule(changed), true);
      node.changes.emit({ scheduleId: schedule.id, partition: schedule.partition });
      await world.runFor(20_000, 1000);
      assert.deepEqual(await world.ticksOf(schedule.id), [
        '2026-06-01T12:00:00.000Z',
        '2026-06-01T12:00:01.000Z',
        '2026-06-01T12:00:02.000Z',
        '2026-06-01T12:00:10.000Z',
        '2026-06-01T12:00:20.000Z',
      ]);
      assert.equal(await world.store.deleteSchedule(world.tenant.id, schedule.id, world.clock.now()), true);
      // No event this time: the reconciliation from the store's change log finds it.
      await world.runFor(20_000, 1000);
      assert.equal((await world.ticksOf(schedule.id)).length, 5);
      assert.equal(node.engine.stats().schedules, 0);
    });

    it('refuses a tick computed from a version that has changed since (stale), and reloads', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ every: '1s' });
      await step(node.engine);
      // Changed behind the engine's back: no event, and the reconciliation has not run yet.
      await world.store.updateSchedule({
        ...schedule,
        paused: true,
        version: 2,
        updatedAt: world.clock.now(),
      });
      world.clock.advance(1000);
      await node.engine.fireDue();
      assert.deepEqual(await world.ticksOf(schedule.id), ['2026-06-01T12:00:00.000Z']);
      await node.engine.applyChanges();
      assert.equal(node.engine.stats().schedules, 0, 'the stale schedule was reloaded: paused, so dropped');
    });

    it('delays each run by the schedule’s fixed jitter, keeping the nominal time', async () => {
      world.node('n1');
      const schedule = await world.addSchedule({ every: '1m', jitterSeconds: 30 });
      await world.runFor(150_000, 1000); // the third tick (12:02:00) is due by 12:02:30 at the latest
      const offset = jitterOffsetMs(schedule.id, 30);
      assert.ok(offset >= 0 && offset < 30_000);
      const runs = await world.runsOf(schedule.id);
      assert.equal(runs.length, 3);
      for (const run of runs) {
        assert.equal(run.nominalTime % 60_000, 0);
        assert.equal(run.dueAt, run.nominalTime + offset);
      }
    });

    it('holds every schedule of every partition in embedded mode, and gives them back at stop', async () => {
      const node = world.node('n1');
      const schedules = await Promise.all(
        Array.from({ length: 50 }, () => world.addSchedule({ every: '1s' })),
      );
      await step(node.engine);
      assert.equal(node.engine.stats().partitions, 256);
      assert.equal(node.engine.stats().schedules, 50);
      assert.ok(new Set(schedules.map((s) => partitionOf(s.id))).size > 30, 'spread over partitions');
      await node.engine.stop();
      const other = world.node('n2');
      await step(other.engine);
      assert.equal(other.engine.stats().partitions, 256, 'released leases are taken at once');
    });
  });
}
