// Fixtures for the worker-side tests (worker agent, reaper): a fresh store and queue from the factories of an
// adapter pair (adapter-pairs.ts) with a tenant, jobs and runs in it, the embedded signals, a silent logger,
// and a harness running a real worker agent (process executor, file log store) on such a world.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FileLogStore } from '../../src/adapters/files/file-log-store.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { newId, type IdKind } from '../../src/core/ids.js';
import { memoryRequestOf, type Job } from '../../src/core/job.js';
import type { AttemptOutcome } from '../../src/core/run-state.js';
import { newQueuedRun, type Run } from '../../src/core/run.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { Clock } from '../../src/ports/clock.js';
import type { Executor } from '../../src/ports/executor.js';
import type { QueueMessage, RunQueue } from '../../src/ports/queue.js';
import type { RunSignal } from '../../src/ports/run-events.js';
import type { Store } from '../../src/ports/store.js';
import type { Logger } from '../../src/services/logger.js';
import { WorkerAgent, type WorkerAgentOptions } from '../../src/services/worker/worker-agent.js';
import type { RegistryCredentialLookup } from '../../src/services/worker/worker-agent-options.js';
import type { WorkerMetrics } from '../../src/services/worker/worker-metrics.js';
import type { AdapterPair } from './adapter-pairs.js';
import { NO_JOB_LIMIT } from './store-factories.js';

export const id = (kind: IdKind): string => newId(kind, Date.now(), (n) => randomBytes(n));

/** pino, silent: also checks that pino satisfies the services' Logger interface. */
export const silentLogger: Logger = pino({ level: 'silent' });

export interface WorkerWorld {
  store: Store;
  /** One handle on the queue, shared by the test (publishing) and the worker (pulling). */
  queue: RunQueue;
  signals: InProcessRunSignals;
  tenant: Tenant;
  /** A temporary directory for logs and scratch space, removed by close(). */
  dir: string;
  /** Closes the store and the queue, and removes them and the directory. */
  close(): Promise<void>;
}

/** A fresh world on `adapters`; its queue keeps time by `clock` (the system's unless a test drives it). */
export async function openWorld(adapters: AdapterPair, clock: Clock = systemClock): Promise<WorkerWorld> {
  const storeLocation = await adapters.store.createLocation({ migrated: true });
  const { store } = await storeLocation.open();
  const queueLocation = await adapters.queue.createLocation({ clock });
  const queue = await queueLocation.open();
  const signals = new InProcessRunSignals();
  const tenant: Tenant = {
    id: id('tenant'),
    name: 'acme',
    limits: { ...DEFAULT_PLAN_LIMITS, allowHostCommands: true },
    createdAt: Date.now(),
  };
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-worker-'));
  const world: WorkerWorld = {
    store,
    queue,
    signals,
    tenant,
    dir,
    async close() {
      try {
        await queue.close();
        await queueLocation.destroy();
      } finally {
        await store.close();
        await storeLocation.destroy();
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  try {
    await store.createTenant(tenant);
  } catch (error) {
    await world.close();
    throw error;
  }
  return world;
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
    memoryRequestMb: memoryRequestOf(job.resources),
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

/** The PATH the harness's worker gives process-runtime jobs. */
export const PATH = process.env.PATH ?? '/usr/bin:/bin';

export interface Harness {
  world: WorkerWorld;
  worker: WorkerAgent;
  workerId: string;
  logStore: FileLogStore;
  finished: { outcome: AttemptOutcome; durationMs: number; lagMs: number | null }[];
  signals: RunSignal[];
  logOf(runId: string): Promise<string>;
}

export interface HarnessOptions extends Partial<WorkerAgentOptions> {
  executors?: Partial<Record<Executor['runtime'], Executor>>;
  /** Wraps the process executor (to watch it); ignored when `executors` is given. */
  wrapExecutor?: (executor: Executor) => Executor;
  /** Wraps the world's store or queue as the worker sees them (to watch or hold calls). */
  wrapStore?: (store: Store) => Store;
  wrapQueue?: (queue: RunQueue) => RunQueue;
  /** The clock of the worker, its queue and executor (default: the system's). */
  clock?: Clock;
  /** How the worker opens a tenant's registry login (default: none, anonymous pulls). */
  registryCredentials?: RegistryCredentialLookup;
}

/** A started worker on a fresh world on `adapters`; the worker is stopped and the world removed afterwards. */
export async function withWorker(
  adapters: AdapterPair,
  options: HarnessOptions,
  test: (h: Harness) => Promise<void>,
): Promise<void> {
  const {
    executors,
    wrapExecutor,
    wrapStore,
    wrapQueue,
    clock = systemClock,
    registryCredentials,
    ...rest
  } = options;
  const world = await openWorld(adapters, clock);
  const logStore = new FileLogStore({ root: join(world.dir, 'logs'), maxBytes: 64 * 1024 });
  const executor = new ProcessExecutor({
    clock,
    scratchRoot: join(world.dir, 'scratch'),
    killGraceMs: 200,
  });
  const finished: Harness['finished'] = [];
  const metrics: WorkerMetrics = {
    runFinished: (outcome, durationMs, lagMs) => finished.push({ outcome, durationMs, lagMs }),
  };
  const signals: RunSignal[] = [];
  const unsubscribe = world.signals.on((signal) => signals.push(signal));
  const workerId = rest.workerId ?? id('worker');
  const worker = new WorkerAgent(
    {
      store: wrapStore?.(world.store) ?? world.store,
      queue: wrapQueue?.(world.queue) ?? world.queue,
      executors: executors ?? { process: wrapExecutor?.(executor) ?? executor },
      logStore,
      signals: world.signals,
      clock,
      logger: silentLogger,
      metrics,
      ...(registryCredentials === undefined ? {} : { registryCredentials }),
    },
    {
      workerId,
      memoryMb: 1024,
      maxRuns: 4,
      heartbeatIntervalMs: 100,
      hostPath: PATH,
      pullWaitMs: 200,
      ...rest,
    },
  );
  worker.start();
  try {
    await test({
      world,
      worker,
      workerId,
      logStore,
      finished,
      signals,
      logOf: async (runId) => (await logStore.read(runId, 0, 1024 * 1024)).data.toString(),
    });
  } finally {
    await worker.stop();
    unsubscribe();
    await world.close();
  }
}
