// The PostgreSQL store's schema and day partitions, on a real server: a fresh database gets every migration
// and a reopen none; the partitions of today and the next days exist after an open; a run of a day that had
// no partition yet waits in the default partition and moves into its day's when maintenance makes it; and
// maintenance drops a day past the retention, keeps (trimmed) a day that still has a run to do, and forgets
// the expired days' Idempotency-Keys. PostgreSQL only: it is about that schema.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { MIGRATIONS } from '../../src/adapters/postgres/postgres-migrations.js';
import { DAY_MS, partitionName } from '../../src/adapters/postgres/postgres-partitions.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { newQueuedRun, type Run } from '../../src/core/run.js';
import {
  createPostgresDatabase,
  NO_JOB_LIMIT,
  POSTGRES_SKIP,
  postgresUrlOf,
} from '../support/store-factories.js';
import { attemptResult, makeJob, makeTenant } from './store-fixtures.js';

const DAYS_AHEAD = 3;
const RETENTION_DAYS = 30;
const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;

/** A run whose id carries `at` (so it belongs to that day's partition), created then. */
const runAt = (job: Job, at: number, overrides: Partial<Run> = {}): Run => ({
  ...newQueuedRun({
    id: newId('run', at, (n) => randomBytes(n)),
    tenantId: job.tenantId,
    jobId: job.id,
    createdAt: at,
  }),
  ...overrides,
});

describe('PostgreSQL store: migrations and day partitions', { skip: POSTGRES_SKIP }, () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let raw: pg.Client;
  const open = () =>
    PostgresStore.open({
      connectionString: postgresUrlOf(database.name),
      partitionDaysAhead: DAYS_AHEAD,
      retentionDays: RETENTION_DAYS,
      maintenanceIntervalMs: 0,
      poolSize: 2,
    });
  const partitionsOf = async (table: string): Promise<string[]> => {
    const result = await raw.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY 1`,
      [table],
    );
    return result.rows.map((row) => row.name);
  };
  const partitionOfRun = async (runId: string): Promise<string | undefined> => {
    const result = await raw.query<{ name: string }>(
      'SELECT tableoid::regclass::text AS name FROM runs WHERE id = $1',
      [runId],
    );
    return result.rows[0]?.name;
  };
  const seedJob = async (store: PostgresStore): Promise<Job> => {
    const tenant = makeTenant();
    await store.createTenant(tenant);
    const job = makeJob(tenant.id);
    await store.insertJob(job, NO_JOB_LIMIT);
    return job;
  };

  before(async () => {
    database = await createPostgresDatabase();
    raw = new pg.Client({ connectionString: postgresUrlOf(database.name) });
    await raw.connect();
  });
  after(async () => {
    await raw?.end();
    await database?.drop();
  });

  it('a fresh database gets every migration, in order, and a reopen none', async () => {
    const first = await open();
    await first.close();
    assert.deepEqual(
      first.migrationsApplied,
      MIGRATIONS.map((m) => m.version),
    );
    const recorded = await raw.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY 1');
    assert.deepEqual(
      recorded.rows.map((r) => r.version),
      MIGRATIONS.map((m) => m.version),
    );
    const second = await open();
    await second.close();
    assert.deepEqual(second.migrationsApplied, []);
  });

  it('two processes opening a new database at once migrate it once', async () => {
    const other = await createPostgresDatabase();
    try {
      const options = { connectionString: postgresUrlOf(other.name), maintenanceIntervalMs: 0, poolSize: 2 };
      const [a, b] = await Promise.all([PostgresStore.open(options), PostgresStore.open(options)]);
      await Promise.all([a.close(), b.close()]);
      assert.deepEqual(
        [...a.migrationsApplied, ...b.migrationsApplied].sort((x, y) => x - y),
        MIGRATIONS.map((m) => m.version),
      );
    } finally {
      await other.drop();
    }
  });

  it('an open makes the partitions of today and the next days, for runs and their events', async () => {
    const store = await open();
    await store.close();
    const days = Array.from({ length: DAYS_AHEAD + 1 }, (_, i) => today + i * DAY_MS);
    for (const table of ['runs', 'run_events'] as const) {
      const existing = await partitionsOf(table);
      for (const day of days) assert.ok(existing.includes(partitionName(table, day)), `${table} ${day}`);
      assert.ok(existing.includes(`${table}_default`));
    }
  });

  it('a run of a day without a partition waits in the default one, and moves when its day is made', async () => {
    const store = await open();
    try {
      const job = await seedJob(store);
      const later = today + 10 * DAY_MS + 3_600_000;
      const run = runAt(job, later);
      await store.insertRun({ run, requestHash: null });
      assert.ok(await store.claimRun(run.id, 1, 'wrk_a', later));
      assert.equal(await partitionOfRun(run.id), 'runs_default');

      const report = await store.maintainPartitions(later, RETENTION_DAYS);
      assert.ok(report.created.includes(partitionName('runs', today + 10 * DAY_MS)));
      assert.equal(await partitionOfRun(run.id), partitionName('runs', today + 10 * DAY_MS));
      const moved = await store.getRun(job.tenantId, run.id);
      assert.equal(moved?.status, 'running');
      assert.deepEqual(
        (await store.getRunEvents(run.id)).map((e) => e.type),
        ['created', 'claimed'],
      );
      // Maintenance again makes nothing new.
      assert.deepEqual((await store.maintainPartitions(later, RETENTION_DAYS)).created, []);
    } finally {
      await store.close();
    }
  });

  it('maintenance drops a day past retention, and keeps a day that still has a run to do', async () => {
    const store = await open();
    try {
      const job = await seedJob(store);
      const day1 = today + DAY_MS;
      const day2 = today + 2 * DAY_MS;
      // Day 1: only finished runs (one created with an Idempotency-Key). Day 2: one finished, one queued.
      const done = runAt(job, day1 + 1000, { idempotencyKey: 'nightly-1' });
      await store.insertRun({ run: done, requestHash: 'h' });
      const claimed = await store.claimRun(done.id, 1, 'wrk_a', day1 + 2000);
      assert.ok(claimed);
      assert.equal(await store.finishAttempt(attemptResult(claimed.run, { at: day1 + 3000 })), 'finished');
      const finishedLater = runAt(job, day2 + 1000, { status: 'succeeded', finishedAt: day2 + 2000 });
      const waiting = runAt(job, day2 + 1000, { availableAt: day2 + 400 * DAY_MS });
      for (const run of [finishedLater, waiting]) await store.insertRun({ run, requestHash: null });

      // Day 1 is exactly `retention` days old: kept, and day 2 too. (Today's, empty and older, goes.)
      const early = await store.maintainPartitions(day1 + RETENTION_DAYS * DAY_MS, RETENTION_DAYS);
      assert.deepEqual([early.dropped, early.trimmed], [[partitionName('runs', today)], []]);
      assert.equal((await store.getRun(job.tenantId, done.id))?.status, 'succeeded');

      const late = await store.maintainPartitions(day2 + (RETENTION_DAYS + 1) * DAY_MS, RETENTION_DAYS);
      assert.ok(late.dropped.includes(partitionName('runs', day1)), 'day 1 is dropped');
      assert.ok(!(await partitionsOf('runs')).includes(partitionName('runs', day1)));
      assert.ok(!(await partitionsOf('run_events')).includes(partitionName('run_events', day1)));
      assert.equal(await store.getRun(job.tenantId, done.id), null);
      assert.deepEqual(await store.getRunEvents(done.id), []);

      assert.ok(late.trimmed.includes(partitionName('runs', day2)), 'day 2 is kept for its queued run');
      assert.equal(await store.getRun(job.tenantId, finishedLater.id), null);
      assert.equal((await store.getRun(job.tenantId, waiting.id))?.status, 'queued');
      assert.deepEqual(
        (await store.getRunEvents(waiting.id)).map((e) => e.type),
        ['created'],
      );

      // The expired day's Idempotency-Key is forgotten with it: the key makes a new run.
      const again = runAt(job, Date.now(), { idempotencyKey: 'nightly-1' });
      assert.equal((await store.insertRun({ run: again, requestHash: 'h' })).inserted, true);
    } finally {
      await store.close();
    }
  });
});
