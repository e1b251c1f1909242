// bench/pre-dispatch: how precisely the process executor starts runs handed to it ahead of their due time
// (pre-dispatch), at a steady rate, from one Node process — the worker's side of "nominal → process started".
//
//   npm run build && node dist/bench/pre-dispatch.js [--rate 200] [--seconds 10] [--lead 1000] [--spread]
//     [--warmup 1] [--block-ms 0] [--block-every 1000] [--sandbox] [--out bench/results/pre-dispatch.json]
//
// --sandbox confines every run as the server does on this host (process-sandbox.ts): as root, a uid and a
// memory cgroup per run; otherwise the address-space rlimit (a wrapper shell). Without it, none.
// Every second, `rate` executions of `date +%s%N` are due; each is handed over `lead` ms before its due time
// (those due together, together), as a scheduler firing a lead ahead and a queue delivering at once would. Due
// times fall all on the second boundary (like `* * * * * *` on `rate` schedules without jitter), or with
// --spread evenly over the second (the same schedules with jitter). Measured per run, over the seconds after the warm-up:
//   release − due: when the executor opened the gate (the time its onStarted reports, sub-ms);
//   observed − due: the time the process itself printed once it ran (exec included);
//   notified − due: when onStarted was called on the event loop (the gate may be opened by another thread);
// With --block-ms, the event loop is also blocked that long every --block-every ms (at an odd phase to the
// due times), as the scheduler's SQLite firing transaction in the same process blocks it for a big batch.
// And the event loop's delay (how long it was blocked, mostly by spawns) and this process's CPU time (all its
// threads, per second) over the same seconds.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ProcessExecutor } from '../src/adapters/process/process-executor.js';
import { NO_SANDBOX, probeProcessSandbox } from '../src/adapters/process/process-sandbox.js';
import { DEFAULT_RUN_UID_BASE } from '../src/adapters/process/run-users.js';
import { systemClock } from '../src/adapters/system/system-clock.js';
import type { ExecutionSpec } from '../src/ports/executor.js';
import { round, summarize, type Summary } from './stats.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    lead: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '1' },
    'block-ms': { type: 'string', default: '0' },
    'block-every': { type: 'string', default: '1000' },
    spread: { type: 'boolean', default: false },
    sandbox: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const LEAD_MS = Number(values.lead);
const WARMUP = Number(values.warmup);
const SPREAD = values.spread;
const BLOCK_MS = Number(values['block-ms']);
const BLOCK_EVERY_MS = Number(values['block-every']);

interface Sample {
  due: number;
  releasedAt: number | null;
  notifiedAt: number | null;
  observedAt: number | null;
  outcome: string;
}

const preciseNow = (): number => performance.timeOrigin + performance.now();

async function main(): Promise<void> {
  const scratchRoot = mkdtempSync(join(tmpdir(), 'hourglass-bench-predispatch-'));
  const sandbox = values.sandbox ? probeProcessSandbox({ runUidBase: DEFAULT_RUN_UID_BASE }) : NO_SANDBOX;
  const executor = new ProcessExecutor({ clock: systemClock, scratchRoot, killGraceMs: 1000, sandbox });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const samples: Sample[] = [];
  const runs: Promise<void>[] = [];
  const first = Math.ceil((Date.now() + LEAD_MS) / 1000) * 1000 + 1000;
  const total = WARMUP + SECONDS;
  // How long the event loop was blocked (spawns are synchronous): what a release can be delayed by.
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let cpuFrom: NodeJS.CpuUsage | undefined;

  const handOver = (second: number, i: number, due: number): void => {
    const sample: Sample = { due, releasedAt: null, notifiedAt: null, observedAt: null, outcome: 'pending' };
    if (second >= WARMUP) samples.push(sample);
    const spec: ExecutionSpec = {
      runId: `run_bench_${second}_${i}`,
      attempt: 1,
      tenantId: 'tenant_bench',
      argv: ['date', '+%s%N'],
      command: ['date', '+%s%N'],
      args: [],
      registryCredentials: null,
      env,
      image: null,
      memoryMb: 16,
      timeoutMs: 30_000,
      startAt: due,
    };
    let out = '';
    const hooks = {
      onStarted: (at: number): void => {
        sample.releasedAt = at;
        sample.notifiedAt = preciseNow();
      },
      onOutput: (_stream: 'stdout' | 'stderr', chunk: Buffer): void => {
        out += chunk.toString();
      },
    };
    runs.push(
      executor.execute(spec, hooks, new AbortController().signal).then((result) => {
        sample.outcome = result.outcome;
        const line = out.trim();
        if (/^\d{19}$/.test(line)) sample.observedAt = Number(BigInt(line) / 1000n) / 1000;
      }),
    );
  };

  // The scheduler's transactions, simulated: the loop is busy, as it is inside a synchronous SQLite call.
  let blocker: NodeJS.Timeout | undefined;
  if (BLOCK_MS > 0) {
    const startBlocking = (): void => {
      blocker = setInterval(() => {
        const until = performance.now() + BLOCK_MS;
        while (performance.now() < until) {
          // busy, by design
        }
      }, BLOCK_EVERY_MS);
    };
    setTimeout(startBlocking, Math.max(0, first - Date.now() - 333));
  }

  // Each run is handed over `lead` before its own due time: those due together, together.
  const plan: { second: number; i: number; due: number }[] = [];
  for (let second = 0; second < total; second++) {
    for (let i = 0; i < RATE; i++) {
      plan.push({ second, i, due: first + second * 1000 + (SPREAD ? Math.floor((i * 1000) / RATE) : 0) });
    }
  }
  for (let k = 0; k < plan.length;) {
    const due = (plan[k] as (typeof plan)[number]).due;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - LEAD_MS - Date.now())));
    for (; k < plan.length && (plan[k] as (typeof plan)[number]).due === due; k++) {
      const { second, i } = plan[k] as (typeof plan)[number];
      if (second === WARMUP && i === 0) {
        loopDelay.enable();
        cpuFrom = process.cpuUsage();
      }
      handOver(second, i, due);
    }
  }
  await Promise.all(runs);
  clearInterval(blocker);
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuFrom);
  await executor.close();
  rmSync(scratchRoot, { recursive: true, force: true });

  const released = samples.filter((s) => s.releasedAt !== null).map((s) => (s.releasedAt as number) - s.due);
  const notified = samples.filter((s) => s.notifiedAt !== null).map((s) => (s.notifiedAt as number) - s.due);
  const observed = samples.filter((s) => s.observedAt !== null).map((s) => (s.observedAt as number) - s.due);
  const failed = samples.filter((s) => s.outcome !== 'succeeded').length;
  const early = released.filter((ms) => ms < 0).length;
  const show = (s: Summary): Record<string, number> => ({
    n: s.n,
    p50: round(s.p50),
    p90: round(s.p90),
    p99: round(s.p99),
    max: round(s.max),
  });
  const result = {
    date: new Date().toISOString(),
    cpus: cpus().length,
    loadAverage: loadavg().map((l) => round(l)),
    rate: RATE,
    seconds: SECONDS,
    leadMs: LEAD_MS,
    dueTimes: SPREAD ? 'spread over each second' : 'all on the second boundary',
    loopBlocked: BLOCK_MS > 0 ? `${BLOCK_MS} ms every ${BLOCK_EVERY_MS} ms` : 'no',
    isolation: executor.isolation,
    runs: samples.length,
    failed,
    releasedEarly: early,
    releaseMinusDueMs: show(summarize(released)),
    observedMinusDueMs: show(summarize(observed)),
    notifiedMinusDueMs: show(summarize(notified)),
    eventLoopDelayMs: {
      p50: round(loopDelay.percentile(50) / 1e6),
      p99: round(loopDelay.percentile(99) / 1e6),
      max: round(loopDelay.max / 1e6),
    },
    // From the first measured hand-over until every run has ended (a little more than `seconds`).
    cpuMsPerSecond: {
      user: round(cpu.user / 1000 / SECONDS),
      system: round(cpu.system / 1000 / SECONDS),
    },
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
