// bench/scheduler: the scheduler engine at 10k, 100k and 1M schedules, and the whole server at 200 runs/s.
//
//   npm run build && node --expose-gc dist/bench/scheduler.js [--sizes 10000,100000,1000000]
//     [--sustain-schedules 10000] [--sustain-seconds 30] [--process-schedules 200] [--process-seconds 30]
//
// 1. Per size N (engine alone: SQLite on disk with synchronous=FULL firing, in-process queue, a consumer that
//    takes runs as a worker would): N schedules with a seconds-field cron (`S * * * * *`) that all fall on the
//    same second. Load = one lease round taking all 256 partitions and loading every schedule into memory.
//    Engine memory = heap + array buffers after a full GC, loaded minus before, per schedule. Burst = the
//    tick of all N at once: fires/s from the first to the last run handed over, and the CPU time it took;
//    twice: the first tick (the engine's code cold, compiled as it runs) and the next minute's (warm).
// 2. Sustained: --sustain-schedules schedules every second (`* * * * * *`) for --sustain-seconds: fires/s, and
//    per run handed over: how late against its planned firing (due − lead) and against its nominal time.
// 3. Process start: the real server (API, scheduler, worker, process runtime) with --process-schedules
//    schedules every second of a trivial command (`true`) for --process-seconds: lag = the process's start
//    (released at its due time, see pre-dispatch) − its due time (= its nominal time: no jitter), from the
//    API. Twice: the schedules' ticks spread evenly over the second, and all on the same instant.

import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { LEAD_MS, openEngineWorld, type EngineWorld } from './scheduler/engine-world.js';
import { round, summarize, type Summary } from './stats.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    'sustain-schedules': { type: 'string', default: '10000' },
    'sustain-seconds': { type: 'string', default: '30' },
    'process-schedules': { type: 'string', default: '200' },
    'process-seconds': { type: 'string', default: '30' },
    skip: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
const SIZES = (values.sizes ?? '').split(',').filter(Boolean).map(Number);
const OUT = values.out ?? `scheduler-${new Date().toISOString().slice(0, 10)}`;
const SKIP = new Set((values.skip ?? '').split(',').filter(Boolean));

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) console.warn('run with node --expose-gc for the memory figures');

function engineMemory(): number {
  gc?.();
  gc?.();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): number => round(ms / 1000, 2);
const ms = (s: Summary): Summary => ({
  n: s.n,
  p50: round(s.p50),
  p90: round(s.p90),
  p99: round(s.p99),
  max: round(s.max),
});

interface BurstResult {
  /** Fired by the deadline (three minutes after the tick): all of them, unless the store fell behind. */
  fired: number;
  burstFiresPerSecond: number;
  burstFiresPerCpuSecond: number;
  burstSeconds: number;
  fireDelayMs: Summary;
}

interface SizeResult extends BurstResult {
  schedules: number;
  loadSeconds: number;
  bytesPerSchedule: number;
  /** The same schedules' tick a minute later: the engine's code warm (compiled) this time. */
  nextMinute: BurstResult | null;
}

/** Fires/s and CPU of one tick of all N, counted from the consumer's log from `from` on. */
async function measureBurst(world: EngineWorld, tick: number, n: number, from: number): Promise<BurstResult> {
  // The CPU of the burst alone: from shortly before its planned firing time (due − lead), not the wait.
  await sleep(Math.max(0, tick - LEAD_MS - 200 - Date.now()));
  const cpuBefore = process.cpuUsage();
  const deadline = tick + 180_000;
  // Only this tick counts: a burst longer than a minute meets the schedules' next tick.
  let scanned = from;
  let counted = 0;
  const { consumed } = world;
  while (counted < n && Date.now() < deadline) {
    await sleep(50);
    for (; scanned < consumed.length; scanned++) if (consumed.nominal[scanned] === tick) counted++;
  }
  const cpu = process.cpuUsage(cpuBefore);
  // A burst the store cannot absorb by the deadline is reported as far as it got, not thrown away.
  const taken: number[] = [];
  for (let i = from; i < consumed.length; i++)
    if (consumed.nominal[i] === tick) taken.push(consumed.at[i] ?? 0);
  const fired = taken.length;
  const first = taken[0] ?? 0;
  const last = taken[taken.length - 1] ?? 0;
  const delays = taken.map((at) => at - (tick - LEAD_MS));
  const burstMs = Math.max(1, last - (tick - LEAD_MS));
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    fired,
    burstFiresPerSecond: Math.round(fired / (burstMs / 1000)),
    burstFiresPerCpuSecond: Math.round(fired / cpuSeconds),
    burstSeconds: seconds(last - first),
    fireDelayMs: ms(summarize(delays)),
  };
}

async function measureSize(n: number): Promise<SizeResult> {
  // Every schedule on one second, at least 10 s after they are written: time to load them, nothing missed.
  const second = new Date(Date.now() + 15_000).getUTCSeconds();
  const world = await openEngineWorld({
    schedules: n,
    cron: `${second} * * * * *`,
    firstAfter: () => Date.now() + 10_000,
  });
  const tick = world.firstTick;
  try {
    const before = engineMemory();
    const loadStarted = performance.now();
    await world.engine.syncLeases();
    const loadSeconds = seconds(performance.now() - loadStarted);
    const bytesPerSchedule = round((engineMemory() - before) / n, 1);
    if (world.engine.stats().schedules !== n)
      throw new Error(`loaded ${world.engine.stats().schedules} of ${n}`);

    await world.engine.start();
    const first = await measureBurst(world, tick, n, 0);
    // The next minute's tick, unless this one ran into it.
    const next = tick + 60_000;
    const nextMinute =
      Date.now() < next - LEAD_MS - 200 ? await measureBurst(world, next, n, world.consumed.length) : null;
    await world.stopConsumer();
    return { schedules: n, loadSeconds, bytesPerSchedule, ...first, nextMinute };
  } finally {
    await world.close();
  }
}

interface SustainResult {
  schedules: number;
  seconds: number;
  firesPerSecond: number;
  firesPerCpuSecond: number;
  fireDelayMs: Summary;
  nominalToDispatchedMs: Summary;
}

async function measureSustained(n: number, windowSeconds: number): Promise<SustainResult> {
  const world = await openEngineWorld({ schedules: n, cron: '* * * * * *' });
  try {
    await world.engine.start();
    await sleep(3000); // warm-up
    const start = world.consumed.length;
    const cpuBefore = process.cpuUsage();
    const startedAt = Date.now();
    await sleep(windowSeconds * 1000);
    const cpu = process.cpuUsage(cpuBefore);
    const end = world.consumed.length;
    const elapsed = (Date.now() - startedAt) / 1000;
    await world.stopConsumer();
    const { nominal, at } = world.consumed;
    const dispatched = Array.from(
      { length: end - start },
      (_, i) => (at[start + i] ?? 0) - (nominal[start + i] ?? 0),
    );
    return {
      schedules: n,
      seconds: windowSeconds,
      firesPerSecond: Math.round(dispatched.length / elapsed),
      firesPerCpuSecond: Math.round(dispatched.length / ((cpu.user + cpu.system) / 1e6)),
      fireDelayMs: ms(summarize(dispatched.map((lateness) => lateness + LEAD_MS))),
      nominalToDispatchedMs: ms(summarize(dispatched)),
    };
  } finally {
    await world.close();
  }
}

interface ProcessResult {
  aligned: boolean;
  schedules: number;
  seconds: number;
  runs: number;
  runsPerSecond: number;
  /** startedAt − due, from the API: when the gate opened. */
  lagMs: Summary;
  /** The process's own clock (`date +%s%N`, its first action) − due, for every tenth run. */
  observedMs: Summary;
  statuses: Record<string, number>;
}

async function measureProcessStart(
  n: number,
  windowSeconds: number,
  aligned: boolean,
): Promise<ProcessResult> {
  const server = await ServerProcess.start({ args: ['--worker-max-runs', '2000'] });
  try {
    const { key } = await server.createTenant('bench', {
      runsPerSecond: 1_000_000,
      runBurst: 1_000_000,
      maxSchedules: 1_000_000,
    });
    const job = await server.request('POST', '/v1/jobs', {
      key,
      // As trivial as `true`, and it says when it ran: its own clock is the process's start, measured.
      body: { name: 'tick', command: ['date', '+%s%N'], resources: { memoryMb: 16 } },
    });
    if (job.status !== 201) throw new Error(`job: ${job.text}`);
    // Spread evenly over the second (schedule i ticks at i × 1000 / n ms past each second), no jitter: the
    // nominal time is the due time. All n on the very same instant is measured separately (--aligned).
    const ids: string[] = [];
    const base = Math.ceil(Date.now() / 1000) * 1000 + 2000;
    for (let i = 0; i < n; i++) {
      const startAt = new Date(base + (aligned ? 0 : Math.floor((i * 1000) / n))).toISOString();
      const schedule = await server.request('POST', `/v1/jobs/tick/schedules`, {
        key,
        body: { every: '1s', startAt, overlapPolicy: 'allow', catchup: { mode: 'skip' } },
      });
      if (schedule.status !== 201) throw new Error(`schedule: ${schedule.text}`);
      ids.push(schedule.body.id as string);
    }
    await sleep(3000); // warm-up
    const from = Date.now();
    await sleep(windowSeconds * 1000);
    const to = Date.now();
    for (const id of ids) await server.request('POST', `/v1/schedules/${id}/pause`, { key });
    await sleep(2000); // let the last runs finish
    const lags: number[] = [];
    const statuses: Record<string, number> = {};
    const sampled: { id: string; nominal: number }[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`;
      const page = await server.request('GET', query, { key });
      type Listed = { id: string; nominalTime: string; lagMs: number | null; status: string };
      for (const run of page.body.items as Listed[]) {
        const nominal = Date.parse(run.nominalTime);
        if (nominal < from || nominal >= to) continue;
        statuses[run.status] = (statuses[run.status] ?? 0) + 1;
        if (run.lagMs !== null) lags.push(run.lagMs);
        // Every tenth run's own clock, read from its log.
        if (run.status === 'succeeded' && lags.length % 10 === 0) sampled.push({ id: run.id, nominal });
      }
      cursor = page.body.nextCursor as string | null;
    } while (cursor !== null);
    const observed: number[] = [];
    for (const { id, nominal } of sampled) {
      const log = await server.request('GET', `/v1/runs/${id}/logs`, { key });
      const ranAtNs = BigInt(log.text.trim());
      observed.push(Number(ranAtNs - BigInt(nominal) * 1_000_000n) / 1e6);
    }
    return {
      aligned,
      schedules: n,
      seconds: windowSeconds,
      runs: lags.length,
      runsPerSecond: round(lags.length / ((to - from) / 1000), 1),
      lagMs: ms(summarize(lags)),
      observedMs: ms(summarize(observed)),
      statuses,
    };
  } finally {
    await server.stop({ cleanup: true });
  }
}

const results: Record<string, unknown> = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  leadMs: LEAD_MS,
};
if (!SKIP.has('sizes')) {
  const sizes: SizeResult[] = [];
  for (const n of SIZES) {
    console.log(`engine with ${n} schedules…`);
    const result = await measureSize(n);
    console.log(JSON.stringify(result));
    sizes.push(result);
  }
  results['sizes'] = sizes;
}
if (!SKIP.has('sustain')) {
  console.log('sustained…');
  const sustain = await measureSustained(
    Number(values['sustain-schedules']),
    Number(values['sustain-seconds']),
  );
  console.log(JSON.stringify(sustain));
  results['sustained'] = sustain;
}
if (!SKIP.has('process')) {
  const processStart: ProcessResult[] = [];
  for (const aligned of [false, true]) {
    console.log(`process start through the server (${aligned ? 'all on the second' : 'spread'})…`);
    const result = await measureProcessStart(
      Number(values['process-schedules']),
      Number(values['process-seconds']),
      aligned,
    );
    console.log(JSON.stringify(result));
    processStart.push(result);
  }
  results['processStart'] = processStart;
}
const file = join(REPO_ROOT, 'bench/results', `${OUT}.json`);
writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
console.log(`written to ${file}`);
