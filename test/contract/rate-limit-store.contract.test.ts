// The RateLimitStore contract (src/ports/store/rate-limit-store.ts), run against every adapter in
// STORE_FACTORIES: a key's burst at once and then refusals saying how long to wait, tokens back at the rate,
// refusals that write nothing, keys apart, the limit of each take applied at once, and the state kept across
// a reopen in one row per key. Time is real (an adapter may judge by its database's clock, so a test cannot
// drive it): the rates are either tiny (nothing refills during a test) or fast enough to wait for. The races
// of takes from two connections and two processes are with the other concurrency races
// (store-concurrency.contract.test.ts, sqlite-store-processes.test.ts).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { RateLimitStore } from '../../src/ports/store.js';
import {
  createPostgresDatabase,
  POSTGRES_SKIP,
  postgresUrlOf,
  STORE_FACTORIES,
} from '../support/store-factories.js';
import { withStore } from './store-fixtures.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const newKey = () => `runs/ten_${randomBytes(6).toString('hex')}`;
/** Nothing refills during a test: one token every 1000 s. */
const SLOW = 0.001;

async function take(store: RateLimitStore, key: string, perSecond: number, burst: number) {
  return store.takeRateToken(key, { perSecond, burst }, Date.now());
}

async function takeMany(store: RateLimitStore, key: string, n: number, perSecond: number, burst: number) {
  const allowed: boolean[] = [];
  for (let i = 0; i < n; i++) allowed.push((await take(store, key, perSecond, burst)).allowed);
  return allowed;
}

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: RateLimitStore) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`RateLimitStore contract (${factory.name})`, () => {
    test('allows a burst at once, then refuses with the time until the next token', async (store) => {
      const key = newKey();
      assert.deepEqual(await takeMany(store, key, 3, SLOW, 3), [true, true, true]);
      const refused = await take(store, key, SLOW, 3);
      assert.equal(refused.allowed, false);
      // One token's worth of time (1000 s), less the few ms the test has run.
      assert.ok(
        refused.retryAfterMs > 990_000 && refused.retryAfterMs <= 1_000_000,
        String(refused.retryAfterMs),
      );
      assert.equal((await take(store, key, SLOW, 3)).allowed, false);
    });

    test('gives tokens back at the rate: the wait it answers is enough', async (store) => {
      const key = newKey();
      // 4/s: a token every 250 ms (room for a loaded machine between the wait and the takes after it).
      assert.deepEqual(await takeMany(store, key, 2, 4, 2), [true, true]);
      const refused = await take(store, key, 4, 2);
      assert.equal(refused.allowed, false);
      assert.ok(refused.retryAfterMs >= 1 && refused.retryAfterMs <= 250, String(refused.retryAfterMs));
      await sleep(refused.retryAfterMs + 5);
      assert.deepEqual(await takeMany(store, key, 2, 4, 2), [true, false], 'one token back, not two');
    });

    test('a refused take costs nothing: the token comes when it would have', async (store) => {
      const key = newKey();
      // 10/s: a token every 100 ms.
      assert.equal((await take(store, key, 10, 1)).allowed, true);
      const answeredAt = Date.now();
      // Refusals in a row, within the first 60 ms (a loaded machine may answer fewer): were each to take a
      // token's worth, the next would be hundreds of ms away.
      let refusals = 0;
      while (Date.now() < answeredAt + 60 && refusals < 10) {
        assert.equal((await take(store, key, 10, 1)).allowed, false);
        refusals++;
      }
      assert.ok(refusals >= 2, `${refusals} refusals`);
      await sleep(answeredAt + 110 - Date.now());
      assert.equal((await take(store, key, 10, 1)).allowed, true);
    });

    test('keys are apart: one exhausted does not limit another', async (store) => {
      const a = newKey();
      const b = newKey();
      assert.deepEqual(await takeMany(store, a, 3, SLOW, 2), [true, true, false]);
      assert.deepEqual(await takeMany(store, b, 3, SLOW, 2), [true, true, false]);
      assert.equal((await take(store, a, SLOW, 2)).allowed, false);
    });

    test('applies the limit each take names: a raised burst at once', async (store) => {
      const key = newKey();
      assert.deepEqual(await takeMany(store, key, 2, SLOW, 1), [true, false]);
      assert.deepEqual(await takeMany(store, key, 5, SLOW, 5), [true, true, true, true, false]);
      // Lowered again, below what the larger burst lent: the debt beyond the smaller bucket is not kept
      // (core/rate-limit.ts): one token, then the wait for the next at the plan's rate.
      assert.deepEqual(await takeMany(store, key, 2, SLOW, 1), [true, false]);
      const refused = await take(store, key, SLOW, 1);
      assert.equal(refused.allowed, false);
      assert.ok(
        refused.retryAfterMs > 900_000 && refused.retryAfterMs <= 1_000_001,
        String(refused.retryAfterMs),
      );
    });
  });

  it(`RateLimitStore contract (${factory.name}): the state outlives the connection`, async () => {
    const location = await factory.createLocation();
    const key = newKey();
    try {
      const first = await location.open();
      assert.deepEqual(await takeMany(first.store, key, 2, SLOW, 1), [true, false]);
      await first.store.close();
      const second = await location.open();
      try {
        assert.equal((await take(second.store, key, SLOW, 1)).allowed, false);
      } finally {
        await second.store.close();
      }
    } finally {
      await location.destroy();
    }
  });
}

/** Many takes of a few keys, then the number of rows the store holds for them. */
async function rowsAfterTakes(store: RateLimitStore, count: () => Promise<number>): Promise<number> {
  for (const key of ['runs/ten_a', 'runs/ten_b']) {
    for (let i = 0; i < 50; i++) await take(store, key, 1000, 10);
  }
  return count();
}

describe('rate-limit rows: one per key, updated in place', () => {
  it('on SQLite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hourglass-rate-rows-'));
    const path = join(dir, 'hourglass.db');
    const store = SqliteStore.open(path);
    try {
      const rows = await rowsAfterTakes(store, async () => {
        const db = new Database(path, { readonly: true });
        try {
          return db.prepare<[], number>('SELECT COUNT(*) FROM rate_limits').pluck().get() ?? -1;
        } finally {
          db.close();
        }
      });
      assert.equal(rows, 2);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('on PostgreSQL', { skip: POSTGRES_SKIP }, async () => {
    const database = await createPostgresDatabase();
    const url = postgresUrlOf(database.name);
    const store = await PostgresStore.open({
      connectionString: url,
      partitionDaysAhead: 1,
      maintenanceIntervalMs: 0,
    });
    try {
      const rows = await rowsAfterTakes(store, async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          const result = await client.query<{ n: string }>('SELECT COUNT(*) AS n FROM rate_limits');
          return Number(result.rows[0]?.n);
        } finally {
          await client.end();
        }
      });
      assert.equal(rows, 2);
    } finally {
      await store.close();
      await database.drop();
    }
  });
});
