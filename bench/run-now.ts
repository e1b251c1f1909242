// bench/run-now: how fast a run-now becomes a running process, and how many trivial runs complete per second,
// on the embedded server (the real binary: HTTP API, SQLite with synchronous=FULL, in-process queue, worker,
// process runtime). The same workload runs on BullMQ (Redis) in the same invocation, its worker spawning the
// same command, so the two are compared on one machine at one time.
//
//   npm run build && node dist/bench/run-now.js [--latency-runs 300] [--throughput-runs 2000] [--rounds 3]
//
// Latency: one run at a time; client clock before the request → the run's startedAt (same host clock).
// Throughput: N runs submitted by 16 concurrent clients; runs/s = N / (last finished − first submitted).
// Completion is detected without polling each run, so the measuring does not load the server.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { median, round, summarize, type Summary } from './stats.js';

const { values } = parseArgs({
  options: {
    'latency-runs': { type: 'string', default: '300' },
    'throughput-runs': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    'skip-peers': { type: 'boolean', default: false },
  },
});
const LATENCY_RUNS = Number(values['latency-runs']);
const THROUGHPUT_RUNS = Number(values['throughput-runs']);
const ROUNDS = Number(values.rounds);
const CLIENTS = 16;
const COMMAND = ['true'];

interface RoundResult {
  latencyMs: Summary;
  runsPerSecond: number;
}

async function hourglassRound(): Promise<RoundResult> {
  const server = await ServerProcess.start({ args: ['--worker-max-runs', '32'] });
  try {
    const { key } = await server.createTenant('bench', { runsPerSecond: 1_000_000, runBurst: 1_000_000 });
    await server.request('POST', '/v1/jobs', {
      key,
      body: { name: 'trivial', command: COMMAND, resources: { memoryMb: 64 } },
    });
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const sentAt = Date.now();
      const created = await server.request('POST', '/v1/jobs/trivial/runs', { key, body: {} });
      const run = await server.waitForRun(key, created.body.id);
      if (run.status !== 'succeeded') throw new Error(`run ${run.id} ${run.status}: ${run.reason}`);
      latencies.push(Date.parse(run.startedAt) - sentAt);
    }

    const ids: string[] = [];
    const firstSubmitted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < THROUGHPUT_RUNS) {
          next++;
          const res = await server.request('POST', '/v1/jobs/trivial/runs', { key, body: {} });
          if (res.status !== 201) throw new Error(`create run: ${res.text}`);
          ids.push(res.body.id);
        }
      }),
    );
    // Wait cheaply (two small list queries every 100 ms, not one poll per run), then read the end times.
    for (;;) {
      const open = await Promise.all(
        ['queued', 'running'].map((status) =>
          server.request('GET', `/v1/runs?status=${status}&limit=1`, { key }),
        ),
      );
      if (open.every((res) => res.body.items.length === 0)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    let lastFinished = 0;
    let succeeded = 0;
    for (let cursor: string | null = null; ;) {
      const page = await server.request('GET', `/v1/runs?limit=500${cursor ? `&cursor=${cursor}` : ''}`, {
        key,
      });
      for (const run of page.body.items as { status: string; finishedAt: string }[]) {
        if (run.status === 'succeeded') succeeded++;
        lastFinished = Math.max(lastFinished, Date.parse(run.finishedAt));
      }
      cursor = page.body.nextCursor as string | null;
      if (cursor === null) break;
    }
    if (succeeded !== LATENCY_RUNS + ids.length) throw new Error(`only ${succeeded} runs succeeded`);
    return {
      latencyMs: summarize(latencies),
      runsPerSecond: ids.length / ((lastFinished - firstSubmitted) / 1000),
    };
  } finally {
    await server.stop();
  }
}

/**
 * BullMQ: Queue.add → a Worker whose processor spawns the same command the way a job runner must (own process
 * group, output captured); "started" is the spawn event. BullMQ does not persist with fsync here (this Redis
 * runs without AOF), while Hourglass commits each run to SQLite with fsync before answering.
 */
async function bullmqRound(): Promise<RoundResult> {
  const connection = { host: '127.0.0.1', port: 6379 };
  const name = `hourglass-bench-${process.pid}-${Date.now()}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  const started = new Map<string, number>();
  const worker = new Worker(
    name,
    (job) =>
      new Promise<string>((resolve, reject) => {
        // Like a job runner: own process group, output captured (and handed back as the job's result).
        const child = spawn(COMMAND[0] ?? 'true', COMMAND.slice(1), {
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        let output = '';
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.once('spawn', () => started.set(job.id ?? '', Date.now()));
        child.once('error', reject);
        child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`exit ${code}`))));
      }),
    { connection, concurrency: 32 },
  );
  await Promise.all([worker.waitUntilReady(), events.waitUntilReady()]);
  try {
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const sentAt = Date.now();
      const job = await queue.add('trivial', {}, { removeOnComplete: true });
      await job.waitUntilFinished(events, 30_000);
      latencies.push((started.get(job.id ?? '') ?? NaN) - sentAt);
    }
    const firstSubmitted = Date.now();
    let next = 0;
    let completed = 0;
    const allDone = new Promise<number>((resolve) => {
      worker.on('completed', () => {
        completed++;
        if (completed === THROUGHPUT_RUNS) resolve(Date.now());
      });
    });
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < THROUGHPUT_RUNS) {
          next++;
          await queue.add('trivial', {}, { removeOnComplete: true });
        }
      }),
    );
    const lastFinished = await allDone;
    return {
      latencyMs: summarize(latencies),
      runsPerSecond: THROUGHPUT_RUNS / ((lastFinished - firstSubmitted) / 1000),
    };
  } finally {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

function report(label: string, rounds: RoundResult[]) {
  return {
    system: label,
    rounds: rounds.length,
    latencyP50Ms: round(median(rounds.map((r) => r.latencyMs.p50))),
    latencyP99Ms: round(median(rounds.map((r) => r.latencyMs.p99))),
    latencyMaxMs: round(median(rounds.map((r) => r.latencyMs.max))),
    runsPerSecond: round(median(rounds.map((r) => r.runsPerSecond)), 0),
    perRound: rounds,
  };
}

async function main() {
  const hourglass: RoundResult[] = [];
  const bullmq: RoundResult[] = [];
  // Interleaved rounds, so drift in the machine's load affects both systems alike.
  for (let i = 0; i < ROUNDS; i++) {
    hourglass.push(await hourglassRound());
    if (!values['skip-peers']) bullmq.push(await bullmqRound());
    process.stderr.write(`round ${i + 1}/${ROUNDS} done\n`);
  }
  const results = [report('hourglass (embedded, process runtime)', hourglass)];
  if (bullmq.length > 0) results.push(report('bullmq 5 (redis 7), worker spawns the command', bullmq));
  const out = {
    benchmark: 'run-now',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    workload: {
      command: COMMAND,
      latencyRuns: LATENCY_RUNS,
      throughputRuns: THROUGHPUT_RUNS,
      clients: CLIENTS,
    },
    results,
  };
  const file = join(REPO_ROOT, 'bench/results', `run-now-${out.date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log('| system | request → process started p50 | p99 | max | runs/s completed |');
  console.log('|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.system} | ${r.latencyP50Ms} ms | ${r.latencyP99Ms} ms | ${r.latencyMaxMs} ms | ${r.runsPerSecond} |`,
    );
  }
  console.log(`(medians of ${ROUNDS} rounds; raw results in ${file})`);
}

await main();
