// Shared fixtures of the store contract suites: a fresh store per test, and tenants, jobs and runs to seed
// it with. Ids sort by creation time and the suites rely on it, so every id and time comes from one clock
// that only moves forward.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { HourglassError } from '../../src/core/errors.js';
import { newId, type IdKind } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { newQueuedRun, type Run } from '../../src/core/run.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { AttemptResult, HeldAttempt, Store } from '../../src/ports/store.js';
import { NO_JOB_LIMIT, type StoreFactory } from '../support/store-factories.js';

// Ids sort by creation time, and listRuns relies on that: every id gets a later time than the one before.
export let clock = Date.UTC(2025, 0, 1);
export const tick = (): number => (clock += 1000);
export const id = (kind: IdKind): string => newId(kind, tick(), (n) => randomBytes(n));

export async function withStore(factory: StoreFactory, test: (store: Store) => Promise<void>): Promise<void> {
  const location = await factory.createLocation();
  const { store } = await location.open();
  try {
    await test(store);
  } finally {
    await store.close();
    await location.destroy();
  }
}

export function makeTenant(): Tenant {
  return {
    id: id('tenant'),
    name: 'acme',
    limits: { ...DEFAULT_PLAN_LIMITS, maxJobs: 7 },
    createdAt: tick(),
  };
}

export function makeJob(tenantId: string, overrides: Partial<Job> = {}): Job {
  const at = tick();
  return {
    id: id('job'),
    tenantId,
    name: `job-${clock}`,
    image: 'alpine:3.20',
    command: ['sh', '-c'],
    args: ['echo hi'],
    env: { GREETING: 'hello' },
    resources: { memoryMb: 256 },
    timeoutSeconds: 60,
    retry: { maxAttempts: 3, backoffSeconds: 5 },
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

export function makeRun(job: Job, overrides: Partial<Run> = {}): Run {
  const at = tick();
  return {
    ...newQueuedRun({ id: id('run'), tenantId: job.tenantId, jobId: job.id, createdAt: at }),
    ...overrides,
  };
}

/** A tenant with one job, the usual starting point. */
export async function seedJob(store: Store, overrides: Partial<Job> = {}): Promise<Job> {
  const tenant = makeTenant();
  await store.createTenant(tenant);
  const job = makeJob(tenant.id, overrides);
  await store.insertJob(job, NO_JOB_LIMIT);
  return job;
}

export async function seedRun(store: Store, job: Job, overrides: Partial<Run> = {}): Promise<Run> {
  const run = makeRun(job, overrides);
  const result = await store.insertRun({ run, requestHash: null });
  assert.equal(result.inserted, true);
  return run;
}

/** Inserts a run and has `workerId` claim it. */
export async function seedRunning(store: Store, job: Job, workerId = 'wrk_a'): Promise<Run> {
  const run = await seedRun(store, job);
  const claimed = await store.claimRun(run.id, 1, workerId, tick());
  assert.ok(claimed);
  return claimed.run;
}

export async function mustGetRun(store: Store, run: Pick<Run, 'tenantId' | 'id'>): Promise<Run> {
  const found = await store.getRun(run.tenantId, run.id);
  assert.ok(found, `run ${run.id} should exist`);
  return found;
}

export const eventTypes = async (store: Store, runId: string): Promise<string[]> =>
  (await store.getRunEvents(runId)).map((event) => event.type);

export function attemptResult(run: Run, overrides: Partial<AttemptResult> = {}): AttemptResult {
  return {
    runId: run.id,
    attempt: run.attempt,
    workerId: run.workerId ?? 'wrk_a',
    outcome: 'succeeded',
    exitCode: 0,
    reason: null,
    at: tick(),
    retryAt: null,
    ...overrides,
  };
}

export const held = (run: Run): HeldAttempt => ({ runId: run.id, attempt: run.attempt });

export const isNameTaken = (error: unknown): boolean =>
  error instanceof HourglassError && error.code === 'job_name_taken' && error.context.field === 'name';
