// Fixtures for the worker-side tests (worker agent, reaper): a real SQLite store with a tenant, jobs and
// runs in it, the embedded queue and signals, and a silent logger.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { newId, type IdKind } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { newQueuedRun, type Run } from '../../src/core/run.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import type { Logger } from '../../src/services/logger.js';
import { NO_JOB_LIMIT } from './store-factories.js';

export const id = (kind: IdKind): string => newId(kind, Date.now(), (n) => randomBytes(n));

/** pino, silent: also checks that pino satisfies the services' Logger interface. */
export const silentLogger: Logger = pino({ level: 'silent' });

export interface WorkerWorld {
  store: SqliteStore;
  queue: InProcessQueue;
  signals: InProcessRunSignals;
  tenant: Tenant;
  /** A temporary directory for logs and scratch space, removed by close(). */
  dir: string;
  close(): Promise<void>;
}

export async function openWorld(): Promise<WorkerWorld> {
  const store = SqliteStore.open(':memory:');
  const queue = new InProcessQueue({ clock: systemClock });
  const signals = new InProcessRunSignals();
  const tenant: Tenant = {
    id: id('tenant'),
    name: 'acme',
    limits: { ...DEFAULT_PLAN_LIMITS },
    createdAt: Date.now(),
  };
  await store.createTenant(tenant);
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-worker-'));
  return {
    store,
    queue,
    signals,
    tenant,
    dir,
    async close() {
      await queue.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let jobCounter = 0;

export async function createJob(world: WorkerWorld, overrides: Partial<Job> = {}): Promise<Job> {
  const at = Date.now();
  const job: Job = {
    id: id('job'),
    tenantId: world.tenant.id,
    name: `job-${++jobCounter}`,
    image: null,
    command: ['sh', '-c'],
    args: ['echo hello'],
    env: {},
    resources: { memoryMb: 64 },
    timeoutSeconds: 60,
    retry: { maxAttempts: 1, backoffSeconds: 0 },
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
  await world.store.insertJob(job, NO_JOB_LIMIT);
  return job;
}

export async function createRun(world: WorkerWorld, job: Job, overrides: Partial<Run> = {}): Promise<Run> {
  const run: Run = {
    ...newQueuedRun({ id: id('run'), tenantId: job.tenantId, jobId: job.id, createdAt: Date.now() }),
    ...overrides,
  };
  const result = await world.store.insertRun({ run, requestHash: null });
  if (!result.inserted) throw new Error('run not inserted');
  return run;
}

export function messageOf(run: Run, job: Job): QueueMessage {
  return {
    runId: run.id,
    tenantId: run.tenantId,
    attempt: run.attempt,
    memoryMb: job.resources.memoryMb,
    availableAt: run.availableAt,
  };
}

/** Creates a run and publishes it, as the API and dispatcher would. */
export async function submitRun(world: WorkerWorld, job: Job, overrides: Partial<Run> = {}): Promise<Run> {
  const run = await createRun(world, job, overrides);
  await world.queue.publish([messageOf(run, job)]);
  return run;
}

export async function getRun(world: WorkerWorld, run: Pick<Run, 'tenantId' | 'id'>): Promise<Run> {
  const found = await world.store.getRun(run.tenantId, run.id);
  if (!found) throw new Error(`run ${run.id} not found`);
  return found;
}

/** Polls until `check` returns a value that is not undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Waits until the run reaches a status in `statuses`, and returns it. */
export function waitForStatus(world: WorkerWorld, run: Run, ...statuses: Run['status'][]): Promise<Run> {
  return waitFor(`run ${run.id} to be ${statuses.join('|')}`, async () => {
    const current = await getRun(world, run);
    return statuses.includes(current.status) ? current : undefined;
  });
}
