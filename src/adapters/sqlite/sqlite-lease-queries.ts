// Partition leases and scheduler membership. A lease row exists per partition once someone first took it:
// (owner, epoch, expires_at); owner NULL means given back. A node's round, in one IMMEDIATE transaction:
//
//   member row renewed → own rows renewed (same epoch) → the round's plan (src/core/lease-share.ts, from the
//   live members and every lease row): beyond the fair share the highest given back; below it free or
//   expired partitions taken, lowest first, each with epoch + 1.
//
// The epoch only grows, and only a take raises it, so a node that lost a partition and writes with its old
// epoch is refused (fireTicks, advanceWatermarks check owner and epoch in their own transaction). A node
// whose lease ran out with nobody taking it keeps it at the same epoch on its next round: no one else can
// have written for the partition in between.

import type Database from 'better-sqlite3';
import { planLeaseRound, type LeaseHolding } from '../../core/lease-share.js';
import type { LeaseRound, PartitionLease } from '../../ports/store.js';

export function compileLeaseQueries(db: Database.Database) {
  const upsertMember = db.prepare<[string, number]>(`INSERT INTO scheduler_members (owner, expires_at)
    VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET expires_at = excluded.expires_at`);
  const pruneMembers = db.prepare<[number]>('DELETE FROM scheduler_members WHERE expires_at <= ?');
  const liveMembers = db
    .prepare<[number], number>('SELECT COUNT(*) FROM scheduler_members WHERE expires_at > ?')
    .pluck();
  const allLeases = db.prepare<[], LeaseHolding>(
    'SELECT partition, owner, expires_at AS expiresAt FROM scheduler_leases ORDER BY partition',
  );
  const renew = db.prepare<[number, string]>('UPDATE scheduler_leases SET expires_at = ? WHERE owner = ?');
  const giveBack = db.prepare<[number, string]>(
    'UPDATE scheduler_leases SET owner = NULL, expires_at = 0 WHERE partition = ? AND owner = ?',
  );
  const take = db.prepare<[number, string, number]>(`INSERT INTO scheduler_leases (partition, owner, epoch,
    expires_at) VALUES (?, ?, 1, ?)
    ON CONFLICT (partition) DO UPDATE SET owner = excluded.owner, epoch = epoch + 1,
      expires_at = excluded.expires_at`);
  const heldBy = db.prepare<[string], PartitionLease>(
    'SELECT partition, epoch FROM scheduler_leases WHERE owner = ? ORDER BY partition',
  );
  const releaseAll = db.prepare<[string]>(
    'UPDATE scheduler_leases SET owner = NULL, expires_at = 0 WHERE owner = ?',
  );
  const removeMember = db.prepare<[string]>('DELETE FROM scheduler_members WHERE owner = ?');
  const leaseOf = db.prepare<[number], { owner: string | null; epoch: number }>(
    'SELECT owner, epoch FROM scheduler_leases WHERE partition = ?',
  );

  const sync = db.transaction((round: LeaseRound): PartitionLease[] => {
    const { owner, partitionCount, ttlMs, now } = round;
    const until = now + ttlMs;
    pruneMembers.run(now);
    upsertMember.run(owner, until);
    const liveNodes = liveMembers.get(now) ?? 1;
    renew.run(until, owner);

    const plan = planLeaseRound({ owner, partitionCount, liveNodes, now, leases: allLeases.all() });
    for (const partition of plan.giveBack) giveBack.run(partition, owner);
    for (const partition of plan.take) take.run(partition, owner, until);
    return heldBy.all(owner);
  });

  const release = db.transaction((owner: string): void => {
    releaseAll.run(owner);
    removeMember.run(owner);
  });

  return {
    syncPartitionLeases: (round: LeaseRound): PartitionLease[] => sync.immediate(round),
    releasePartitionLeases: (owner: string): void => release.immediate(owner),
    /** The fence of every engine write, run inside that write's transaction. */
    holds(owner: string, lease: PartitionLease): boolean {
      const row = leaseOf.get(lease.partition);
      return row !== undefined && row.owner === owner && row.epoch === lease.epoch;
    },
  };
}

export type LeaseQueries = ReturnType<typeof compileLeaseQueries>;
