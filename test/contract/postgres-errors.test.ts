// Driver errors at the PostgreSQL store's edge, on a real server: a server that cannot be reached is
// HourglassError 'unavailable' (503), not a raw socket error; connections the server killed under a running
// store fail the calls they carried as 'unavailable', and the store answers again on fresh connections.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { HourglassError } from '../../src/core/errors.js';
import { createPostgresDatabase, POSTGRES_SKIP, postgresUrlOf } from '../support/store-factories.js';

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

  it('connections killed under the store fail as unavailable, then the store answers again', async () => {
    const store = await PostgresStore.open({
      connectionString: postgresUrlOf(database.name),
      maintenanceIntervalMs: 0,
      poolSize: 2,
    });
    const raw = new pg.Client({ connectionString: postgresUrlOf(database.name) });
    await raw.connect();
    try {
      await store.setMeta('k', 'v');
      // A call in flight when its connection dies: held on the server by a lock the raw connection holds.
      await raw.query('BEGIN');
      await raw.query("SELECT 1 FROM meta WHERE key = 'k' FOR UPDATE");
      const inFlight = store.setMeta('k', 'w');
      await new Promise((resolve) => setTimeout(resolve, 200));
      await raw.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database.name],
      );
      await assert.rejects(inFlight, isUnavailable);
      await raw.query('ROLLBACK');
      assert.equal(await store.getMeta('k'), 'v', 'the killed write did not happen');
      await store.setMeta('k', 'x');
      assert.equal(await store.getMeta('k'), 'x');
    } finally {
      await raw.end();
      await store.close();
    }
  });
});
