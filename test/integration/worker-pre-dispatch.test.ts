// Pre-dispatch through the worker agent, on a real SQLite store, the in-process queue and real processes: a
// run delivered before its due time is claimed at once and its process started at `dueAt`.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  createJob,
  getRun,
  submitRun,
  waitFor,
  waitForStatus,
  withWorker,
} from '../support/worker-fixtures.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';

/** How late after `dueAt` the start may be recorded on a busy 2-core test machine (the aim is a few ms). */
const START_SLACK_MS = 10;

/** The epoch ms a process printed with `date +%s%N`, to the microsecond. */
function printedMs(line: string | undefined): number {
  assert.ok(line !== undefined && /^\d{19}$/.test(line), `not a date +%s%N line: ${line}`);
  return Number(BigInt(line) / 1000n) / 1000;
}

describe('WorkerAgent: pre-dispatch', () => {
  it('claims a run delivered 500 ms early at once and starts its process at dueAt', async () => {
    await withWorker(SQLITE_MEMORY, {}, async ({ world, finished, logOf }) => {
      const job = await createJob(world, {
        command: ['sh', '-c'],
        args: ['date +%s%N; echo "$HOURGLASS_SCHEDULED_TIME"'],
      });
      // A tick with 200 ms of jitter: nominal time, then due time; delivered now, ahead of both.
      const dueAt = Date.now() + 500;
      const nominalTime = dueAt - 200;
      const run = await submitRun(world, job, { nominalTime, dueAt, availableAt: Date.now() });

      const claimed = await waitFor('the run to be claimed', async () => {
        const current = await getRun(world, run);
        return current.status === 'running' ? current : undefined;
      });
      assert.ok(Date.now() < dueAt - 100, 'the run was claimed only near its due time');
      assert.equal(claimed.startedAt, null, 'started before its due time');

      const done = await waitForStatus(world, run, 'succeeded', 'failed');
      assert.equal(done.status, 'succeeded');
      const startedAt = done.startedAt ?? 0;
      assert.ok(startedAt >= dueAt, `started ${dueAt - startedAt} ms before dueAt`);
      assert.ok(startedAt - dueAt <= START_SLACK_MS, `started ${startedAt - dueAt} ms after dueAt`);
      const [printed, scheduledTime] = (await logOf(run.id)).trim().split('\n');
      assert.ok(printedMs(printed) >= dueAt, 'the process itself began before dueAt');
      assert.equal(scheduledTime, new Date(nominalTime).toISOString());
      assert.deepEqual(finished, [
        { outcome: 'succeeded', durationMs: finished[0]?.durationMs, lagMs: startedAt - dueAt },
      ]);
      const events = (await world.store.getRunEvents(run.id)).map((e) => e.type);
      assert.deepEqual(events, ['created', 'claimed', 'started', 'finished']);
    });
  });

  it('starts a retry at once, whatever its due time', async () => {
    await withWorker(SQLITE_MEMORY, {}, async ({ world }) => {
      const job = await createJob(world, { args: ['exit 0'], retry: { maxAttempts: 3, backoffSeconds: 0 } });
      const dueAt = Date.now() + 3000;
      const run = await submitRun(world, job, { attempt: 2, dueAt, availableAt: Date.now() });
      const done = await waitForStatus(world, run, 'succeeded', 'failed');
      assert.equal(done.status, 'succeeded');
      assert.ok((done.startedAt ?? Infinity) < dueAt - 1000, 'the retry waited for the due time');
    });
  });

  it('cancels a run waiting for its due time: it never starts, and its slot is free at once', async () => {
    await withWorker(SQLITE_MEMORY, { heartbeatIntervalMs: 60_000 }, async ({ world, worker }) => {
      const marker = join(world.dir, 'ran');
      const job = await createJob(world, { command: ['touch'], args: [marker] });
      const dueAt = Date.now() + 1500;
      const run = await submitRun(world, job, { dueAt, availableAt: Date.now() });
      await waitForStatus(world, run, 'running');
      await world.store.requestCancel(world.tenant.id, run.id, Date.now());
      world.signals.emit({ type: 'cancel_requested', runId: run.id });
      const done = await waitForStatus(world, run, 'cancelled', 'failed', 'succeeded');
      assert.equal(done.status, 'cancelled');
      assert.equal(done.startedAt, null);
      assert.equal(done.reason, 'cancelled before start');
      assert.ok(Date.now() < dueAt, 'the cancel waited for the due time');
      await waitFor('the slot to be free', () => (worker.runningCount() === 0 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, dueAt - Date.now() + 100));
      assert.equal(existsSync(marker), false, 'the command ran after its cancel');
    });
  });

  it('on stop, releases a run waiting for its due time, unstarted and with the same attempt', async () => {
    await withWorker(SQLITE_MEMORY, {}, async ({ world, worker, finished }) => {
      const job = await createJob(world, { args: ['exit 0'] });
      const dueAt = Date.now() + 3000;
      const run = await submitRun(world, job, { dueAt, availableAt: Date.now() });
      await waitForStatus(world, run, 'running');
      await worker.stop();
      assert.ok(Date.now() < dueAt, 'stop waited for the due time');
      const released = await getRun(world, run);
      assert.deepEqual([released.status, released.attempt, released.startedAt], ['queued', 1, null]);
      assert.deepEqual(finished, []);
    });
  });
});
