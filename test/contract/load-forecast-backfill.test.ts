// The migration that adds the load forecast's counts fills them from the schedules already stored: a
// database written before it (schedules sharing specs, paused ones, a deleted one, a job deleted with its
// schedules, jobs of different memory) reads, once migrated, the same counts as a recount of its schedules
// and as the store kept them. The database is taken back to before the migration by dropping its table and
// its record. Then a schedule write made as a process of the previous version makes it (during a rolling
// upgrade: the schedule and its change number, not the counts) is found by the next read, which rebuilds
// them. On SQLite and on PostgreSQL.

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
/** What undoes the migration: its table (and on PostgreSQL its column) gone, its record forgotten. */
const rewind = (version: number, column = '') => `
  DROP TABLE forecast_load;
  ${column}
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
  writeAsPreviousVersion: (scheduleId: string) => Promise<void>,
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
    const [tenantId] = tenants;
    const [schedule] = (await store.listSchedules(tenantId ?? '', { limit: 1 })).items;
    assert.ok(tenantId !== undefined && schedule !== undefined);
    const before = sorted(countsOf(await store.listScheduleLoad(tenantId, 0)));
    await writeAsPreviousVersion(schedule.id);
    const after = sorted(countsOf(await store.listScheduleLoad(tenantId, 0)));
    assert.notDeepEqual(after, before, 'the write changed what is counted');
    assert.deepEqual(after, sorted(await recount(store, tenantId)));
    // And the writes after the rebuild keep them current.
    await store.deleteSchedule(tenantId, schedule.id, tick());
    assert.deepEqual(
      sorted(countsOf(await store.listScheduleLoad(tenantId, 0))),
      sorted(await recount(store, tenantId)),
    );
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
          db.exec(rewind(version, "DELETE FROM meta WHERE key = 'forecast_counted_seq';"));
          db.close();
        },
        version,
        async (scheduleId) => {
          const db = new Database(path);
          db.prepare(
            `UPDATE schedules SET paused = 1 - paused, version = version + 1,
               change_seq = (SELECT MAX(change_seq) + 1 FROM schedules) WHERE id = ?`,
          ).run(scheduleId);
          db.close();
        },
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
          await raw.query(rewind(version, 'ALTER TABLE schedule_change_counter DROP COLUMN counted_seq;'));
          await raw.end();
        },
        version,
        async (scheduleId) => {
          const raw = new pg.Client({ connectionString: url });
          await raw.connect();
          await raw.query('BEGIN');
          const { rows } = await raw.query<{ seq: string }>(
            'UPDATE schedule_change_counter SET seq = seq + 1 RETURNING seq',
          );
          await raw.query(
            'UPDATE schedules SET paused = NOT paused, version = version + 1, change_seq = $1 WHERE id = $2',
            [rows[0]?.seq, scheduleId],
          );
          await raw.query('COMMIT');
          await raw.end();
        },
      );
    } finally {
      await database.drop();
    }
  });
});
