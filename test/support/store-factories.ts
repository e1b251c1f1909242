// Every Store adapter the contract suite runs against. Each factory makes a fresh, empty store for one test
// and knows how to remove whatever that store left behind. HOURGLASS_TEST_STORES (comma-separated names)
// narrows the list, e.g. to `sqlite` alone.
//
// PostgreSQL: the server at HOURGLASS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres);
// each location is a database of its own (hg_test_<random>), dropped by destroy(). When the server cannot be
// reached the factory is left out — unless services are required (HOURGLASS_REQUIRE_SERVICES=1) or
// HOURGLASS_TEST_STORES names postgres, where that is a failure (skipUnless, required-services.ts).

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { Store } from '../../src/ports/store.js';
import { skipUnless } from './required-services.js';

export interface OpenedStore {
  store: Store;
  /** How many schema migrations this open applied: all of them on a new database, none after. */
  migrationsApplied: number;
}

/** A database that outlives its connections: open, close and open it again to test durability. */
export interface DurableStoreLocation {
  open(): Promise<OpenedStore>;
  /** Removes the database; every store opened on it must be closed first. */
  destroy(): Promise<void>;
}

export interface StoreFactory {
  name: string;
  /** A durable location with nothing in it yet. */
  createLocation(): Promise<DurableStoreLocation>;
}

const sqlite: StoreFactory = {
  name: 'sqlite',
  async createLocation() {
    // A real file rather than ':memory:', so WAL and the -wal/-shm files are exercised too.
    const dir = await mkdtemp(join(tmpdir(), 'hourglass-store-'));
    return {
      async open() {
        const store = SqliteStore.open(join(dir, 'hourglass.db'));
        return { store, migrationsApplied: store.migrationsApplied.length };
      },
      destroy: () => rm(dir, { recursive: true, force: true }),
    };
  },
};

export const POSTGRES_TEST_URL =
  process.env.HOURGLASS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The server's URL with another database in its path. */
export function postgresUrlOf(database: string): string {
  const url = new URL(POSTGRES_TEST_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Runs `work` on the server's own database (the URL's), on a connection of its own. */
export async function onPostgresServer<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_TEST_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database; its name is random and quoted nowhere (letters, digits and _ only). */
export async function createPostgresDatabase(): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `hg_test_${randomBytes(8).toString('hex')}`;
  await onPostgresServer((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    drop: () =>
      onPostgresServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => {},
      ),
  };
}

const postgres: StoreFactory = {
  name: 'postgres',
  async createLocation() {
    const database = await createPostgresDatabase();
    return {
      async open() {
        const store = await PostgresStore.open({
          connectionString: postgresUrlOf(database.name),
          // A test store makes few partitions and runs no maintenance timer of its own.
          partitionDaysAhead: 1,
          maintenanceIntervalMs: 0,
          poolSize: 4,
          // The contract moves time by hand through the port's `now`; the database clock has a test of its
          // own (postgres-lease-clock.test.ts).
          leaseClock: 'caller',
        });
        return { store, migrationsApplied: store.migrationsApplied.length };
      },
      destroy: () => database.drop(),
    };
  },
};

const selected = process.env.HOURGLASS_TEST_STORES?.split(',').map((name) => name.trim());
const wanted = (name: string) => selected === undefined || selected.includes(name);

async function postgresReachable(): Promise<boolean> {
  try {
    await onPostgresServer((client) => client.query('SELECT 1'));
    return true;
  } catch {
    return false;
  }
}

/** Whether PostgreSQL answers at POSTGRES_TEST_URL (asked once per test process). */
export const POSTGRES_AVAILABLE = await postgresReachable();

/** Whether the PostgreSQL tests run here: false, or the reason they are skipped (required-services.ts). */
export const POSTGRES_SKIP: false | string = wanted('postgres')
  ? skipUnless(
      POSTGRES_AVAILABLE,
      `PostgreSQL at ${POSTGRES_TEST_URL}` +
        (selected?.includes('postgres') ? ' (HOURGLASS_TEST_STORES names it)' : ''),
    )
  : 'not in HOURGLASS_TEST_STORES';

if (selected?.includes('postgres') && POSTGRES_SKIP !== false) {
  throw new Error(`HOURGLASS_TEST_STORES names postgres, but ${POSTGRES_SKIP}`);
}

const ALL_FACTORIES: readonly StoreFactory[] = POSTGRES_SKIP === false ? [sqlite, postgres] : [sqlite];

export const STORE_FACTORIES: readonly StoreFactory[] = ALL_FACTORIES.filter((factory) =>
  wanted(factory.name),
);

/** For tests whose subject is not the plan's job limit. */
export const NO_JOB_LIMIT = Number.MAX_SAFE_INTEGER;
