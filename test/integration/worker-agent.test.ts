import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FileLogStore } from '../../src/adapters/files/file-log-store.js';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { AttemptOutcome } from '../../src/core/run-state.js';
import type { Run } from '../../src/core/run.js';
import type { Executor } from '../../src/ports/executor.js';
import type { RunSignal } from '../../src/ports/run-events.js';
import { WorkerAgent, type WorkerAgentOptions } from '../../src/services/worker/worker-agent.js';
import type { WorkerMetrics } from '../../src/services/worker/worker-metrics.js';
import {
  createJob,
  createRun,
  getRun,
  id,
  messageOf,
  openWorld,
  silentLogger,
  submitRun,
  waitFor,
  waitForStatus,
  type WorkerWorld,
} from '../support/worker-fixtures.js';

const PATH = process.env.PATH ?? '/usr/bin:/bin';

interface Harness {
  world: WorkerWorld;
  worker: WorkerAgent;
  logStore: FileLogStore;
  finished: { outcome: AttemptOutcome; durationMs: number; lagMs: number | null }[];
  signals: RunSignal[];
  logOf(runId: string): Promise<string>;
}

/** A started worker on a fresh world; the worker is stopped and the world removed afterwards. */
async function withWorker(
  options: Partial<WorkerAgentOptions> & { executors?: Partial<Record<Executor['runtime'], Executor>> },
  test: (h: Harness) => Promise<void>,
): Promise<void> {
  const world = await openWorld();
  const logStore = new FileLogStore({ root: join(world.dir, 'logs'), maxBytes: 64 * 1024 });
  const executor = new ProcessExecutor({
    clock: systemClock,
    scratchRoot: join(world.dir, 'scratch'),
    killGraceMs: 200,
  });
  const finished: Harness['finished'] = [];
  const metrics: WorkerMetrics = {
    runFinished: (outcome, durationMs, lagMs) => finished.push({ outcome, durationMs, lagMs }),
  };
  const signals: RunSignal[] = [];
  const unsubscribe = world.signals.on((signal) => signals.push(signal));
  const { executors, ...rest } = options;
  const worker = new WorkerAgent(
    {
      store: world.store,
      queue: world.queue,
      executors: executors ?? { process: executor },
      logStore,
      signals: world.signals,
      clock: systemClock,
      logger: silentLogger,
      metrics,
    },
    {
      workerId: id('worker'),
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

describe('WorkerAgent', () => {
  it('runs a queued run to success, with its log, start time, metrics and a finished signal', async () => {
    await withWorker({}, async ({ world, finished, signals, logOf }) => {
      const job = await createJob(world, { args: ['echo out; echo err >&2'] });
      const run = await submitRun(world, job);
      const done = await waitForStatus(world, run, 'succeeded', 'failed');
      assert.equal(done.status, 'succeeded');
      assert.equal(done.exitCode, 0);
      assert.ok(done.startedAt !== null && done.startedAt >= run.nominalTime);
      assert.ok(done.finishedAt !== null && done.finishedAt >= done.startedAt);
      assert.equal(await logOf(run.id), 'out\nerr\n');
      const events = (await world.store.getRunEvents(run.id)).map((e) => e.type);
      assert.deepEqual(events, ['created', 'claimed', 'started', 'finished']);
      await waitFor('the finished signal', () =>
        signals.some((s) => s.type === 'finished' && s.runId === run.id) ? true : undefined,
      );
      assert.equal(finished.length, 1);
      assert.equal(finished[0]?.outcome, 'succeeded');
      assert.equal(finished[0]?.lagMs, done.startedAt - run.nominalTime);
      assert.equal(await world.queue.depth(), 0);
    });
  });

  it('gives the run exactly its environment: job env, run overrides, HOURGLASS_* and PATH', async () => {
    await withWorker({}, async ({ world, logOf }) => {
      const job = await createJob(world, {
        command: ['env'],
        args: [],
        env: { GREETING: 'hello', OVERRIDE: 'job', HOURGLASS_RUN_ID: 'spoofed' },
      });
      const nominalTime = Date.UTC(2025, 5, 1, 12, 0, 0);
      const run = await submitRun(world, job, { env: { OVERRIDE: 'run' }, nominalTime });
      await waitForStatus(world, run, 'succeeded');
      const lines = (await logOf(run.id)).trim().split('\n').sort();
      assert.deepEqual(lines, [
        'GREETING=hello',
        'HOURGLASS_ATTEMPT=1',
        `HOURGLASS_JOB_ID=${job.id}`,
        `HOURGLASS_RUN_ID=${run.id}`,
        'HOURGLASS_SCHEDULED_TIME=2025-06-01T12:00:00.000Z',
        'HOURGLASS_SCHEDULE_ID=',
        'OVERRIDE=run',
        `PATH=${PATH}`,
      ]);
    });
  });

  it("uses the run's args instead of the job's when given", async () => {
    await withWorker({}, async ({ world, logOf }) => {
      const job = await createJob(world, { args: ['exit 1'] });
      const run = await submitRun(world, job, { args: ['echo overridden'] });
      await waitForStatus(world, run, 'succeeded');
      assert.equal(await logOf(run.id), 'overridden\n');
    });
  });

  it('records a failure with its exit code', async () => {
    await withWorker({}, async ({ world }) => {
      const job = await createJob(world, { args: ['exit 7'] });
      const run = await submitRun(world, job);
      const done = await waitForStatus(world, run, 'failed', 'succeeded');
      assert.equal(done.status, 'failed');
      assert.equal(done.exitCode, 7);
      assert.equal(done.reason, 'exited with code 7');
    });
  });

  it('retries a failed attempt per the job policy and publishes the new attempt', async () => {
    await withWorker({}, async ({ world, finished }) => {
      const job = await createJob(world, {
        args: ['test "$HOURGLASS_ATTEMPT" = 2'],
        retry: { maxAttempts: 3, backoffSeconds: 0 },
      });
      const run = await submitRun(world, job);
      const done = await waitFor('the retry to succeed', async () => {
        const current = await getRun(world, run);
        return current.status === 'succeeded' ? current : undefined;
      });
      assert.equal(done.attempt, 2);
      const events = (await world.store.getRunEvents(run.id)).map((e) => e.type);
      assert.deepEqual(events, [
        'created',
        'claimed',
        'started',
        'retry_scheduled',
        'claimed',
        'started',
        'finished',
      ]);
      assert.deepEqual(
        finished.map((f) => [f.outcome, f.lagMs === null]),
        [
          ['failed', false],
          ['succeeded', true],
        ],
      );
    });
  });

  it('times a run out after the job timeout', async () => {
    await withWorker({}, async ({ world }) => {
      const job = await createJob(world, { args: ['sleep 30'], timeoutSeconds: 1 });
      const run = await submitRun(world, job);
      const done = await waitForStatus(world, run, 'timed_out', 'failed', 'succeeded');
      assert.equal(done.status, 'timed_out');
      assert.equal(done.reason, 'exceeded timeout of 1s');
    });
  });

  it('fails a job with an image on a worker without a container runtime', async () => {
    await withWorker({}, async ({ world, finished }) => {
      const job = await createJob(world, { image: 'alpine:3.20', command: ['echo'], args: ['hi'] });
      const run = await submitRun(world, job);
      const done = await waitForStatus(world, run, 'failed', 'succeeded');
      assert.equal(
        done.reason,
        'no container runtime on this worker; jobs with an image need a worker with runc',
      );
      assert.equal(done.exitCode, null);
      assert.equal(done.startedAt, null);
      assert.deepEqual(finished, [{ outcome: 'failed', durationMs: 0, lagMs: null }]);
    });
  });

  it('acks and drops a delivery the store will not hand over (stale attempt, cancelled run)', async () => {
    await withWorker({}, async ({ world, worker }) => {
      const job = await createJob(world);
      const run = await createRun(world, job);
      await world.queue.publish([{ ...messageOf(run, job), attempt: 2 }]);
      const cancelled = await createRun(world, job);
      await world.store.requestCancel(world.tenant.id, cancelled.id, Date.now());
      await world.queue.publish([messageOf(cancelled, job)]);
      await waitFor('the queue to drain', async () => ((await world.queue.depth()) === 0 ? true : undefined));
      assert.equal((await getRun(world, run)).status, 'queued');
      assert.equal((await getRun(world, cancelled)).status, 'cancelled');
      assert.equal(worker.runningCount(), 0);
    });
  });

  it('cancels a running run at once on a cancel_requested signal', async () => {
    await withWorker({ heartbeatIntervalMs: 60_000 }, async ({ world, worker }) => {
      const job = await createJob(world, { args: ['sleep 30'] });
      const run = await submitRun(world, job);
      await waitFor('the run to start', async () =>
        (await getRun(world, run)).startedAt !== null ? true : undefined,
      );
      assert.equal(worker.runningCount(), 1);
      const asked = Date.now();
      await world.store.requestCancel(world.tenant.id, run.id, asked);
      world.signals.emit({ type: 'cancel_requested', runId: run.id });
      const done = await waitForStatus(world, run, 'cancelled', 'failed', 'succeeded');
      assert.equal(done.status, 'cancelled');
      assert.ok(Date.now() - asked < 2000);
      await waitFor('the slot to be free', () => (worker.runningCount() === 0 ? true : undefined));
    });
  });

  it('cancels a running run found through its heartbeat, even without a signal', async () => {
    await withWorker({ heartbeatIntervalMs: 100 }, async ({ world }) => {
      const job = await createJob(world, {
        args: ['sleep 30'],
        retry: { maxAttempts: 3, backoffSeconds: 0 },
      });
      const run = await submitRun(world, job);
      await waitFor('the run to start', async () =>
        (await getRun(world, run)).startedAt !== null ? true : undefined,
      );
      await world.store.requestCancel(world.tenant.id, run.id, Date.now());
      const done = await waitForStatus(world, run, 'cancelled', 'failed', 'succeeded', 'queued');
      assert.equal(done.status, 'cancelled');
      assert.equal(done.attempt, 1, 'a cancel is never retried');
    });
  });

  it('never over-commits memory: a run waits until the one before it has ended', async () => {
    await withWorker({ memoryMb: 100, maxRuns: 4 }, async ({ world }) => {
      const job = await createJob(world, { args: ['sleep 0.3'], resources: { memoryMb: 64 } });
      const first = await submitRun(world, job);
      const second = await submitRun(world, job);
      const a = await waitForStatus(world, first, 'succeeded');
      const b = await waitForStatus(world, second, 'succeeded');
      const [earlier, later] = (a.startedAt ?? 0) <= (b.startedAt ?? 0) ? [a, b] : [b, a];
      assert.ok((later.startedAt ?? 0) >= (earlier.finishedAt ?? Infinity), 'the two runs overlapped');
    });
  });

  it('runs at most maxRuns at once', async () => {
    await withWorker({ maxRuns: 2 }, async ({ world, worker }) => {
      const job = await createJob(world, { args: ['sleep 0.3'] });
      const runs: Run[] = [];
      for (let i = 0; i < 5; i++) runs.push(await submitRun(world, job));
      let most = 0;
      await waitFor('all runs to succeed', async () => {
        most = Math.max(most, worker.runningCount());
        const statuses = await Promise.all(runs.map(async (r) => (await getRun(world, r)).status));
        return statuses.every((s) => s === 'succeeded') ? true : undefined;
      });
      assert.equal(most, 2);
    });
  });

  it('on stop, records its running runs as lost so the retry policy re-queues them', async () => {
    await withWorker({}, async ({ world, worker }) => {
      const job = await createJob(world, {
        args: ['sleep 30'],
        retry: { maxAttempts: 2, backoffSeconds: 0 },
      });
      const once = await createJob(world, { args: ['sleep 30'] });
      const retried = await submitRun(world, job);
      const lost = await submitRun(world, once);
      await waitFor('both runs to start', async () => {
        const started = await Promise.all(
          [retried, lost].map(async (r) => (await getRun(world, r)).startedAt),
        );
        return started.every((at) => at !== null) ? true : undefined;
      });
      const stopping = Date.now();
      await worker.stop();
      assert.ok(Date.now() - stopping < 3000, 'stop waited for the runs to end on their own');
      assert.equal(worker.runningCount(), 0);

      const requeued = await getRun(world, retried);
      assert.equal(requeued.status, 'queued');
      assert.equal(requeued.attempt, 2);
      assert.equal(requeued.reason, 'worker stopped');
      const ended = await getRun(world, lost);
      assert.equal(ended.status, 'lost');
      assert.equal(ended.reason, 'worker stopped');
    });
  });
});
