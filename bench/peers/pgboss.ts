// pg-boss peer (PostgreSQL, polling). Settings, chosen from pg-boss 10's own options (types.d.ts, src/):
//   - pollingIntervalSeconds: 0.5, the minimum pg-boss accepts (MIN_POLLING_INTERVAL_MS = 500). pg-boss 10
//     does not LISTEN: a worker finds new jobs only by polling, and after a fetch it sleeps out the rest of
//     the interval, so it fetches at most twice per second.
//   - one work() with batchSize: 32, the handler running the whole batch at once: up to 32 runs in flight,
//     like BullMQ's concurrency 32 (pg-boss 10 has no per-worker concurrency option; teamSize is gone).
//   - the clients send through their own PgBoss instance (supervise and schedule off), as BullMQ's Queue is
//     separate from its Worker; each round uses its own fresh schema, dropped afterwards.
// Latency: one run at a time. Because the worker's poll is in step with the loop (a run sent right after
// the previous one finished would always wait almost a full interval), the client waits a random 0–500 ms
// before each send, as requests arriving at random times would; that pause is not part of the sample.
// Throughput: completion is counted in the handler (pg-boss 10 emits no per-job completion event).

import PgBoss from 'pg-boss';
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

const POLLING_INTERVAL_SECONDS = 0.5;
const BATCH_SIZE = 32;
const QUEUE = 'trivial';

export function pgBoss(workload: Workload, latencyRuns: number): System {
  return {
    name: `pg-boss 10 (postgres 15), polling ${POLLING_INTERVAL_SECONDS} s, batch ${BATCH_SIZE}, worker spawns the command`,
    short: 'pg-boss',
    latencyRuns,
    async round() {
      const schema = freshSchema('hg_bench_pgboss');
      const onError = (err: Error) => process.stderr.write(`pg-boss: ${err.message}\n`);
      const boss = new PgBoss({
        connectionString: POSTGRES_URL,
        schema,
        pollingIntervalSeconds: POLLING_INTERVAL_SECONDS,
      });
      const client = new PgBoss({
        connectionString: POSTGRES_URL,
        schema,
        supervise: false,
        schedule: false,
      });
      boss.on('error', onError);
      client.on('error', onError);
      try {
        await boss.start();
        await boss.createQueue(QUEUE);
        await client.start();
        const started = new Map<string, number>();
        const finished = new Set<string>();
        const waiting = new Map<string, () => void>();
        let counter = completionCounter(0);
        await boss.work(QUEUE, { batchSize: BATCH_SIZE }, (jobs) =>
          Promise.all(
            jobs.map(async (job) => {
              await spawnLikeRunner(() => started.set(job.id, Date.now()));
              finished.add(job.id);
              waiting.get(job.id)?.();
              counter.count();
            }),
          ),
        );

        const latencies: number[] = [];
        for (let i = 0; i < latencyRuns; i++) {
          await new Promise((resolve) =>
            setTimeout(resolve, Math.random() * POLLING_INTERVAL_SECONDS * 1000),
          );
          const sentAt = Date.now();
          const id = await client.send(QUEUE, {});
          if (id === null) throw new Error('pg-boss did not create the job');
          if (!finished.has(id)) await new Promise<void>((resolve) => waiting.set(id, resolve));
          waiting.delete(id);
          latencies.push((started.get(id) ?? NaN) - sentAt);
        }

        counter = completionCounter(workload.throughputRuns);
        const firstSubmitted = Date.now();
        await submitConcurrently(workload.throughputRuns, async () => {
          if ((await client.send(QUEUE, {})) === null) throw new Error('pg-boss did not create the job');
        });
        const lastFinished = await counter.allDone;
        return {
          latencyMs: summarize(latencies),
          runsPerSecond: workload.throughputRuns / ((lastFinished - firstSubmitted) / 1000),
        };
      } finally {
        await client.stop({ graceful: false });
        await boss.stop({ graceful: true, wait: true });
        await dropSchema(schema);
      }
    },
  };
}
