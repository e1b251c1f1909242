// The PostgreSQL store under concurrent callers: two stores (two pools, as two processes would have) on one
// database race each other, and a raw connection holds a lock open where an interleaving must be forced.
// What each test shows is a mechanism the adapter's header comments claim (postgres-store.ts): fenced
// claims, Idempotency-Keys and plan limits under concurrency, the schedule change sequence in commit order,
// a firing and a job's deletion never interleaving, a tick fired twice at once being one run, and lease
// rounds never leaving two unexpired leases on a partition. PostgreSQL only: SQLite has one writer.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { HourglassError } from '../../src/core/errors.js';
import type { SealedRegistryCredential } from '../../src/core/registry-credential.js';
import type { PartitionLease } from '../../src/ports/store.js';
import { createPostgresDatabase, POSTGRES_SKIP, postgresUrlOf } from '../support/store-factories.js';
import {
  leaseAll,
  makeSchedule,
  NO_SCHEDULE_LIMIT,
  SECOND,
  seedSchedule,
  tickOf,
} from './schedule-fixtures.js';
import { eventTypes, makeJob, makeRun, seedJob, seedRun, tick } from './store-fixtures.js';

const isPlanLimit = (error: unknown) =>
  error instanceof HourglassError && error.code === 'plan_limit_exceeded';

/** Settles to 'pending' if `promise` has not settled within `ms`. */
const stateAfter = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    sleep(ms).then(() => 'pending'),
  ]);

describe('PostgreSQL store: concurrent callers', { skip: POSTGRES_SKIP }, () => {
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let a: PostgresStore;
  let b: PostgresStore;
  /** Two more on the same database, judging lease expiry by its clock as deployments do. */
  let onDatabaseClock: [PostgresStore, PostgresStore];
  let raw: pg.Client;

  before(async () => {
    database = await createPostgresDatabase();
    const options = { connectionString: postgresUrlOf(database.name), maintenanceIntervalMs: 0, poolSize: 6 };
    // Most tests move time by hand (tick()), through the port's `now`.
    a = await PostgresStore.open({ ...options, leaseClock: 'caller' });
    b = await PostgresStore.open({ ...options, leaseClock: 'caller' });
    onDatabaseClock = [
      await PostgresStore.open({ ...options, leaseClock: 'database' }),
      await PostgresStore.open({ ...options, leaseClock: 'database' }),
    ];
    raw = new pg.Client({ connectionString: postgresUrlOf(database.name) });
    await raw.connect();
  });
  after(async () => {
    await raw?.end();
    await a?.close();
    await b?.close();
    for (const store of onDatabaseClock ?? []) await store.close();
    await database?.drop();
  });

  it('of two workers claiming the same runs at once, exactly one gets each', async () => {
    const job = await seedJob(a);
    const runs = await Promise.all(Array.from({ length: 20 }, () => seedRun(a, job)));
    const claims = runs.flatMap((run) => [
      a.claimRun(run.id, 1, 'wrk_a', tick()),
      b.claimRun(run.id, 1, 'wrk_b', tick()),
    ]);
    const claimed = (await Promise.all(claims)).filter((c) => c !== null);
    assert.equal(claimed.length, runs.length);
    assert.deepEqual(new Set(claimed.map((c) => c.run.id)).size, runs.length);
    for (const run of runs) assert.deepEqual(await eventTypes(a, run.id), ['created', 'claimed']);
  });

  it('an Idempotency-Key raced from two stores makes one run, and every caller gets it', async () => {
    const job = await seedJob(a);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).insertRun({ run: makeRun(job, { idempotencyKey: 'k' }), requestHash: 'h' }),
      ),
    );
    assert.equal(results.filter((r) => r.inserted).length, 1);
    assert.equal(new Set(results.map((r) => r.run.id)).size, 1);
    const listed = await a.listRuns(job.tenantId, { limit: 100 });
    assert.equal(listed.items.length, 1);
  });

  it('plan limits hold for jobs and registry logins inserted at once from two stores', async () => {
    const job = await seedJob(a);
    const jobResults = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).insertJob(makeJob(job.tenantId), 6)),
    );
    assert.equal(jobResults.filter((r) => r.status === 'fulfilled').length, 5, 'one was there already');
    for (const r of jobResults) if (r.status === 'rejected') assert.ok(isPlanLimit(r.reason));

    const login = (n: number): SealedRegistryCredential => ({
      tenantId: job.tenantId,
      host: `r${n}.example`,
      username: 'u',
      ciphertext: Buffer.from('x'),
      nonce: Buffer.alloc(12),
      keyId: 'k',
      createdAt: n,
      updatedAt: n,
    });
    const loginResults = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).putRegistryCredential(login(i), 4)),
    );
    assert.equal(loginResults.filter((r) => r.status === 'fulfilled').length, 4);
    assert.equal((await a.listRegistryCredentials(job.tenantId)).length, 4);
  });

  it('a schedule change waits for one in flight: the sequence is taken in commit order', async () => {
    const job = await seedJob(a);
    const before = await a.latestScheduleChange();
    // An in-flight change: the counter row locked by a transaction that has not committed.
    await raw.query('BEGIN');
    await raw.query('SELECT seq FROM schedule_change_counter FOR UPDATE');
    const insert = a.insertSchedule(makeSchedule(job), NO_SCHEDULE_LIMIT);
    try {
      assert.equal(await stateAfter(insert, 300), 'pending');
    } finally {
      await raw.query('ROLLBACK');
    }
    await insert;
    assert.equal(await a.latestScheduleChange(), before + 1, 'no number lost to the rolled-back one');
  });

  it('a reader following the change sequence never sees a later change before an earlier one', async () => {
    const job = await seedJob(a);
    let last = await a.latestScheduleChange();
    const target = last + 40;
    let writing = true;
    const writers = Promise.all(
      [a, b].map(async (store) => {
        for (let i = 0; i < 20; i++) await store.insertSchedule(makeSchedule(job), NO_SCHEDULE_LIMIT);
      }),
    ).finally(() => (writing = false));
    // Each schedule changes once, so a reader that sees a gap has seen a number before an earlier one.
    for (;;) {
      // Sampled before the read: once the writers were done, the read sees every change they made.
      const done = !writing;
      const changes = await b.listScheduleChanges([0], last, 100);
      for (const change of changes) assert.equal(change.changeSeq, ++last, 'changes are read in order');
      if (done && changes.length === 0) break;
    }
    await writers;
    assert.equal(last, target);
  });

  it("a job's deletion waits for a firing of its schedules' partition in flight", async () => {
    const job = await seedJob(a);
    await seedSchedule(a, job, { partition: 3 });
    await leaseAll(a, 'node-fire', 3);
    // A firing in flight: the partition's lease row locked FOR SHARE, as fireTicks does first.
    await raw.query('BEGIN');
    await raw.query('SELECT 1 FROM scheduler_leases WHERE partition = 3 FOR SHARE');
    const deletion = a.deleteJob(job.tenantId, job.id, tick());
    try {
      assert.equal(await stateAfter(deletion, 300), 'pending');
    } finally {
      await raw.query('ROLLBACK');
    }
    assert.equal((await deletion).schedules.length, 1);
    await a.releasePartitionLeases('node-fire');
  });

  it('a firing racing the deletion of its job leaves no queued run behind', async () => {
    const lease = await leaseAll(a, 'node-a', 0);
    for (let i = 0; i < 15; i++) {
      const job = await seedJob(a);
      const schedule = await seedSchedule(a, job, { partition: 0 });
      const t = tickOf(schedule, Date.UTC(2026, 0, 1) + i * SECOND);
      await Promise.all([
        a.fireTicks('node-a', [lease], [t], tick()),
        b.deleteJob(job.tenantId, job.id, tick()),
      ]);
      const run = await a.getRun(job.tenantId, t.runId);
      assert.ok(run === null || run.status === 'cancelled', `round ${i}: ${run?.status}`);
    }
  });

  it('a tick fired twice at once is one run', async () => {
    const job = await seedJob(a);
    const lease = await leaseAll(a, 'node-x', 1);
    const schedules = await Promise.all(
      Array.from({ length: 10 }, () => seedSchedule(a, job, { partition: 1 })),
    );
    const ticks = schedules.map((s) => tickOf(s, Date.UTC(2026, 1, 1)));
    const [first, second] = await Promise.all([
      a.fireTicks('node-x', [lease], ticks, tick()),
      b.fireTicks('node-x', [lease], ticks, tick()),
    ]);
    assert.equal(first.queued.length + second.queued.length, ticks.length);
    assert.equal(first.duplicates.length + second.duplicates.length, ticks.length);
    const listed = await a.listRuns(job.tenantId, { limit: 100, jobId: job.id });
    assert.equal(listed.items.length, ticks.length);
  });

  it('lease rounds raced by three nodes take only free or expired leases, each at the next epoch', async () => {
    const PARTITIONS = 16;
    const TTL = 60;
    // Test instrumentation: every write to a lease row, as PostgreSQL applied it, in commit order.
    await raw.query(`CREATE TABLE lease_audit (seq bigserial, partition integer, old_owner text,
      old_epoch bigint, old_expires bigint, new_owner text, new_epoch bigint, new_expires bigint)`);
    await raw.query(`CREATE FUNCTION audit_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      INSERT INTO lease_audit (partition, old_owner, old_epoch, old_expires, new_owner, new_epoch, new_expires)
      VALUES (NEW.partition, OLD.owner, OLD.epoch, OLD.expires_at, NEW.owner, NEW.epoch, NEW.expires_at);
      RETURN NEW; END $$`);
    await raw.query(`CREATE TRIGGER lease_audit AFTER INSERT OR UPDATE ON scheduler_leases
      FOR EACH ROW EXECUTE FUNCTION audit_lease()`);
    const owners = ['race-1', 'race-2', 'race-3'];
    const heldAt = new Map<string, string>(); // `${partition}/${epoch}` → the one owner that held it
    const start = Date.now();
    try {
      await Promise.all(
        owners.map(async (owner, n) => {
          const store = onDatabaseClock[n === 1 ? 1 : 0];
          while (Date.now() - start < 2500) {
            const held: PartitionLease[] = await store.syncPartitionLeases({
              owner,
              partitionCount: PARTITIONS,
              ttlMs: TTL,
              now: Date.now(),
            });
            for (const { partition, epoch } of held) {
              const key = `${partition}/${epoch}`;
              assert.equal(heldAt.get(key) ?? owner, owner, `epoch ${key} has one owner`);
              heldAt.set(key, owner);
            }
            // Now and then a node stalls past its TTL, and its partitions are taken over.
            await sleep(Math.random() < 0.1 ? TTL * 2 : 5);
          }
          await store.releasePartitionLeases(owner);
        }),
      );
      const audit = await raw.query<{
        partition: number;
        old_owner: string | null;
        old_epoch: number | null;
        old_expires: string | null;
        new_owner: string | null;
        new_epoch: number;
        new_expires: string;
      }>('SELECT * FROM lease_audit WHERE partition < $1 ORDER BY seq', [PARTITIONS]);
      let takes = 0;
      for (const row of audit.rows) {
        const where = `partition ${row.partition}: ${row.old_owner}@${row.old_epoch} → ${row.new_owner}@${row.new_epoch}`;
        if (row.new_owner === null || row.new_owner === row.old_owner) {
          assert.equal(row.new_epoch, row.old_epoch, `${where}: a renewal or give-back keeps the epoch`);
          continue;
        }
        takes++;
        if (row.old_epoch === null) {
          assert.equal(Number(row.new_epoch), 1, `${where}: a first take is epoch 1`);
          continue;
        }
        assert.equal(
          Number(row.new_epoch),
          Number(row.old_epoch) + 1,
          `${where}: a take raises the epoch by one`,
        );
        // The taker's now is its new expiry − TTL: the lease it replaced was free, or expired by then.
        const takenAt = Number(row.new_expires) - TTL;
        assert.ok(
          row.old_owner === null || Number(row.old_expires) <= takenAt,
          `${where}: replaced a lease unexpired until ${row.old_expires} at ${takenAt}`,
        );
      }
      assert.ok(takes > PARTITIONS, `the race moved partitions (${takes} takes)`);
    } finally {
      await raw.query('DROP TRIGGER lease_audit ON scheduler_leases');
    }
  });
});
