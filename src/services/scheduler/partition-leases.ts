// A scheduler node's leases on partitions. Each round renews what the node holds and takes its fair share
// in one store transaction (PartitionLeaseStore.syncPartitionLeases); the store judges expiry. The node trusts its leases
// only until a safety margin before they could expire, measured on the monotonic clock from the moment the
// round was sent — so a node that is paused, slow or cut off stops firing before anyone else may start.
//
// A node holding fewer than all partitions runs its rounds more often (every CONTEST_ROUND_MS), so that a dead
// node's partitions are taken over within one such round of their leases' expiry.
//
// A partition whose epoch changed between rounds was lost and taken again: another node may have fired in
// between, so it counts as both lost and gained (its schedules are dropped and reloaded).

import type { Clock } from '../../ports/clock.js';
import type { PartitionLeaseStore } from '../../ports/store/partition-lease-store.js';

/** Round interval while other nodes hold partitions: bounds how late an expired lease is taken over. */
const CONTEST_ROUND_MS = 250;

export interface LeaseChange {
  gained: number[];
  lost: number[];
  /** The round failed; `lost` holds everything if the leases may have expired meanwhile. */
  error: unknown;
}

export class PartitionLeases {
  /** Partition → epoch of every lease held and trusted. */
  readonly held = new Map<number, number>();
  private validUntil = -Infinity;
  private nextRoundAt = -Infinity;

  constructor(
    private readonly store: PartitionLeaseStore,
    private readonly clock: Clock,
    private readonly options: { owner: string; partitionCount: number; ttlMs: number },
  ) {}

  /** Whether firing is safe now: the last successful round is recent enough. */
  valid(): boolean {
    return this.held.size > 0 && this.clock.monotonic() < this.validUntil;
  }

  roundDue(): boolean {
    return this.clock.monotonic() >= this.nextRoundAt;
  }

  msUntilRound(): number {
    return Math.max(0, this.nextRoundAt - this.clock.monotonic());
  }

  async round(): Promise<LeaseChange> {
    const { owner, partitionCount, ttlMs } = this.options;
    const sentAt = this.clock.monotonic();
    this.nextRoundAt = sentAt + ttlMs / 3;
    let leases;
    try {
      leases = await this.store.syncPartitionLeases({ owner, partitionCount, ttlMs, now: this.clock.now() });
    } catch (error) {
      this.nextRoundAt = sentAt + ttlMs / 10;
      if (this.clock.monotonic() < this.validUntil) return { gained: [], lost: [], error };
      const lost = [...this.held.keys()];
      this.held.clear();
      return { gained: [], lost, error };
    }
    // Renewed after its leases could have expired (a stall): another node may have fired meanwhile, and the
    // ticks this node slept through must go through the catch-up policy: everything counts as lost and gained.
    const lapsed = this.held.size > 0 && sentAt >= this.validUntil + ttlMs / 5;
    // A fifth of the TTL is kept as margin for clock rate differences and the time to stop a batch.
    this.validUntil = sentAt + ttlMs - ttlMs / 5;
    const next = new Map(leases.map((lease) => [lease.partition, lease.epoch]));
    const lost: number[] = [];
    const gained: number[] = [];
    for (const [partition, epoch] of this.held) {
      if (lapsed || next.get(partition) !== epoch) lost.push(partition);
    }
    for (const [partition, epoch] of next) {
      if (lapsed || this.held.get(partition) !== epoch) gained.push(partition);
    }
    this.held.clear();
    for (const [partition, epoch] of next) this.held.set(partition, epoch);
    if (this.held.size < partitionCount) this.nextRoundAt = sentAt + Math.min(ttlMs / 3, CONTEST_ROUND_MS);
    return { gained, lost, error: null };
  }

  /** Forgets one partition whose writes were fenced: its lease belongs to someone else now. */
  forget(partition: number): void {
    this.held.delete(partition);
  }

  async releaseAll(): Promise<void> {
    this.held.clear();
    this.validUntil = -Infinity;
    await this.store.releasePartitionLeases(this.options.owner);
  }
}
