// bench/run-now: how fast a run-now becomes a running process, and how many trivial runs complete per second,
// on the embedded server (the real binary: HTTP API, SQLite with synchronous=FULL, in-process queue, worker,
// process runtime). The same workload runs on its peers in the same invocation — BullMQ (Redis), pg-boss and
// graphile-worker (PostgreSQL), see bench/peers/ — their workers spawning the same command, so all are
// compared on one machine at one time.
//
//   npm run build && node dist/bench/run-now.js [--latency-runs 300] [--throughput-runs 2000] [--rounds 3]
//     [--latency-runs-peers 100] [--skip-peers]
//
// Latency: one run at a time; client clock before the request → the run's startedAt (same host clock).
// pg-boss only polls (at most twice a second), so 300 sequential runs would take about 2.5 minutes per round:
// it runs --latency-runs-peers of them (default 100, or --latency-runs if fewer); the table says so.
// Throughput: N runs submitted by 16 concurrent clients; runs/s = N / (last finished − first submitted).
// Completion is detected without polling each run, so the measuring does not load the server.

import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { bullmq } from './peers/bullmq.js';
import { CLIENTS, COMMAND, type RoundResult, type System, type Workload } from './peers/common.js';
import { graphileWorker } from './peers/graphile.js';
import { pgBoss } from './peers/pgboss.js';
import { median, round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    'latency-runs': { type: 'string', default: '300' },
    'throughput-runs': { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    'latency-runs-peers': { type: 'string' },
    'skip-peers': { type: 'boolean', default: false },
  },
});
const LATENCY_RUNS = Number(values['latency-runs']);
const THROUGHPUT_RUNS = Number(values['throughput-runs']);
const ROUNDS = Number(values.rounds);
const LATENCY_RUNS_POLLING_PEER = Number(values['latency-runs-peers'] ?? Math.min(LATENCY_RUNS, 100));
const WORKLOAD: Workload = { latencyRuns: LATENCY_RUNS, throughputRuns: THROUGHPUT_RUNS };

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

const hourglass: System = {
  name: 'hourglass (embedded, process runtime)',
  short: 'Hourglass',
  latencyRuns: LATENCY_RUNS,
  round: hourglassRound,
};

function report(system: System, rounds: RoundResult[]) {
  const extra =
    system.latencyRuns === LATENCY_RUNS ? '' : ` (latency: ${system.latencyRuns} sequential runs)`;
  return {
    system: system.name + extra,
    short: system.short,
    rounds: rounds.length,
    latencyRuns: system.latencyRuns,
    latencyP50Ms: round(median(rounds.map((r) => r.latencyMs.p50))),
    latencyP99Ms: round(median(rounds.map((r) => r.latencyMs.p99))),
    latencyMaxMs: round(median(rounds.map((r) => r.latencyMs.max))),
    runsPerSecond: round(median(rounds.map((r) => r.runsPerSecond)), 0),
    perRound: rounds,
  };
}

async function main() {
  const systems = [hourglass];
  if (!values['skip-peers']) {
    systems.push(bullmq(WORKLOAD), pgBoss(WORKLOAD, LATENCY_RUNS_POLLING_PEER), graphileWorker(WORKLOAD));
  }
  const rounds = systems.map((): RoundResult[] => []);
  // Interleaved rounds, so drift in the machine's load affects all systems alike.
  for (let i = 0; i < ROUNDS; i++) {
    for (const [k, system] of systems.entries()) {
      rounds[k]?.push(await system.round());
      process.stderr.write(`round ${i + 1}/${ROUNDS}: ${system.short} done\n`);
    }
  }
  const results = systems.map((system, k) => report(system, rounds[k] ?? []));
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
  // Hourglass / peer: above 1× Hourglass is slower to start a run; below 1× it completes fewer runs/s.
  const [own, ...peers] = results;
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  for (const peer of peers) {
    if (!own) break;
    console.log(
      `| **ratio Hourglass / ${peer.short}** | ${ratio(own.latencyP50Ms, peer.latencyP50Ms)} | ` +
        `${ratio(own.latencyP99Ms, peer.latencyP99Ms)} | ${ratio(own.latencyMaxMs, peer.latencyMaxMs)} | ` +
        `${ratio(own.runsPerSecond, peer.runsPerSecond)} |`,
    );
  }
  console.log(`(medians of ${ROUNDS} rounds; raw results in ${file})`);
}

await main();
