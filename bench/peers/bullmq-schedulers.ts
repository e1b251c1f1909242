// BullMQ peer of bench/scheduler: N BullMQ 5 job schedulers (Redis 7) firing every second, drained by one
// Worker whose processor does nothing but note when it began. Lag = processing began − the tick's nominal time.
//
// How BullMQ's job schedulers fire (read from bullmq 5.81 dist/esm: job-scheduler.js, worker.js and the Lua
// scripts addJobScheduler-11 / updateJobScheduler-12 / includes/getJobSchedulerEveryNextMillis):
// - A scheduler keeps exactly one pending job, a delayed job with id `repeat:<schedulerId>:<nextMillis>`, so
//   the nominal time of every produced job is the number after the last ':' of its id. (job.opts.prevMillis
//   holds it too for `pattern`, but not for `every`, whose time is computed in Lua; job.timestamp + delay
//   equals it only when the delay was not clamped at 0.)
// - The next job is created by the *worker*, when it moves the current job to active (nextJobFromJobData →
//   upsertJobScheduler with override: false): one more Lua round trip per fire, on the fetch path. A tick is
//   therefore only scheduled once the previous one has been picked up: a backlog delays the chain.
// - `pattern` (cron-parser, seconds field): next = the first match strictly after max(now, previous tick), with
//   `now` the moment the worker picked the previous job. Ticks are aligned to the second, so N schedulers all
//   come due at the same instant; a job picked up more than a second late makes the scheduler skip the ticks
//   it overslept (counted as missed here), it never fires them late.
// - `every` (Lua): the first tick is the upsert time itself (not aligned) and offset = that time mod `every`
//   is stored; then next = previous + every, or, if that is already past, the next slot on the same phase
//   (again skipping, never catching up). N schedulers created over a few hundred ms are thus spread over the
//   second by their creation time, which smooths the load: not the aligned workload Hourglass is measured on.
// The default is `pattern: '* * * * * *'`, the same second-aligned ticks as Hourglass's `*/1 * * * * *` cron.

import { createRequire } from 'node:module';
import { Queue, Worker } from 'bullmq';
import {
  DRAIN_TIMEOUT_MS,
  measureWindow,
  type SchedulerPeerOptions,
  type SchedulerPeerResult,
  type TickLedger,
} from '../stats.js';

export type BullmqScheduleKind = 'pattern' | 'every';

export interface BullmqSchedulerOptions extends SchedulerPeerOptions {
  kind?: BullmqScheduleKind;
  /** Worker concurrency; the processor is empty, so this only bounds the jobs in flight. */
  concurrency?: number;
  /** Worker instances in this process. */
  workers?: number;
}

const CONNECTION = { host: '127.0.0.1', port: 6379 };
/** A prefix of our own, so nothing here can touch another user's `bull:` keys. */
const PREFIX = 'hourglass-bench';
/** Upserts in flight while creating the schedulers. */
const CREATE_PARALLELISM = 256;

export async function runBullmqSchedulers(options: BullmqSchedulerOptions): Promise<SchedulerPeerResult> {
  const kind = options.kind ?? 'pattern';
  const concurrency = options.concurrency ?? 100;
  const workerCount = options.workers ?? 2;
  const name = `schedulers-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection: CONNECTION, prefix: PREFIX });
  // Fires before the window opens are not recorded: the ledger only exists once its window is known.
  let ledger: TickLedger | undefined;
  let failures = 0;
  // A Worker fetches jobs one after another (moveToActive, then the scheduler's next-tick upsert, both
  // awaited); concurrency only overlaps the processing. Several Workers, each with its own connections, fetch
  // in parallel. On this 2-core machine 1×50, 1×500, 2×100 and 4×50 all stayed between ~1,000 and ~1,650
  // fires/s at 10k schedules (this process and Redis's Lua scripts share the two cores): 2×100 is the default.
  const workers = Array.from(
    { length: workerCount },
    () =>
      new Worker(
        name,
        async (job) => {
          const startedMs = Date.now();
          const id = job.id ?? '';
          ledger?.record(job.repeatJobKey ?? id, Number(id.slice(id.lastIndexOf(':') + 1)), startedMs);
        },
        { connection: CONNECTION, prefix: PREFIX, concurrency },
      ),
  );
  for (const worker of workers) {
    worker.on('failed', () => failures++);
    // A scheduling error (the next tick could not be added) is emitted, not thrown: count it, don't crash.
    worker.on('error', () => failures++);
  }
  await Promise.all(workers.map((worker) => worker.waitUntilReady()));
  try {
    const createStart = Date.now();
    const repeat = kind === 'pattern' ? { pattern: '* * * * * *' } : { every: 1000 };
    let next = 0;
    await Promise.all(
      Array.from({ length: CREATE_PARALLELISM }, async () => {
        while (next < options.schedules) {
          const id = `s${next++}`;
          await queue.upsertJobScheduler(id, repeat, {
            name: 'tick',
            data: {},
            // Without these, 600,000 finished jobs would pile up in Redis during a 60 s round.
            opts: { removeOnComplete: true, removeOnFail: true },
          });
        }
      }),
    );
    const created = Date.now();
    const counting = await measureWindow(options, (opened) => (ledger = opened));
    const notes =
      `${kind === 'pattern' ? "pattern '* * * * * *' (second-aligned)" : 'every 1000 ms (phase = creation time)'}; ` +
      `${workerCount} workers × concurrency ${concurrency}, empty processor (lag to processor start, no process spawned); ` +
      `${options.schedules} schedulers created in ${created - createStart} ms; ` +
      `drained ${counting.drainedSchedules()}/${options.schedules} within ${DRAIN_TIMEOUT_MS / 1000} s after the window` +
      (failures > 0 ? `; ${failures} worker errors/failures` : '');
    return counting.result(`bullmq ${bullmqVersion()} job schedulers (redis 7), ${kind}`, notes);
  } finally {
    await Promise.all(workers.map((worker) => worker.close()));
    await queue.obliterate({ force: true });
    const leftovers = await deleteLeftovers(queue, `${PREFIX}:${name}:*`);
    if (leftovers > 0) process.stderr.write(`bullmq-schedulers: deleted ${leftovers} keys obliterate left\n`);
    await queue.close();
  }
}

/** Deletes whatever `obliterate` left under the queue's keys (a stray lock or marker); returns how many. */
async function deleteLeftovers(queue: Queue, pattern: string): Promise<number> {
  const client = await queue.client;
  let deleted = 0;
  let cursor = '0';
  do {
    const [nextCursor, keys] = await client.scan(cursor, { MATCH: pattern, COUNT: 1000 });
    if (keys.length > 0) deleted += await client.del(...keys);
    cursor = nextCursor;
  } while (cursor !== '0');
  return deleted;
}

function bullmqVersion(): string {
  const { version } = createRequire(import.meta.url)('bullmq/package.json') as { version: string };
  return version;
}
