// bench/forecast: the load forecast over a large fleet, on SQLite and on PostgreSQL. Seeds N schedules
// (default 1,000,000) over D distinct specs (default 10,000) and ten jobs (bench/forecast-fleet.ts) as raw
// rows, then reopens the store so that the migration adding the forecast counts backfills them, and times:
// the read the store made before the counts (grouping every live schedule); the counts' read (one tenant,
// the fleet); the forecast of the next hour and the next day at one-minute steps, uncached (a service of its
// own each round) and cached; the runs-due gauge's 15-minute fleet forecast; a schedule write (a pause and
// a resume) with its counts; and the process's memory. Medians over the rounds.
// `npm run bench:forecast -- [schedules] [specs] [sqlite,postgres]`.

import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { systemClock } from '../src/adapters/system/system-clock.js';
import { newId } from '../src/core/ids.js';
import type { Job } from '../src/core/job.js';
import type { Store } from '../src/ports/store.js';
import { ForecastService } from '../src/services/forecast-service.js';
import { seedTenantAndJob } from './scheduler/engine-world.js';
import { BenchFleet, benchJobResources, orderedScheduleId } from './forecast-fleet.js';
import { postgresBenchStore, sqliteBenchStore, type BenchStore } from './forecast-stores.js';

const SCHEDULES = Number(process.argv[2] ?? 1_000_000);
const SPECS = Number(process.argv[3] ?? 10_000);
const ADAPTERS = (process.argv[4] ?? 'sqlite,postgres').split(',');
const ROUNDS = 5;
const WRITES = 100;

const mb = (bytes: number): number => Math.round(bytes / 1024 / 102.4) / 10;
const round1 = (ms: number): number => Math.round(ms * 10) / 10;

async function ms(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

async function median(rounds: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await ms(work));
  times.sort((a, b) => a - b);
  return round1(times[Math.floor(times.length / 2)] ?? 0);
}

function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function seedFleet(bench: BenchStore, now: number): Promise<{ tenantId: string; seedMs: number }> {
  const store = await bench.open();
  const { tenant, job } = await seedTenantAndJob(store, now);
  const jobs: Job[] = [{ ...job, resources: benchJobResources(0) }];
  await store.updateJob(jobs[0] as Job);
  for (let j = 1; j < 10; j++) {
    const other: Job = { ...job, id: newId('job', now, randomBytes), name: `tick-${j}` };
    other.resources = benchJobResources(j);
    await store.insertJob(other, Number.MAX_SAFE_INTEGER);
    jobs.push(other);
  }
  await store.close();
  const seedMs = await ms(() => bench.seed(new BenchFleet(tenant.id, jobs, SPECS, now), SCHEDULES));
  return { tenantId: tenant.id, seedMs: Math.round(seedMs) };
}

/** A pause and a resume of schedules spread over the fleet, with their counts: ms per write. */
async function writeCost(store: Store, tenantId: string, now: number): Promise<number> {
  const ids = Array.from({ length: WRITES }, (_, k) =>
    orderedScheduleId(Math.floor((k * SCHEDULES) / WRITES), now),
  );
  const start = performance.now();
  for (const paused of [true, false]) {
    for (const id of ids) {
      const current = await store.getSchedule(tenantId, id);
      if (current === null) throw new Error(`schedule ${id} is missing`);
      const written = await store.updateSchedule({ ...current, paused, version: current.version + 1 });
      if (!written) throw new Error(`schedule ${id} was not written`);
    }
  }
  return round1((performance.now() - start) / (2 * WRITES));
}

async function benchOn(bench: BenchStore): Promise<Record<string, unknown>> {
  const now = Date.now();
  const { tenantId, seedMs } = await seedFleet(bench, now);
  await bench.rewindCounts();
  const groups = await bench.groupedRead(tenantId);
  const groupedReadTenantMs = await median(3, () => bench.groupedRead(tenantId));
  const groupedReadFleetMs = await median(3, () => bench.groupedRead(null));
  let store: Store | undefined;
  const openWithBackfillMs = Math.round(await ms(async () => (store = await bench.open())));
  if (store === undefined) throw new Error('the store did not open');
  const opened = store;
  try {
    gc();
    const rssBefore = process.memoryUsage().rss;
    const counted = await opened.listScheduleLoad(tenantId, Date.now());
    const from = new Date(Date.now()).toISOString();
    const hour = { from, to: new Date(Date.now() + 3_600_000).toISOString(), stepSeconds: 60 };
    const day = { from, to: new Date(Date.now() + 86_400_000).toISOString(), stepSeconds: 60 };
    const fresh = () => new ForecastService(opened, systemClock);
    const cached = fresh();
    await cached.forecast(tenantId, day);
    await cached.forecast(null, day);
    await cached.forecastFleetSoon(Date.now(), 15);
    const dayRuns = (await fresh().forecast(tenantId, day)).reduce((sum, step) => sum + step.runs, 0);
    const result = {
      adapter: bench.name,
      seedMs,
      groupsBefore: groups,
      countRows: counted.length,
      countedSchedules: counted.reduce((sum, group) => sum + group.schedules, 0),
      dayRuns,
      groupedReadTenantMs,
      groupedReadFleetMs,
      openWithBackfillMs,
      countsReadTenantMs: await median(ROUNDS, () => opened.listScheduleLoad(tenantId, Date.now())),
      countsReadFleetMs: await median(ROUNDS, () => opened.listScheduleLoad(null, Date.now())),
      hourUncachedMs: await median(ROUNDS, () => fresh().forecast(tenantId, hour)),
      dayUncachedMs: await median(ROUNDS, () => fresh().forecast(tenantId, day)),
      fleetDayUncachedMs: await median(ROUNDS, () => fresh().forecast(null, day)),
      hourCachedMs: await median(ROUNDS, () => cached.forecast(tenantId, hour)),
      dayCachedMs: await median(ROUNDS, () => cached.forecast(tenantId, day)),
      fleetDayCachedMs: await median(ROUNDS, () => cached.forecast(null, day)),
      gaugeUncachedMs: await median(ROUNDS, () => fresh().forecastFleetSoon(Date.now(), 15)),
      gaugeCachedMs: await median(ROUNDS, () => cached.forecastFleetSoon(Date.now(), 15)),
      scheduleWriteMs: await writeCost(opened, tenantId, now),
    };
    const memory = process.memoryUsage();
    return {
      ...result,
      rssMb: mb(memory.rss),
      rssGrowthMb: mb(memory.rss - rssBefore),
      heapUsedMb: mb(memory.heapUsed),
    };
  } finally {
    await opened.close();
  }
}

async function main(): Promise<void> {
  const results: Record<string, unknown>[] = [];
  for (const name of ADAPTERS) {
    const bench = name === 'postgres' ? await postgresBenchStore() : sqliteBenchStore();
    try {
      results.push(await benchOn(bench));
      console.log(JSON.stringify(results[results.length - 1]));
    } finally {
      await bench.destroy();
    }
    gc();
  }
  const report = {
    bench: 'forecast',
    date: new Date().toISOString(),
    node: process.version,
    loadAverage: loadavg().map((load) => Math.round(load * 100) / 100),
    schedules: SCHEDULES,
    specs: SPECS,
    rounds: ROUNDS,
    results,
  };
  console.log(JSON.stringify(report, null, 2));
  mkdirSync('bench/results', { recursive: true });
  const size = SCHEDULES >= 1e6 ? `${SCHEDULES / 1e6}m` : `${SCHEDULES / 1e3}k`;
  const file = `bench/results/forecast-${size}-${ADAPTERS.join('-')}-${report.date.slice(0, 10)}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

await main();
