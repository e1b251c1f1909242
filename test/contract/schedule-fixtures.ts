// Fixtures of the schedule, lease and firing contract suites: schedules with a chosen partition (the store
// keeps the partition it is given, so a test can place schedules without hunting for ids that hash there),
// ticks as the engine would compute them, and a node holding every partition of a small partition space.

import assert from 'node:assert/strict';
import { newScheduleBase, scheduledRunId, type Schedule } from '../../src/core/schedule.js';
import type { Job } from '../../src/core/job.js';
import type { PartitionLease, Store, TickFire } from '../../src/ports/store.js';
import { attemptResult, id, tick } from './store-fixtures.js';

/** A small partition space keeps the lease tests readable; the store does not care about the number. */
export const TEST_PARTITIONS = 4;
export const NO_SCHEDULE_LIMIT = Number.MAX_SAFE_INTEGER;
export const SECOND = 1000;

export function makeSchedule(job: Job, overrides: Partial<Schedule> = {}): Schedule {
  const at = tick();
  const ids = { id: id('schedule'), tenantId: job.tenantId, jobId: job.id, partition: 0 };
  return {
    ...newScheduleBase(ids, at),
    spec: { kind: 'cron', cron: '*/5 * * * * *', timezone: 'Europe/Berlin' },
    nextFireAt: at + 10 * SECOND,
    ...overrides,
  };
}

export async function seedSchedule(
  store: Store,
  job: Job,
  overrides: Partial<Schedule> = {},
): Promise<Schedule> {
  const schedule = makeSchedule(job, overrides);
  await store.insertSchedule(schedule, NO_SCHEDULE_LIMIT);
  return schedule;
}

/** The tick at `nominalTime`, computed from the schedule as stored (its version), next one `step` later. */
export function tickOf(
  schedule: Pick<Schedule, 'id' | 'version' | 'partition'>,
  nominalTime: number,
  overrides: Partial<TickFire> = {},
): TickFire {
  return {
    scheduleId: schedule.id,
    partition: schedule.partition,
    version: schedule.version,
    nominalTime,
    dueAt: nominalTime,
    late: false,
    nextFireAt: nominalTime + SECOND,
    runId: scheduledRunId(schedule.id, nominalTime),
    ...overrides,
  };
}

/** `owner` takes every partition (it is the only member); returns its lease on `partition`. */
export async function leaseAll(
  store: Store,
  owner: string,
  partition = 0,
  now = tick(),
): Promise<PartitionLease> {
  const leases = await store.syncPartitionLeases({
    owner,
    partitionCount: TEST_PARTITIONS,
    ttlMs: 10_000,
    now,
  });
  const lease = leases.find((l) => l.partition === partition);
  assert.ok(lease, `${owner} should hold partition ${partition}`);
  return lease;
}

/**
 * `count` buffer_one schedules of `job` on the lease's partition, each with a run that ran and ended and the
 * next tick's run blocked by it, not released yet: the blockers and the blocked runs' ids.
 */
export async function seedBlockedRuns(
  store: Store,
  job: Job,
  owner: string,
  lease: PartitionLease,
  count: number,
): Promise<{ blockers: string[]; blocked: string[] }> {
  const blockers: string[] = [];
  const blocked: string[] = [];
  const nominal = Date.UTC(2024, 0, 1);
  for (let i = 0; i < count; i++) {
    const schedule = await seedSchedule(store, job, {
      overlapPolicy: 'buffer_one',
      partition: lease.partition,
    });
    const [first, second] = [tickOf(schedule, nominal), tickOf(schedule, nominal + SECOND)];
    await store.fireTicks(owner, [lease], [first], tick());
    const claimed = await store.claimRun(first.runId, 1, 'wrk_a', tick());
    assert.ok(claimed);
    assert.deepEqual((await store.fireTicks(owner, [lease], [second], tick())).blocked, [second.runId]);
    await store.finishAttempt(attemptResult(claimed.run));
    blockers.push(first.runId);
    blocked.push(second.runId);
  }
  return { blockers, blocked };
}
