// "Why didn't it run?": each verdict of a schedule's tick explanation shown on a real run of the scheduler
// engine, on every store, read back through the schedule service as the API does.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import type { TickVerdict } from '../../src/core/tick-explanation.js';
import { JobService } from '../../src/services/job-service.js';
import { ScheduleService } from '../../src/services/schedule-service.js';
import { MEMORY_QUEUE } from '../support/queue-factories.js';
import { pairOf } from '../support/adapter-pairs.js';
import { SchedulerWorld, step } from '../support/scheduler-fixtures.js';
import { STORE_FACTORIES } from '../support/store-factories.js';

for (const adapters of STORE_FACTORIES.map((store) => pairOf(store, MEMORY_QUEUE))) {
  describe(`schedule tick explanations (${adapters.name})`, { skip: adapters.skip }, () => {
    let world: SchedulerWorld;
    let schedules: ScheduleService;
    beforeEach(async () => {
      world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', adapters);
      const changes = new InProcessScheduleChanges();
      const jobs = new JobService(world.store, new InProcessRunSignals(), world.clock, changes);
      schedules = new ScheduleService(world.store, jobs, changes, world.clock);
    });
    afterEach(() => world.close());

    /** `HH:MM:SS verdict` of each tick in [from, to) (times of 2026-06-01, UTC). */
    async function verdicts(id: string, from: string, to: string): Promise<string[]> {
      const day = '2026-06-01T';
      const { ticks } = await schedules.explainTicks(world.tenant.id, id, {
        from: `${day}${from}Z`,
        to: `${day}${to}Z`,
      });
      return ticks.map((t) => `${new Date(t.nominalTime).toISOString().slice(11, 19)} ${t.verdict}`);
    }

    async function only(id: string, at: string, verdict: TickVerdict): Promise<string> {
      const { ticks } = await schedules.explainTicks(world.tenant.id, id, {
        from: `2026-06-01T${at}Z`,
        to: new Date(Date.parse(`2026-06-01T${at}Z`) + 1).toISOString(),
      });
      assert.equal(ticks.length, 1);
      assert.equal(ticks[0]?.verdict, verdict, ticks[0]?.reason);
      return ticks[0]?.reason ?? '';
    }

    it('fired, with its run; not_yet_due after now; pending when no scheduler has fired a due tick', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ every: '10s' });
      await world.runFor(20_000, 1000, [node]); // fires 12:00:00, :10, :20
      await node.engine.stop();
      world.clock.set('2026-06-01T12:00:35.000Z'); // :30 is due, and no scheduler runs
      assert.deepEqual(await verdicts(schedule.id, '12:00:00', '12:01:00'), [
        '12:00:00 fired',
        '12:00:10 fired',
        '12:00:20 fired',
        '12:00:30 pending',
        '12:00:40 not_yet_due',
        '12:00:50 not_yet_due',
      ]);
      const { ticks } = await schedules.explainTicks(world.tenant.id, schedule.id, {});
      const [first] = await world.runsOf(schedule.id);
      assert.equal(ticks[0]?.runId, first?.id, 'the default window is the last hour, up to now');
      assert.equal(ticks[0]?.runStatus, 'queued');
    });

    it('dropped by catch-up skip, and fired_late by catch-up latest', async () => {
      const first = world.node('before');
      const dropping = await world.addSchedule({ every: '10s', catchup: { mode: 'skip' } });
      const catching = await world.addSchedule({ every: '10s', catchup: { mode: 'latest' } });
      await world.runFor(10_000, 1000, [first]);
      await first.engine.stop();
      world.clock.set('2026-06-01T12:01:03.000Z');
      await step(world.node('after').engine);
      assert.deepEqual(await verdicts(dropping.id, '12:00:50', '12:01:10'), [
        '12:00:50 dropped',
        '12:01:00 dropped',
      ]);
      assert.deepEqual(await verdicts(catching.id, '12:00:50', '12:01:10'), [
        '12:00:50 dropped',
        '12:01:00 fired_late',
      ]);
      assert.match(await only(catching.id, '12:01:00', 'fired_late'), /caught up late .*T12:01:03/);
    });

    it('skipped by the overlap policy, naming the run it met', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({ every: '10s', overlapPolicy: 'skip' });
      await world.runFor(1000, 1000, [node]);
      const [run] = await world.runsOf(schedule.id);
      assert.ok(run && (await world.store.claimRun(run.id, 1, 'wrk_test', world.clock.now())));
      await world.runFor(10_000, 1000, [node]);
      const reason = await only(schedule.id, '12:00:10', 'skipped');
      assert.match(reason, new RegExp(`${run.id} is still running`));
    });

    it('paused inside a recorded pause, and after; fired again once resumed', async () => {
      const node = world.node('n1');
      const schedule = await schedules.create(world.tenant, world.job.id, { every: '10s' });
      await world.runFor(5000, 1000, [node]); // 12:00:00 fires
      await schedules.pause(world.tenant, schedule.id); // at 12:00:05
      await world.runFor(30_000, 1000, [node]);
      assert.deepEqual(await verdicts(schedule.id, '12:00:00', '12:00:50'), [
        '12:00:00 fired',
        '12:00:10 paused',
        '12:00:20 paused',
        '12:00:30 paused',
        '12:00:40 paused', // to come, but the schedule is paused now
      ]);
      await schedules.resume(world.tenant, schedule.id); // at 12:00:35
      await world.runFor(10_000, 1000, [node]);
      assert.deepEqual(await verdicts(schedule.id, '12:00:00', '12:00:50'), [
        '12:00:00 fired',
        '12:00:10 paused',
        '12:00:20 paused',
        '12:00:30 paused',
        '12:00:40 fired',
      ]);
      assert.match(
        await only(schedule.id, '12:00:20', 'paused'),
        /paused at .*T12:00:05.*resumed .*T12:00:35/,
      );
    });

    it('outside_window before startAt and after endAt', async () => {
      const node = world.node('n1');
      const schedule = await world.addSchedule({
        cron: '*/10 * * * * *',
        startAt: '2026-06-01T12:00:20.000Z',
        endAt: '2026-06-01T12:00:30.000Z',
      });
      await world.runFor(60_000, 1000, [node]);
      assert.deepEqual(await verdicts(schedule.id, '12:00:00', '12:00:50'), [
        '12:00:00 outside_window',
        '12:00:10 outside_window',
        '12:00:20 fired',
        '12:00:30 fired',
        '12:00:40 outside_window',
      ]);
    });

    it('a tick moved by DST is explained with its note', async () => {
      // 02:30 does not exist in New York on 2026-03-08: the tick fires at 03:00 EDT (07:00Z).
      const march = await SchedulerWorld.open('2026-03-08T06:00:00.000Z', adapters);
      try {
        const changes = new InProcessScheduleChanges();
        const jobs = new JobService(march.store, new InProcessRunSignals(), march.clock, changes);
        const inMarch = new ScheduleService(march.store, jobs, changes, march.clock);
        const node = march.node('n1');
        const schedule = await march.addSchedule({ cron: '0 30 2 * * *', timezone: 'America/New_York' });
        await march.runFor(2 * 3600_000, 60_000, [node]);
        const { ticks } = await inMarch.explainTicks(march.tenant.id, schedule.id, {});
        assert.equal(ticks.length, 1);
        assert.equal(ticks[0]?.verdict, 'fired');
        assert.equal(ticks[0]?.dst, 'moved_out_of_gap');
        assert.equal(new Date(ticks[0]?.nominalTime ?? 0).toISOString(), '2026-03-08T07:00:00.000Z');
      } finally {
        await march.close();
      }
    });

    it('unknown for a tick with no run before the schedule’s last change', async () => {
      const node = world.node('n1');
      const schedule = await schedules.create(world.tenant, world.job.id, {
        every: '10s',
        catchup: { mode: 'skip' },
      });
      await world.runFor(5000, 1000, [node]);
      await node.engine.stop();
      world.clock.set('2026-06-01T12:00:45.000Z');
      await schedules.update(world.tenant, schedule.id, { jitterSeconds: 1 });
      await world.runFor(20_000, 1000, [world.node('n2')]);
      const shown = await verdicts(schedule.id, '12:00:00', '12:01:00');
      assert.deepEqual(shown.slice(0, 4), [
        '12:00:00 fired',
        '12:00:10 unknown',
        '12:00:20 unknown',
        '12:00:30 unknown',
      ]);
    });

    it('another tenant’s schedule is not found; a bad window names its field', async () => {
      const schedule = await world.addSchedule({ every: '10s' });
      await assert.rejects(schedules.explainTicks('ten_00000000000000000000000000', schedule.id, {}), {
        code: 'not_found',
      });
      await assert.rejects(
        schedules.explainTicks(world.tenant.id, schedule.id, {
          from: '2026-06-01T13:00:00Z',
          to: '2026-06-01T12:00:00Z',
        }),
        { code: 'validation_failed', message: /^from: / },
      );
      await assert.rejects(
        schedules.explainTicks(world.tenant.id, schedule.id, {
          from: '2026-06-01T00:00:00Z',
          to: '2026-06-03T00:00:00Z',
        }),
        { message: /^to: .*24 hours/ },
      );
      await assert.rejects(schedules.explainTicks(world.tenant.id, schedule.id, { from: 'yesterday' }), {
        message: /^from: /,
      });
    });

    it('at most 1000 ticks at once, with where to go on from', async () => {
      const schedule = await world.addSchedule({ every: '1s' });
      world.clock.set('2026-06-01T13:00:00.000Z');
      const page = await schedules.explainTicks(world.tenant.id, schedule.id, {});
      assert.equal(page.ticks.length, 1000);
      assert.equal(new Date(page.nextFrom ?? 0).toISOString(), '2026-06-01T12:16:40.000Z');
    });
  });
}
