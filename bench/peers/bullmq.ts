// BullMQ peer: Queue.add → a Worker (concurrency 32) whose processor spawns the command like a job runner.
// BullMQ does not persist with fsync here (this Redis runs without AOF), while Hourglass commits each run to
// SQLite with fsync before answering.

import { Queue, Worker } from 'bullmq';
import { summarize } from '../stats.js';
import {
  completionCounter,
  spawnLikeRunner,
  submitConcurrently,
  type System,
  type Workload,
} from './common.js';

export function bullmq(workload: Workload): System {
  return {
    name: 'bullmq 5 (redis 7), worker spawns the command',
    short: 'BullMQ',
    latencyRuns: workload.latencyRuns,
    async round() {
      const connection = { host: '127.0.0.1', port: 6379 };
      const name = `hourglass-bench-${process.pid}-${Date.now()}`;
      const queue = new Queue(name, { connection });
      const started = new Map<string, number>();
      const worker = new Worker(name, (job) => spawnLikeRunner(() => started.set(job.id ?? '', Date.now())), {
        connection,
        concurrency: 32,
      });
      await worker.waitUntilReady();
      try {
        // Completion is heard on the worker itself: job.waitUntilFinished races removeOnComplete ("Missing
        // key for job") when the job is done and gone before it looks.
        const completedIds = new Set<string>();
        const waiters = new Map<string, () => void>();
        worker.on('completed', (job) => {
          completedIds.add(job.id ?? '');
          waiters.get(job.id ?? '')?.();
        });
        const latencies: number[] = [];
        for (let i = 0; i < workload.latencyRuns; i++) {
          const sentAt = Date.now();
          const id = (await queue.add('trivial', {}, { removeOnComplete: true })).id ?? '';
          if (!completedIds.has(id)) await new Promise<void>((resolve) => waiters.set(id, resolve));
          waiters.delete(id);
          latencies.push((started.get(id) ?? NaN) - sentAt);
        }
        const { count, allDone } = completionCounter(workload.throughputRuns);
        worker.on('completed', count);
        const firstSubmitted = Date.now();
        await submitConcurrently(workload.throughputRuns, () =>
          queue.add('trivial', {}, { removeOnComplete: true }),
        );
        const lastFinished = await allDone;
        return {
          latencyMs: summarize(latencies),
          runsPerSecond: workload.throughputRuns / ((lastFinished - firstSubmitted) / 1000),
        };
      } finally {
        await worker.close();
        await queue.obliterate({ force: true });
        await queue.close();
      }
    },
  };
}
