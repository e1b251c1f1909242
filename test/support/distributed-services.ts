// What the tests of the distributed mode share: whether PostgreSQL answers, a fresh database per test, and
// the removal of a NATS namespace's stream. NATS's own reachability is in hint-factories.ts.

import pg from 'pg';
import { NATS_URL } from './hint-factories.js';

export const POSTGRES_ADMIN_URL =
  process.env['HOURGLASS_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Whether PostgreSQL answers at POSTGRES_ADMIN_URL (asked once per test process). */
export const POSTGRES_AVAILABLE = await (async () => {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
})();

/** The URL of `database` on the same server as POSTGRES_ADMIN_URL. */
export function databaseUrl(database: string): string {
  return `${POSTGRES_ADMIN_URL.replace(/\/[^/]*$/, '')}/${database}`;
}

export async function dropDatabase(database: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function createDatabase(database: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
}

/** Deletes the run stream of a NATS namespace (`--nats-namespace`), if there is one. */
export async function deleteNamespaceStream(namespace: string): Promise<void> {
  const { connect } = await import('nats');
  const connection = await connect({ servers: NATS_URL });
  try {
    const streams = (await connection.jetstreamManager()).streams;
    await streams.delete(`${namespace.toUpperCase().replace(/-/g, '_')}_RUNS`).catch(() => undefined);
  } finally {
    await connection.close();
  }
}
