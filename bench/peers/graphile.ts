// graphile-worker peer (PostgreSQL, LISTEN/NOTIFY). Settings: run() with concurrency 32 (as BullMQ's) and
// maxPoolSize 32 (graphile-worker warns when the pool is smaller than the concurrency); other options at
// their defaults (pollInterval 2 s is only a fallback: new jobs wake the workers through NOTIFY). Jobs are
// added with makeWorkerUtils().addJob on the clients' own pool, as BullMQ's Queue is separate from its
// Worker. Logging is quiet except warnings and errors (the default logs a line per job). Each round uses its
// own fresh schema, dropped afterwards. Completion is the runner's 'job:complete' event, emitted once the
// result is written back, like BullMQ's 'completed'.

import { Logger, makeWorkerUtils, run, type Job } from 'graphile-worker';
import { summarize } from '../stats.js';
import {
  completionCounter,
  dropSchema,
  freshSchema,
  POSTGRES_URL,
  spawnLikeRunner,
  submitConcurrently,
  type System,
  type Workload,
} from './common.js';

const CONCURRENCY = 32;

const logger = new Logger(() => (level, message) => {
  if (level === 'warning' || level === 'error')
    process.stderr.write(`graphile-worker ${level}: ${message}\n`);
});

export function graphileWorker(workload: Workload): System {
  return {
    name: `graphile-worker 0.16 (postgres 15), concurrency ${CONCURRENCY}, worker spawns the command`,
    short: 'graphile-worker',
    latencyRuns: workload.latencyRuns,
    async round() {
      const schema = freshSchema('hg_bench_graphile');
      const started = new Map<string, number>();
      const runner = await run({
        connectionString: POSTGRES_URL,
        schema,
        concurrency: CONCURRENCY,
        maxPoolSize: CONCURRENCY,
        noHandleSignals: true,
        logger,
        taskList: {
          trivial: async (_payload, helpers) => {
            await spawnLikeRunner(() => started.set(helpers.job.id, Date.now()));
          },
        },
      });
      const utils = await makeWorkerUtils({ connectionString: POSTGRES_URL, schema, logger });
      try {
        const finished = new Set<string>();
        const waiting = new Map<string, () => void>();
        let counter = completionCounter(0);
        runner.events.on('job:complete', ({ job, error }: { job: Job; error: unknown }) => {
          if (error) {
            process.stderr.write(`graphile-worker: job ${job.id} failed: ${String(error)}\n`);
            return;
          }
          finished.add(job.id);
          waiting.get(job.id)?.();
          counter.count();
        });

        const latencies: number[] = [];
        for (let i = 0; i < workload.latencyRuns; i++) {
          const sentAt = Date.now();
          const { id } = await utils.addJob('trivial', {});
          if (!finished.has(id)) await new Promise<void>((resolve) => waiting.set(id, resolve));
          waiting.delete(id);
          latencies.push((started.get(id) ?? NaN) - sentAt);
        }

        counter = completionCounter(workload.throughputRuns);
        const firstSubmitted = Date.now();
        await submitConcurrently(workload.throughputRuns, () => utils.addJob('trivial', {}));
        const lastFinished = await counter.allDone;
        return {
          latencyMs: summarize(latencies),
          runsPerSecond: workload.throughputRuns / ((lastFinished - firstSubmitted) / 1000),
        };
      } finally {
        await utils.release();
        await runner.stop();
        await dropSchema(schema);
      }
    },
  };
}
