// Driver errors at the PostgreSQL store's edge, on a real server: a server that cannot be reached is
// HourglassError 'unavailable' (503), not a raw socket error; connections the server killed under a running
// store fail the calls they carried as 'unavailable' (never an uncaught 'error' event: a crash), and the
// store answers again on fresh connections.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresDatabase } from '../../src/adapters/postgres/postgres-database.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { HourglassError } from '../../src/core/errors.js';
import {
  createPostgresDatabase,
  NO_JOB_LIMIT,
  onPostgresServer,
  POSTGRES_SKIP,
  postgresUrlOf,
} from '../support/store-factories.js';
import { makeJob, makeTenant } from './store-fixtures.js';

const POOL_SIZE = 2;

const isUnavailable = (error: unknown) => error instanceof HourglassError && error.code === 'unavailable';

describe('PostgreSQL store: driver errors at the edge', { skip: POSTGRES_SKIP }, () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  before(async () => {
    database = await createPostgresDatabase();
  });
  after(async () => {
    await database?.drop();
  });

  it('a server that cannot be reached is unavailable', async () => {
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    await assert.rejects(
      PostgresStore.open({
        connectionString: 'postgres://postgres@127.0.0.1:1/none',
        maintenanceIntervalMs: 0,
      }),
      isUnavailable,
    );
  });

  it('a transaction whose connection dies between statements fails as unavailable, not as a crash', async () => {
    const db = new PostgresDatabase({
      connectionString: postgresUrlOf(database.name),
      poolSize: 1,
      maxAttempts: 3,
    });
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      const outcome = await db
        .transaction(async (sql) => {
          const me = await sql.first<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          // Killed from another connection while this transaction is between statements: no query is
          // active on it when the server's message and the socket's end arrive.
          await onPostgresServer((client) => client.query('SELECT pg_terminate_backend($1)', [me?.pid]));
          await new Promise((resolve) => setTimeout(resolve, 200));
          await sql.rows('SELECT 1');
        })
        .then(
          () => null,
          (error: unknown) => error,
        );
      assert.ok(isUnavailable(outcome), String(outcome));
      assert.deepEqual(uncaught, []);
      assert.deepEqual(await db.autocommit((sql) => sql.rows('SELECT 1 AS one')), [{ one: 1 }]);
    } finally {
      process.off('uncaughtException', record);
      await db.close();
    }
  });

  it('connections killed under the store fail as unavailable, then the store answers again', async () => {
    const store = await PostgresStore.open({
      connectionString: postgresUrlOf(database.name),
      maintenanceIntervalMs: 0,
      poolSize: POOL_SIZE,
    });
    const tenant = makeTenant();
    await store.createTenant(tenant);
    const raw = new pg.Client({ connectionString: postgresUrlOf(database.name) });
    await raw.connect();
    try {
      await store.setMeta('k', 'v');
      // A call in flight when its connection dies: held on the server by a lock the raw connection holds.
      await raw.query('BEGIN');
      await raw.query("SELECT 1 FROM meta WHERE key = 'k' FOR UPDATE");
      // Its outcome is taken at once, so its rejection is never unhandled while the test waits.
      const inFlight = store.setMeta('k', 'w').then(
        () => null,
        (error: unknown) => error,
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      await raw.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database.name],
      );
      assert.ok(isUnavailable(await inFlight), 'the call in flight is unavailable');
      await raw.query('ROLLBACK');
      // An idle pooled connection killed too may fail one call before the pool notices it died: each call
      // either answers or is unavailable, and one answers within a call per pooled connection.
      let answer: string | null | undefined;
      for (let call = 0; call <= POOL_SIZE && answer === undefined; call++) {
        answer = await store.getMeta('k').catch((error: unknown) => {
          assert.ok(isUnavailable(error), String(error));
          return undefined;
        });
      }
      assert.equal(answer, 'v', 'the killed write did not happen');
      // A transaction's BEGIN on a dead connection is retried on another: it answers at once.
      await store.insertJob(makeJob(tenant.id), NO_JOB_LIMIT);
    } finally {
      await raw.end();
      await store.close();
    }
  });
});
