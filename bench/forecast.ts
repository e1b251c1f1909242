// bench/forecast: the load forecast over a large fleet on SQLite. Seeds N schedules (default 1,000,000) over
// D distinct specs (default 10,000: hourly crons with seconds in three zones, minute-step crons, weekday
// crons that croner enumerates, intervals), spread over ten jobs of different memory, in bulk; then times the
// store's grouped read (one tenant, and the fleet) and the forecast of the next hour and the next day at
// one-minute steps, and the process's memory. `npm run bench:forecast -- [schedules] [specs]`.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SCHEDULE_COLUMNS, scheduleToRow } from '../src/adapters/sqlite/sqlite-schedule-rows.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { systemClock } from '../src/adapters/system/system-clock.js';
import { newId } from '../src/core/ids.js';
import type { Job } from '../src/core/job.js';
import { newScheduleBase, partitionOf, type Schedule, type ScheduleSpec } from '../src/core/schedule.js';
import { parseCron, parseEvery } from '../src/core/schedule-time.js';
import { ForecastService } from '../src/services/forecast-service.js';
import type { ScheduleInput } from '../src/services/schedule-input.js';
import { seedTenantAndJob } from './scheduler/engine-world.js';

const SCHEDULES = Number(process.argv[2] ?? 1_000_000);
const SPECS = Number(process.argv[3] ?? 10_000);
const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York'];

/** The i-th distinct spec: 40% hourly, 20% minute steps, 20% weekday crons, 20% intervals. */
function specInput(i: number): ScheduleInput {
  const zone = ZONES[i % ZONES.length] ?? 'UTC';
  const kind = i % 10;
  if (kind < 4) return { cron: `${i % 60} ${Math.floor(i / 60) % 60} * * * *`, timezone: zone };
  if (kind < 6) {
    const step = [1, 2, 5, 10, 15, 30][Math.floor(i / 10) % 6] ?? 5;
    return { cron: `${i % 60} ${Math.floor(i / 60) % step}/${step} * * * *`, timezone: zone };
  }
  if (kind < 8) return { cron: `${i % 60} ${Math.floor(i / 60) % 60} ${i % 24} * * 1-5`, timezone: zone };
  return { every: `${30 + (i % 3571)}s` };
}

function specOf(i: number, now: number): ScheduleSpec {
  const input = specInput(i);
  if (input.every !== undefined) {
    const spec = parseEvery(input.every, now);
    return {
      kind: 'every',
      every: input.every,
      intervalMs: spec.kind === 'every' ? spec.intervalMs : 0,
      anchorAt: now,
    };
  }
  const spec = parseCron(input.cron ?? '', input.timezone);
  return {
    kind: 'cron',
    cron: spec.kind === 'cron' ? spec.expression : '',
    timezone: input.timezone ?? 'UTC',
  };
}

function mb(bytes: number): number {
  return Math.round(bytes / 1024 / 102.4) / 10;
}

async function time<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { ms: Math.round((performance.now() - start) * 10) / 10, value };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-forecast-'));
  const dbPath = join(dir, 'hourglass.db');
  try {
    let store = SqliteStore.open(dbPath);
    const now = Date.now();
    const { tenant, job } = await seedTenantAndJob(store, now);
    const jobs: Job[] = [job];
    for (let j = 1; j < 10; j++) {
      const other: Job = { ...job, id: newId('job', now, randomBytes), name: `tick-${j}` };
      other.resources = { memoryMb: 64 * 2 ** (j % 5) };
      await store.insertJob(other, Number.MAX_SAFE_INTEGER);
      jobs.push(other);
    }
    await store.close();

    const seedStart = performance.now();
    const db = new Database(dbPath);
    const columns = SCHEDULE_COLUMNS.split(',').map((c) => c.trim());
    const insert = db.prepare(
      `INSERT INTO schedules (${columns.join(', ')}, change_seq) VALUES (${columns.map((c) => `@${c}`).join(', ')}, @change_seq)`,
    );
    const base = { ...newScheduleBase({ id: '', tenantId: tenant.id, jobId: job.id, partition: 0 }, now) };
    // Parsed, not put through the service's rules: its checks of each spec would take longer than the bench.
    const templates = Array.from({ length: SPECS }, (_, i): Schedule => ({ ...base, spec: specOf(i, now) }));
    db.transaction(() => {
      for (let i = 0; i < SCHEDULES; i++) {
        const id = newId('schedule', now, randomBytes);
        const template = templates[i % SPECS] as Schedule;
        const jobId = (jobs[Math.floor(i / SPECS) % jobs.length] as Job).id;
        const schedule: Schedule = { ...template, id, jobId, partition: partitionOf(id), nextFireAt: now };
        insert.run({ ...scheduleToRow(schedule), change_seq: i + 1 });
      }
    })();
    db.close();
    const seedMs = Math.round(performance.now() - seedStart);

    store = SqliteStore.open(dbPath);
    const forecast = new ForecastService(store, systemClock);
    const rssBefore = process.memoryUsage().rss;
    const tenantGroups = await time(() => store.listScheduleLoad(tenant.id));
    const fleetGroups = await time(() => store.listScheduleLoad(null));
    const from = new Date(Date.now()).toISOString();
    const hour = new Date(Date.now() + 3_600_000).toISOString();
    const day = new Date(Date.now() + 86_400_000).toISOString();
    const runs = (steps: { runs: number }[]) => steps.reduce((sum, step) => sum + step.runs, 0);
    const results: Record<string, unknown>[] = [];
    for (let round = 0; round < 3; round++) {
      const nextHour = await time(() => forecast.forecast(tenant.id, { from, to: hour, stepSeconds: 60 }));
      const nextDay = await time(() => forecast.forecast(tenant.id, { from, to: day, stepSeconds: 60 }));
      const fleetDay = await time(() => forecast.forecast(null, { from, to: day, stepSeconds: 60 }));
      results.push({
        round,
        hourMs: nextHour.ms,
        hourRuns: runs(nextHour.value),
        dayMs: nextDay.ms,
        dayRuns: runs(nextDay.value),
        fleetDayMs: fleetDay.ms,
      });
    }
    const memory = process.memoryUsage();
    await store.close();
    const report = {
      bench: 'forecast',
      date: new Date().toISOString(),
      node: process.version,
      schedules: SCHEDULES,
      specs: SPECS,
      groups: tenantGroups.value.length,
      seedMs,
      listScheduleLoadTenantMs: tenantGroups.ms,
      listScheduleLoadFleetMs: fleetGroups.ms,
      rounds: results,
      rssMb: mb(memory.rss),
      rssGrowthMb: mb(memory.rss - rssBefore),
      heapUsedMb: mb(memory.heapUsed),
    };
    console.log(JSON.stringify(report, null, 2));
    mkdirSync('bench/results', { recursive: true });
    const file = `bench/results/forecast-${SCHEDULES >= 1e6 ? `${SCHEDULES / 1e6}m` : `${SCHEDULES / 1e3}k`}-${report.date.slice(0, 10)}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
