// A PostgreSQL database of its own for the cluster benches: made empty, migrated by PostgresStore.open, seeded
// with tenants, a job each and N schedules of one cron spec written in bulk (copied from one schedule the
// service's own rules made: validating a spec 100,000 times would take longer than the benchmark), and dropped
// at the end.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { SCHEDULE_COLUMNS, scheduleParams } from '../../src/adapters/postgres/postgres-schedule-rows.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { nextFireAfter } from '../../src/core/schedule-time.js';
import { newScheduleBase, partitionOf, timeSpecOf, type Schedule } from '../../src/core/schedule.js';
import { DEFAULT_PLAN_LIMITS } from '../../src/core/tenant.js';
import { applyScheduleInput } from '../../src/services/schedule-input.js';
import { seedTenantAndJob } from '../scheduler/engine-world.js';

export const POSTGRES_URL =
  process.env.HOURGLASS_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function urlOf(database: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

async function onServer(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database (letters, digits and _ only in its name). */
export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  await onServer(`CREATE DATABASE ${name}`);
  return {
    name,
    url: urlOf(name),
    drop: () => onServer(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

export interface SeededSchedules {
  jobs: Job[];
  /** Every schedule's id, partition and version, as the firing path needs them. */
  schedules: Pick<Schedule, 'id' | 'partition' | 'version'>[];
  /** The schedules' first tick (the cron's first after the seeding). */
  firstTick: number;
}

const ROWS_PER_INSERT = 1000;

/**
 * `count` schedules of `cron`, spread round-robin over `tenants` tenants (one job each), with their
 * watermark at the first tick after `firstAfter()`.
 */
export async function seedSchedules(
  store: PostgresStore,
  url: string,
  options: { tenants: number; count: number; cron: string; firstAfter?: () => number },
): Promise<SeededSchedules> {
  const now = Date.now();
  const jobs: Job[] = [];
  for (let t = 0; t < options.tenants; t++) jobs.push((await seedTenantAndJob(store, now)).job);
  const templateOf = (job: Job) =>
    applyScheduleInput(
      {
        ...newScheduleBase({ id: '', tenantId: job.tenantId, jobId: job.id, partition: 0 }, now),
        spec: null,
      },
      { cron: options.cron, timezone: 'UTC' },
      DEFAULT_PLAN_LIMITS,
      now,
    );
  const templates = jobs.map(templateOf);
  const columns = SCHEDULE_COLUMNS.split(',').map((c) => c.trim());
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const schedules: SeededSchedules['schedules'] = [];
  try {
    await client.query('BEGIN');
    for (let at = 0; at < options.count; at += ROWS_PER_INSERT) {
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (let i = at; i < Math.min(options.count, at + ROWS_PER_INSERT); i++) {
        const id = newId('schedule', now, randomBytes);
        const schedule: Schedule = {
          ...(templates[i % templates.length] as Schedule),
          id,
          partition: partitionOf(id),
        };
        schedules.push({ id, partition: schedule.partition, version: schedule.version });
        const values = [...scheduleParams(schedule), i + 1];
        tuples.push(`(${values.map((_, k) => `$${params.length + k + 1}`).join(', ')})`);
        params.push(...values);
      }
      await client.query(
        `INSERT INTO schedules (${columns.join(', ')}, change_seq) VALUES ${tuples.join(', ')}`,
        params,
      );
    }
    // The change sequence goes on from the last seeded schedule, as if the service had made them.
    await client.query('UPDATE schedule_change_counter SET seq = $1', [options.count]);
    const first = nextFireAfter(
      timeSpecOf((templates[0] as Schedule).spec),
      (options.firstAfter ?? Date.now)(),
    );
    if (first === null) throw new Error(`${options.cron} has no tick`);
    await client.query('UPDATE schedules SET next_fire_at = $1', [first]);
    await client.query('COMMIT');
    return { jobs, schedules, firstTick: first };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    await client.end();
  }
}
