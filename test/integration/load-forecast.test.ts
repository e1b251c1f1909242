// The load forecast on every store: its per-step counts and memory equal the sum of the schedules' own
// previews bucketed over the same window (crons with seconds, Europe/Berlin across the 2026 spring-forward,
// an interval, startAt/endAt, a paused and a deleted schedule, two schedules sharing one spec), plus a
// one-off run queued for later; each tenant sees only its own, the fleet (admin) both; bad windows are
// refused naming the field.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { HourglassError } from '../../src/core/errors.js';
import { memoryRequestOf } from '../../src/core/job.js';
import type { Tenant } from '../../src/core/tenant.js';
import type { Store } from '../../src/ports/store.js';
import { ForecastService, resolveForecastWindow } from '../../src/services/forecast-service.js';
import { JobService } from '../../src/services/job-service.js';
import { RunService } from '../../src/services/run-service.js';
import { ScheduleService, type ScheduleInput } from '../../src/services/schedule-service.js';
import { TenantService } from '../../src/services/tenant-service.js';
import { ManualClock } from '../support/manual-clock.js';
import { STORE_FACTORIES } from '../support/store-factories.js';

const FROM = '2026-03-28T20:00:00.000Z';
const TO = '2026-03-29T08:00:00.000Z';
const STEP_SECONDS = 600;

interface World {
  clock: ManualClock;
  forecast: ForecastService;
  schedules: ScheduleService;
  runs: RunService;
  a: Tenant;
  b: Tenant;
  close(): Promise<void>;
}

async function worldOn(store: Store): Promise<World> {
  const clock = new ManualClock(FROM);
  const signals = new InProcessRunSignals();
  const changes = new InProcessScheduleChanges();
  const queue = new InProcessQueue({ clock });
  const jobs = new JobService(store, signals, clock, changes);
  const tenants = new TenantService(store, clock);
  const a = await tenants.createTenant('acme', { allowHostCommands: true, maxSchedules: 100 });
  const b = await tenants.createTenant('bolt', { allowHostCommands: true, maxSchedules: 100 });
  for (const tenant of [a, b]) {
    await jobs.createJob(tenant, { name: 'small', command: ['true'], resources: { memoryMb: 256 } });
    await jobs.createJob(tenant, {
      name: 'big',
      command: ['true'],
      resources: { memoryMb: 2048, memoryRequestMb: 1500 },
    });
  }
  return {
    clock,
    forecast: new ForecastService(store, clock),
    schedules: new ScheduleService(store, jobs, changes, clock),
    runs: new RunService(store, queue, jobs, signals, clock, { preDispatchLeadMs: 500 }),
    a,
    b,
    close: () => queue.close(),
  };
}

const MEMORY = { small: memoryRequestOf({ memoryMb: 256 }), big: 1500 };

type Buckets = { runs: number[]; memoryMb: number[] };

/** What the previews of these schedules say, bucketed like the forecast. */
async function previewBuckets(world: World, tenant: Tenant, made: Made[]): Promise<Buckets> {
  const from = Date.parse(FROM);
  const steps = (Date.parse(TO) - from) / (STEP_SECONDS * 1000);
  const buckets: Buckets = { runs: new Array(steps).fill(0), memoryMb: new Array(steps).fill(0) };
  for (const { id, job, counted } of made) {
    if (!counted) continue;
    const { fires } = await world.schedules.preview(tenant.id, id, 100);
    assert.ok(
      fires.length < 100 || (fires[99]?.nominalTime ?? 0) >= Date.parse(TO),
      'preview covers the window',
    );
    for (const fire of fires) {
      if (fire.nominalTime >= Date.parse(TO)) break;
      const index = Math.floor((fire.nominalTime - from) / (STEP_SECONDS * 1000));
      buckets.runs[index] = (buckets.runs[index] ?? 0) + 1;
      buckets.memoryMb[index] = (buckets.memoryMb[index] ?? 0) + MEMORY[job];
    }
  }
  return buckets;
}

interface Made {
  id: string;
  job: 'small' | 'big';
  counted: boolean;
}

async function make(
  world: World,
  tenant: Tenant,
  job: 'small' | 'big',
  input: ScheduleInput,
  fate: 'live' | 'paused' | 'deleted' = 'live',
): Promise<Made> {
  const schedule = await world.schedules.create(tenant, job, input);
  if (fate === 'paused') await world.schedules.pause(tenant, schedule.id);
  if (fate === 'deleted') await world.schedules.delete(tenant.id, schedule.id);
  return { id: schedule.id, job, counted: fate === 'live' };
}

async function forecastBuckets(world: World, tenantId: string | null): Promise<Buckets> {
  const steps = await world.forecast.forecast(tenantId, { from: FROM, to: TO, stepSeconds: STEP_SECONDS });
  assert.equal(steps[0]?.at, Date.parse(FROM));
  assert.equal(steps[1]?.at, Date.parse(FROM) + STEP_SECONDS * 1000);
  return { runs: steps.map((s) => s.runs), memoryMb: steps.map((s) => s.memoryMb) };
}

const sum = (x: Buckets, y: Buckets): Buckets => ({
  runs: x.runs.map((v, i) => v + (y.runs[i] ?? 0)),
  memoryMb: x.memoryMb.map((v, i) => v + (y.memoryMb[i] ?? 0)),
});

for (const factory of STORE_FACTORIES) {
  describe(`load forecast (${factory.name})`, () => {
    async function withWorld(body: (world: World) => Promise<void>): Promise<void> {
      const location = await factory.createLocation({ migrated: true });
      const { store } = await location.open();
      const world = await worldOn(store);
      try {
        await body(world);
      } finally {
        await world.close();
        await store.close();
        await location.destroy();
      }
    }

    it('equals the sum of the previews, per tenant, and the fleet sees both', () =>
      withWorld(async (world) => {
        const { a, b } = world;
        const berlin = { timezone: 'Europe/Berlin' };
        const ofA: Made[] = [
          await make(world, a, 'small', { cron: '15 */10 * * * *', ...berlin }),
          // The same spec on another job: one spec, counted twice, with the other job's memory.
          await make(world, a, 'big', { cron: '15 */10 * * * *', ...berlin }),
          // 02:30 does not exist in Berlin on 2026-03-29: it fires at 03:00 CEST (01:00Z).
          await make(world, a, 'big', { cron: '0 30 2 * * *', ...berlin }),
          await make(world, a, 'small', { cron: '*/40 7 * * * *', ...berlin }),
          await make(world, a, 'small', { every: '13m' }),
          await make(world, a, 'small', {
            cron: '0 */15 * * * *',
            startAt: '2026-03-29T00:00:00Z',
            endAt: '2026-03-29T04:00:00Z',
          }),
          await make(world, a, 'big', { cron: '0 * * * * *' }, 'paused'),
          await make(world, a, 'big', { cron: '*/30 * * * * *' }, 'deleted'),
        ];
        const ofB: Made[] = [await make(world, b, 'big', { cron: '0 0 * * * *', timezone: 'Asia/Kolkata' })];
        // A one-off run of A's for later: counted at its due time, with its job's memory.
        await world.runs.createRun(a, 'big', { runAt: '2026-03-29T05:05:00Z' }, null);
        const oneOff = await previewBuckets(world, a, []);
        oneOff.runs[
          Math.floor((Date.parse('2026-03-29T05:05:00Z') - Date.parse(FROM)) / (STEP_SECONDS * 1000))
        ] = 1;
        oneOff.memoryMb = oneOff.runs.map((n) => n * MEMORY.big);

        const expectedA = sum(await previewBuckets(world, a, ofA), oneOff);
        const expectedB = await previewBuckets(world, b, ofB);
        const gotA = await forecastBuckets(world, a.id);
        assert.deepEqual(gotA, expectedA);
        assert.ok(gotA.runs.reduce((x, y) => x + y) > 200, 'the window holds many runs');
        assert.equal(
          gotA.runs[(Date.parse('2026-03-29T01:00:00Z') - Date.parse(FROM)) / 600_000],
          2 + 1 + 2 + 1,
        );
        assert.deepEqual(await forecastBuckets(world, b.id), expectedB);
        assert.deepEqual(await forecastBuckets(world, null), sum(expectedA, expectedB));
      }));

    it('counts nothing before now, and each tick at one-second steps', () =>
      withWorld(async (world) => {
        const { a } = world;
        const made = [
          await make(world, a, 'small', { cron: '*/7 * * * * *' }),
          await make(world, a, 'small', { every: '45s' }),
        ];
        world.clock.advance(90_000);
        const from = Date.parse(FROM);
        const steps = await world.forecast.forecast(a.id, {
          from: FROM,
          to: new Date(from + 300_000).toISOString(),
          stepSeconds: 1,
        });
        assert.equal(steps.length, 300);
        const ticks = new Map<number, number>();
        for (const { id } of made) {
          for (const fire of (await world.schedules.preview(a.id, id, 100)).fires) {
            if (fire.nominalTime < from + 300_000)
              ticks.set(fire.nominalTime, (ticks.get(fire.nominalTime) ?? 0) + 1);
          }
        }
        for (const step of steps) {
          assert.equal(
            step.runs,
            step.at < from + 90_000 ? 0 : (ticks.get(step.at) ?? 0),
            new Date(step.at).toISOString(),
          );
        }
      }));
  });
}

describe('forecast windows', () => {
  const now = Date.parse(FROM);
  const refused = (input: Parameters<typeof resolveForecastWindow>[0], field: string) =>
    assert.throws(
      () => resolveForecastWindow(input, now),
      (error: unknown) =>
        error instanceof HourglassError &&
        error.code === 'validation_failed' &&
        error.context.field === field,
    );

  it('defaults to the next hour at one-minute steps', () => {
    assert.deepEqual(resolveForecastWindow({}, now), { fromMs: now, toMs: now + 3_600_000, stepMs: 60_000 });
  });

  it('refuses a bad window, naming the field', () => {
    refused({ from: 'tomorrow' }, 'from');
    refused({ to: '2026-02-30T00:00:00Z' }, 'to');
    refused({ from: TO, to: FROM }, 'to');
    refused({ from: FROM, to: FROM }, 'to');
    refused({ from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:01Z' }, 'to');
    refused({ stepSeconds: 0 }, 'stepSeconds');
    refused({ stepSeconds: 1.5 }, 'stepSeconds');
    refused({ from: FROM, to: '2026-03-29T20:00:00Z', stepSeconds: 1 }, 'stepSeconds');
    assert.equal(
      resolveForecastWindow({ from: '2026-03-01T00:00:00Z', to: '2026-03-08T00:00:00Z' }, now).stepMs,
      60_000,
      'seven days at one-minute steps is the largest window',
    );
  });
});
