// bench/capacity: how late runs start when they wait for a worker's capacity, on the embedded server (the real
// binary: HTTP API, scheduler with pre-dispatch, SQLite, in-process queue, worker, process runtime).
//
//   npm run build && node dist/bench/capacity.js [--schedules 20] [--seconds 60] [--warmup 5]
//     [--worker-memory-mb 19660] [--memory-mb 1024] [--memory-request-mb N] [--sleep-ms 0] [--out FILE]
//
// `schedules` schedules fire every second (`* * * * * *`) a job of `memory-mb` (the default job: 1 GiB) that
// runs `true` (or `sleep` for --sleep-ms), on a worker with `worker-memory-mb` to hand out (19,660 MB: 80 % of
// a 24 GiB host, the server's default there; packed by the 1 GiB limit, 19 runs fit). With --memory-request-mb
// the job also sets `resources.memoryRequestMb` (what the worker packs by); without it the job takes the
// server's default. Every run's lag (startedAt − dueAt) over the measured seconds, after the warm-up, is read back through the API.
// Reported: lag p50/p90/p99/max, the share of runs more than 100 ms and more than 1 s late, and the most runs
// executing at once (counted from the runs' own start and finish times).

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ServerProcess } from '../test/support/server-process.js';
import { round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    'worker-memory-mb': { type: 'string', default: '19660' },
    'memory-mb': { type: 'string', default: '1024' },
    'memory-request-mb': { type: 'string' },
    'sleep-ms': { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});
const SCHEDULES = Number(values.schedules);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const WORKER_MEMORY_MB = Number(values['worker-memory-mb']);
const MEMORY_MB = Number(values['memory-mb']);
const MEMORY_REQUEST_MB =
  values['memory-request-mb'] === undefined ? null : Number(values['memory-request-mb']);
const SLEEP_MS = Number(values['sleep-ms']);
const COMMAND = SLEEP_MS > 0 ? ['sleep', String(SLEEP_MS / 1000)] : ['true'];

interface RunJson {
  id: string;
  status: string;
  dueAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  events?: { type: string; at: string }[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const server = await ServerProcess.start({
    args: ['--worker-memory-mb', String(WORKER_MEMORY_MB), '--worker-max-runs', '1000'],
  });
  try {
    const { key } = await server.createTenant('bench', {
      runsPerSecond: 1_000_000,
      runBurst: 1_000_000,
      maxMemoryMb: Math.max(MEMORY_MB, 1024),
    });
    const resources: Record<string, number> = { memoryMb: MEMORY_MB };
    if (MEMORY_REQUEST_MB !== null) resources['memoryRequestMb'] = MEMORY_REQUEST_MB;
    const job = await server.request('POST', '/v1/jobs', {
      key,
      body: { name: 'tiny', command: COMMAND, resources },
    });
    if (job.status !== 201) throw new Error(`create job: ${job.text}`);
    const scheduleIds: string[] = [];
    for (let i = 0; i < SCHEDULES; i++) {
      const res = await server.request('POST', '/v1/jobs/tiny/schedules', {
        key,
        body: { cron: '* * * * * *' },
      });
      if (res.status !== 201) throw new Error(`create schedule: ${res.text}`);
      scheduleIds.push(res.body.id);
    }
    const from = Date.now() + WARMUP * 1000;
    const until = from + SECONDS * 1000;
    await sleep(until - Date.now() + 200);
    for (const id of scheduleIds) await server.request('POST', `/v1/schedules/${id}/pause`, { key });
    // Every run due in the window has ended: none is queued or running any more.
    for (;;) {
      const open = await Promise.all(
        ['queued', 'running'].map((status) =>
          server.request('GET', `/v1/runs?status=${status}&limit=1`, { key }),
        ),
      );
      if (open.every((res) => res.body.items.length === 0)) break;
      await sleep(200);
    }
    const runs: RunJson[] = [];
    for (let cursor: string | null = null; ;) {
      const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = await server.request('GET', `/v1/runs?limit=500${query}`, { key });
      runs.push(...(page.body.items as RunJson[]));
      cursor = page.body.nextCursor as string | null;
      if (cursor === null) break;
    }
    const measured = runs.filter((r) => {
      const due = Date.parse(r.dueAt);
      return due >= from && due < until;
    });
    const failed = measured.filter((r) => r.status !== 'succeeded').length;
    const lags = measured
      .filter((r) => r.startedAt !== null)
      .map((r) => Date.parse(r.startedAt as string) - Date.parse(r.dueAt));
    const lag = summarize(lags);
    const share = (ms: number): number =>
      round((100 * lags.filter((l) => l > ms).length) / Math.max(1, lags.length), 2);
    const result = {
      date: new Date().toISOString(),
      cpus: cpus().length,
      loadAverage: loadavg().map((l) => round(l)),
      schedules: SCHEDULES,
      seconds: SECONDS,
      workerMemoryMb: WORKER_MEMORY_MB,
      jobMemoryMb: MEMORY_MB,
      jobMemoryRequestMb: MEMORY_REQUEST_MB ?? 'default',
      runMs: SLEEP_MS,
      runs: measured.length,
      failed,
      lagMs: { p50: lag.p50, p90: lag.p90, p99: lag.p99, max: lag.max },
      percentOver100Ms: share(100),
      percentOver1s: share(1000),
      mostRunning: mostAtOnce(measured),
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server.stop();
  }
}

/** Most runs between start and finish at one instant (runs claimed ahead and waiting to start not counted). */
function mostAtOnce(runs: RunJson[]): number {
  const edges: [number, number][] = [];
  for (const run of runs) {
    if (run.startedAt === null || run.finishedAt === null) continue;
    edges.push([Date.parse(run.startedAt), 1], [Date.parse(run.finishedAt), -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, delta] of edges) most = Math.max(most, (now += delta));
  return most;
}

await main();
