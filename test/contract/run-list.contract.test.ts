// listRuns' filters, on every store: several statuses at once ("failures only"), a time range on the runs'
// ids, and both with a job and with the keyset cursor. Each page is checked against the same filter applied
// to the whole unfiltered list, so a store that drops a run, repeats one or leaks another status fails.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOfId } from '../../src/core/ids.js';
import { RUN_STATUSES, type RunStatus } from '../../src/core/run-state.js';
import type { Run } from '../../src/core/run.js';
import type { RunFilter, Store } from '../../src/ports/store.js';
import { NO_JOB_LIMIT, STORE_FACTORIES } from '../support/store-factories.js';
import { makeJob, makeTenant, seedJob, seedRun, tick, withStore } from './store-fixtures.js';

const FAILURES: readonly RunStatus[] = ['failed', 'timed_out', 'oom_killed', 'lost'];

/** Every run of the filter, page after page of `limit`. */
async function allPages(store: Store, tenantId: string, filter: Omit<RunFilter, 'limit'>, limit: number) {
  const seen: Run[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.listRuns(tenantId, { ...filter, limit, cursor });
    assert.ok(page.items.length <= limit);
    seen.push(...page.items);
    cursor = page.nextCursor ?? undefined;
    assert.ok(++pages < 100, 'paging ends');
  } while (cursor !== undefined);
  return seen.map((run) => run.id);
}

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): listRuns by statuses and time`, () => {
    test('several statuses list exactly those runs, newest first, paged by cursor', async (store) => {
      const jobA = await seedJob(store);
      const jobB = makeJob(jobA.tenantId);
      await store.insertJob(jobB, NO_JOB_LIMIT);
      // Another tenant's failures never show.
      const stranger = await seedJob(store);
      await seedRun(store, stranger, { status: 'failed', finishedAt: tick() });
      // Every status, in an order that interleaves them, over two jobs.
      const order = [...RUN_STATUSES, ...[...RUN_STATUSES].reverse(), ...RUN_STATUSES];
      for (const [i, status] of order.entries()) {
        const finished = status !== 'queued' && status !== 'running';
        await seedRun(
          store,
          i % 3 === 0 ? jobB : jobA,
          finished ? { status, finishedAt: tick() } : { status },
        );
      }
      const everything = (await store.listRuns(jobA.tenantId, { limit: 500 })).items;
      assert.equal(everything.length, order.length);
      const expected = (wanted: readonly RunStatus[], jobId?: string) =>
        everything
          .filter((run) => wanted.includes(run.status) && (jobId === undefined || run.jobId === jobId))
          .map((run) => run.id);

      for (const limit of [1, 2, 5, 100]) {
        assert.deepEqual(
          await allPages(store, jobA.tenantId, { statuses: FAILURES }, limit),
          expected(FAILURES),
        );
      }
      assert.equal(expected(FAILURES).length, 12);
      assert.deepEqual(
        await allPages(store, jobA.tenantId, { statuses: FAILURES, jobId: jobA.id }, 2),
        expected(FAILURES, jobA.id),
      );
      assert.deepEqual(
        await allPages(store, jobA.tenantId, { statuses: ['succeeded'] }, 2),
        expected(['succeeded']),
      );
      // The order a client names them in does not matter; every status is the unfiltered list.
      assert.deepEqual(
        await allPages(store, jobA.tenantId, { statuses: ['lost', 'failed'] }, 3),
        expected(['failed', 'lost']),
      );
      assert.deepEqual(
        await allPages(store, jobA.tenantId, { statuses: RUN_STATUSES }, 4),
        everything.map((run) => run.id),
      );
      assert.deepEqual(
        await allPages(store, jobA.tenantId, { statuses: [] }, 4),
        everything.map((run) => run.id),
      );
    });

    test('a time range lists the runs whose id time is in [from, to), with and without filters', async (store) => {
      const job = await seedJob(store);
      const runs: Run[] = [];
      for (let i = 0; i < 9; i++) {
        runs.push(await seedRun(store, job, i % 2 === 0 ? { status: 'failed', finishedAt: tick() } : {}));
      }
      const newestFirst = [...runs].reverse();
      const at = (run: Run | undefined) => timeOfId(run?.id ?? '');
      const fromMs = at(runs[2]);
      const toMs = at(runs[7]);
      const inRange = (run: Run) => at(run) >= fromMs && at(run) < toMs;
      const expected = newestFirst.filter(inRange).map((run) => run.id);
      assert.deepEqual(
        expected,
        [runs[6], runs[5], runs[4], runs[3], runs[2]].map((run) => run?.id),
      );

      for (const limit of [1, 2, 10]) {
        assert.deepEqual(await allPages(store, job.tenantId, { fromMs, toMs }, limit), expected);
        assert.deepEqual(
          await allPages(store, job.tenantId, { fromMs, toMs, jobId: job.id }, limit),
          expected,
        );
      }
      const failedInRange = newestFirst.filter((r) => inRange(r) && r.status === 'failed').map((r) => r.id);
      assert.equal(failedInRange.length, 3);
      assert.deepEqual(
        await allPages(store, job.tenantId, { fromMs, toMs, statuses: ['failed', 'lost'] }, 1),
        failedInRange,
      );
      assert.deepEqual(
        await allPages(store, job.tenantId, { fromMs, toMs, statuses: ['failed'], jobId: job.id }, 2),
        failedInRange,
      );
      // Open-ended on either side.
      assert.deepEqual(
        await allPages(store, job.tenantId, { fromMs }, 4),
        newestFirst.filter((run) => at(run) >= fromMs).map((run) => run.id),
      );
      assert.deepEqual(
        await allPages(store, job.tenantId, { toMs }, 4),
        newestFirst.filter((run) => at(run) < toMs).map((run) => run.id),
      );
      // An empty range lists nothing.
      assert.deepEqual(await store.listRuns(job.tenantId, { fromMs: toMs, toMs: fromMs, limit: 5 }), {
        items: [],
        nextCursor: null,
      });
      // Another tenant sees none of them in the same range.
      const other = makeTenant();
      await store.createTenant(other);
      assert.deepEqual(await store.listRuns(other.id, { fromMs, toMs, statuses: FAILURES, limit: 5 }), {
        items: [],
        nextCursor: null,
      });
    });
  });
}
