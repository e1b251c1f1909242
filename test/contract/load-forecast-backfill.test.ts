// The migration that adds the load forecast's counts fills them from the schedules already stored: a
// database written before it (schedules sharing specs, paused ones, a deleted one, a job deleted with its
// schedules, jobs of different memory) reads, once migrated, the same counts as a recount of its schedules
// and as the store kept them. The database is taken back to before the migration by dropping its table and
// its record. On SQLite and on PostgreSQL.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from '../../src/adapters/postgres/postgres-migrations.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/adapters/sqlite/sqlite-migrations.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { Store } from '../../src/ports/store.js';
import {
  createPostgresDatabase,
  NO_JOB_LIMIT,
  POSTGRES_SKIP,
  postgresUrlOf,
} from '../support/store-factories.js';
import { countsOf, recount, sorted } from './load-forecast-fixtures.js';
import { makeSchedule, NO_SCHEDULE_LIMIT, SECOND } from './schedule-fixtures.js';
import { makeJob, makeTenant, tick } from './store-fixtures.js';

const NAME = 'load forecast counts per tenant and timing';
const versionOf = (migrations: readonly { version: number; name: string }[]): number => {
  const migration = migrations.find((m) => m.name === NAME);
  assert.ok(migration !== undefined, 'the migration is in the list');
  return migration.version;
};
/** What undoes the migration: its table gone, the index it drops back, its record forgotten. */
const rewind = (version: number) => `
  DROP TABLE forecast_load;
  CREATE INDEX schedules_forecast ON schedules (tenant_id);
  DELETE FROM schema_migrations WHERE version = ${version};`;

/** Two tenants' schedules over a few shared specs; returns the tenants. */
async function seed(store: Store): Promise<string[]> {
  const tenants = [makeTenant(), makeTenant()];
  const every = { kind: 'every', every: '90s', intervalMs: 90 * SECOND, anchorAt: 0 } as const;
  const specs = [{ kind: 'cron', cron: '0 */5 * * * *', timezone: 'UTC' } as const, every];
  for (const tenant of tenants) {
    await store.createTenant(tenant);
    const jobs = [
      makeJob(tenant.id, { resources: { memoryMb: 256 } }),
      makeJob(tenant.id, { resources: { memoryMb: 2048, memoryRequestMb: 1500 } }),
      makeJob(tenant.id, { resources: { memoryMb: 512 } }),
    ];
    for (const job of jobs) await store.insertJob(job, NO_JOB_LIMIT);
    for (let i = 0; i < 24; i++) {
      const job = jobs[i % jobs.length];
      const spec = specs[i % specs.length];
      if (job === undefined || spec === undefined) continue;
      const schedule = makeSchedule(job, { spec, paused: i % 7 === 0, endAt: i % 5 === 0 ? 1e13 : null });
      await store.insertSchedule(schedule, NO_SCHEDULE_LIMIT);
      if (i % 11 === 0) await store.deleteSchedule(tenant.id, schedule.id, tick());
    }
    const [, , deleted] = jobs;
    if (deleted !== undefined) await store.deleteJob(tenant.id, deleted.id, tick());
  }
  return tenants.map((tenant) => tenant.id);
}

/** Seeds, reads the counts, takes the database back before the migration, reopens and reads them again. */
async function checkBackfill(
  open: () => Promise<Store & { migrationsApplied: readonly number[] }>,
  rewindDatabase: () => Promise<void>,
  version: number,
): Promise<void> {
  let store = await open();
  const tenants = await seed(store);
  const kept = await Promise.all(
    tenants.map(async (t) => sorted(countsOf(await store.listScheduleLoad(t, 0)))),
  );
  await store.close();
  await rewindDatabase();
  store = await open();
  try {
    assert.deepEqual(store.migrationsApplied, [version]);
    for (const [i, tenantId] of tenants.entries()) {
      const filled = sorted(countsOf(await store.listScheduleLoad(tenantId, 0)));
      assert.ok(filled.length > 0, 'there is something to count');
      assert.deepEqual(filled, sorted(await recount(store, tenantId)));
      assert.deepEqual(filled, kept[i]);
    }
  } finally {
    await store.close();
  }
}

describe('load forecast counts: the migration fills them from the stored schedules', () => {
  it('on SQLite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-backfill-'));
    const path = join(dir, 'hourglass.db');
    const version = versionOf(SQLITE_MIGRATIONS);
    try {
      await checkBackfill(
        async () => SqliteStore.open(path),
        async () => {
          const db = new Database(path);
          db.exec(rewind(version));
          db.close();
        },
        version,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL', { skip: POSTGRES_SKIP }, async () => {
    const database = await createPostgresDatabase();
    const url = postgresUrlOf(database.name);
    const version = versionOf(POSTGRES_MIGRATIONS);
    try {
      await checkBackfill(
        () => PostgresStore.open({ connectionString: url, maintenanceIntervalMs: 0, poolSize: 2 }),
        async () => {
          const raw = new pg.Client({ connectionString: url });
          await raw.connect();
          await raw.query(rewind(version));
          await raw.end();
        },
        version,
      );
    } finally {
      await database.drop();
    }
  });
});
