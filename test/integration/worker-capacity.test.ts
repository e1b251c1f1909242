// Capacity: a run that waits for a worker's memory takes the next slot that frees, at once and in due-time
// order — never after a backoff. The load scaled to one worker: 20 per-second schedules of a 1 GiB job on
// a worker where 10 fit, whether by the runs' requests (the default, a quarter of the limit), by their limits
// (request = limit), or by the worker's bound on the limits (4 × its memory, whatever the requests). Real SQLite,
// the in-process queue and real processes (`true`), watched through the executor and the queue the worker sees.
//
// The first tests keep a manual clock still while a second's runs play out: a run that waited for any timer (a
// nak's delay, a retry of the pull) could not start at all, so "it started when a slot freed" is shown by every
// start happening at the same instant, in order, and never with more runs executing than fit — from recorded
// events, not from wall-clock thresholds. The last runs on the system clock with pre-dispatch (runs handed over
// ahead of their due time), and checks the same order and that the early runs still start at their due time.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Job, JobResources } from '../../src/core/job.js';
import type { Run } from '../../src/core/run.js';
import type { Executor } from '../../src/ports/executor.js';
import type { Delivery, RunQueue } from '../../src/ports/queue.js';
import { ManualClock } from '../support/manual-clock.js';
import {
  createJob,
  createRun,
  getRun,
  messageOf,
  waitFor,
  withWorker,
  type WorkerWorld,
} from '../support/worker-fixtures.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';

const JOB_MB = 1024;
/** Runs of the 1 GiB job that fit on the worker at once. */
const FITS = 10;
/** Runs due each second: one per schedule. */
const SCHEDULES = 20;

type ExecEvent = { kind: 'launch' | 'end'; runId: string };

/** Records, in order, when the worker hands a run to the executor and when the run has ended. */
function recordingExecutions(events: ExecEvent[]): (inner: Executor) => Executor {
  return (inner) => ({
    runtime: inner.runtime,
    async execute(spec, hooks, signal) {
      events.push({ kind: 'launch', runId: spec.runId });
      try {
        return await inner.execute(spec, hooks, signal);
      } finally {
        events.push({ kind: 'end', runId: spec.runId });
      }
    },
  });
}

/** Records every nak the worker sends, with its delay. */
function recordingNaks(naks: { runId: string; delayMs: number }[]): (queue: RunQueue) => RunQueue {
  return (queue) => ({
    durable: queue.durable,
    publish: (messages) => queue.publish(messages),
    depth: () => queue.depth(),
    close: () => queue.close(),
    async pull(max, waitMs, signal) {
      return (await queue.pull(max, waitMs, signal)).map((delivery): Delivery => ({
        message: delivery.message,
        ack: () => delivery.ack(),
        nak: (delayMs) => {
          naks.push({ runId: delivery.message.runId, delayMs });
          return delivery.nak(delayMs);
        },
      }));
    },
  });
}

/** One tick of the 20 schedules, as the scheduler hands it over: runs due at `dueAt[i]`, published in due order. */
async function publishTick(
  world: WorkerWorld,
  job: Job,
  dueAts: number[],
  availableAt: number,
): Promise<Run[]> {
  const runs: Run[] = [];
  for (const dueAt of dueAts)
    runs.push(await createRun(world, job, { nominalTime: dueAt, dueAt, availableAt }));
  await world.queue.publish(runs.map((run) => messageOf(run, job)));
  return runs;
}

function waitForAll(world: WorkerWorld, runs: Run[], what: string): Promise<Run[]> {
  return waitFor(what, async () => {
    const current = await Promise.all(runs.map((run) => getRun(world, run)));
    return current.every((run) => run.finishedAt !== null) ? current : undefined;
  });
}

/**
 * The order the worker handed runs to the executor: the order it gave them slots. (The executor's start
 * notices for runs released together may come in any order; their start times are checked instead.)
 */
function launchOrder(events: ExecEvent[]): string[] {
  return events.filter((e) => e.kind === 'launch').map((e) => e.runId);
}

/** Most executions between launch and end at once, over the recorded events. */
function mostExecuting(events: ExecEvent[]): number {
  let executing = 0;
  let most = 0;
  for (const event of events) {
    if (event.kind === 'launch') most = Math.max(most, ++executing);
    if (event.kind === 'end') executing--;
  }
  return most;
}

/**
 * For the runs past the first FITS: how many runs had ended when each was handed to the executor. The k-th of
 * them (0-based) can have been given a slot only after k + 1 runs ended.
 */
function endsBeforeLaunch(events: ExecEvent[], runIds: string[]): number[] {
  const counts: number[] = [];
  let ended = 0;
  for (const event of events) {
    if (event.kind === 'end') ended++;
    if (event.kind === 'launch' && runIds.includes(event.runId)) counts.push(ended);
  }
  return counts;
}

interface Packing {
  workerMb: number;
  resources: JobResources;
}

/**
 * Three seconds of the 20 schedules on a worker where FITS runs fit, on a manual clock that stands still
 * while each second's runs play out, checked from the recorded events.
 */
async function playSeconds({ workerMb, resources }: Packing): Promise<void> {
  const clock = new ManualClock('2026-12-02T08:00:00.000Z');
  const events: ExecEvent[] = [];
  const naks: { runId: string; delayMs: number }[] = [];
  await withWorker(
    SQLITE_MEMORY,
    {
      clock,
      memoryMb: workerMb,
      maxRuns: 64,
      heartbeatIntervalMs: 60_000,
      wrapExecutor: recordingExecutions(events),
      wrapQueue: recordingNaks(naks),
    },
    async ({ world }) => {
      const job = await createJob(world, { command: ['true'], args: [], resources });
      for (let second = 0; second < 3; second++) {
        events.length = 0;
        // Each schedule's runs are due a few ms apart (its jitter), so due order is one order.
        const tick = clock.now() + 1000;
        const dueAts = Array.from({ length: SCHEDULES }, (_, i) => tick + i);
        clock.set(tick + SCHEDULES); // all due; the clock then stands still until every run has ended
        const runs = await publishTick(world, job, dueAts, clock.now());
        const done = await waitForAll(world, runs, `second ${second}'s runs to end`);

        assert.deepEqual(
          done.map((run) => run.status),
          runs.map(() => 'succeeded'),
        );
        // Every run started at the one instant the clock showed: none waited for a timer.
        assert.deepEqual(
          done.map((run) => run.startedAt),
          runs.map(() => clock.now()),
        );
        assert.deepEqual(
          launchOrder(events),
          runs.map((run) => run.id),
          'given slots out of due order',
        );
        assert.equal(mostExecuting(events), FITS, 'more runs executed at once than fit, or fewer');
        // The 11th run launched only once one run had ended, the 12th once two had, …: each took a freed slot.
        const ends = endsBeforeLaunch(
          events,
          runs.slice(FITS).map((run) => run.id),
        );
        assert.equal(ends.length, SCHEDULES - FITS);
        for (const [k, count] of ends.entries()) assert.ok(count >= k + 1, `run ${FITS + k} launched early`);
      }
      assert.deepEqual(naks, [], 'a run that did not fit was nak’ed');
      assert.equal(await world.queue.depth(), 0);
    },
  );
}

describe('WorkerAgent: capacity', () => {
  it('starts a run waiting for memory in the slot the next run frees, in due order, with no timer', async () => {
    // The default request, a quarter of the limit: 10 of 256 MB fit in 2,688 MB.
    await playSeconds({ workerMb: FITS * (JOB_MB / 4) + 128, resources: { memoryMb: JOB_MB } });
  });

  it('packs by limits when the request is the limit', async () => {
    await playSeconds({
      workerMb: FITS * JOB_MB + 512,
      resources: { memoryMb: JOB_MB, memoryRequestMb: JOB_MB },
    });
  });

  it('bounds the limits at 4 × the worker’s memory, however small the requests', async () => {
    // 42 runs of 64 MB would fit by their requests; their 1 GiB limits stop at 10 (10,752 MB = 4 × 2,688).
    await playSeconds({
      workerMb: FITS * (JOB_MB / 4) + 128,
      resources: { memoryMb: JOB_MB, memoryRequestMb: 64 },
    });
  });

  it('keeps pre-dispatch: runs handed over early start at their due time, the rest in freed slots', async () => {
    const events: ExecEvent[] = [];
    const naks: { runId: string; delayMs: number }[] = [];
    await withWorker(
      SQLITE_MEMORY,
      {
        memoryMb: FITS * (JOB_MB / 4) + 128,
        maxRuns: 64,
        wrapExecutor: recordingExecutions(events),
        wrapQueue: recordingNaks(naks),
      },
      async ({ world }) => {
        const job = await createJob(world, { command: ['true'], args: [], resources: { memoryMb: JOB_MB } });
        // Handed over 400 ms ahead, as the scheduler does with its lead.
        const tick = Date.now() + 400;
        const dueAts = Array.from({ length: SCHEDULES }, (_, i) => tick + i);
        const runs = await publishTick(world, job, dueAts, Date.now());
        const done = await waitForAll(world, runs, 'the runs to end');

        assert.deepEqual(
          done.map((run) => run.status),
          runs.map(() => 'succeeded'),
        );
        for (const run of done) {
          assert.ok((run.startedAt ?? 0) >= run.dueAt, `run ${run.id} started before its due time`);
        }
        // The runs that fit were claimed ahead of their due time, and waited for it holding their slot.
        for (const run of runs.slice(0, FITS)) {
          const claimed = (await world.store.getRunEvents(run.id)).find((e) => e.type === 'claimed');
          assert.ok(claimed !== undefined && claimed.at < run.dueAt, `run ${run.id} was not claimed ahead`);
        }
        assert.deepEqual(
          launchOrder(events),
          runs.map((run) => run.id),
          'given slots out of due order',
        );
        assert.equal(mostExecuting(events), FITS);
        const ends = endsBeforeLaunch(
          events,
          runs.slice(FITS).map((run) => run.id),
        );
        for (const [k, count] of ends.entries()) assert.ok(count >= k + 1, `run ${FITS + k} launched early`);
        assert.deepEqual(naks, [], 'a run that did not fit was nak’ed');
      },
    );
  });
});
