// The Store contract for the load forecast's counts: after a seeded random sequence of writes — schedules
// created (paused or not), updated (timing, bounds, pause, other fields), paused, resumed and deleted, jobs
// whose memory changes, jobs deleted with their schedules — some of them concurrent, the counts the store
// reads (listScheduleLoad, per tenant and for the fleet) equal a recount of the stored schedules through the
// core's rule (core/forecast-share.ts). Runs against every adapter in STORE_FACTORIES.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import type { Job, JobResources } from '../../src/core/job.js';
import type { Schedule, ScheduleSpec } from '../../src/core/schedule.js';
import type { Tenant } from '../../src/core/tenant.js';
import type { Store } from '../../src/ports/store.js';
import { seededRandom } from '../support/seeded-random.js';
import { NO_JOB_LIMIT, STORE_FACTORIES } from '../support/store-factories.js';
import { countsOf, recount, sorted, type Counts } from './load-forecast-fixtures.js';
import { makeSchedule, NO_SCHEDULE_LIMIT, SECOND } from './schedule-fixtures.js';
import { makeJob, makeTenant, tick, withStore } from './store-fixtures.js';

const HOUR = 3600 * SECOND;
const SPECS: ScheduleSpec[] = [
  { kind: 'cron', cron: '0 */5 * * * *', timezone: 'UTC' },
  { kind: 'cron', cron: '0 */5 * * * *', timezone: 'Europe/Berlin' },
  { kind: 'cron', cron: '30 0 9 * * 1-5', timezone: 'America/New_York' },
  { kind: 'every', every: '90s', intervalMs: 90 * SECOND, anchorAt: Date.UTC(2025, 0, 1) },
];
const RESOURCES: JobResources[] = [
  { memoryMb: 256 },
  { memoryMb: 1024 },
  { memoryMb: 2048, memoryRequestMb: 1500 },
];

/** A random sequence of writes over two tenants, in rounds of up to four at once. */
class Writer {
  readonly jobs = new Map<string, Job>();
  readonly schedules = new Map<string, Schedule>();

  constructor(
    private readonly store: Store,
    private readonly tenants: readonly Tenant[],
    private readonly random: () => number,
  ) {}

  private pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.random() * items.length)];
  }

  private timing(): Pick<Schedule, 'spec' | 'startAt' | 'endAt'> {
    const bounded = this.random() < 0.3;
    const start = Date.UTC(2025, 0, 1) + Math.floor(this.random() * 3) * HOUR;
    return {
      spec: this.pick(SPECS) ?? { kind: 'cron', cron: '0 * * * * *', timezone: 'UTC' },
      startAt: bounded ? start : null,
      endAt: bounded && this.random() < 0.5 ? start + 2 * HOUR : null,
    };
  }

  async createJob(tenant: Tenant, resources = this.pick(RESOURCES)): Promise<void> {
    const job = makeJob(tenant.id, { resources: resources ?? { memoryMb: 64 } });
    await this.store.insertJob(job, NO_JOB_LIMIT);
    this.jobs.set(job.id, job);
  }

  /**
   * One write chosen at random, everything random drawn before the first await (so that a seed replays the
   * same writes however the concurrent ones interleave). A write that loses a race to another (a stale
   * version, a job deleted meanwhile) is fine: the recount reads what was stored.
   */
  async step(): Promise<void> {
    const choice = this.random();
    const job = this.pick([...this.jobs.values()]);
    const schedule = this.pick([...this.schedules.values()]);
    const timing = this.timing();
    const paused = this.random() < 0.3;
    const resources = this.pick(RESOURCES) ?? { memoryMb: 64 };
    const what = this.random();
    if (job === undefined) throw new Error('every tenant keeps a job');
    if (schedule === undefined || choice < 0.35) {
      const created = makeSchedule(job, { ...timing, paused });
      await ignoreNotFound(this.store.insertSchedule(created, NO_SCHEDULE_LIMIT));
      this.schedules.set(created.id, created);
    } else if (choice < 0.75 && what < 0.2) {
      // A bulk pause or resume of two of a tenant's schedules, all or nothing.
      const other = this.pick([...this.schedules.values()].filter((s) => s.tenantId === schedule.tenantId));
      const ids = [...new Set([schedule.id, other?.id ?? schedule.id])];
      const current = await Promise.all(ids.map((id) => this.store.getSchedule(schedule.tenantId, id)));
      const live = current.filter((s): s is Schedule => s !== null);
      const at = tick();
      await this.store.updateSchedules(
        live.map((s) => ({ ...s, paused, version: s.version + 1, updatedAt: at })),
      );
    } else if (choice < 0.75) {
      const current = await this.store.getSchedule(schedule.tenantId, schedule.id);
      if (current === null) return void this.schedules.delete(schedule.id);
      const change =
        what < 0.5 ? { paused } : what < 0.8 ? timing : { jitterSeconds: current.jitterSeconds + 1 };
      const updated = { ...current, ...change, version: current.version + 1, updatedAt: tick() };
      await this.store.updateSchedule(updated);
    } else if (choice < 0.87) {
      await this.store.deleteSchedule(schedule.tenantId, schedule.id, tick());
      this.schedules.delete(schedule.id);
    } else if (choice < 0.96) {
      await ignoreNotFound(this.store.updateJob({ ...job, resources, updatedAt: tick() }));
    } else {
      this.jobs.delete(job.id);
      await ignoreNotFound(this.store.deleteJob(job.tenantId, job.id, tick()));
      const tenant = this.tenants.find((t) => t.id === job.tenantId);
      if (tenant !== undefined) await this.createJob(tenant, resources);
    }
  }
}

/** A write whose job or schedule another concurrent write deleted first. */
async function ignoreNotFound(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!(error instanceof HourglassError && error.code === 'not_found')) throw error;
  }
}

for (const factory of STORE_FACTORIES) {
  describe(`Store contract (${factory.name}): load forecast counts`, () => {
    for (const seed of [1, 2, 3]) {
      it(`equal a recount of the schedules after random writes, some concurrent (seed ${seed})`, () =>
        withStore(factory, async (store) => {
          const tenants = [makeTenant(), makeTenant()];
          for (const tenant of tenants) await store.createTenant(tenant);
          const writer = new Writer(store, tenants, seededRandom(seed));
          for (const tenant of tenants) for (let j = 0; j < 3; j++) await writer.createJob(tenant);
          for (let round = 0; round < 40; round++) {
            const concurrent = 1 + Math.floor(round % 4);
            await Promise.all(Array.from({ length: concurrent }, () => writer.step()));
            if (round % 10 !== 9) continue;
            const fleet: Counts = new Map();
            for (const tenant of tenants) {
              const expected = await recount(store, tenant.id);
              await recount(store, tenant.id, fleet);
              const stored = countsOf(await store.listScheduleLoad(tenant.id, 0));
              assert.deepEqual(sorted(stored), sorted(expected), `tenant ${tenant.id}, round ${round}`);
            }
            assert.deepEqual(sorted(countsOf(await store.listScheduleLoad(null, 0))), sorted(fleet));
          }
          assert.ok(writer.schedules.size > 0, 'the sequence left schedules to count');
        }));
    }

    it('leave out timings whose end has passed', () =>
      withStore(factory, async (store) => {
        const tenant = makeTenant();
        await store.createTenant(tenant);
        const job = makeJob(tenant.id);
        await store.insertJob(job, NO_JOB_LIMIT);
        const endAt = Date.UTC(2025, 0, 1, 12);
        await store.insertSchedule(makeSchedule(job, { endAt }), NO_SCHEDULE_LIMIT);
        await store.insertSchedule(makeSchedule(job), NO_SCHEDULE_LIMIT);
        assert.equal((await store.listScheduleLoad(tenant.id, endAt)).length, 2);
        const later = await store.listScheduleLoad(tenant.id, endAt + 1);
        assert.deepEqual(
          later.map((group) => group.endAt),
          [null],
        );
      }));
  });
}
