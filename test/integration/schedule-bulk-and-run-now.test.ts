// Bulk pause and resume of schedules, and a schedule's run by hand, through the services on every store: all
// or nothing (an id not the tenant's, or a resume over the plan's runsPerSecond, changes none), pauses
// recorded as a single pause records them, and a manual run that leaves the schedule's next tick alone.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { HourglassError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { Schedule } from '../../src/core/schedule.js';
import type { Tenant } from '../../src/core/tenant.js';
import type { ScheduleChange } from '../../src/ports/schedule-changes.js';
import { JobService } from '../../src/services/job-service.js';
import { RunService } from '../../src/services/run-service.js';
import { bulkTargetOf, ScheduleService } from '../../src/services/schedule-service.js';
import { pairOf } from '../support/adapter-pairs.js';
import { MEMORY_QUEUE } from '../support/queue-factories.js';
import { SchedulerWorld } from '../support/scheduler-fixtures.js';
import { STORE_FACTORIES } from '../support/store-factories.js';

const ALL_TIME = [0, Number.MAX_SAFE_INTEGER] as const;

function isProblem(code: string, field: string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof HourglassError, String(error));
    assert.equal(error.code, code, error.message);
    assert.equal(error.context.field, field, error.message);
    assert.ok(error.message.startsWith(`${field}:`), error.message);
    return true;
  };
}

for (const adapters of STORE_FACTORIES.map((store) => pairOf(store, MEMORY_QUEUE))) {
  describe(`bulk pause/resume and run now (${adapters.name})`, { skip: adapters.skip }, () => {
    let world: SchedulerWorld;
    let schedules: ScheduleService;
    let runs: RunService;
    let jobs: JobService;
    let heard: ScheduleChange[];
    /** The world's tenant on a plan whose schedules' sum is checked: 10 s schedules, 0.25 runs/s. */
    let tenant: Tenant;

    beforeEach(async () => {
      world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
      const changes = new InProcessScheduleChanges();
      heard = [];
      changes.on((change) => heard.push(change));
      const signals = new InProcessRunSignals();
      jobs = new JobService(world.store, signals, world.clock, changes);
      schedules = new ScheduleService(world.store, jobs, changes, world.clock);
      runs = new RunService(world.store, world.queue, jobs, signals, world.clock);
      tenant = { ...world.tenant, limits: { ...world.tenant.limits, runsPerSecond: 0.25, runBurst: 2 } };
    });
    afterEach(() => world.close());

    const read = (s: Schedule): Promise<Schedule> => schedules.get(tenant.id, s.id);

    it('pauses listed schedules at once, each pause recorded, a paused one left as it was', async () => {
      // 20 s each: four make 0.2 runs/s, within the plan.
      const a = await schedules.create(tenant, 'tick', { every: '20s' });
      const b = await schedules.create(tenant, 'tick', { every: '20s' });
      const already = await schedules.create(tenant, 'tick', { every: '20s', paused: true });
      const untouched = await schedules.create(tenant, 'tick', { every: '20s' });
      heard = [];
      world.clock.advance(1500);
      const answer = await schedules.pauseAll(tenant, { scheduleIds: [b.id, already.id, a.id] });
      assert.deepEqual(
        answer.map((s) => [s.id, s.paused, s.version]),
        [
          [b.id, true, 2],
          [already.id, true, 1],
          [a.id, true, 2],
        ],
      );
      for (const s of answer) assert.deepEqual(await read(s), s);
      assert.equal((await read(untouched)).paused, false);
      assert.deepEqual(
        await world.store.listSchedulePauses(tenant.id, a.id, ...ALL_TIME),
        [{ pausedAt: world.clock.now(), resumedAt: null }],
        'recorded as a single pause records it (the tick explanation reads it)',
      );
      assert.deepEqual(new Set(heard.map((h) => h.scheduleId)), new Set([a.id, b.id]));

      world.clock.advance(1000);
      const resumed = await schedules.resumeAll(tenant, { scheduleIds: [a.id, b.id] });
      assert.ok(resumed.every((s) => !s.paused && s.nextFireAt !== null));
      assert.deepEqual(await world.store.listSchedulePauses(tenant.id, a.id, ...ALL_TIME), [
        { pausedAt: world.clock.now() - 1000, resumedAt: world.clock.now() },
      ]);
      assert.equal((await read(already)).paused, true);
    });

    it('pauses and resumes every schedule of one job, and no other job’s', async () => {
      const other = await jobs.createJob(tenant, { name: 'other', command: ['true'] });
      const mine = [
        await schedules.create(tenant, 'tick', { every: '10s' }),
        await schedules.create(tenant, 'tick', { cron: '0 * * * *' }),
      ];
      const theirs = await schedules.create(tenant, other.id, { every: '10s' });
      const paused = await schedules.pauseAll(tenant, { jobId: 'tick' });
      assert.deepEqual(
        paused.map((s) => s.id),
        mine.map((s) => s.id).sort(),
        'oldest (lowest id) first',
      );
      for (const s of mine) assert.equal((await read(s)).paused, true);
      assert.equal((await read(theirs)).paused, false);
      const resumed = await schedules.resumeAll(tenant, { jobId: 'tick' });
      assert.ok(resumed.every((s) => !s.paused));
      assert.deepEqual(await schedules.pauseAll(tenant, { jobId: other.id }).then((l) => l.length), 1);
    });

    it('changes none when one id is not the tenant’s (another tenant’s, unknown, or not an id)', async () => {
      const otherTenant: Tenant = {
        id: newId('tenant', world.clock.now(), randomBytes),
        name: 'other',
        limits: tenant.limits,
        createdAt: world.clock.now(),
      };
      await world.store.createTenant(otherTenant);
      await jobs.createJob(otherTenant, { name: 'tick', command: ['true'] });
      const foreign = await schedules.create(otherTenant, 'tick', { every: '10s' });
      const mine = await schedules.create(tenant, 'tick', { every: '10s' });
      const unknown = newId('schedule', world.clock.now(), randomBytes);
      for (const bad of [foreign.id, unknown, 'nope']) {
        await assert.rejects(
          schedules.pauseAll(tenant, { scheduleIds: [mine.id, bad] }),
          isProblem('not_found', 'scheduleIds'),
        );
      }
      assert.deepEqual(await read(mine), mine);
      assert.deepEqual(await schedules.get(otherTenant.id, foreign.id), foreign);
      await assert.rejects(schedules.pauseAll(tenant, { jobId: 'nope' }), isProblem('not_found', 'jobId'));
      // B's job by its id, from A: not found, and B's schedule stays.
      await assert.rejects(
        schedules.pauseAll(tenant, { jobId: foreign.jobId }),
        isProblem('not_found', 'jobId'),
      );
      assert.equal((await schedules.get(otherTenant.id, foreign.id)).paused, false);
    });

    it('refuses a resume whose schedules together pass the plan’s runsPerSecond, and resumes none', async () => {
      // Three 10 s schedules make 0.3 runs/s; the plan allows 0.25. Each alone fits.
      const three = [];
      for (let i = 0; i < 3; i++) {
        three.push(await schedules.create(tenant, 'tick', { every: '10s', paused: true }));
      }
      const before = await Promise.all(three.map(read));
      await assert.rejects(
        schedules.resumeAll(tenant, { scheduleIds: three.map((s) => s.id) }),
        (error: unknown) =>
          isProblem('plan_limit_exceeded', 'scheduleIds')(error) &&
          (error as HourglassError).context.limit === 'runsPerSecond',
      );
      await assert.rejects(
        schedules.resumeAll(tenant, { jobId: 'tick' }),
        isProblem('plan_limit_exceeded', 'jobId'),
      );
      assert.deepEqual(await Promise.all(three.map(read)), before);
      const [first, second] = three as [Schedule, Schedule, Schedule];
      const two = await schedules.resumeAll(tenant, { scheduleIds: [first.id, second.id] });
      assert.deepEqual(
        two.map((s) => s.paused),
        [false, false],
      );
    });

    it('reads a bulk body as exactly one of scheduleIds and jobId, of 1 to 500 distinct ids', async () => {
      const s = await schedules.create(tenant, 'tick', { every: '10s' });
      assert.throws(() => bulkTargetOf({}), isProblem('validation_failed', 'scheduleIds'));
      assert.throws(
        () => bulkTargetOf({ scheduleIds: [s.id], jobId: 'tick' }),
        isProblem('validation_failed', 'jobId'),
      );
      assert.deepEqual(bulkTargetOf({ jobId: 'tick' }), { jobId: 'tick' });
      const tooMany = Array.from({ length: 501 }, () => newId('schedule', world.clock.now(), randomBytes));
      for (const scheduleIds of [[], [s.id, s.id], tooMany]) {
        await assert.rejects(
          schedules.pauseAll(tenant, { scheduleIds }),
          isProblem('validation_failed', 'scheduleIds'),
        );
      }
      assert.equal((await read(s)).paused, false);
    });

    it('runs a schedule by hand: its args and env, scheduleId set, next tick unchanged, listed as manual', async () => {
      const s = await schedules.create(tenant, 'tick', {
        every: '10s',
        args: ['--fast'],
        env: { MODE: 'schedule' },
        overlapPolicy: 'skip',
      });
      world.clock.advance(2500);
      const { run, created } = await runs.createScheduleRun(tenant, s, null);
      assert.equal(created, true);
      assert.deepEqual(
        [run.jobId, run.scheduleId, run.args, run.env, run.status, run.nominalTime],
        [s.jobId, s.id, ['--fast'], { MODE: 'schedule' }, 'queued', world.clock.now()],
      );
      const after = await read(s);
      assert.equal(after.nextFireAt, s.nextFireAt, 'a run by hand does not move the next tick');
      assert.equal(after.version, s.version);
      world.clock.advance(1); // the default window ends at now, exclusive
      const { ticks } = await schedules.explainTicks(tenant.id, s.id, {});
      const manual = ticks.filter((t) => t.verdict === 'manual');
      assert.deepEqual(
        manual.map((t) => [t.runId, t.nominalTime]),
        [[run.id, run.nominalTime]],
      );
      assert.match(manual[0]?.reason ?? '', /by hand/);
    });

    it('a later tick under skip meets a run by hand still queued as the schedule’s unfinished run', async () => {
      const node = world.node('n1');
      const s = await world.addSchedule({ every: '10s', overlapPolicy: 'skip' });
      const { run } = await runs.createScheduleRun(tenant, s, null);
      await world.runFor(10_000, 1000, [node]);
      const [tick] = await world.runsOf(s.id).then((all) => all.filter((r) => r.id !== run.id));
      assert.equal(tick?.status, 'skipped', 'the documented interplay with overlap policies');
      assert.match(tick?.reason ?? '', new RegExp(run.id));
    });

    it('counts a run by hand against the tenant’s run rate, and replays an idempotency key', async () => {
      const s = await schedules.create(tenant, 'tick', { every: '10s' });
      const first = await runs.createScheduleRun(tenant, s, 'key-1');
      const replay = await runs.createScheduleRun(tenant, s, 'key-1');
      assert.deepEqual([replay.created, replay.run.id], [false, first.run.id]);
      await runs.createScheduleRun(tenant, s, null); // the burst of 2 is spent
      await assert.rejects(runs.createScheduleRun(tenant, s, null), (error: unknown) => {
        assert.ok(error instanceof HourglassError);
        assert.equal(error.code, 'rate_limited');
        assert.ok(Number(error.context.retryAfterMs) > 0);
        return true;
      });
      // The same key on a plain run of the job is a different request.
      await assert.rejects(runs.createRun(tenant, 'tick', {}, 'key-1'), (error: unknown) => {
        assert.ok(error instanceof HourglassError);
        assert.equal(error.code, 'idempotency_key_reused');
        return true;
      });
      const listed = await world.store.listRuns(tenant.id, { scheduleId: s.id, limit: 10 });
      assert.equal(listed.items.length, 2);
    });
  });
}
