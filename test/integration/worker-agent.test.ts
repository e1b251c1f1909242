import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Run } from '../../src/core/run.js';
import type { Executor } from '../../src/ports/executor.js';
import type { Delivery, RunQueue } from '../../src/ports/queue.js';
import type { Store } from '../../src/ports/store.js';
import { retryMessage } from '../../src/services/retry-message.js';
import { EVERY_PAIR } from '../support/adapter-pairs.js';
import {
  createJob,
  createRun,
  getRun,
  messageOf,
  PATH,
  submitRun,
  waitFor,
  waitForStatus,
  withWorker,
} from '../support/worker-fixtures.js';

// Every store with every queue: the worker is where the two meet (a claim in the store, an ack on the queue).
for (const adapters of EVERY_PAIR) {
  describe(`WorkerAgent (${adapters.name})`, { skip: adapters.skip }, () => {
    it('runs a queued run to success, with its log, start time, metrics and a finished signal', async () => {
      await withWorker(adapters, {}, async ({ world, finished, signals, logOf }) => {
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
        assert.equal(finished[0]?.lagMs, done.startedAt - run.dueAt);
        assert.equal(await world.queue.depth(), 0);
      });
    });

    it('gives the run exactly its environment: job env, run overrides, HOURGLASS_* and PATH', async () => {
      await withWorker(adapters, {}, async ({ world, logOf }) => {
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
      await withWorker(adapters, {}, async ({ world, logOf }) => {
        const job = await createJob(world, { args: ['exit 1'] });
        const run = await submitRun(world, job, { args: ['echo overridden'] });
        await waitForStatus(world, run, 'succeeded');
        assert.equal(await logOf(run.id), 'overridden\n');
      });
    });

    it('records a failure with its exit code', async () => {
      await withWorker(adapters, {}, async ({ world }) => {
        const job = await createJob(world, { args: ['exit 7'] });
        const run = await submitRun(world, job);
        const done = await waitForStatus(world, run, 'failed', 'succeeded');
        assert.equal(done.status, 'failed');
        assert.equal(done.exitCode, 7);
        assert.equal(done.reason, 'exited with code 7');
      });
    });

    it('retries a failed attempt per the job policy and publishes the new attempt', async () => {
      await withWorker(adapters, {}, async ({ world, finished }) => {
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
          'dispatched', // the retry reaches the queue (core/dispatch.ts); the first was published directly
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
      await withWorker(adapters, {}, async ({ world }) => {
        const job = await createJob(world, { args: ['sleep 30'], timeoutSeconds: 1 });
        const run = await submitRun(world, job);
        const done = await waitForStatus(world, run, 'timed_out', 'failed', 'succeeded');
        assert.equal(done.status, 'timed_out');
        assert.equal(done.reason, 'exceeded timeout of 1s');
      });
    });

    it('fails a job with an image on a worker without a container runtime', async () => {
      await withWorker(adapters, {}, async ({ world, finished }) => {
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
      await withWorker(adapters, {}, async ({ world, worker }) => {
        const job = await createJob(world);
        const run = await createRun(world, job);
        await world.queue.publish([{ ...messageOf(run, job), attempt: 2 }]);
        const cancelled = await createRun(world, job);
        await world.store.requestCancel(world.tenant.id, cancelled.id, Date.now());
        await world.queue.publish([messageOf(cancelled, job)]);
        await waitFor('the queue to drain', async () =>
          (await world.queue.depth()) === 0 ? true : undefined,
        );
        assert.equal((await getRun(world, run)).status, 'queued');
        assert.equal((await getRun(world, cancelled)).status, 'cancelled');
        assert.equal(worker.runningCount(), 0);
      });
    });

    it('cancels a running run at once on a cancel_requested signal', async () => {
      await withWorker(adapters, { heartbeatIntervalMs: 60_000 }, async ({ world, worker }) => {
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
        // Not by the heartbeat (a minute away), nor by the job's own end (30 s).
        assert.ok(Date.now() - asked < 20_000, `cancelled after ${Date.now() - asked} ms`);
        await waitFor('the slot to be free', () => (worker.runningCount() === 0 ? true : undefined));
      });
    });

    it('cancels a running run found through its heartbeat, even without a signal', async () => {
      await withWorker(adapters, { heartbeatIntervalMs: 100 }, async ({ world }) => {
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

    it('never over-commits what runs reserve: a run waits until the one before it has ended', async () => {
      await withWorker(adapters, { memoryMb: 100, maxRuns: 4 }, async ({ world }) => {
        const job = await createJob(world, {
          args: ['sleep 0.3'],
          resources: { memoryMb: 64, memoryRequestMb: 64 },
        });
        const first = await submitRun(world, job);
        const second = await submitRun(world, job);
        const a = await waitForStatus(world, first, 'succeeded');
        const b = await waitForStatus(world, second, 'succeeded');
        const [earlier, later] = (a.startedAt ?? 0) <= (b.startedAt ?? 0) ? [a, b] : [b, a];
        assert.ok((later.startedAt ?? 0) >= (earlier.finishedAt ?? Infinity), 'the two runs overlapped');
      });
    });

    it('runs at most maxRuns at once', async () => {
      // The peak is counted where the runs execute, so no overlap can slip between two samples.
      let running = 0;
      let peak = 0;
      const counting = (inner: Executor): Executor => ({
        runtime: inner.runtime,
        async execute(spec, hooks, signal) {
          peak = Math.max(peak, ++running);
          try {
            return await inner.execute(spec, hooks, signal);
          } finally {
            running--;
          }
        },
      });
      await withWorker(adapters, { maxRuns: 2, wrapExecutor: counting }, async ({ world }) => {
        const job = await createJob(world, { args: ['sleep 0.3'] });
        const runs: Run[] = [];
        for (let i = 0; i < 5; i++) runs.push(await submitRun(world, job));
        await waitFor('all runs to succeed', async () => {
          const statuses = await Promise.all(runs.map(async (r) => (await getRun(world, r)).status));
          return statuses.every((s) => s === 'succeeded') ? true : undefined;
        });
        assert.equal(peak, 2);
      });
    });

    it('on stop, releases its running runs: queued again with the same attempt, nothing counted', async () => {
      await withWorker(adapters, {}, async ({ world, worker, finished, signals }) => {
        const job = await createJob(world, {
          args: ['sleep 30'],
          retry: { maxAttempts: 2, backoffSeconds: 0 },
        });
        const once = await createJob(world, { args: ['sleep 30'] });
        const runs = [await submitRun(world, job), await submitRun(world, once)];
        await waitFor('both runs to start', async () => {
          const started = await Promise.all(runs.map(async (r) => (await getRun(world, r)).startedAt));
          return started.every((at) => at !== null) ? true : undefined;
        });
        const stopping = Date.now();
        await worker.stop();
        // Well short of the runs' own 30 s: stop stopped them rather than waiting for them.
        assert.ok(Date.now() - stopping < 20_000, 'stop waited for the runs to end on their own');
        assert.equal(worker.runningCount(), 0);

        for (const run of runs) {
          const released = await getRun(world, run);
          assert.deepEqual([released.status, released.attempt, released.workerId], ['queued', 1, null]);
          assert.equal(released.reason, null);
          const last = (await world.store.getRunEvents(run.id)).at(-1);
          assert.deepEqual([last?.type, last?.detail, last?.attempt], ['released', 'worker stopped', 1]);
          assert.ok(signals.some((s) => s.type === 'queued' && s.runId === run.id));
        }
        assert.deepEqual(finished, [], 'a released run is not a finished attempt');
        // The store hands them out again, as the same attempt, at the next start.
        assert.deepEqual(
          (await world.store.listQueuedRuns()).map((r) => [r.id, r.attempt]).sort(),
          runs.map((r) => [r.id, 1]).sort(),
        );
      });
    });

    it('releases a run it claimed while stopping, without running it', async () => {
      let claimStarted: () => void = () => undefined;
      const claiming = new Promise<void>((resolve) => (claimStarted = resolve));
      let openGate: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      const holdClaims = (store: Store): Store =>
        new Proxy(store, {
          get(target, property) {
            if (property === 'claimRun') {
              return async (...args: Parameters<Store['claimRun']>) => {
                claimStarted();
                await gate;
                return target.claimRun(...args);
              };
            }
            const value: unknown = Reflect.get(target, property, target);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      await withWorker(adapters, { wrapStore: holdClaims }, async ({ world, worker, finished, logOf }) => {
        const job = await createJob(world, { args: ['echo ran'] });
        const run = await submitRun(world, job);
        await claiming;
        const stopped = worker.stop();
        openGate();
        await stopped;
        const released = await getRun(world, run);
        assert.deepEqual([released.status, released.attempt, released.startedAt], ['queued', 1, null]);
        const events = (await world.store.getRunEvents(run.id)).map((e) => e.type);
        assert.deepEqual(events, ['created', 'claimed', 'released']);
        assert.equal(await logOf(run.id), '');
        assert.deepEqual(finished, []);
      });
    });

    it('abandons an attempt its heartbeat reports fenced (a false "lost"), and does not count it', async () => {
      await withWorker(
        adapters,
        { heartbeatIntervalMs: 100 },
        async ({ world, worker, workerId, finished }) => {
          // Attempt 1 would run for 30 s; attempt 2 ends at once.
          const job = await createJob(world, {
            args: ['if [ "$HOURGLASS_ATTEMPT" = 1 ]; then sleep 30; fi; echo "attempt $HOURGLASS_ATTEMPT"'],
            retry: { maxAttempts: 2, backoffSeconds: 0 },
          });
          const run = await submitRun(world, job);
          const started = await waitFor('the run to start', async () => {
            const current = await getRun(world, run);
            return current.startedAt !== null ? current : undefined;
          });
          // What a reaper does when it wrongly takes the run for lost: record it, and publish the retry.
          const retryAt = Date.now();
          const recorded = await world.store.finishAttempt({
            runId: run.id,
            attempt: 1,
            workerId,
            outcome: 'lost',
            exitCode: null,
            reason: 'heartbeat lost',
            at: retryAt,
            retryAt,
          });
          assert.equal(recorded, 'requeued');
          await world.queue.publish([retryMessage(started, job.resources, retryAt)]);

          const done = await waitForStatus(world, run, 'succeeded', 'failed', 'cancelled', 'lost');
          assert.deepEqual([done.status, done.attempt], ['succeeded', 2]);
          // Attempt 1 was stopped, not left to run its 30 s next to attempt 2.
          await waitFor('attempt 1 to be gone', () => (worker.runningCount() === 0 ? true : undefined));
          assert.deepEqual(
            finished.map((f) => f.outcome),
            ['succeeded'],
            'the abandoned attempt is not counted',
          );
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
        },
      );
    });

    it('naks a delivery for a run it is still executing instead of claiming over it', async () => {
      const naks: { runId: string; attempt: number; delayMs: number }[] = [];
      const watchNaks = (queue: RunQueue): RunQueue => ({
        durable: queue.durable,
        publish: (messages) => queue.publish(messages),
        depth: () => queue.depth(),
        close: () => queue.close(),
        async pull(max, waitMs, signal) {
          return (await queue.pull(max, waitMs, signal)).map((delivery): Delivery => ({
            message: delivery.message,
            ack: () => delivery.ack(),
            nak: (delayMs) => {
              naks.push({ runId: delivery.message.runId, attempt: delivery.message.attempt, delayMs });
              return delivery.nak(delayMs);
            },
          }));
        },
      });
      // No heartbeat in this test's time: nothing tells the worker that attempt 1 is no longer its own.
      await withWorker(
        adapters,
        { heartbeatIntervalMs: 60_000, wrapQueue: watchNaks },
        async ({ world, worker, workerId }) => {
          const job = await createJob(world, {
            args: ['sleep 30'],
            retry: { maxAttempts: 2, backoffSeconds: 0 },
          });
          const run = await submitRun(world, job);
          await waitFor('the run to start', async () =>
            (await getRun(world, run)).startedAt !== null ? true : undefined,
          );
          const at = Date.now();
          await world.store.finishAttempt({
            runId: run.id,
            attempt: 1,
            workerId,
            outcome: 'lost',
            exitCode: null,
            reason: 'heartbeat lost',
            at,
            retryAt: at,
          });
          await world.queue.publish([retryMessage(run, job.resources, at)]);
          await waitFor('attempt 2 to be nak’ed', () =>
            naks.some((n) => n.runId === run.id && n.attempt === 2) ? true : undefined,
          );
          assert.equal(naks.find((n) => n.attempt === 2)?.delayMs, 1000);
          const current = await getRun(world, run);
          assert.deepEqual([current.status, current.attempt], ['queued', 2], 'attempt 2 was not claimed');
          assert.equal(worker.runningCount(), 1, 'attempt 1 still holds its slot');
        },
      );
    });

    it('fails at once, without retrying, a run that reserves more memory than the worker has', async () => {
      await withWorker(adapters, { memoryMb: 100 }, async ({ world, finished, signals }) => {
        const job = await createJob(world, {
          resources: { memoryMb: 256, memoryRequestMb: 256 },
          retry: { maxAttempts: 3, backoffSeconds: 0 },
        });
        const run = await submitRun(world, job);
        // Not waiting for 'queued': the run starts out queued. A retry would show as a later attempt.
        const done = await waitForStatus(world, run, 'failed', 'succeeded');
        assert.equal(done.status, 'failed');
        assert.equal(done.reason, 'reserves 256 MB of memory; the largest worker has 100 MB');
        assert.deepEqual([done.attempt, done.startedAt, done.exitCode], [1, null, null]);
        assert.deepEqual(finished, [{ outcome: 'failed', durationMs: 0, lagMs: null }]);
        await waitFor('the finished signal', () =>
          signals.some((s) => s.type === 'finished' && s.runId === run.id) ? true : undefined,
        );
        assert.equal(await world.queue.depth(), 0);
      });
    });

    it('reserves the claimed job’s current memory, and releases a run that no longer fits', async () => {
      await withWorker(adapters, { memoryMb: 600 }, async ({ world, worker }) => {
        const big = await createJob(world, {
          args: ['sleep 30'],
          resources: { memoryMb: 400, memoryRequestMb: 400 },
        });
        const first = await submitRun(world, big);
        await waitFor('the first run to start', async () =>
          (await getRun(world, first)).startedAt !== null ? true : undefined,
        );
        // Published when its job asked for 64 MB; edited since to 300 MB, more than the 200 MB left.
        const edited = await createJob(world, {
          args: ['echo ran'],
          resources: { memoryMb: 64, memoryRequestMb: 64 },
        });
        const second = await createRun(world, edited);
        const message = messageOf(second, edited);
        await world.store.updateJob({
          ...edited,
          resources: { memoryMb: 300, memoryRequestMb: 300 },
          updatedAt: Date.now(),
        });
        await world.queue.publish([message]);
        const released = await waitFor('the second run to be released', async () => {
          const events = await world.store.getRunEvents(second.id);
          return events.find((e) => e.type === 'released');
        });
        assert.match(released.detail ?? '', /300 MB/);
        const current = await getRun(world, second);
        assert.deepEqual([current.status, current.attempt], ['queued', 1]);
        assert.equal(worker.runningCount(), 1);

        // Once the first run ends, the second fits and runs, still as attempt 1.
        await world.store.requestCancel(world.tenant.id, first.id, Date.now());
        world.signals.emit({ type: 'cancel_requested', runId: first.id });
        const done = await waitForStatus(world, second, 'succeeded', 'failed');
        assert.deepEqual([done.status, done.attempt], ['succeeded', 1]);
      });
    });

    it('records a claimed run whose cancel was requested while it was away as cancelled, unstarted', async () => {
      await withWorker(adapters, {}, async ({ world, logOf }) => {
        const job = await createJob(world, { args: ['echo ran'] });
        const run = await createRun(world, job);
        // A stopping worker released it after its cancel was asked for.
        assert.ok(await world.store.claimRun(run.id, 1, 'wrk_old', Date.now()));
        await world.store.requestCancel(world.tenant.id, run.id, Date.now());
        assert.ok(await world.store.releaseRun(run.id, 1, 'wrk_old', Date.now(), 'worker stopped'));
        await world.queue.publish([messageOf(run, job)]);
        const done = await waitForStatus(world, run, 'cancelled', 'succeeded', 'failed');
        assert.deepEqual([done.status, done.startedAt], ['cancelled', null]);
        assert.equal(await logOf(run.id), '');
      });
    });
  });
}
