// The schedule service and future runs of the run service on a real SQLite file, with a clock the test moves:
// where the watermark goes on create, change, pause and resume, DST notes of the 2026 transitions in New York,
// the change hints the scheduler hears, optimistic races, and when a future run is handed to the queue.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { HourglassError } from '../../src/core/errors.js';
import { partitionOf } from '../../src/core/schedule.js';
import type { Tenant } from '../../src/core/tenant.js';
import type { ScheduleChange } from '../../src/ports/schedule-changes.js';
import { JobService } from '../../src/services/job-service.js';
import { RunService } from '../../src/services/run-service.js';
import { RunDispatcher } from '../../src/services/run-dispatcher.js';
import { QUEUE_HORIZON_MS } from '../../src/core/dispatch.js';
import { ScheduleService } from '../../src/services/schedule-service.js';
import { TenantService } from '../../src/services/tenant-service.js';
import { ManualClock } from '../support/manual-clock.js';
import { silentLogger } from '../support/worker-fixtures.js';

const at = (iso: string): number => Date.parse(iso);

describe('ScheduleService and future runs', () => {
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let queue: InProcessQueue;
  let changes: InProcessScheduleChanges;
  let heard: ScheduleChange[];
  let jobs: JobService;
  let runs: RunService;
  let schedules: ScheduleService;
  let tenant: Tenant;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hourglass-schedules-'));
    store = SqliteStore.open(join(dir, 'hourglass.db'));
    clock = new ManualClock('2026-10-30T12:00:00.250Z');
    queue = new InProcessQueue({ clock });
    const signals = new InProcessRunSignals();
    changes = new InProcessScheduleChanges();
    heard = [];
    changes.on((change) => heard.push(change));
    jobs = new JobService(store, signals, clock, changes);
    runs = new RunService(store, queue, jobs, signals, clock, { preDispatchLeadMs: 500 });
    schedules = new ScheduleService(store, jobs, changes, clock);
    tenant = await new TenantService(store, clock).createTenant('acme', { allowHostCommands: true });
    await jobs.createJob(tenant, { name: 'tick', command: ['true'] });
  });

  afterEach(async () => {
    await queue.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('anchors an interval at the creation second and places the first tick', async () => {
    const s = await schedules.create(tenant, 'tick', { every: '15m' });
    assert.deepEqual(s.spec, {
      kind: 'every',
      every: '15m',
      intervalMs: 900_000,
      anchorAt: at('2026-10-30T12:00:00Z'),
    });
    assert.equal(s.nextFireAt, at('2026-10-30T12:15:00Z'));
    assert.equal(s.partition, partitionOf(s.id));
    assert.deepEqual(heard, [{ scheduleId: s.id, partition: s.partition }]);
    assert.deepEqual(await schedules.get(tenant.id, s.id), s);
  });

  it('fires nothing for a schedule whose endAt has passed, and starts at startAt', async () => {
    const ended = await schedules.create(tenant, 'tick', {
      cron: '0 * * * *',
      startAt: '2026-01-01T00:00:00Z',
      endAt: '2026-02-01T00:00:00Z',
    });
    assert.equal(ended.nextFireAt, null);
    const later = await schedules.create(tenant, 'tick', {
      cron: '0 * * * *',
      startAt: '2026-12-24T18:00:00+01:00',
    });
    assert.equal(later.nextFireAt, at('2026-12-24T17:00:00Z'), 'a tick exactly at startAt counts');
  });

  it('previews 2026-11-01 in New York: 01:30 fires once, at 01:30 EDT', async () => {
    const s = await schedules.create(tenant, 'tick', { cron: '30 1 * * *', timezone: 'America/New_York' });
    const { fires } = await schedules.preview(tenant.id, s.id, 4);
    assert.deepEqual(
      fires.map((f) => [new Date(f.nominalTime).toISOString(), f.dst]),
      [
        ['2026-10-31T05:30:00.000Z', null],
        ['2026-11-01T05:30:00.000Z', 'repeated_time_first'],
        ['2026-11-02T06:30:00.000Z', null],
        ['2026-11-03T06:30:00.000Z', null],
      ],
    );
    const hourly = await schedules.create(tenant, 'tick', {
      cron: '30 * * * *',
      timezone: 'America/New_York',
      startAt: '2026-11-01T04:00:00Z',
    });
    const repeated = (await schedules.preview(tenant.id, hourly.id, 4)).fires;
    assert.deepEqual(
      repeated.map((f) => f.dst),
      [null, 'repeated_time_first', 'repeated_time_second', null],
      'a wildcard hour fires in both occurrences of 01:30',
    );
  });

  it('previews 2026-03-08 in New York: 02:30 does not exist and fires at 03:00 EDT', async () => {
    const inMarch = new ScheduleService(store, jobs, changes, new ManualClock('2026-03-06T12:00:00Z'));
    const s = await inMarch.create(tenant, 'tick', { cron: '30 2 * * *', timezone: 'America/New_York' });
    const { fires } = await inMarch.preview(tenant.id, s.id, 3);
    assert.deepEqual(
      fires.map((f) => [new Date(f.nominalTime).toISOString(), f.dst]),
      [
        ['2026-03-07T07:30:00.000Z', null],
        ['2026-03-08T07:00:00.000Z', 'moved_out_of_gap'],
        ['2026-03-09T06:30:00.000Z', null],
      ],
    );
  });

  it('adds the schedule’s fixed jitter to dueAt, never to the tick', async () => {
    const s = await schedules.create(tenant, 'tick', { every: '1m', jitterSeconds: 30 });
    const { fires } = await schedules.preview(tenant.id, s.id, 5);
    const offsets = new Set(fires.map((f) => f.dueAt - f.nominalTime));
    assert.equal(offsets.size, 1);
    const [offset = -1] = offsets;
    assert.ok(offset >= 0 && offset < 30_000);
    assert.ok(fires.every((f) => f.nominalTime % 60_000 === 0));
  });

  it('recomputes the next tick from now on a change of timing, and only then', async () => {
    const s = await schedules.create(tenant, 'tick', { cron: '0 0 * * *' });
    assert.equal(s.nextFireAt, at('2026-10-31T00:00:00Z'));
    clock.set('2026-10-30T13:00:00Z');
    const retimed = await schedules.update(tenant, s.id, { cron: '0 */2 * * *' });
    assert.equal(retimed.nextFireAt, at('2026-10-30T14:00:00Z'));
    assert.equal(retimed.version, 2);
    clock.set('2026-10-30T15:30:00Z');
    const other = await schedules.update(tenant, s.id, { overlapPolicy: 'skip', env: { A: '1' } });
    assert.equal(other.nextFireAt, retimed.nextFireAt, 'the watermark is the scheduler’s to move');
    assert.equal(other.version, 3);
    const rezoned = await schedules.update(tenant, s.id, { timezone: 'Asia/Kolkata' });
    assert.equal(rezoned.nextFireAt, at('2026-10-30T16:30:00Z'), '22:00 IST');
    assert.equal(heard.length, 4);
  });

  it('resumes from now on: ticks missed while paused are not caught up', async () => {
    const s = await schedules.create(tenant, 'tick', { every: '1m' });
    const paused = await schedules.pause(tenant, s.id);
    assert.equal(paused.paused, true);
    assert.equal((await schedules.pause(tenant, s.id)).version, paused.version, 'pausing again: no change');
    clock.set('2026-10-30T12:10:30Z');
    const resumed = await schedules.resume(tenant, s.id);
    assert.equal(resumed.paused, false);
    assert.equal(resumed.nextFireAt, at('2026-10-30T12:11:00Z'));
    assert.equal(resumed.version, 3);
    assert.equal(heard.length, 3);
  });

  it('redoes a change that lost a race once, over the fresh schedule', async () => {
    const s = await schedules.create(tenant, 'tick', { every: '1m' });
    const [a, b] = await Promise.all([
      schedules.update(tenant, s.id, { args: ['a'] }),
      schedules.update(tenant, s.id, { env: { B: '1' } }),
    ]);
    assert.deepEqual([a.version, b.version].sort(), [2, 3]);
    const final = await schedules.get(tenant.id, s.id);
    assert.equal(final.version, 3);
    assert.deepEqual([final.args, final.env], [['a'], { B: '1' }], 'neither change was lost');
  });

  it('answers schedule_conflict when a change loses twice', async () => {
    const s = await schedules.create(tenant, 'tick', { every: '1m' });
    const results = await Promise.allSettled(
      [1, 2, 3, 4].map((n) => schedules.update(tenant, s.id, { jitterSeconds: n })),
    );
    const conflicts = results.filter(
      (r) =>
        r.status === 'rejected' &&
        r.reason instanceof HourglassError &&
        r.reason.code === 'schedule_conflict',
    );
    const done = results.filter((r) => r.status === 'fulfilled');
    assert.ok(conflicts.length > 0, 'some lost twice');
    assert.equal(
      (await schedules.get(tenant.id, s.id)).version,
      1 + done.length,
      'every answered change counted',
    );
  });

  it('tells the scheduler about each schedule of a deleted job', async () => {
    const a = await schedules.create(tenant, 'tick', { every: '1m' });
    const b = await schedules.create(tenant, 'tick', { cron: '0 * * * *' });
    heard = [];
    await jobs.deleteJob(tenant.id, 'tick');
    assert.deepEqual(heard.map((c) => c.scheduleId).sort(), [a.id, b.id].sort());
    await assert.rejects(schedules.get(tenant.id, a.id), { code: 'not_found' });
  });

  it('keeps a future run in the store until the sweep hands it to the queue, lead before it is due', async () => {
    const dispatcher = new RunDispatcher({
      store,
      queue,
      signals: new InProcessRunSignals(),
      clock,
      logger: silentLogger,
    });
    const { run } = await runs.createRun(tenant, 'tick', { runAt: '2026-10-30T12:00:10Z' }, null);
    assert.equal(run.nominalTime, at('2026-10-30T12:00:10Z'));
    assert.equal(run.dueAt, run.nominalTime);
    assert.equal(run.availableAt, at('2026-10-30T12:00:09.500Z'));
    assert.equal(run.dispatchedAt, null);
    assert.equal(await queue.depth(), 0, 'beyond the horizon: not in the queue at all');
    assert.equal(await dispatcher.sweep(false), 0, 'nor taken by a sweep yet');
    clock.set(at('2026-10-30T12:00:09.500Z') - QUEUE_HORIZON_MS);
    assert.equal(await dispatcher.sweep(false), 1, 'within the horizon: published');
    assert.equal(await dispatcher.sweep(false), 0, 'once');
    assert.deepEqual(await queue.pull(10, 0), [], 'not available yet');
    clock.set('2026-10-30T12:00:09.500Z');
    const [delivery] = await queue.pull(10, 0);
    assert.equal(delivery?.message.runId, run.id);
    assert.equal((await store.getRun(tenant.id, run.id))?.dispatchedAt, at('2026-10-30T12:00:07.500Z'));

    const soon = await runs.createRun(tenant, 'tick', { runAt: '2026-10-30T12:00:09.700Z' }, null);
    assert.equal(soon.run.availableAt, clock.now(), 'inside the lead: available at once');
    const late = await runs.createRun(tenant, 'tick', { runAt: '2026-10-30T12:00:06Z' }, null);
    assert.equal(late.run.nominalTime, at('2026-10-30T12:00:06Z'), 'a few seconds late is still its time');
    await assert.rejects(runs.createRun(tenant, 'tick', { runAt: '2026-10-30T12:00:04Z' }, null), {
      code: 'validation_failed',
      context: { field: 'runAt' },
    });
  });

  it('treats runAt as part of an idempotent request, compared as an instant', async () => {
    const first = await runs.createRun(tenant, 'tick', { runAt: '2026-10-30T14:00:00Z' }, 'k1');
    const replay = await runs.createRun(tenant, 'tick', { runAt: '2026-10-30T15:00:00+01:00' }, 'k1');
    assert.equal(replay.created, false);
    assert.equal(replay.run.id, first.run.id);
    await assert.rejects(runs.createRun(tenant, 'tick', { runAt: '2026-10-30T14:00:01Z' }, 'k1'), {
      code: 'idempotency_key_reused',
    });
  });
});
