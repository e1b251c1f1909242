// The Store contract for a schedule's history (ports/store/schedule-history-store.ts): its runs by tick, read
// in a window with `to` exclusive and in the tenant only, and the pauses that schedule changes record.
// Runs against every adapter in STORE_FACTORIES.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { leaseAll, SECOND, seedSchedule, tickOf } from './schedule-fixtures.js';
import { makeTenant, seedJob, tick, withStore } from './store-fixtures.js';

const ALL = [0, Number.MAX_SAFE_INTEGER] as const;

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): schedule history`, () => {
    test('a window of ticks finds their runs, oldest first, `to` exclusive, in the tenant only', async (store) => {
      const job = await seedJob(store);
      const schedule = await seedSchedule(store, job);
      const other = await seedSchedule(store, job);
      const owner = 'node-a';
      const lease = await leaseAll(store, owner);
      const t0 = Math.ceil(tick() / SECOND) * SECOND;
      const fires = [0, 1, 2, 3].map((k) => tickOf(schedule, t0 + k * SECOND));
      await store.fireTicks(owner, [lease], [...fires, tickOf(other, t0 + SECOND)], tick());
      const runs = await store.listTickRuns(job.tenantId, schedule.id, t0 + SECOND, t0 + 3 * SECOND, 100);
      assert.deepEqual(
        runs.map((r) => [r.id, r.nominalTime, r.status]),
        [
          [fires[1]?.runId, t0 + SECOND, 'queued'],
          [fires[2]?.runId, t0 + 2 * SECOND, 'queued'],
        ],
      );
      assert.equal(runs[0]?.firedLate, false, 'fired in bulk: the row says it was on time');
      assert.equal((await store.listTickRuns(job.tenantId, schedule.id, ...ALL, 2)).length, 2, 'limit');
      assert.deepEqual(await store.listTickRuns(makeTenant().id, schedule.id, ...ALL, 100), []);
    });

    test('pausing opens a pause once, resuming closes it; another tenant sees none', async (store) => {
      const job = await seedJob(store);
      const start = await seedSchedule(store, job, { paused: true, updatedAt: 1_000 });
      let schedule = start;
      const change = async (paused: boolean, at: number): Promise<void> => {
        schedule = { ...schedule, paused, updatedAt: at, version: schedule.version + 1 };
        assert.ok(await store.updateSchedule(schedule));
      };
      await change(true, 2_000); // an edit while paused: the pause stays as it began
      await change(false, 3_000);
      await change(false, 4_000);
      await change(true, 5_000);
      assert.deepEqual(await store.listSchedulePauses(job.tenantId, start.id, ...ALL), [
        { pausedAt: 1_000, resumedAt: 3_000 },
        { pausedAt: 5_000, resumedAt: null },
      ]);
      assert.deepEqual(
        await store.listSchedulePauses(job.tenantId, start.id, 3_000, 5_000),
        [],
        'overlap only',
      );
      assert.deepEqual(await store.listSchedulePauses(makeTenant().id, start.id, ...ALL), []);
      const stale = { ...schedule, paused: false, updatedAt: 6_000 }; // the version it had: refused
      assert.equal(await store.updateSchedule(stale), false);
      assert.equal((await store.listSchedulePauses(job.tenantId, start.id, ...ALL))[1]?.resumedAt, null);
    });
  });
}
