// The Store contract for firing ticks: what one tick becomes under each overlap policy (checked against runs
// really claimed by a worker), that a tick fired twice is one run, that a changed, paused or deleted schedule
// is not fired, watermarks, and the release of blocked runs. Runs against every adapter in STORE_FACTORIES.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Job } from '../../src/core/job.js';
import { byRunId, jitterOffsetMs, type OverlapPolicy, type Schedule } from '../../src/core/schedule.js';
import type { FiredThrough, PartitionLease, Store, TickFire } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { leaseAll, SECOND, seedSchedule, tickOf } from './schedule-fixtures.js';
import {
  attemptResult,
  eventTypes,
  makeJob,
  mustGetRun,
  seedJob,
  seedRun,
  tick,
  withStore,
} from './store-fixtures.js';

const OWNER = 'node-a';

interface World {
  store: Store;
  job: Job;
  lease: PartitionLease;
}

async function world(store: Store): Promise<World> {
  const job = await seedJob(store, { resources: { memoryMb: 384 } });
  return { store, job, lease: await leaseAll(store, OWNER) };
}

async function scheduleWith(w: World, overlapPolicy: OverlapPolicy, overrides: Partial<Schedule> = {}) {
  return seedSchedule(w.store, w.job, { overlapPolicy, partition: w.lease.partition, ...overrides });
}

async function fire(w: World, fires: TickFire[], now = tick(), through?: FiredThrough) {
  const result = await w.store.fireTicks(OWNER, [w.lease], fires, now, through);
  assert.deepEqual(result.fenced, []);
  return result;
}

/** Fires the schedule's tick at `nominal` and has a worker claim its run. */
async function fireAndClaim(w: World, schedule: Schedule, nominal: number) {
  const t = tickOf(schedule, nominal);
  const result = await fire(w, [t]);
  assert.deepEqual(
    result.queued.map((m) => m.runId),
    [t.runId],
  );
  assert.ok(await w.store.claimRun(t.runId, 1, 'wrk_a', tick()));
  return t;
}

const runOf = (w: World, t: TickFire) => mustGetRun(w.store, { tenantId: w.job.tenantId, id: t.runId });

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (w: World) => Promise<void>) =>
    it(name, () => withStore(factory, async (store) => body(await world(store))));

  describe(`Store contract (${factory.name}): firing ticks`, () => {
    test('allow: each tick is a queued run, dispatched at once, with the schedule’s args', async (w) => {
      const n = Date.UTC(2026, 2, 8, 7, 0, 0);
      const schedule = await scheduleWith(w, 'allow', { args: ['--tick'], env: { FROM: 'schedule' } });
      const noOverrides = await scheduleWith(w, 'allow');
      const t1 = tickOf(schedule, n, { dueAt: n + 1500, nextFireAt: n + 5 * SECOND });
      const t2 = tickOf(schedule, n + 5 * SECOND, { dueAt: n + 6500, nextFireAt: n + 10 * SECOND });
      const t3 = tickOf(noOverrides, n, { nextFireAt: null });
      const before = await w.store.getScheduleTiming(schedule.id);
      const now = n - 2 * SECOND;
      // The engine vouches for everything due up to the last tick it fired.
      const through = { firedThrough: n + 6500, changeSeq: await w.store.latestScheduleChange() };
      const result = await fire(w, [t1, t2, t3], now, through);
      // In no particular order (the port's word): compared in run id order.
      assert.deepEqual(
        [...result.queued].sort(byRunId),
        [t1, t2, t3]
          .map(({ runId }) => ({
            runId,
            tenantId: w.job.tenantId,
            attempt: 1,
            memoryMb: 384,
            memoryRequestMb: 96,
            availableAt: now,
          }))
          .sort(byRunId),
      );
      assert.deepEqual([result.skipped, result.blocked, result.duplicates, result.stale], [[], [], [], []]);

      const run = await runOf(w, t1);
      assert.deepEqual(run, {
        id: t1.runId,
        tenantId: w.job.tenantId,
        jobId: w.job.id,
        scheduleId: schedule.id,
        status: 'queued',
        attempt: 1,
        exitCode: null,
        reason: null,
        args: ['--tick'],
        env: { FROM: 'schedule' },
        createdAt: now,
        nominalTime: n,
        dueAt: n + 1500,
        blockedBy: null,
        availableAt: n + 1500,
        dispatchedAt: now,
        startedAt: null,
        finishedAt: null,
        workerId: null,
        heartbeatAt: null,
        cancelRequestedAt: null,
        idempotencyKey: null,
        imageDigest: null,
      });
      const plain = await runOf(w, t3);
      assert.deepEqual([plain.args, plain.env], [null, null]);
      const events = await w.store.getRunEvents(t1.runId);
      assert.deepEqual(
        events.map((e) => [e.type, e.status, e.attempt, e.at]),
        [
          ['created', 'queued', 1, now],
          ['dispatched', 'queued', 1, now],
        ],
      );
      assert.match(events[0]?.detail ?? '', new RegExp(`2026-03-08T07:00:00.000Z.*${schedule.id}`));

      // The watermark reads as the first tick past the frontier; neither the version nor the change sequence
      // moved. A schedule's last tick ends it.
      const after = await w.store.getScheduleTiming(schedule.id);
      assert.equal(after?.nextFireAt, n + 10 * SECOND);
      assert.deepEqual([after?.version, after?.changeSeq], [before?.version, before?.changeSeq]);
      assert.equal((await w.store.getScheduleTiming(noOverrides.id))?.nextFireAt, null);
      // A schedule whose watermark is null is no longer loaded.
      const loaded = await w.store.loadSchedules([w.lease.partition], null, 10);
      assert.deepEqual(
        loaded.map((t) => t.id),
        [schedule.id],
      );
      // Listed by schedule.
      const listed = await w.store.listRuns(w.job.tenantId, { limit: 10, scheduleId: schedule.id });
      assert.deepEqual(
        listed.items.map((r) => r.id),
        [t2.runId, t1.runId],
      );
      const queuedOnly = await w.store.listRuns(w.job.tenantId, {
        limit: 10,
        jobId: w.job.id,
        scheduleId: noOverrides.id,
        statuses: ['queued'],
      });
      assert.deepEqual(
        queuedOnly.items.map((r) => r.id),
        [t3.runId],
      );
    });

    test("a schedule's runs are listed apart from its job's other runs, paged, and after it is deleted", async (w) => {
      const n = Date.UTC(2026, 2, 8, 7, 0, 0);
      const mine = await scheduleWith(w, 'allow');
      const sibling = await scheduleWith(w, 'allow');
      const ticks = [0, 1, 2, 3, 4].map((k) => tickOf(mine, n + k * SECOND));
      await fire(w, [...ticks, tickOf(sibling, n), tickOf(sibling, n + 2 * SECOND)]);
      await seedRun(w.store, w.job, {});
      const tenantId = w.job.tenantId;
      const newestFirst = ticks.map((t) => t.runId).reverse();

      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await w.store.listRuns(tenantId, { limit: 2, scheduleId: mine.id, cursor });
        pages.push(page.items.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor !== undefined);
      assert.deepEqual(pages, [newestFirst.slice(0, 2), newestFirst.slice(2, 4), newestFirst.slice(4)]);

      // Another job's id with the schedule: nothing. Another tenant, an unknown schedule: not found.
      const otherJob = makeJob(tenantId);
      await w.store.insertJob(otherJob, Number.MAX_SAFE_INTEGER);
      await seedRun(w.store, otherJob, {});
      const none = { items: [], nextCursor: null };
      assert.deepEqual(
        await w.store.listRuns(tenantId, { limit: 10, scheduleId: mine.id, jobId: otherJob.id }),
        none,
      );
      const stranger = await seedJob(w.store);
      const notFound = { code: 'not_found', context: { field: 'scheduleId' } };
      await assert.rejects(w.store.listRuns(stranger.tenantId, { limit: 10, scheduleId: mine.id }), notFound);
      await assert.rejects(w.store.listRuns(tenantId, { limit: 10, scheduleId: 'sch_unknown' }), notFound);

      assert.ok(await w.store.deleteSchedule(tenantId, mine.id, tick()));
      const afterDelete = await w.store.listRuns(tenantId, { limit: 10, scheduleId: mine.id });
      assert.deepEqual(
        afterDelete.items.map((r) => r.id),
        newestFirst,
      );
    });

    test('a tick caught up late says so in its created event; an on-time one does not', async (w) => {
      const n = Date.UTC(2026, 2, 8, 7, 0, 0);
      const tick0 = '2026-03-08T07:00:00.000Z';
      for (const policy of ['allow', 'skip'] as const) {
        const schedule = await scheduleWith(w, policy);
        const onTime = tickOf(schedule, n);
        const late = tickOf(schedule, n - 60 * SECOND, { late: true });
        const result = await fire(w, [late, onTime]);
        const outcomes = [...result.queued.map((m) => m.runId), ...result.skipped];
        assert.deepEqual(outcomes.sort(), [late.runId, onTime.runId].sort(), policy);
        const created = async (t: TickFire) => (await w.store.getRunEvents(t.runId))[0];
        assert.equal((await created(onTime))?.detail, `tick ${tick0} of schedule ${schedule.id}`, policy);
        assert.deepEqual(
          await created(late),
          {
            at: (await runOf(w, late)).createdAt,
            type: 'created',
            attempt: 1,
            status: 'queued',
            detail:
              `tick 2026-03-08T06:59:00.000Z of schedule ${schedule.id}, ` +
              'caught up late (missed while no scheduler held it)',
          },
          policy,
        );
      }
    });

    test('a fired run’s timeline goes on after its created and dispatched events', async (w) => {
      const schedule = await scheduleWith(w, 'allow');
      const t = await fireAndClaim(w, schedule, Date.UTC(2026, 0, 1));
      const claimed = await runOf(w, t);
      await w.store.markStarted(t.runId, 1, 'wrk_a', tick());
      await w.store.markDispatched([t.runId], tick()); // already dispatched at its firing: no new event
      await w.store.finishAttempt(attemptResult(claimed, { outcome: 'failed', retryAt: tick() }));
      const events = await w.store.getRunEvents(t.runId);
      assert.deepEqual(
        events.map((e) => [e.type, e.attempt, e.status]),
        [
          ['created', 1, 'queued'],
          ['dispatched', 1, 'queued'],
          ['claimed', 1, 'running'],
          ['started', 1, 'running'],
          ['retry_scheduled', 2, 'queued'],
        ],
      );
      assert.equal(events[2]?.detail, 'wrk_a');
      // Requeued for its retry, it is in the queue rebuild again.
      assert.deepEqual(
        (await w.store.listQueuedRuns()).map((r) => r.id),
        [t.runId],
      );
    });

    test('a tick fired twice is one run: in one batch, in two, and under every policy', async (w) => {
      for (const policy of ['allow', 'skip', 'buffer_one', 'replace'] as const) {
        const schedule = await scheduleWith(w, policy);
        const t = tickOf(schedule, Date.UTC(2026, 0, 1), { nextFireAt: Date.UTC(2026, 0, 2) });
        const first = await fire(w, [t, t]);
        assert.deepEqual(
          [first.queued.map((m) => m.runId), first.duplicates],
          [[t.runId], [t.runId]],
          policy,
        );
        const through = {
          firedThrough: Date.UTC(2026, 0, 3) - 1,
          changeSeq: await w.store.latestScheduleChange(),
        };
        const again = await fire(w, [{ ...t, nextFireAt: Date.UTC(2026, 0, 3) }], tick(), through);
        assert.deepEqual([again.queued, again.duplicates], [[], [t.runId]], policy);
        // A batch of duplicates still moves the frontier, and nothing was written to the run.
        assert.equal((await w.store.getScheduleTiming(schedule.id))?.nextFireAt, Date.UTC(2026, 0, 3));
        assert.deepEqual(await eventTypes(w.store, t.runId), ['created', 'dispatched'], policy);
      }
    });

    test('a watermark reads as the first tick past its partition’s frontier, unless changed since or ended', async (w) => {
      const n = Date.UTC(2026, 5, 1); // a tick of every seeded schedule (*/5 seconds)
      const plain = await scheduleWith(w, 'allow', { nextFireAt: n });
      const ending = await scheduleWith(w, 'allow', { nextFireAt: n, endAt: n + 7 * SECOND });
      const jittered = await scheduleWith(w, 'allow', { nextFireAt: n, jitterSeconds: 3600 });
      const elsewhere = await scheduleWith(w, 'allow', { nextFireAt: n, partition: w.lease.partition + 1 });
      const seen = await w.store.latestScheduleChange();
      const unseen = await scheduleWith(w, 'allow', { nextFireAt: n });
      const through = { firedThrough: n + 7 * SECOND, changeSeq: seen };
      await fire(w, [], tick(), through);

      const watermark = async (s: Schedule) => (await w.store.getScheduleTiming(s.id))?.nextFireAt;
      assert.equal(await watermark(plain), n + 10 * SECOND);
      assert.equal(await watermark(ending), null, 'no tick left before its end');
      // Due = tick + its fixed offset: the frontier covers the ticks whose due time it passed.
      const j = jitterOffsetMs(jittered.id, 3600);
      assert.equal(await watermark(jittered), j > 7000 ? n : n + 5000 * (Math.floor((7000 - j) / 5000) + 1));
      assert.equal(await watermark(elsewhere), n, 'a partition without a frontier');
      assert.equal(await watermark(unseen), n, 'changed after the changes the engine had seen');
      // The tenant's reads and the engine's load say the same.
      assert.equal((await w.store.getSchedule(w.job.tenantId, plain.id))?.nextFireAt, n + 10 * SECOND);
      const loaded = await w.store.loadSchedules([w.lease.partition], null, 10);
      assert.equal(loaded.find((t) => t.id === plain.id)?.nextFireAt, n + 10 * SECOND);

      // A node that lost the lease records nothing.
      const stale = { partition: w.lease.partition, epoch: w.lease.epoch - 1 };
      const far = { firedThrough: n + 3_600_000, changeSeq: seen };
      assert.deepEqual((await w.store.fireTicks(OWNER, [stale], [], tick(), far)).fenced, [stale.partition]);
      assert.equal(await watermark(plain), n + 10 * SECOND);
    });

    test('a changed, paused or deleted schedule is stale, one of an unleased partition fenced: nothing written', async (w) => {
      const n = Date.UTC(2026, 5, 1);
      const changed = await scheduleWith(w, 'allow', { nextFireAt: n });
      const paused = await scheduleWith(w, 'allow', { nextFireAt: n });
      const deleted = await scheduleWith(w, 'allow', { nextFireAt: n });
      const elsewhere = await scheduleWith(w, 'allow', { nextFireAt: n, partition: w.lease.partition + 1 });
      const fine = await scheduleWith(w, 'allow', { nextFireAt: n });
      await w.store.updateSchedule({ ...changed, jitterSeconds: 5, version: 2 });
      await w.store.updateSchedule({ ...paused, paused: true, version: 2 });
      await w.store.deleteSchedule(w.job.tenantId, deleted.id, tick());
      const ticks = [changed, paused, deleted, elsewhere, fine].map((s) => tickOf(s, n));
      const result = await w.store.fireTicks(OWNER, [w.lease], ticks, tick());
      assert.deepEqual(result.stale, [changed.id, paused.id, deleted.id]);
      assert.deepEqual(result.fenced, [elsewhere.partition]);
      assert.deepEqual(
        result.queued.map((m) => m.runId),
        [tickOf(fine, n).runId],
      );
      for (const s of [changed, paused, deleted, elsewhere]) {
        assert.equal(await w.store.getRun(w.job.tenantId, tickOf(s, n).runId), null);
        assert.equal((await w.store.getScheduleTiming(s.id))?.nextFireAt, n, 'watermark untouched');
      }
      // Fired from the current version, it fires.
      const current = await fire(w, [tickOf({ ...changed, version: 2 }, n)]);
      assert.equal(current.queued.length, 1);
    });

    test('skip: a tick while a run is unfinished is recorded as skipped, with the reason', async (w) => {
      const n = Date.UTC(2026, 0, 1);
      const schedule = await scheduleWith(w, 'skip');
      const t1 = await fireAndClaim(w, schedule, n);
      const t2 = tickOf(schedule, n + SECOND);
      const now = tick();
      const result = await fire(w, [t2], now);
      assert.deepEqual([result.skipped, result.queued], [[t2.runId], []]);
      const skipped = await runOf(w, t2);
      assert.deepEqual(
        [skipped.status, skipped.reason, skipped.finishedAt, skipped.dispatchedAt],
        ['skipped', `previous run ${t1.runId} is still running`, now, null],
      );
      const events = await w.store.getRunEvents(t2.runId);
      assert.deepEqual(
        events.map((e) => [e.type, e.status, e.detail?.startsWith('previous') ?? false]),
        [
          ['created', 'skipped', false],
          ['finished', 'skipped', true],
        ],
      );
      // Once the run has finished, the next tick runs.
      await w.store.finishAttempt(attemptResult(await runOf(w, t1)));
      const t3 = tickOf(schedule, n + 2 * SECOND);
      assert.deepEqual(
        (await fire(w, [t3])).queued.map((m) => m.runId),
        [t3.runId],
      );
      // A queued (not yet running) run counts too, and is named so.
      const t4 = tickOf(schedule, n + 3 * SECOND);
      assert.deepEqual((await fire(w, [t4])).skipped, [t4.runId]);
      assert.equal((await runOf(w, t4)).reason, `previous run ${t3.runId} is still queued`);
      assert.deepEqual(
        (await w.store.listQueuedRuns()).map((r) => r.id),
        [t3.runId],
      );
    });

    test('buffer_one: one tick waits for the running run, a further one is skipped', async (w) => {
      const n = Date.UTC(2024, 0, 1); // before the test clock: due by the time it is released
      const schedule = await scheduleWith(w, 'buffer_one');
      const t1 = await fireAndClaim(w, schedule, n);
      const t2 = tickOf(schedule, n + SECOND, { dueAt: n + SECOND });
      const r2 = await fire(w, [t2]);
      assert.deepEqual([r2.blocked, r2.queued, r2.skipped], [[t2.runId], [], []]);
      const blocked = await runOf(w, t2);
      assert.deepEqual([blocked.status, blocked.blockedBy, blocked.dispatchedAt], ['queued', t1.runId, null]);
      assert.deepEqual(await eventTypes(w.store, t2.runId), ['created']);
      // A blocked run is not in the queue, and no worker can claim it.
      assert.deepEqual(await w.store.listQueuedRuns(), []);
      assert.equal(await w.store.claimRun(t2.runId, 1, 'wrk_b', tick()), null);

      const t3 = tickOf(schedule, n + 2 * SECOND);
      const r3 = await fire(w, [t3]);
      assert.deepEqual(r3.skipped, [t3.runId]);
      assert.equal((await runOf(w, t3)).reason, `a run is already waiting: ${t2.runId}`);

      // Releasing before the blocker has ended does nothing.
      assert.deepEqual(await w.store.releaseBlockedRuns(t1.runId, tick()), []);
      await w.store.finishAttempt(attemptResult(await runOf(w, t1)));
      const now = tick();
      const released = await w.store.releaseBlockedRuns(t1.runId, now);
      // Due long ago, so available now.
      assert.deepEqual(released, [
        {
          runId: t2.runId,
          tenantId: w.job.tenantId,
          attempt: 1,
          memoryMb: 384,
          memoryRequestMb: 96,
          availableAt: now,
        },
      ]);
      const free = await runOf(w, t2);
      assert.deepEqual([free.blockedBy, free.availableAt, free.dispatchedAt], [null, now, now]);
      assert.deepEqual(await eventTypes(w.store, t2.runId), ['created', 'dispatched']);
      assert.deepEqual(
        (await w.store.listQueuedRuns()).map((r) => r.id),
        [t2.runId],
      );
      assert.deepEqual(await w.store.releaseBlockedRuns(t1.runId, tick()), [], 'released once');
      assert.ok(await w.store.claimRun(t2.runId, 1, 'wrk_b', tick()));
    });

    test('buffer_one with nothing unfinished queues the tick at once', async (w) => {
      const schedule = await scheduleWith(w, 'buffer_one');
      const t = tickOf(schedule, Date.UTC(2026, 0, 1));
      assert.deepEqual(
        (await fire(w, [t])).queued.map((m) => m.runId),
        [t.runId],
      );
    });

    test('replace: queued runs are cancelled, running ones asked to stop; the new one waits', async (w) => {
      const n = Date.UTC(2026, 0, 1);
      const schedule = await scheduleWith(w, 'replace');
      const t1 = await fireAndClaim(w, schedule, n);
      const t2 = tickOf(schedule, n + SECOND);
      const at2 = tick();
      const r2 = await fire(w, [t2], at2);
      assert.deepEqual([r2.stopping, r2.cancelled, r2.blocked, r2.queued], [[t1.runId], [], [t2.runId], []]);
      const stopping = await runOf(w, t1);
      assert.deepEqual([stopping.status, stopping.cancelRequestedAt], ['running', at2]);
      assert.deepEqual(await eventTypes(w.store, t1.runId), [
        'created',
        'dispatched',
        'claimed',
        'cancel_requested',
      ]);
      assert.equal((await runOf(w, t2)).blockedBy, t1.runId);
      // The worker hears of it on its next heartbeat.
      assert.deepEqual(await w.store.heartbeat('wrk_a', [{ runId: t1.runId, attempt: 1 }], tick()), {
        cancel: [t1.runId],
        fenced: [],
      });

      // A third tick replaces the waiting one too.
      const t3 = tickOf(schedule, n + 2 * SECOND);
      const at3 = tick();
      const r3 = await fire(w, [t3], at3);
      assert.deepEqual([r3.cancelled, r3.stopping, r3.blocked], [[t2.runId], [t1.runId], [t3.runId]]);
      const cancelled = await runOf(w, t2);
      assert.deepEqual(
        [cancelled.status, cancelled.reason, cancelled.finishedAt],
        ['cancelled', `replaced by ${t3.runId}`, at3],
      );
      assert.deepEqual(await eventTypes(w.store, t2.runId), ['created', 'finished']);
      assert.equal((await runOf(w, t1)).cancelRequestedAt, at2, 'asked to stop once');

      // The running one ends (as cancelled): the last tick's run is released.
      await w.store.finishAttempt(
        attemptResult(await runOf(w, t1), { outcome: 'cancelled', exitCode: null }),
      );
      const released = await w.store.releaseBlockedRuns(t1.runId, tick());
      assert.deepEqual(
        released.map((m) => m.runId),
        [t3.runId],
      );
    });

    test('replace with only a queued run cancels it and queues the new one at once', async (w) => {
      const schedule = await scheduleWith(w, 'replace');
      const t1 = tickOf(schedule, Date.UTC(2026, 0, 1));
      await fire(w, [t1]);
      const t2 = tickOf(schedule, Date.UTC(2026, 0, 1, 0, 0, 1));
      const r2 = await fire(w, [t2]);
      assert.deepEqual(
        [r2.cancelled, r2.stopping, r2.blocked, r2.queued.map((m) => m.runId)],
        [[t1.runId], [], [], [t2.runId]],
      );
      assert.equal((await runOf(w, t1)).status, 'cancelled');
      assert.equal(await w.store.claimRun(t1.runId, 1, 'wrk_a', tick()), null);
    });

    test('releaseBlockedRuns(null) frees runs whose blocker ended unnoticed, and only those', async (w) => {
      const n = Date.UTC(2026, 0, 1);
      const ended = await scheduleWith(w, 'buffer_one');
      const still = await scheduleWith(w, 'buffer_one');
      const endedRun = await fireAndClaim(w, ended, n);
      const stillRun = await fireAndClaim(w, still, n);
      const waitingOnEnded = tickOf(ended, n + SECOND, { dueAt: Date.UTC(2099, 0, 1) });
      const waitingOnStill = tickOf(still, n + SECOND);
      await fire(w, [waitingOnEnded, waitingOnStill]);
      // The blocker ends, and whoever should have released its waiter crashed.
      await w.store.finishAttempt(
        attemptResult(await runOf(w, endedRun), { outcome: 'failed', exitCode: 1 }),
      );
      const released = await w.store.releaseBlockedRuns(null, tick());
      // Due in the future: available then, not now (the dispatcher may still hand it out early).
      assert.deepEqual(released, [
        {
          runId: waitingOnEnded.runId,
          tenantId: w.job.tenantId,
          attempt: 1,
          memoryMb: 384,
          memoryRequestMb: 96,
          availableAt: Date.UTC(2099, 0, 1),
        },
      ]);
      assert.deepEqual(await w.store.releaseBlockedRuns(null, tick()), []);
      assert.equal((await runOf(w, waitingOnStill)).blockedBy, stillRun.runId);
    });

    test('a blocked run can be cancelled, by request or with its job', async (w) => {
      const n = Date.UTC(2026, 0, 1);
      const schedule = await scheduleWith(w, 'buffer_one');
      const t1 = await fireAndClaim(w, schedule, n);
      const t2 = tickOf(schedule, n + SECOND);
      await fire(w, [t2]);
      const cancelled = await w.store.requestCancel(w.job.tenantId, t2.runId, tick());
      assert.equal(cancelled.state, 'cancelled');
      await w.store.finishAttempt(attemptResult(await runOf(w, t1)));
      assert.deepEqual(await w.store.releaseBlockedRuns(t1.runId, tick()), []);
      assert.equal((await runOf(w, t2)).status, 'cancelled');

      const t3 = await fireAndClaim(w, schedule, n + 2 * SECOND);
      const t4 = tickOf(schedule, n + 3 * SECOND);
      assert.deepEqual((await fire(w, [t4])).blocked, [t4.runId]);
      const other = await seedRun(w.store, w.job);
      const deleted = await w.store.deleteJob(w.job.tenantId, w.job.id, tick());
      assert.deepEqual(
        { ...deleted, cancelled: [...deleted.cancelled].sort() },
        { cancelled: [t4.runId, other.id].sort(), stopping: [t3.runId], schedules: [schedule.id] },
      );
      assert.equal((await runOf(w, t4)).status, 'cancelled');
      // Its schedule is deleted with the job: a tick computed before is stale.
      const t5 = tickOf(schedule, n + 4 * SECOND);
      assert.deepEqual((await fire(w, [t5])).stale, [schedule.id]);
    });

    test('advanceWatermarks moves current schedules only', async (w) => {
      const n = Date.UTC(2026, 0, 1);
      const a = await scheduleWith(w, 'allow', { nextFireAt: n });
      const b = await scheduleWith(w, 'allow', { nextFireAt: n });
      await w.store.updateSchedule({ ...b, jitterSeconds: 1, version: 2 });
      const ok = await w.store.advanceWatermarks(OWNER, w.lease, [
        { scheduleId: a.id, version: 1, nextFireAt: n + 60 * SECOND },
        { scheduleId: b.id, version: 1, nextFireAt: n + 60 * SECOND },
      ]);
      assert.equal(ok, true);
      assert.equal((await w.store.getScheduleTiming(a.id))?.nextFireAt, n + 60 * SECOND);
      assert.equal((await w.store.getScheduleTiming(b.id))?.nextFireAt, n);
      await w.store.advanceWatermarks(OWNER, w.lease, [{ scheduleId: a.id, version: 1, nextFireAt: null }]);
      assert.equal((await w.store.getScheduleTiming(a.id))?.nextFireAt, null);
      assert.deepEqual(
        (await w.store.loadSchedules([w.lease.partition], null, 10)).map((t) => t.id),
        [b.id],
      );
    });
  });
}
