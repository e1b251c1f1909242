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
import { after } from 'node:test';
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

export interface StoreLocationOptions {
  /**
   * Start from the current schema rather than an empty database, for tests whose subject is not the
   * migrations (the services' tests): on PostgreSQL migrating is most of a new database's cost, so the
   * location is copied from a template migrated once per test process, and its first open applies none.
   * SQLite migrates in milliseconds and ignores this.
   */
  migrated?: boolean;
}

export interface StoreFactory {
  name: string;
  /** A durable location with no data in it yet. */
  createLocation(options?: StoreLocationOptions): Promise<DurableStoreLocation>;
}

/** SQLite on a file: what tests whose subject is not the store use (also where it is selected out). */
export const SQLITE_STORE: StoreFactory = {
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

/**
 * A new database, empty or a copy of `template`; its name is random and quoted nowhere (letters, digits and _
 * only).
 */
export async function createPostgresDatabase(
  template?: string,
): Promise<{ name: string; drop(): Promise<void> }> {
  const name = `hg_test_${randomBytes(8).toString('hex')}`;
  const from = template === undefined ? '' : ` TEMPLATE ${template}`;
  await onPostgresServer((client) => client.query(`CREATE DATABASE ${name}${from}`));
  return {
    name,
    drop: () =>
      onPostgresServer((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => {},
      ),
  };
}

function openPostgresStore(database: string): Promise<PostgresStore> {
  return PostgresStore.open({
    connectionString: postgresUrlOf(database),
    // A test store makes few partitions and runs no maintenance timer of its own.
    partitionDaysAhead: 1,
    maintenanceIntervalMs: 0,
    poolSize: 4,
    // Tests move time by hand through the port's `now`; the database clock has a test of its own
    // (postgres-lease-clock.test.ts).
    leaseClock: 'caller',
  });
}

/** The migrated template of this process (made at its first use), dropped when the process's tests end. */
let migratedTemplate: Promise<{ name: string; drop(): Promise<void> }> | null = null;

function migratedTemplateName(): Promise<string> {
  migratedTemplate ??= (async () => {
    const database = await createPostgresDatabase();
    // Closed before any copy: PostgreSQL copies only a database nobody is connected to.
    await (await openPostgresStore(database.name)).close();
    return database;
  })();
  return migratedTemplate.then((database) => database.name);
}

after(async () => {
  if (migratedTemplate !== null) await (await migratedTemplate).drop();
});

const postgres: StoreFactory = {
  name: 'postgres',
  async createLocation(options = {}) {
    const database = await createPostgresDatabase(
      options.migrated === true ? await migratedTemplateName() : undefined,
    );
    return {
      async open() {
        const store = await openPostgresStore(database.name);
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

const ALL_FACTORIES: readonly StoreFactory[] =
  POSTGRES_SKIP === false ? [SQLITE_STORE, postgres] : [SQLITE_STORE];

export const STORE_FACTORIES: readonly StoreFactory[] = ALL_FACTORIES.filter((factory) =>
  wanted(factory.name),
);

/** For tests whose subject is not the plan's job limit. */
export const NO_JOB_LIMIT = Number.MAX_SAFE_INTEGER;
