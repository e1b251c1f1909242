// How scheduler nodes divide the partitions: each live node may hold up to its fair share,
// ceil(partitions / live nodes), so together they can always hold every partition (the last node to come
// may find fewer than its share left). In a lease round a node keeps its lowest partitions up to the share
// and gives back the rest, the highest first, so the ones it keeps stay put across rounds; below the share it
// takes partitions nobody holds (never taken, given back, or expired), the lowest first.
//
// Only the decision is here: the store reads the leases, counts the live nodes (itself included) and
// writes the plan in one transaction, raising the epoch of each partition it takes.

/** A partition's lease as the store holds it. */
export interface LeaseHolding {
  partition: number;
  /** null: given back. */
  owner: string | null;
  expiresAt: number;
}

/** The most partitions one of `liveNodes` nodes may hold (a count below one is taken as one). */
export function fairShare(partitionCount: number, liveNodes: number): number {
  return Math.ceil(partitionCount / Math.max(1, liveNodes));
}

export interface LeaseRoundPlan {
  /** This node's partitions beyond its share, in increasing order. */
  giveBack: number[];
  /** Free partitions to take, lowest first, up to the share. */
  take: number[];
}

/**
 * What `owner` gives back and takes in a round at `now`. `leases` is every lease row (any order; partitions
 * without one have never been taken); only partitions below `partitionCount` count.
 */
export function planLeaseRound(round: {
  owner: string;
  partitionCount: number;
  liveNodes: number;
  now: number;
  leases: readonly LeaseHolding[];
}): LeaseRoundPlan {
  const { owner, partitionCount, now } = round;
  const share = fairShare(partitionCount, round.liveNodes);
  const byPartition = new Map(round.leases.map((lease) => [lease.partition, lease]));
  const mine: number[] = [];
  for (let p = 0; p < partitionCount; p++) if (byPartition.get(p)?.owner === owner) mine.push(p);
  const take: number[] = [];
  let missing = share - mine.length;
  for (let p = 0; p < partitionCount && missing > 0; p++) {
    const lease = byPartition.get(p);
    const free = lease === undefined || lease.owner === null || lease.expiresAt <= now;
    if (free && lease?.owner !== owner) {
      take.push(p);
      missing--;
    }
  }
  return { giveBack: mine.slice(share), take };
}
