// Scheduler nodes share the partitions by leases held in the store: (partition, owner, epoch, expiry), with
// the fair share decided by src/core/lease-share.ts. Every engine write carries the epoch (fire-store.ts).

/** A scheduler node's hold on one partition; every write for the partition carries its epoch. */
export interface PartitionLease {
  partition: number;
  epoch: number;
}

export interface LeaseRound {
  /** The scheduler node. */
  owner: string;
  partitionCount: number;
  ttlMs: number;
  now: number;
}

export interface PartitionLeaseStore {
  /**
   * One lease round for a scheduler node, in one transaction: the node is recorded as a live member until
   * now + ttl; it renews the leases it holds, gives back those beyond its fair share (partitionCount ÷ live
   * members, rounded up; highest partitions first), and takes free or expired partitions up to that share,
   * each taken one with a new epoch. Returns every lease it holds after the round.
   *
   * Concurrency: rounds (and releases) of every node, in any process, are serialized: each reads the members
   * and leases and writes its plan as if alone. So there are never two unexpired leases on one partition: a
   * round takes a partition only if it is free, given back, or expired at `round.now`. Each take raises the
   * partition's epoch above every epoch it had, whoever held it; a renewal and a give-back keep it (a lease row
   * is never deleted, so no epoch is used twice). Expiry is judged against one clock for every node of a
   * deployment: `round.now` on a store in one host's process (SQLite), the database server's clock on a
   * networked store (PostgreSQL's default; `now` then only serves tests that move time by hand).
   */
  syncPartitionLeases(round: LeaseRound): Promise<PartitionLease[]>;
  /**
   * Gives back every lease of the node and its membership (a graceful stop): others take them at once.
   * Serialized with the rounds; the epochs stay, so a taker's is higher.
   */
  releasePartitionLeases(owner: string): Promise<void>;
}
