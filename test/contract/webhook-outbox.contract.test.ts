// The webhook outbox's guarantees under failure and concurrency, on both adapters: a delivery is written in
// the very transaction of the run's status change — when the delivery cannot be written (the table
// sabotaged), the run does not end either (finish, cancel), and a tenant without webhooks never touches the
// table; two connections claiming at once never both hold one delivery; concurrent creations never pass
// maxWebhooks.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { HourglassError } from '../../src/core/errors.js';
import type { Webhook } from '../../src/core/webhook.js';
import type { Store } from '../../src/ports/store.js';
import {
  createPostgresDatabase,
  POSTGRES_SKIP,
  postgresUrlOf,
  STORE_FACTORIES,
  type StoreFactory,
} from '../support/store-factories.js';
import { attemptResult, id, mustGetRun, seedJob, seedRun, seedRunning, tick } from './store-fixtures.js';

const FAR_FUTURE = Date.UTC(2100, 0, 1);

const webhookOf = (tenantId: string): Webhook => ({
  id: id('webhook'),
  tenantId,
  url: 'https://hooks.example.com/',
  events: ['succeeded', 'failed', 'cancelled'],
  jobId: null,
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  createdAt: tick(),
  disabledAt: null,
  disabledReason: null,
});

/** A store, and a raw connection to its database that can make inserts into webhook_deliveries fail. */
interface Sabotageable {
  store: Store;
  breakOutbox(): Promise<void>;
  repairOutbox(): Promise<void>;
  /**
   * Deletes a webhook's row alone, leaving its deliveries: what PostgreSQL's READ COMMITTED can leave when
   * a run ends while its webhook is deleted (the trigger saw the webhook, the delete did not see the row).
   */
  orphan(webhookId: string): Promise<void>;
  deliveriesOf(webhookId: string): Promise<number>;
  close(): Promise<void>;
}

async function sqliteSabotageable(): Promise<Sabotageable> {
  const dir = await mkdtemp(join(tmpdir(), 'hourglass-outbox-'));
  const path = join(dir, 'hourglass.db');
  const store = SqliteStore.open(path);
  const raw = new Database(path);
  return {
    store,
    breakOutbox: async () => {
      raw.exec(`CREATE TRIGGER sabotage BEFORE INSERT ON webhook_deliveries
        BEGIN SELECT RAISE(ABORT, 'the outbox is broken'); END`);
    },
    repairOutbox: async () => {
      raw.exec('DROP TRIGGER sabotage');
    },
    orphan: async (webhookId) => {
      raw.prepare('DELETE FROM webhooks WHERE id = ?').run(webhookId);
    },
    deliveriesOf: async (webhookId) =>
      raw
        .prepare<[string], number>('SELECT COUNT(*) FROM webhook_deliveries WHERE webhook_id = ?')
        .pluck()
        .get(webhookId) ?? 0,
    close: async () => {
      raw.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresSabotageable(): Promise<Sabotageable> {
  const database = await createPostgresDatabase();
  const store = await PostgresStore.open({
    connectionString: postgresUrlOf(database.name),
    partitionDaysAhead: 1,
    maintenanceIntervalMs: 0,
    poolSize: 2,
    leaseClock: 'caller',
  });
  const raw = new pg.Client({ connectionString: postgresUrlOf(database.name) });
  await raw.connect();
  return {
    store,
    // NOT VALID: checked on every new row, whatever the table holds.
    breakOutbox: async () => {
      await raw.query('ALTER TABLE webhook_deliveries ADD CONSTRAINT sabotage CHECK (false) NOT VALID');
    },
    repairOutbox: async () => {
      await raw.query('ALTER TABLE webhook_deliveries DROP CONSTRAINT sabotage');
    },
    orphan: async (webhookId) => {
      await raw.query('DELETE FROM webhooks WHERE id = $1', [webhookId]);
    },
    deliveriesOf: async (webhookId) =>
      Number(
        (await raw.query('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE webhook_id = $1', [webhookId]))
          .rows[0].n,
      ),
    close: async () => {
      await raw.end();
      await store.close();
      await database.drop();
    },
  };
}

const SABOTAGEABLE: { name: string; open: () => Promise<Sabotageable>; skip: false | string }[] = [
  { name: 'sqlite', open: sqliteSabotageable, skip: false },
  { name: 'postgres', open: postgresSabotageable, skip: POSTGRES_SKIP },
];

for (const adapter of SABOTAGEABLE) {
  describe(
    `Webhook outbox (${adapter.name}): one transaction with the status change`,
    { skip: adapter.skip },
    () => {
      it('a run does not end when its delivery cannot be written; it does once it can', async () => {
        const s = await adapter.open();
        try {
          const { store } = s;
          const job = await seedJob(store);
          const webhook = webhookOf(job.tenantId);
          await store.insertWebhook(webhook, 10);
          const running = await seedRunning(store, job);
          const queued = await seedRun(store, job);
          // Another tenant, without a webhook: its runs never write to the outbox.
          const other = await seedJob(store, { name: 'no-hooks' });
          const otherRun = await seedRunning(store, other);
          await s.breakOutbox();
          await assert.rejects(store.finishAttempt(attemptResult(running)));
          await assert.rejects(store.requestCancel(job.tenantId, queued.id, tick()));
          assert.equal(
            (await mustGetRun(store, running)).status,
            'running',
            'the finish was rolled back whole',
          );
          assert.equal(
            (await mustGetRun(store, queued)).status,
            'queued',
            'the cancel was rolled back whole',
          );
          assert.equal(await store.finishAttempt(attemptResult(otherRun)), 'finished');
          await s.repairOutbox();
          assert.equal(await store.finishAttempt(attemptResult(running)), 'finished');
          assert.equal((await store.requestCancel(job.tenantId, queued.id, tick())).state, 'cancelled');
          const page = await store.listDeliveries(job.tenantId, webhook.id, 10);
          assert.deepEqual(
            page?.items.map((d) => [d.runId, d.event]).sort(),
            [
              [running.id, 'succeeded'],
              [queued.id, 'cancelled'],
            ].sort(),
          );
        } finally {
          await s.close();
        }
      });

      it('a delivery left without its webhook is never claimed, and is pruned', async () => {
        const s = await adapter.open();
        try {
          const { store } = s;
          const job = await seedJob(store);
          const gone = webhookOf(job.tenantId);
          await store.insertWebhook(gone, 10);
          const live = { ...webhookOf(job.tenantId), id: id('webhook') };
          await store.insertWebhook(live, 10);
          await store.finishAttempt(attemptResult(await seedRunning(store, job)));
          await s.orphan(gone.id);
          // The orphan is the oldest due (the first made); a claim of one still gets the live webhook's.
          const claimed = await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 60_000, 1);
          assert.deepEqual(
            claimed.map((c) => c.delivery.webhookId),
            [live.id],
          );
          assert.deepEqual(await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 60_000, 10), []);
          assert.equal(await s.deliveriesOf(gone.id), 1);
          await store.pruneDeliveries(FAR_FUTURE, 100);
          assert.equal(await s.deliveriesOf(gone.id), 0, 'pruned');
          assert.equal(await s.deliveriesOf(live.id), 1, 'a pending delivery of a live webhook stays');
        } finally {
          await s.close();
        }
      });
    },
  );
}

/** Two connections to one new database. */
async function withTwoStores(factory: StoreFactory, body: (a: Store, b: Store) => Promise<void>) {
  const location = await factory.createLocation();
  const first = await location.open();
  const second = await location.open();
  try {
    await body(first.store, second.store);
  } finally {
    await first.store.close();
    await second.store.close();
    await location.destroy();
  }
}

for (const factory of STORE_FACTORIES) {
  describe(`Webhook outbox (${factory.name}): two connections`, () => {
    it('claims racing from two connections never hand one delivery to both', () =>
      withTwoStores(factory, async (a, b) => {
        const job = await seedJob(a);
        await a.insertWebhook(webhookOf(job.tenantId), 10);
        for (let i = 0; i < 30; i++) {
          const run = await seedRunning(a, job);
          assert.equal(await a.finishAttempt(attemptResult(run)), 'finished');
        }
        const claimAll = async (store: Store) => {
          const ids: string[] = [];
          for (;;) {
            const claims = await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 60_000, 3);
            if (claims.length === 0) return ids;
            ids.push(...claims.map((c) => c.delivery.id));
          }
        };
        const [fromA, fromB] = await Promise.all([claimAll(a), claimAll(b)]);
        const all = [...fromA, ...fromB];
        assert.equal(new Set(all).size, all.length, 'no delivery claimed twice within its lease');
        assert.equal(all.length, 30);
      }));

    it('concurrent creations never pass maxWebhooks', () =>
      withTwoStores(factory, async (a, b) => {
        const job = await seedJob(a);
        const attempts = Array.from({ length: 24 }, (_, i) =>
          (i % 2 === 0 ? a : b).insertWebhook(webhookOf(job.tenantId), 5).then(
            () => 'created',
            (e: unknown) => {
              assert.ok(e instanceof HourglassError && e.code === 'plan_limit_exceeded', String(e));
              return 'refused';
            },
          ),
        );
        const answers = await Promise.all(attempts);
        assert.equal(answers.filter((x) => x === 'created').length, 5);
        assert.equal((await a.listWebhooks(job.tenantId, 100)).items.length, 5);
      }));
  });
}
