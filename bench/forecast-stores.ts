// The stores bench/forecast runs on, SQLite on a file and PostgreSQL in a database of its own, each with: a
// bulk seeding of the fleet's schedules (as raw rows, bypassing the forecast counts); a rewind to before the
// migration that added the counts (their table and their change mark dropped), so that reopening the store
// runs that migration's backfill over the seeded schedules; and the read the store made before the counts,
// grouping every live schedule over schedules_forecast (the SQL those adapters had), for comparison.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from '../src/adapters/postgres/postgres-migrations.js';
import {
  SCHEDULE_COLUMNS as PG_COLUMNS,
  scheduleParams,
} from '../src/adapters/postgres/postgres-schedule-rows.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../src/adapters/sqlite/sqlite-migrations.js';
import {
  SCHEDULE_COLUMNS as SQLITE_COLUMNS,
  scheduleToRow,
} from '../src/adapters/sqlite/sqlite-schedule-rows.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import type { Store } from '../src/ports/store.js';
import { createBenchDatabase } from './cluster/postgres-world.js';
import type { BenchFleet } from './forecast-fleet.js';

export interface BenchStore {
  name: 'sqlite' | 'postgres';
  open(): Promise<Store>;
  seed(fleet: BenchFleet, count: number): Promise<void>;
  rewindCounts(): Promise<void>;
  /** The pre-counts read of one tenant (or all, null): the number of groups it returns. */
  groupedRead(tenantId: string | null): Promise<number>;
  destroy(): Promise<void>;
}

const COUNTS_MIGRATION = 'load forecast counts per tenant and timing';
const TIMING = 'kind, cron, timezone, interval_ms, anchor_at, start_at, end_at';
const versionOf = (migrations: readonly { version: number; name: string }[]): number =>
  migrations.find((m) => m.name === COUNTS_MIGRATION)?.version ?? -1;

/** The grouping read of the adapters before the counts (schedules_forecast, then the job's memory). */
const groupedSql = (where: string, indexedBy: string, notPaused: string) => `
  SELECT g.kind, g.cron, g.timezone, g.interval_ms, g.anchor_at, g.start_at, g.end_at,
         j.memory_mb, j.memory_request_mb, SUM(g.n)
  FROM (SELECT ${TIMING}, job_id, COUNT(*) AS n FROM schedules ${indexedBy}
        WHERE ${where} deleted_at IS NULL AND ${notPaused}
        GROUP BY tenant_id, ${TIMING}, job_id) AS g
  JOIN jobs j ON j.id = g.job_id AND j.deleted_at IS NULL
  GROUP BY g.kind, g.cron, g.timezone, g.interval_ms, g.anchor_at, g.start_at, g.end_at,
           j.memory_mb, j.memory_request_mb`;

export function sqliteBenchStore(): BenchStore {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-forecast-'));
  const path = join(dir, 'hourglass.db');
  return {
    name: 'sqlite',
    open: async () => SqliteStore.open(path),
    async seed(fleet, count) {
      const db = new Database(path);
      db.pragma('synchronous = OFF');
      const columns = SQLITE_COLUMNS.split(',').map((c) => c.trim());
      const insert = db.prepare(
        `INSERT INTO schedules (${columns.join(', ')}, change_seq)
         VALUES (${columns.map((c) => `@${c}`).join(', ')}, @change_seq)`,
      );
      const chunk = db.transaction((from: number, to: number) => {
        for (let i = from; i < to; i++)
          insert.run({ ...scheduleToRow(fleet.schedule(i)), change_seq: i + 1 });
      });
      for (let at = 0; at < count; at += 100_000) chunk(at, Math.min(count, at + 100_000));
      db.close();
    },
    async rewindCounts() {
      const db = new Database(path);
      db.exec(`DROP TABLE forecast_load;
        DELETE FROM meta WHERE key = 'forecast_counted_seq';
        DELETE FROM schema_migrations WHERE version = ${versionOf(SQLITE_MIGRATIONS)};
        ANALYZE;`);
      db.close();
    },
    async groupedRead(tenantId) {
      const db = new Database(path, { readonly: true });
      try {
        const indexed = 'INDEXED BY schedules_forecast';
        return tenantId === null
          ? db
              .prepare(groupedSql('', indexed, 'paused = 0'))
              .raw()
              .all().length
          : db
              .prepare(groupedSql('tenant_id = ? AND', indexed, 'paused = 0'))
              .raw()
              .all(tenantId).length;
      } finally {
        db.close();
      }
    },
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function postgresBenchStore(): Promise<BenchStore> {
  const database = await createBenchDatabase('hg_bench_forecast');
  const onDatabase = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  };
  return {
    name: 'postgres',
    open: () => PostgresStore.open({ connectionString: database.url, maintenanceIntervalMs: 0, poolSize: 4 }),
    seed: (fleet, count) =>
      onDatabase(async (client) => {
        const columns = PG_COLUMNS.split(',').map((c) => c.trim());
        await client.query('BEGIN');
        for (let at = 0; at < count; at += 1000) {
          const params: unknown[] = [];
          const tuples: string[] = [];
          for (let i = at; i < Math.min(count, at + 1000); i++) {
            const values = [...scheduleParams(fleet.schedule(i)), i + 1];
            tuples.push(`(${values.map((_, k) => `$${params.length + k + 1}`).join(', ')})`);
            params.push(...values);
          }
          await client.query(
            `INSERT INTO schedules (${columns.join(', ')}, change_seq) VALUES ${tuples.join(', ')}`,
            params,
          );
        }
        await client.query('UPDATE schedule_change_counter SET seq = $1', [count]);
        await client.query('COMMIT');
      }),
    rewindCounts: () =>
      onDatabase(async (client) => {
        await client.query(`DROP TABLE forecast_load;
          ALTER TABLE schedule_change_counter DROP COLUMN counted_seq;
          DELETE FROM schema_migrations WHERE version = ${versionOf(POSTGRES_MIGRATIONS)};`);
        // The visibility map set, so the old read could be the index-only scan it was designed as.
        await client.query('VACUUM ANALYZE schedules');
      }),
    groupedRead: (tenantId) =>
      onDatabase(async (client) => {
        const sql = groupedSql('($1::text IS NULL OR tenant_id = $1) AND', '', 'NOT paused');
        return (await client.query(sql, [tenantId])).rowCount ?? 0;
      }),
    destroy: () => database.drop(),
  };
}
