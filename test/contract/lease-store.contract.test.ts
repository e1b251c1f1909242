// The Store contract for partition leases: several scheduler nodes on one store share the partitions fairly,
// keep their epochs while they renew, lose partitions to others when they stop renewing (the taker's epoch is
// higher), and a node that lost a partition can no longer write for it. Runs against every adapter.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartitionLease, Store } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { SECOND, seedSchedule, tickOf } from './schedule-fixtures.js';
import { seedJob, withStore } from './store-fixtures.js';

const PARTITIONS = 8;
const TTL = 10 * SECOND;
const T0 = Date.UTC(2026, 2, 1);

const sync = (store: Store, owner: string, now: number): Promise<PartitionLease[]> =>
  store.syncPartitionLeases({ owner, partitionCount: PARTITIONS, ttlMs: TTL, now });

const partitionsOf = (leases: PartitionLease[]): number[] => leases.map((l) => l.partition);
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): partition leases`, () => {
    test('a lone node takes every partition at epoch 1, and renewing keeps the epochs', async (store) => {
      const first = await sync(store, 'node-a', T0);
      assert.deepEqual(
        first,
        range(0, PARTITIONS).map((partition) => ({ partition, epoch: 1 })),
      );
      assert.deepEqual(await sync(store, 'node-a', T0 + SECOND), first);
      // Even a round late (its lease ran out, but nobody took it): still its own, same epoch.
      assert.deepEqual(await sync(store, 'node-a', T0 + 3 * TTL), first);
    });

    test('a second node gets its fair share once the first gives back the excess', async (store) => {
      await sync(store, 'node-a', T0);
      // B joins: share is 4 each, but nothing is free yet.
      assert.deepEqual(await sync(store, 'node-b', T0 + 100), []);
      // A's next round gives back its highest partitions …
      const a = await sync(store, 'node-a', T0 + 200);
      assert.deepEqual(partitionsOf(a), range(0, 4));
      assert.ok(
        a.every((l) => l.epoch === 1),
        'the kept ones keep their epoch',
      );
      // … and B takes them, each with a new epoch.
      const b = await sync(store, 'node-b', T0 + 300);
      assert.deepEqual(
        b,
        range(4, 8).map((partition) => ({ partition, epoch: 2 })),
      );
      // Stable from there on.
      assert.deepEqual(await sync(store, 'node-a', T0 + 400), a);
      assert.deepEqual(await sync(store, 'node-b', T0 + 500), b);
    });

    test('three nodes share out every partition, none twice, at most ceil(n / 3) each', async (store) => {
      const owners = ['node-a', 'node-b', 'node-c'];
      let now = T0;
      let held = new Map<string, PartitionLease[]>();
      for (let round = 0; round < 4; round++) {
        held = new Map();
        for (const owner of owners) held.set(owner, await sync(store, owner, (now += 100)));
      }
      const all = owners.flatMap((owner) => partitionsOf(held.get(owner) ?? []));
      assert.deepEqual(
        [...all].sort((x, y) => x - y),
        range(0, PARTITIONS),
      );
      for (const owner of owners) {
        const count = held.get(owner)?.length ?? 0;
        assert.ok(count >= 2 && count <= Math.ceil(PARTITIONS / 3), `${owner} holds ${count}`);
      }
    });

    test('a node that stops renewing loses its partitions after its TTL, at a new epoch', async (store) => {
      await sync(store, 'node-a', T0);
      await sync(store, 'node-b', T0 + 100);
      await sync(store, 'node-a', T0 + 200);
      await sync(store, 'node-b', T0 + 300);
      // A goes silent. Before its TTL has passed, B gets nothing more.
      assert.deepEqual(partitionsOf(await sync(store, 'node-b', T0 + TTL)), range(4, 8));
      // After it, A is no longer a member, so B's share is everything, and A's partitions come with epoch 2.
      const taken = await sync(store, 'node-b', T0 + 200 + TTL + 1);
      assert.deepEqual(partitionsOf(taken), range(0, 8));
      assert.deepEqual(
        taken.filter((l) => l.partition < 4).map((l) => l.epoch),
        [2, 2, 2, 2],
      );
      // A comes back: everything is held, so it gets nothing until B gives back its excess.
      const now = T0 + 300 + TTL;
      assert.deepEqual(await sync(store, 'node-a', now), []);
      assert.deepEqual(partitionsOf(await sync(store, 'node-b', now + 100)), range(0, 4));
      const back = await sync(store, 'node-a', now + 200);
      assert.deepEqual(
        back,
        range(4, 8).map((partition) => ({ partition, epoch: 3 })),
      );
    });

    test('releasePartitionLeases gives everything back at once', async (store) => {
      await sync(store, 'node-a', T0);
      await sync(store, 'node-b', T0 + 100);
      await sync(store, 'node-a', T0 + 200);
      await sync(store, 'node-b', T0 + 300);
      await store.releasePartitionLeases('node-a');
      // No TTL to wait for: A is no longer a member, and its partitions are free.
      const b = await sync(store, 'node-b', T0 + 400);
      assert.deepEqual(partitionsOf(b), range(0, 8));
      assert.deepEqual(
        b.filter((l) => l.partition < 4).map((l) => l.epoch),
        [2, 2, 2, 2],
      );
      await store.releasePartitionLeases('node-unknown');
    });

    test('a node that lost a partition is fenced: it fires and moves nothing', async (store) => {
      const job = await seedJob(store);
      const schedule = await seedSchedule(store, job, { partition: 0, nextFireAt: T0 });
      const [oldLease] = await sync(store, 'node-a', T0);
      assert.ok(oldLease);
      // A stalls past its TTL; B takes partition 0 over.
      const taken = await sync(store, 'node-b', T0 + TTL + 1);
      assert.deepEqual(taken[0], { partition: 0, epoch: 2 });

      const fire = tickOf(schedule, T0);
      const result = await store.fireTicks('node-a', [oldLease], [fire], T0 + TTL + 2);
      assert.deepEqual(result, {
        fenced: [0],
        queued: [],
        skipped: [],
        blocked: [],
        duplicates: [],
        stale: [],
        cancelled: [],
        stopping: [],
      });
      assert.equal(await store.getRun(job.tenantId, fire.runId), null);
      const marks = [{ scheduleId: schedule.id, version: 1, nextFireAt: T0 + 60 * SECOND }];
      assert.equal(await store.advanceWatermarks('node-a', oldLease, marks), false);
      // Another owner's epoch, or the right epoch under the wrong owner, is fenced just the same.
      assert.deepEqual(
        (await store.fireTicks('node-a', [{ partition: 0, epoch: 2 }], [fire], T0)).fenced,
        [0],
      );
      assert.equal(await store.advanceWatermarks('node-b', oldLease, marks), false);
      assert.equal((await store.getScheduleTiming(schedule.id))?.nextFireAt, T0);

      // The new holder fires it.
      const fired = await store.fireTicks('node-b', [{ partition: 0, epoch: 2 }], [fire], T0 + TTL + 3);
      assert.deepEqual(fired.fenced, []);
      assert.deepEqual(
        fired.queued.map((m) => m.runId),
        [fire.runId],
      );
    });
  });
}
