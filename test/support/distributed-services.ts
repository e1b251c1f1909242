// What the tests of the distributed mode share beyond the store and queue factories: a database of their own
// on the test PostgreSQL server, and the removal of a NATS namespace's stream.

import { NATS_URL } from './queue-factories.js';
import { onPostgresServer, POSTGRES_AVAILABLE, postgresUrlOf } from './store-factories.js';

export { POSTGRES_AVAILABLE };

/** The URL of `database` on the test PostgreSQL server. */
export const databaseUrl = postgresUrlOf;

export async function createDatabase(database: string): Promise<void> {
  await onPostgresServer((client) => client.query(`CREATE DATABASE ${database}`));
}

export async function dropDatabase(database: string): Promise<void> {
  await onPostgresServer((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
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
