// bench/scheduler-fire: the firing path alone, burst after burst — CPU per fired tick, from the timing heap
// through the SQLite store (synchronous=FULL) into the in-process queue and out to a consumer that acks each.
//
//   npm run build && node --expose-gc dist/bench/scheduler-fire.js [--schedules 100000] [--bursts 10]
//     [--compare /path/to/other/checkout] [--out name]   (written to bench/results/name.json)
//
// N schedules of `0 * * * * *` on a manual clock: each burst sets the clock to the next minute's tick minus the
// lead, renews the leases, collects garbage, then measures the process's CPU (all threads) over fireDue and
// the consumer's pull and acks. No waiting for real time, so bursts follow one another in seconds.
//
// The machine's speed moves by ±20 % and more from minute to minute, which swamps a 5 % change between two
// separate runs. --compare loads a second build (another checkout, built) into the same process, each with
// its own store and engine, and alternates their bursts (A B, B A, …): both see the same machine.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { REPO_ROOT } from '../test/support/server-process.js';
import { seedTenantAndJob } from './scheduler/engine-world.js';
import { median, round } from './stats.js';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '100000' },
    bursts: { type: 'string', default: '10' },
    compare: { type: 'string' },
    out: { type: 'string' },
  },
});
const N = Number(values.schedules);
const BURSTS = Number(values.bursts);
const LEAD_MS = 800;
const START = Date.parse('2030-01-01T00:00:00Z');

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

type Modules = {
  store: typeof import('../src/adapters/sqlite/sqlite-store.js');
  queue: typeof import('../src/adapters/in-process/in-process-queue.js');
  signals: typeof import('../src/adapters/in-process/in-process-run-signals.js');
  changes: typeof import('../src/adapters/in-process/in-process-schedule-changes.js');
  engine: typeof import('../src/services/scheduler/scheduler-engine.js');
  world: typeof import('./scheduler/engine-world.js');
  clock: typeof import('../test/support/manual-clock.js');
};

/** The modules of a build: this one's, or another checkout's `dist/` (same layout). */
async function modulesOf(checkout: string): Promise<Modules> {
  const load = (path: string) => import(pathToFileURL(join(checkout, 'dist', path)).href);
  return {
    store: await load('src/adapters/sqlite/sqlite-store.js'),
    queue: await load('src/adapters/in-process/in-process-queue.js'),
    signals: await load('src/adapters/in-process/in-process-run-signals.js'),
    changes: await load('src/adapters/in-process/in-process-schedule-changes.js'),
    engine: await load('src/services/scheduler/scheduler-engine.js'),
    world: await load('bench/scheduler/engine-world.js'),
    clock: await load('test/support/manual-clock.js'),
  };
}

async function openBuild(checkout: string) {
  const m = await modulesOf(checkout);
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-fire-'));
  const dbPath = join(dir, 'hourglass.db');
  const store = m.store.SqliteStore.open(dbPath);
  // This build's seeding, into either build's store: the store port is the same.
  const { tenant, job } = await seedTenantAndJob(store, START);
  const firstTick = m.world.bulkInsertSchedules(
    dbPath,
    tenant.id,
    job.id,
    N,
    '0 * * * * *',
    () => START + 1000,
  );
  const clock = new m.clock.ManualClock(START);
  const queue = new m.queue.InProcessQueue({ clock });
  const engine = new m.engine.SchedulerEngine(
    {
      store,
      queue,
      signals: new m.signals.InProcessRunSignals(),
      changes: new m.changes.InProcessScheduleChanges(),
      clock,
      logger: pino({ level: 'warn' }, pino.destination(2)),
    },
    { nodeId: 'bench', leadMs: LEAD_MS, batchSize: 5000 },
  );
  await engine.syncLeases();
  const cpuPerFireUs: number[] = [];
  return {
    checkout,
    cpuPerFireUs,
    async burst(k: number): Promise<void> {
      clock.set(firstTick + k * 60_000 - LEAD_MS);
      await engine.syncLeases();
      gc?.();
      const before = process.cpuUsage();
      const fired = await engine.fireDue();
      const deliveries = await queue.pull(10 * N, 0);
      for (const delivery of deliveries) await delivery.ack();
      const cpu = process.cpuUsage(before);
      if (fired !== N || deliveries.length !== N)
        throw new Error(`fired ${fired}, delivered ${deliveries.length}`);
      cpuPerFireUs.push((cpu.user + cpu.system) / N);
    },
    async close(): Promise<void> {
      await engine.stop();
      await queue.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const builds = [await openBuild(REPO_ROOT)];
if (values.compare !== undefined) builds.push(await openBuild(resolve(values.compare)));
for (let k = 0; k < BURSTS; k++) {
  for (const build of k % 2 === 0 ? builds : [...builds].reverse()) await build.burst(k);
}
const results = builds.map(({ checkout, cpuPerFireUs }) => ({
  checkout,
  schedules: N,
  bursts: BURSTS,
  cpuPerFireUsMedian: round(median(cpuPerFireUs), 2),
  firesPerCpuSecondMedian: Math.round(1e6 / median(cpuPerFireUs)),
  cpuPerFireUs: cpuPerFireUs.map((us) => round(us, 2)),
}));
for (const result of results) console.log(JSON.stringify(result));
const [self, other] = results;
if (self !== undefined && other !== undefined) {
  console.log(
    `this build / the other: ${round(self.cpuPerFireUsMedian / other.cpuPerFireUsMedian, 3)} of the CPU per fire`,
  );
}
for (const build of builds) await build.close();
if (values.out !== undefined) {
  const file = join(REPO_ROOT, 'bench/results', `${values.out}.json`);
  const machine = { cpus: cpus().length, model: cpus()[0]?.model, node: process.version };
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), machine, results }, null, 2) + '\n');
  console.log(`written to ${file}`);
}
