// Partition leases and scheduler membership. A lease row exists per partition once someone first took it:
// (owner, epoch, expires_at); owner NULL means given back. A node's round, in one transaction:
//
//   round lock → expired members pruned → member row renewed → own rows renewed (same epoch) → the round's
//   plan (src/core/lease-share.ts, from the live members and every lease row): beyond the fair share the
//   highest given back; below it free or expired partitions taken, lowest first, each with epoch + 1.
//
// Several scheduler processes run rounds at once, so a round first takes the store-wide lease-round lock
// (postgres-locks.ts): it reads and writes as if alone, as on SQLite. The take is conditional as well — it
// replaces a lease only if it is free or expired, and raises the epoch of exactly the row it replaces — so
// even a round that did not hold the lock could never leave two unexpired leases on one partition, nor reuse
// an epoch. Fencing: fireTicks and advanceWatermarks lock their partitions' lease rows FOR UPDATE and check
// owner and epoch in their own transaction, so a take waits for a firing in flight, a firing after a take
// sees the new owner and writes nothing, and two firings of one partition (a batch retried while its first
// try still runs) take turns rather than decide overlap policies at once.
//
// Time: expiry is judged by the database's clock (leaseClock `database`, the default): each round reads the
// server's clock once it holds the round lock and uses it for `now` in everything above — members' and
// leases' expiry, and the new expiry (now + ttl). Scheduler hosts whose clocks disagree still agree on when a
// silent node's partitions move. With leaseClock `caller` the round's own `now` is used instead, as on SQLite
// (one host, one clock), which tests use to move time by hand. The epoch fence is what keeps an ex-owner from
// writing whatever the clocks say; the clocks only decide when a silent node's partitions move.

import { planLeaseRound, type LeaseHolding } from '../../core/lease-share.js';
import type { LeaseRound, PartitionLease } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { lockLeaseRound } from './postgres-locks.js';
import type { LeaseClock } from './postgres-options.js';

/** The server's clock in epoch milliseconds; clock_timestamp(), not now(): the lock may have been waited for. */
async function databaseNow(sql: Sql): Promise<number> {
  const row = await sql.first<{ now: number }>(
    'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now',
  );
  return Number(row?.now);
}

/** In a transaction. */
export async function syncPartitionLeases(
  sql: Sql,
  round: LeaseRound,
  clock: LeaseClock,
): Promise<PartitionLease[]> {
  const { owner, partitionCount, ttlMs } = round;
  await lockLeaseRound(sql);
  const now = clock === 'database' ? await databaseNow(sql) : round.now;
  const until = now + ttlMs;
  await sql.changes('DELETE FROM scheduler_members WHERE expires_at <= $1', [now]);
  await sql.changes(
    `INSERT INTO scheduler_members (owner, expires_at) VALUES ($1, $2)
     ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at`,
    [owner, until],
  );
  const live = await sql.first<{ n: number }>(
    'SELECT COUNT(*) AS n FROM scheduler_members WHERE expires_at > $1',
    [now],
  );
  // Every lease row, locked in partition order before any is written: a firing holds some of them FOR
  // SHARE, and taking them in one order is what keeps the round and the firing from deadlocking. (The plan
  // never counts the node's own rows as free, so reading them before their renewal changes nothing.)
  const leases = await sql.rows<LeaseHolding>(
    'SELECT partition, owner, expires_at AS "expiresAt" FROM scheduler_leases ORDER BY partition FOR UPDATE',
  );
  await sql.changes('UPDATE scheduler_leases SET expires_at = $1 WHERE owner = $2', [until, owner]);
  const plan = planLeaseRound({ owner, partitionCount, liveNodes: live?.n ?? 1, now, leases });
  if (plan.giveBack.length > 0) {
    await sql.changes(
      `UPDATE scheduler_leases SET owner = NULL, expires_at = 0
       WHERE partition = ANY($1::integer[]) AND owner = $2`,
      [plan.giveBack, owner],
    );
  }
  if (plan.take.length > 0) {
    await sql.changes(
      `INSERT INTO scheduler_leases (partition, owner, epoch, expires_at)
       SELECT partition, $2, 1, $3 FROM unnest($1::integer[]) AS t (partition)
       ON CONFLICT (partition) DO UPDATE
         SET owner = excluded.owner, epoch = scheduler_leases.epoch + 1, expires_at = excluded.expires_at
         WHERE scheduler_leases.owner IS NULL OR scheduler_leases.expires_at <= $4`,
      [plan.take, owner, until, now],
    );
  }
  return sql.rows<PartitionLease>(
    'SELECT partition, epoch FROM scheduler_leases WHERE owner = $1 ORDER BY partition',
    [owner],
  );
}

/** In a transaction: every lease of the node and its membership, given back at once. */
export async function releasePartitionLeases(sql: Sql, owner: string): Promise<void> {
  await lockLeaseRound(sql);
  await sql.rows('SELECT 1 FROM scheduler_leases WHERE owner = $1 ORDER BY partition FOR UPDATE', [owner]);
  await sql.changes('UPDATE scheduler_leases SET owner = NULL, expires_at = 0 WHERE owner = $1', [owner]);
  await sql.changes('DELETE FROM scheduler_members WHERE owner = $1', [owner]);
}

/**
 * The fence of every engine write, inside that write's transaction: locks the lease rows of these
 * partitions FOR UPDATE until it commits (a take waits for it, and so does another firing of them: FOR SHARE
 * would let two decide overlap policies at once), and returns the partitions `owner` holds at the epoch it
 * names; the others are fenced.
 */
export async function lockHeldLeases(
  sql: Sql,
  owner: string,
  leases: readonly PartitionLease[],
): Promise<Set<number>> {
  if (leases.length === 0) return new Set();
  const rows = await sql.rows<{ partition: number; owner: string | null; epoch: number }>(
    `SELECT partition, owner, epoch FROM scheduler_leases
     WHERE partition = ANY($1::integer[]) ORDER BY partition FOR UPDATE`,
    [leases.map((lease) => lease.partition)],
  );
  const byPartition = new Map(rows.map((row) => [row.partition, row]));
  const current = new Set<number>();
  for (const lease of leases) {
    const row = byPartition.get(lease.partition);
    if (row !== undefined && row.owner === owner && row.epoch === lease.epoch) current.add(lease.partition);
  }
  return current;
}

/**
 * For a job's deletion, in its transaction: locks FOR UPDATE the lease rows of the partitions of the job's
 * live schedules (made, unowned at epoch 0, for a partition never taken, so there is a row to lock), in
 * partition order. A firing of those partitions holds them too: the deletion waits for it to commit,
 * and so sees, and cancels, every run it fired (postgres-fire-queries.ts).
 */
export async function lockPartitionsOfJob(sql: Sql, tenantId: string, jobId: string): Promise<void> {
  const ofJob = 'SELECT partition FROM schedules WHERE tenant_id = $1 AND job_id = $2 AND deleted_at IS NULL';
  await sql.changes(
    `INSERT INTO scheduler_leases (partition, owner, epoch, expires_at)
     SELECT DISTINCT partition, NULL, 0, 0 FROM (${ofJob}) AS s
     ON CONFLICT (partition) DO NOTHING`,
    [tenantId, jobId],
  );
  await sql.rows(
    `SELECT partition FROM scheduler_leases WHERE partition IN (${ofJob}) ORDER BY partition FOR UPDATE`,
    [tenantId, jobId],
  );
}
