// Every Store adapter the contract suite runs against. Each factory makes a fresh, empty store for one test
// and knows how to remove whatever that store left behind. HOURGLASS_TEST_STORES (comma-separated names)
// narrows the list, e.g. to skip PostgreSQL where no server is running.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { Store } from '../../src/ports/store.js';

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

const ALL_FACTORIES: readonly StoreFactory[] = [sqlite];

const selected = process.env.HOURGLASS_TEST_STORES?.split(',').map((name) => name.trim());

export const STORE_FACTORIES: readonly StoreFactory[] = selected
  ? ALL_FACTORIES.filter((factory) => selected.includes(factory.name))
  : ALL_FACTORIES;

/** For tests whose subject is not the plan's job limit. */
export const NO_JOB_LIMIT = Number.MAX_SAFE_INTEGER;
