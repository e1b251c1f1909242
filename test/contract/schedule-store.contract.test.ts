// The Store contract for schedules, tenant side and engine side: insert within the plan limit, optimistic
// update, soft delete (alone and with the job), the change sequence reconciliation reads, and the engine's
// paged load. Runs against every adapter in STORE_FACTORIES.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import type { Schedule } from '../../src/core/schedule.js';
import type { ScheduleTiming, Store } from '../../src/ports/store.js';
import { NO_JOB_LIMIT, STORE_FACTORIES } from '../support/store-factories.js';
import { makeSchedule, NO_SCHEDULE_LIMIT, SECOND, seedSchedule } from './schedule-fixtures.js';
import { id, makeJob, makeTenant, seedJob, tick, withStore } from './store-fixtures.js';

const isPlanLimit = (error: unknown): boolean =>
  error instanceof HourglassError &&
  error.code === 'plan_limit_exceeded' &&
  error.context.limit === 'maxSchedules';

function timingOf(schedule: Schedule, changeSeq: number, deleted = false): ScheduleTiming {
  return {
    id: schedule.id,
    partition: schedule.partition,
    version: schedule.version,
    spec: schedule.spec,
    startAt: schedule.startAt,
    endAt: schedule.endAt,
    jitterSeconds: schedule.jitterSeconds,
    catchup: schedule.catchup,
    paused: schedule.paused,
    deleted,
    nextFireAt: schedule.nextFireAt,
    changeSeq,
  };
}

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): schedules`, () => {
    test('a schedule round-trips exactly, both spec kinds, in its tenant only', async (store) => {
      const job = await seedJob(store);
      const cron = await seedSchedule(store, job, {
        args: ['--fast'],
        env: { MODE: 'cron' },
        startAt: tick(),
        endAt: tick() + 3600 * SECOND,
        overlapPolicy: 'buffer_one',
        catchup: { mode: 'all', windowSeconds: 600, maxRuns: 3 },
        jitterSeconds: 30,
        partition: 17,
      });
      const every = await seedSchedule(store, job, {
        spec: { kind: 'every', every: '1h30m', intervalMs: 5400 * SECOND, anchorAt: tick() },
        paused: true,
        nextFireAt: null,
      });
      assert.deepEqual(await store.getSchedule(job.tenantId, cron.id), cron);
      assert.deepEqual(await store.getSchedule(job.tenantId, every.id), every);
      const other = makeTenant();
      await store.createTenant(other);
      assert.equal(await store.getSchedule(other.id, cron.id), null);
      assert.equal(await store.getSchedule(job.tenantId, id('schedule')), null);
    });

    test('insertSchedule enforces the plan limit; a deleted schedule frees its place', async (store) => {
      const job = await seedJob(store);
      const first = await store.insertSchedule(makeSchedule(job), 2).then(() => 'ok');
      assert.equal(first, 'ok');
      const second = makeSchedule(job);
      await store.insertSchedule(second, 2);
      await assert.rejects(store.insertSchedule(makeSchedule(job), 2), isPlanLimit);
      // Another tenant has its own count.
      const otherJob = await seedJob(store);
      await store.insertSchedule(makeSchedule(otherJob), 2);
      assert.equal(await store.deleteSchedule(job.tenantId, second.id, tick()), true);
      await store.insertSchedule(makeSchedule(job), 2);
      await assert.rejects(store.insertSchedule(makeSchedule(job), 2), isPlanLimit);
    });

    it('the plan limit holds for concurrent inserts through two connections', async () => {
      const location = await factory.createLocation();
      const a = await location.open();
      const b = await location.open();
      try {
        const job = await seedJob(a.store);
        const attempts = Array.from({ length: 12 }, (_, i) =>
          (i % 2 === 0 ? a : b).store.insertSchedule(makeSchedule(job), 5),
        );
        const results = await Promise.allSettled(attempts);
        const ok = results.filter((r) => r.status === 'fulfilled').length;
        assert.equal(ok, 5);
        for (const r of results) if (r.status === 'rejected') assert.ok(isPlanLimit(r.reason));
        const listed = await b.store.listSchedules(job.tenantId, { limit: 100 });
        assert.equal(listed.items.length, 5);
      } finally {
        await a.store.close();
        await b.store.close();
        await location.destroy();
      }
    });

    test('a schedule needs a live job of its tenant', async (store) => {
      const job = await seedJob(store);
      await store.deleteJob(job.tenantId, job.id, tick());
      const isJobNotFound = (error: unknown) =>
        error instanceof HourglassError && error.code === 'not_found' && error.context.field === 'jobId';
      await assert.rejects(store.insertSchedule(makeSchedule(job), NO_SCHEDULE_LIMIT), isJobNotFound);
      const live = await seedJob(store);
      const otherTenant = makeTenant();
      await store.createTenant(otherTenant);
      const foreign = { ...makeSchedule(live), tenantId: otherTenant.id };
      await assert.rejects(store.insertSchedule(foreign, NO_SCHEDULE_LIMIT), isJobNotFound);
    });

    test('listSchedules is oldest first, by job, paged, live only', async (store) => {
      const jobA = await seedJob(store);
      const jobB = makeJob(jobA.tenantId);
      await store.insertJob(jobB, NO_JOB_LIMIT);
      const a1 = await seedSchedule(store, jobA);
      const b1 = await seedSchedule(store, jobB);
      const gone = await seedSchedule(store, jobA);
      const a2 = await seedSchedule(store, jobA, { paused: true });
      await store.deleteSchedule(jobA.tenantId, gone.id, tick());
      const ids = async (filter: Parameters<Store['listSchedules']>[1]) =>
        (await store.listSchedules(jobA.tenantId, filter)).items.map((s) => s.id);
      assert.deepEqual(await ids({ limit: 10 }), [a1.id, b1.id, a2.id]);
      assert.deepEqual(await ids({ limit: 10, jobId: jobA.id }), [a1.id, a2.id]);
      const p1 = await store.listSchedules(jobA.tenantId, { limit: 2 });
      assert.deepEqual(p1, { items: [a1, b1], nextCursor: b1.id });
      assert.deepEqual(await store.listSchedules(jobA.tenantId, { limit: 2, cursor: b1.id }), {
        items: [a2],
        nextCursor: null,
      });
      const other = await seedJob(store);
      assert.deepEqual(await store.listSchedules(other.tenantId, { limit: 10 }), {
        items: [],
        nextCursor: null,
      });
    });

    test('listSchedules by a job the tenant does not have is not_found; a deleted one lists none', async (store) => {
      const job = await seedJob(store);
      await seedSchedule(store, job);
      const other = makeTenant();
      await store.createTenant(other);
      const isJobNotFound = (error: unknown) =>
        error instanceof HourglassError && error.code === 'not_found' && error.context.field === 'jobId';
      await assert.rejects(store.listSchedules(other.id, { limit: 10, jobId: job.id }), isJobNotFound);
      await assert.rejects(
        store.listSchedules(job.tenantId, { limit: 10, jobId: 'job_00000000000000000000000000' }),
        isJobNotFound,
      );
      await store.deleteJob(job.tenantId, job.id, tick());
      assert.deepEqual(await store.listSchedules(job.tenantId, { limit: 10, jobId: job.id }), {
        items: [],
        nextCursor: null,
      });
    });

    test('updateSchedule is optimistic on the version', async (store) => {
      const job = await seedJob(store);
      const schedule = await seedSchedule(store, job);
      const changed: Schedule = {
        ...schedule,
        spec: { kind: 'every', every: '30s', intervalMs: 30 * SECOND, anchorAt: schedule.createdAt },
        overlapPolicy: 'replace',
        args: ['x'],
        env: { A: '1' },
        paused: true,
        updatedAt: tick(),
        version: 2,
        nextFireAt: null,
      };
      assert.equal(await store.updateSchedule(changed), true);
      assert.deepEqual(await store.getSchedule(job.tenantId, schedule.id), changed);
      // A second writer that read version 1 too loses, and writes nothing.
      const late = { ...schedule, jitterSeconds: 99, version: 2 };
      assert.equal(await store.updateSchedule(late), false);
      assert.equal(await store.updateSchedule({ ...schedule, version: 5 }), false);
      assert.deepEqual(await store.getSchedule(job.tenantId, schedule.id), changed);
      // Deleted: nothing to update.
      await store.deleteSchedule(job.tenantId, schedule.id, tick());
      assert.equal(await store.updateSchedule({ ...changed, version: 3 }), false);
      assert.equal(await store.updateSchedule({ ...changed, version: 4 }), false);
    });

    test('updateSchedules writes all or none, each a change, pauses recorded', async (store) => {
      const job = await seedJob(store);
      const a = await seedSchedule(store, job);
      const b = await seedSchedule(store, job);
      const c = await seedSchedule(store, job);
      const seq = await store.latestScheduleChange();
      const at = tick();
      const pause = (s: Schedule, version = s.version + 1): Schedule => ({
        ...s,
        paused: true,
        nextFireAt: null,
        updatedAt: at,
        version,
      });
      // One stale version (c was read at version 1, but 3 is not its next) and nothing is written.
      assert.equal(await store.updateSchedules([pause(a), pause(b), pause(c, 3)]), false);
      for (const s of [a, b, c]) assert.deepEqual(await store.getSchedule(job.tenantId, s.id), s);
      assert.equal(await store.latestScheduleChange(), seq);
      assert.deepEqual(await store.listSchedulePauses(job.tenantId, a.id, 0, Number.MAX_SAFE_INTEGER), []);
      // Another tenant's schedule in the set is stale too: it is not this tenant's row.
      const foreign = { ...pause(b), tenantId: makeTenant().id };
      assert.equal(await store.updateSchedules([pause(a), foreign]), false);
      assert.deepEqual(await store.getSchedule(job.tenantId, a.id), a);

      assert.equal(await store.updateSchedules([pause(c), pause(a)]), true);
      assert.deepEqual(await store.getSchedule(job.tenantId, a.id), pause(a));
      assert.deepEqual(await store.getSchedule(job.tenantId, c.id), pause(c));
      assert.deepEqual(await store.getSchedule(job.tenantId, b.id), b);
      assert.equal(await store.latestScheduleChange(), seq + 2, 'each schedule takes its own number');
      assert.deepEqual(await store.listSchedulePauses(job.tenantId, c.id, 0, Number.MAX_SAFE_INTEGER), [
        { pausedAt: at, resumedAt: null },
      ]);
      const changes = await store.listScheduleChanges([a.partition, c.partition], seq, 10);
      assert.deepEqual(new Set(changes.map((t) => t.id)), new Set([a.id, c.id]));
      assert.equal(await store.updateSchedules([]), true);
    });

    test('updateSchedules racing updateSchedule over one schedule: one wins, the set stays whole', async (store) => {
      const job = await seedJob(store);
      for (let round = 0; round < 5; round++) {
        const a = await seedSchedule(store, job);
        const b = await seedSchedule(store, job);
        const at = tick();
        const bulk = [a, b].map((s) => ({ ...s, paused: true, updatedAt: at, version: 2 }));
        const single = { ...b, jitterSeconds: 7, updatedAt: at, version: 2 };
        const [bulkWon, singleWon] = await Promise.all([
          store.updateSchedules(bulk),
          store.updateSchedule(single),
        ]);
        assert.equal(Number(bulkWon) + Number(singleWon), 1, 'exactly one of them writes');
        const [readA, readB] = await Promise.all([a, b].map((s) => store.getSchedule(job.tenantId, s.id)));
        assert.deepEqual([readA?.paused, readB?.paused], bulkWon ? [true, true] : [false, false]);
        assert.equal(readB?.jitterSeconds, singleWon ? 7 : b.jitterSeconds);
      }
    });

    test('deleteSchedule soft-deletes once; its timing stays readable as deleted', async (store) => {
      const job = await seedJob(store);
      const schedule = await seedSchedule(store, job);
      const other = await seedJob(store);
      assert.equal(await store.deleteSchedule(other.tenantId, schedule.id, tick()), false);
      assert.equal(await store.deleteSchedule(job.tenantId, schedule.id, tick()), true);
      assert.equal(await store.deleteSchedule(job.tenantId, schedule.id, tick()), false);
      assert.equal(await store.getSchedule(job.tenantId, schedule.id), null);
      const timing = await store.getScheduleTiming(schedule.id);
      assert.equal(timing?.deleted, true);
      assert.equal(timing?.version, 2, 'a delete is a change: the version moves');
      assert.equal(await store.getScheduleTiming(id('schedule')), null);
    });

    test('every change takes the next change sequence number, deleteJob included', async (store) => {
      assert.equal(await store.latestScheduleChange(), 0);
      const job = await seedJob(store);
      const a = await seedSchedule(store, job, { partition: 1 });
      const b = await seedSchedule(store, job, { partition: 2 });
      const c = await seedSchedule(store, job, { partition: 1 });
      assert.equal(await store.latestScheduleChange(), 3);
      assert.deepEqual(await store.getScheduleTiming(b.id), timingOf(b, 2));

      const pausedA = { ...a, paused: true, version: 2, updatedAt: tick() };
      assert.equal(await store.updateSchedule(pausedA), true);
      assert.equal(await store.latestScheduleChange(), 4);
      assert.equal(await store.updateSchedule(pausedA), false, 'a lost update is no change');
      assert.equal(await store.latestScheduleChange(), 4);

      const deleted = await store.deleteJob(job.tenantId, job.id, tick());
      assert.deepEqual(deleted.schedules, [a.id, b.id, c.id]);
      assert.equal(await store.latestScheduleChange(), 7);
      assert.equal(await store.getSchedule(job.tenantId, c.id), null);

      // Reconciliation: schedules of its partitions changed after the last change it saw, as they are now,
      // in change order (a schedule changed twice shows once, at its latest change).
      const changes = await store.listScheduleChanges([1], 3, 100);
      assert.deepEqual(
        changes.map((t) => [t.id, t.changeSeq, t.deleted, t.paused]),
        [
          [a.id, 5, true, true],
          [c.id, 7, true, false],
        ],
      );
      assert.deepEqual(
        (await store.listScheduleChanges([1, 2], 0, 2)).map((t) => t.changeSeq),
        [5, 6],
      );
      assert.deepEqual(await store.listScheduleChanges([3], 0, 100), []);
      assert.deepEqual(await store.listScheduleChanges([], 0, 100), []);
    });
  });

  describe(`Store contract (${factory.name}): the engine's load`, () => {
    test('loadSchedules pages active schedules of the given partitions in id order', async (store) => {
      const job = await seedJob(store);
      const active: Schedule[] = [];
      for (let i = 0; i < 9; i++) active.push(await seedSchedule(store, job, { partition: i % 3 }));
      const paused = await seedSchedule(store, job, { partition: 0, paused: true });
      const ended = await seedSchedule(store, job, { partition: 1, nextFireAt: null });
      const deleted = await seedSchedule(store, job, { partition: 2 });
      await store.deleteSchedule(job.tenantId, deleted.id, tick());
      const seqOf = async (s: Schedule) => (await store.getScheduleTiming(s.id))?.changeSeq ?? -1;

      const loadAll = async (partitions: number[], pageSize: number): Promise<ScheduleTiming[]> => {
        const out: ScheduleTiming[] = [];
        let after: string | null = null;
        for (;;) {
          const page = await store.loadSchedules(partitions, after, pageSize);
          out.push(...page);
          const last = page[page.length - 1];
          if (page.length < pageSize || !last) return out;
          after = last.id;
        }
      };
      const all = await loadAll([0, 1, 2], 4);
      assert.deepEqual(
        all.map((t) => t.id),
        active.map((s) => s.id),
      );
      const first = active[0];
      assert.ok(first);
      assert.deepEqual(all[0], timingOf(first, await seqOf(first)));
      for (const t of all) assert.ok(![paused.id, ended.id, deleted.id].includes(t.id));

      const one = await loadAll([1], 2);
      assert.deepEqual(
        one.map((t) => t.id),
        active.filter((s) => s.partition === 1).map((s) => s.id),
      );
      const two = await loadAll([2, 0], 100);
      assert.deepEqual(
        two.map((t) => t.id),
        active.filter((s) => s.partition !== 1).map((s) => s.id),
      );
      assert.deepEqual(await store.loadSchedules([3], null, 10), []);
      assert.deepEqual(await store.loadSchedules([], null, 10), []);

      // A changed spec and catch-up are what the next load sees.
      const second = active[1];
      assert.ok(second);
      const changed: Schedule = {
        ...second,
        spec: { kind: 'every', every: '45s', intervalMs: 45 * SECOND, anchorAt: second.createdAt },
        catchup: { mode: 'skip', windowSeconds: 60, maxRuns: 1 },
        startAt: tick(),
        jitterSeconds: 7,
        version: 2,
      };
      assert.equal(await store.updateSchedule(changed), true);
      const [reloaded] = await store.loadSchedules([second.partition], first.id, 1);
      assert.deepEqual(reloaded, timingOf(changed, await seqOf(changed)));
    });
  });
}
