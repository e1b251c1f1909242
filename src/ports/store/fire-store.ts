// The scheduler engine's writes: firing ticks into runs and moving watermarks, each fenced by the lease of
// the tick's partition (partition-lease-store.ts).

import type { QueueMessage } from '../queue.js';
import type { PartitionLease } from './partition-lease-store.js';

/** One tick to fire, as the engine computed it. */
export interface TickFire {
  scheduleId: string;
  /** The schedule's partition (fixed at its creation): the lease the tick is fenced by. */
  partition: number;
  /** The schedule version it was computed from: a schedule changed since is not fired (see `stale`). */
  version: number;
  nominalTime: number;
  /** Nominal time plus the schedule's jitter: when the run's process should start. */
  dueAt: number;
  /** The watermark after it: the next tick's nominal time, or null when there will be none. */
  nextFireAt: number | null;
  /** scheduledRunId(scheduleId, nominalTime). */
  runId: string;
  /** A missed tick fired late by the catch-up policy (after downtime or a takeover); its timeline says so. */
  late: boolean;
}

/**
 * What a scheduler node vouches for with a batch (see src/core/watermark.ts): in every partition it holds,
 * every tick due at or before `firedThrough` is fired once the batch is, for each schedule whose change
 * sequence is at most `changeSeq` (the changes it has applied).
 */
export interface FiredThrough {
  firedThrough: number;
  changeSeq: number;
}

export interface FireResult {
  /** Partitions whose lease is no longer this owner's at that epoch: nothing was written for their ticks. */
  fenced: number[];
  /** Runs created `queued` and not blocked, in no particular order: to publish now (dispatchedAt is set). */
  queued: QueueMessage[];
  /** Ticks recorded as `skipped` runs by their overlap policy (run ids). */
  skipped: string[];
  /** Runs created waiting for an earlier run of their schedule to end (buffer_one, replace). */
  blocked: string[];
  /** Ticks whose run already existed (fired before): nothing written for them but the watermark. */
  duplicates: string[];
  /** Schedules changed, paused or deleted since the engine computed the tick: not fired; to be reloaded. */
  stale: string[];
  /** Replace policy: the earlier runs cancelled while queued, and those asked to stop while running. */
  cancelled: string[];
  stopping: string[];
}

/** A schedule's watermark moved without firing. */
export interface WatermarkMark {
  scheduleId: string;
  version: number;
  nextFireAt: number | null;
}

export interface FireStore {
  /**
   * Fires ticks of any of the owner's partitions in one transaction (one commit for the whole batch), each
   * fenced by its partition's lease in `leases`: creates each tick's run (ignoring a run id that exists) as its
   * schedule's overlap policy says, and marks queued ones dispatched at `now`. Watermarks move by partition:
   * `through`, when given, becomes the frontier of every partition whose lease is current; a schedule's own
   * watermark is written only when its tick has no next (`nextFireAt` null: the schedule ended). A tick whose
   * partition has no current lease here writes nothing.
   *
   * Concurrency: the lease check holds until the batch commits — no round takes one of its partitions in
   * between — and two batches of one partition (a retry while the first try still runs) do not decide overlap
   * policies at the same time (lock the batch's lease rows FOR UPDATE). A tick fires once: its run id (scheduledRunId) is the run's key, so of concurrent batches
   * with one tick (a retry whose first try committed, two connections of one node, an old and a new owner
   * around a takeover) at most one creates its run; the others report it in `duplicates` (or are fenced),
   * none throws.
   */
  fireTicks(
    owner: string,
    leases: readonly PartitionLease[],
    fires: readonly TickFire[],
    now: number,
    through?: FiredThrough,
  ): Promise<FireResult>;
  /**
   * Moves watermarks without firing (ticks skipped by catch-up, a schedule ended), fenced like fireTicks (the
   * lease check holds until it commits); false, writing nothing, when the lease is no longer (owner, epoch).
   */
  advanceWatermarks(owner: string, lease: PartitionLease, marks: readonly WatermarkMark[]): Promise<boolean>;
}
