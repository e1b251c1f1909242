// The Store as the queue's outbox (core/dispatch.ts, takeRunsToDispatch), for every store adapter: which
// queued runs a sweep takes, that it marks them dispatched so that the next sweep (or a second sweeper) does
// not take them again, and that a retry or a release leaves the run to be dispatched anew.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import {
  attemptResult,
  clock,
  eventTypes,
  mustGetRun,
  seedJob,
  seedRun,
  seedRunning,
  tick,
  withStore,
} from './store-fixtures.js';

const NEVER_AGAIN = null;

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): the dispatch outbox`, () => {
    test('takes queued, never-dispatched runs available by the bound, oldest first, once', async (store) => {
      const job = await seedJob(store, { resources: { memoryMb: 256, memoryRequestMb: 100 } });
      const now = clock;
      const later = await seedRun(store, job, { availableAt: now + 3_600_000 });
      const soon = await seedRun(store, job, { availableAt: now + 1_000 });
      const due = await seedRun(store, job, { availableAt: now - 5 });
      await seedRunning(store, job);
      const at = tick();
      const taken = await store.takeRunsToDispatch({
        availableBy: now + 2_000,
        redispatchBefore: NEVER_AGAIN,
        at,
        limit: 10,
      });
      assert.deepEqual(
        taken.map((m) => m.runId),
        [due.id, soon.id],
      );
      assert.deepEqual(taken[0], {
        runId: due.id,
        tenantId: job.tenantId,
        attempt: 1,
        memoryMb: 256,
        memoryRequestMb: 100,
        availableAt: due.availableAt,
      });
      assert.equal((await mustGetRun(store, due)).dispatchedAt, at);
      assert.deepEqual(await eventTypes(store, due.id), ['created', 'dispatched']);
      assert.equal((await mustGetRun(store, later)).dispatchedAt, null);
      // Taken once: the next sweep (or another sweeper) gets nothing more until the later one comes due.
      const again = await store.takeRunsToDispatch({
        availableBy: now + 2_000,
        redispatchBefore: NEVER_AGAIN,
        at: tick(),
        limit: 10,
      });
      assert.deepEqual(again, []);
      const limited = await store.takeRunsToDispatch({
        availableBy: now + 7_200_000,
        redispatchBefore: NEVER_AGAIN,
        at: tick(),
        limit: 1,
      });
      assert.deepEqual(
        limited.map((m) => m.runId),
        [later.id],
      );
    });

    test('takes a dispatched run again only when dispatched before the redispatch bound', async (store) => {
      const job = await seedJob(store);
      const run = await seedRun(store, job, { availableAt: clock });
      const first = tick();
      await store.markDispatched([run.id], first);
      const query = { availableBy: clock + 2_000, at: tick(), limit: 10 };
      assert.deepEqual(await store.takeRunsToDispatch({ ...query, redispatchBefore: NEVER_AGAIN }), []);
      assert.deepEqual(await store.takeRunsToDispatch({ ...query, redispatchBefore: first }), []);
      const redispatched = await store.takeRunsToDispatch({ ...query, redispatchBefore: first + 1 });
      assert.deepEqual(
        redispatched.map((m) => m.runId),
        [run.id],
      );
      // The time moves on; the timeline keeps its one dispatched event.
      assert.equal((await mustGetRun(store, run)).dispatchedAt, query.at);
      assert.deepEqual(await eventTypes(store, run.id), ['created', 'dispatched']);
      // A claimed run is never taken.
      await store.claimRun(run.id, 1, 'wrk_a', tick());
      assert.deepEqual(
        await store.takeRunsToDispatch({ ...query, at: tick(), redispatchBefore: Number.MAX_SAFE_INTEGER }),
        [],
      );
    });

    test('a retry and a release are dispatched anew; a blocked or cancelled run never', async (store) => {
      const job = await seedJob(store);
      const retried = await seedRunning(store, job, 'wrk_a');
      const retryAt = clock + 600_000;
      assert.equal(
        await store.finishAttempt(attemptResult(retried, { outcome: 'failed', retryAt, workerId: 'wrk_a' })),
        'requeued',
      );
      const released = await seedRunning(store, job, 'wrk_b');
      assert.equal(await store.releaseRun(released.id, 1, 'wrk_b', tick(), 'worker stopped'), true);
      const cancelled = await seedRun(store, job, { availableAt: clock });
      await store.requestCancel(job.tenantId, cancelled.id, tick());
      const first = await store.takeRunsToDispatch({
        availableBy: clock + 2_000,
        redispatchBefore: NEVER_AGAIN,
        at: tick(),
        limit: 10,
      });
      assert.deepEqual(
        first.map((m) => [m.runId, m.attempt]),
        [[released.id, 1]],
      );
      const afterBackoff = await store.takeRunsToDispatch({
        availableBy: retryAt,
        redispatchBefore: NEVER_AGAIN,
        at: tick(),
        limit: 10,
      });
      assert.deepEqual(
        afterBackoff.map((m) => [m.runId, m.attempt]),
        [[retried.id, 2]],
      );
    });
  });
}
