// The scheduler engine of one node: it holds leases on partitions (partition-leases.ts), keeps the schedules
// of those partitions in memory (timing-table.ts), and fires their ticks a short lead before they are due, in
// batches, through the store (which creates the runs under ids derived from schedule and tick, fenced by the
// lease epoch) and into the queue. Workers then start each run's process at its due time (pre-dispatch).
//
// Everything that touches the timing table runs on one loop, one step at a time — lease rounds, loading
// and dropping partitions, applying changes, reconciling, firing — so no step sees another half done. Tests
// drive the steps directly with a controlled clock; `start` runs them on the system's time.
//
//   idle ──start──▶ running ──stop──▶ stopped (leases given back)
//
// While running, a node whose lease round fails stops firing before its leases can expire (judged on the
// monotonic clock), and drops its partitions once they have: another node may own them by then.

import { DEFAULT_PRE_DISPATCH_LEAD_MS } from '../../core/run.js';
import { jitterOffsetMs, PARTITION_COUNT, partitionOf, scheduledRunId } from '../../core/schedule.js';
import type { Clock } from '../../ports/clock.js';
import type { QueueMessage, RunQueue } from '../../ports/queue.js';
import type { RunSignals } from '../../ports/run-events.js';
import type { ScheduleChanges } from '../../ports/schedule-changes.js';
import type { FiredThrough, FireResult, FireStore, TickFire } from '../../ports/store/fire-store.js';
import type { PartitionLease, PartitionLeaseStore } from '../../ports/store/partition-lease-store.js';
import type { ScheduleTiming, ScheduleTimingStore } from '../../ports/store/schedule-timing-store.js';
import type { Logger } from '../logger.js';
import { planResume, type ResumePlan } from './catch-up.js';
import { CatchupQueue } from './catch-up-queue.js';
import { PartitionLeases } from './partition-leases.js';
import { sortByRunId } from './run-id-sort.js';
import { SpecTable } from './spec-table.js';
import { TimingTable, type TimingEntry } from './timing-table.js';

export interface SchedulerMetrics {
  /** Ticks fired in one store batch, by what became of them. */
  fired(outcome: 'queued' | 'skipped' | 'blocked' | 'duplicate' | 'stale', count: number): void;
  /** How late a batch was fired, against when its earliest tick was meant to be fired (due − lead). */
  fireDelay(ms: number): void;
  owned(partitions: number, schedules: number): void;
}

/** What the engine needs of the store: its partitions' leases, their schedules' timing, and firing. */
export type SchedulerStore = PartitionLeaseStore & ScheduleTimingStore & FireStore;

export interface SchedulerEngineDeps {
  store: SchedulerStore;
  queue: RunQueue;
  signals: RunSignals;
  changes: ScheduleChanges;
  clock: Clock;
  logger: Logger;
  metrics?: SchedulerMetrics;
}

export interface SchedulerEngineOptions {
  nodeId: string;
  /** Ticks are fired this long before they are due, so a worker can have the process ready. */
  leadMs?: number;
  leaseTtlMs?: number;
  /** Reading the store's change log, the safety net under change events. */
  reconcileIntervalMs?: number;
  /** Most ticks per store transaction. */
  batchSize?: number;
  /**
   * Least time between two firings: ticks due a few ms apart share one batch (one commit) instead of one
   * commit each, at the cost of up to this much of their lead. Default: a quarter of the lead, at most 100 ms.
   */
  fireIntervalMs?: number;
  /** Missed ticks fired per second at most, over all schedules: catching up never becomes a storm. */
  catchupPerSecond?: number;
  /** A tick at most this old when its schedule is loaded is late, not missed: it fires as usual. */
  lateGraceMs?: number;
  partitionCount?: number;
}

type Resolved = Required<SchedulerEngineOptions>;

const LOAD_PAGE = 10_000;
const CHANGES_PAGE = 10_000;
/** Pause after a failed step before the loop tries again. */
const STORE_RETRY_MS = 200;
/** Longest the loop sleeps with nothing due, so lease rounds and reconciliation keep their pace. */
const MAX_IDLE_MS = 250;
/** Batches of regular ticks taken from the heap at once and sorted by run id before they are sent. */
const SORT_WINDOW = 16;

export class SchedulerEngine {
  private readonly options: Resolved;
  private readonly table = new TimingTable();
  private readonly specs = new SpecTable();
  private readonly catchups: CatchupQueue;
  private readonly leases: PartitionLeases;
  private readonly log: Logger;
  /** Schedules whose change events arrived, to reload before the next firing. */
  private readonly pendingChanges = new Set<string>();
  /** Fired ticks the store failed to take: sent again before anything new. */
  private readonly unsent: TickFire[] = [];
  /** Runs written whose publish failed: published first at the next firing. */
  private readonly unpublished: QueueMessage[] = [];
  private changeSeq = 0;
  /** When the last firing that fired something ended (epoch ms). */
  private lastFiredAt = -Infinity;
  private nextReconcileAt = 0;
  private running = false;
  private wake: AbortController = new AbortController();
  private loopDone: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly deps: SchedulerEngineDeps,
    options: SchedulerEngineOptions,
  ) {
    const leaseTtlMs = options.leaseTtlMs ?? 10_000;
    this.options = Object.freeze({
      nodeId: options.nodeId,
      leadMs: options.leadMs ?? DEFAULT_PRE_DISPATCH_LEAD_MS,
      leaseTtlMs,
      reconcileIntervalMs: options.reconcileIntervalMs ?? 5_000,
      batchSize: options.batchSize ?? 2_000,
      fireIntervalMs:
        options.fireIntervalMs ?? Math.min(100, (options.leadMs ?? DEFAULT_PRE_DISPATCH_LEAD_MS) / 4),
      catchupPerSecond: options.catchupPerSecond ?? 10_000,
      lateGraceMs: options.lateGraceMs ?? 1_000,
      partitionCount: options.partitionCount ?? PARTITION_COUNT,
    });
    this.log = deps.logger.child({ role: 'scheduler', nodeId: options.nodeId });
    this.catchups = new CatchupQueue(this.options.catchupPerSecond, () => deps.clock.monotonic());
    this.leases = new PartitionLeases(deps.store, deps.clock, {
      owner: options.nodeId,
      partitionCount: this.options.partitionCount,
      ttlMs: leaseTtlMs,
    });
    this.unsubscribe = deps.changes.on((change) => {
      if (!this.leases.held.has(change.partition)) return;
      this.pendingChanges.add(change.scheduleId);
      this.wake.abort();
    });
  }

  /** Schedules held in memory, partitions owned, distinct specs. */
  stats(): { schedules: number; partitions: number; specs: number; catchupsPending: number } {
    return {
      schedules: this.table.size,
      partitions: this.leases.held.size,
      specs: this.specs.size,
      catchupsPending: this.catchups.size,
    };
  }

  ownedPartitions(): number[] {
    return [...this.leases.held.keys()].sort((a, b) => a - b);
  }

  /** Takes its first leases and loads them; then runs the loop until `stop`. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.syncLeases();
    this.loopDone = this.loop();
  }

  /** Stops the loop (if it runs) and gives every lease back, so another node takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.wake.abort();
    await this.loopDone;
    await this.leases.releaseAll().catch((error: unknown) => {
      this.log.warn({ err: error }, 'giving back the partition leases failed; they will expire');
    });
    this.table.removePartitions(new Set(Array.from({ length: this.options.partitionCount }, (_, i) => i)));
    this.catchups.dropPartitions(new Set(Array.from({ length: this.options.partitionCount }, (_, i) => i)));
    this.log.info({}, 'scheduler stopped');
  }

  // ---- Steps (the loop runs them; tests call them directly) ----

  /** One lease round: loads the partitions gained, drops those lost. */
  async syncLeases(): Promise<void> {
    const change = await this.leases.round();
    if (change.error !== null) this.log.warn({ err: change.error }, 'lease round failed');
    if (change.lost.length > 0) {
      const lost = new Set(change.lost);
      const dropped = this.table.removePartitions(lost);
      this.catchups.dropPartitions(lost);
      // Ticks not yet written for a lost partition are its next owner's (or, regained, the catch-up's) now.
      const kept = this.unsent.filter(
        (fire) => !lost.has(partitionOf(fire.scheduleId, this.options.partitionCount)),
      );
      this.unsent.length = 0;
      this.keepUnsent(kept);
      this.log.info({ partitions: change.lost.length, schedules: dropped }, 'partitions lost');
    }
    if (change.gained.length > 0) {
      try {
        if (this.changeSeq === 0) this.changeSeq = await this.deps.store.latestScheduleChange();
        const loaded = await this.loadPartitions(change.gained);
        this.log.info({ partitions: change.gained.length, schedules: loaded }, 'partitions taken');
      } catch (error) {
        // Not loaded, so not owned: the next round counts them as gained again and loads them afresh.
        for (const partition of change.gained) this.leases.forget(partition);
        this.table.removePartitions(new Set(change.gained));
        this.catchups.dropPartitions(new Set(change.gained));
        throw error;
      }
    }
    this.reportOwned();
  }

  /** Reloads the schedules whose change events arrived. */
  async applyChanges(): Promise<void> {
    if (this.pendingChanges.size === 0) return;
    const ids = [...this.pendingChanges];
    this.pendingChanges.clear();
    for (const id of ids) {
      const timing = await this.deps.store.getScheduleTiming(id);
      if (timing !== null && this.leases.held.has(timing.partition)) await this.apply(timing);
    }
    this.reportOwned();
  }

  /** Reads the store's change log since the last reconciliation, for the owned partitions. */
  async reconcile(): Promise<void> {
    const partitions = this.ownedPartitions();
    if (partitions.length === 0) return;
    for (;;) {
      const changes = await this.deps.store.listScheduleChanges(partitions, this.changeSeq, CHANGES_PAGE);
      for (const timing of changes) {
        await this.apply(timing);
        this.changeSeq = Math.max(this.changeSeq, timing.changeSeq);
      }
      if (changes.length < CHANGES_PAGE) break;
    }
    this.reportOwned();
  }

  /**
   * Fires every tick due within the lead, in batches; returns how many ticks it fired. Up to SORT_WINDOW
   * batches of regular ticks are taken at once and fired in run id order (nominal time first, see
   * scheduledRunId), so that consecutive batches fill consecutive ranges of the store's run indexes instead
   * of each batch touching all of them.
   */
  async fireDue(): Promise<number> {
    let fired = 0;
    if (this.unpublished.length > 0) await this.republish();
    if (this.unsent.length > 0) await this.resendUnsent();
    const { batchSize, leadMs } = this.options;
    for (;;) {
      if (!this.leases.valid()) return fired;
      // A long burst gives way to the lease round when it is due: firing on past the leases' trust would
      // count every partition as lost and send the rest of the burst to the catch-up policy.
      if (fired > 0 && this.leases.roundDue()) return fired;
      const now = this.deps.clock.now();
      const regularFires: TickFire[] = [];
      let earliest = Infinity;
      this.table.advanceDue(now + leadMs, batchSize * SORT_WINDOW, (entry) => {
        const fire = this.fireOf(entry);
        earliest = Math.min(earliest, fire.dueAt);
        regularFires.push(fire);
        return fire.nextFireAt;
      });
      const late = this.catchups.take(Math.max(0, batchSize - regularFires.length));
      if (regularFires.length === 0 && late.length === 0) return fired;
      // Late ticks first: older ticks of a schedule must meet its overlap policy before newer ones.
      const fires: TickFire[] = late.map((tick) => ({
        scheduleId: tick.scheduleId,
        partition: tick.partition,
        version: tick.version,
        nominalTime: tick.nominal,
        dueAt: tick.nominal + tick.jitterMs,
        // The watermark stays where the regular ticks have it; gone from the table means ended (or changed,
        // and then the store refuses the tick as stale).
        nextFireAt: this.table.get(tick.scheduleId)?.nominal ?? null,
        runId: scheduledRunId(tick.scheduleId, tick.nominal),
        late: true,
      }));
      // A loop, not push(...spread): a burst takes tens of thousands at once.
      for (const fire of sortByRunId(regularFires)) fires.push(fire);
      if (earliest !== Infinity) this.deps.metrics?.fireDelay(now - (earliest - leadMs));
      await this.persistInBatches(fires);
      fired += fires.length;
      this.lastFiredAt = this.deps.clock.now();
    }
  }

  /** When the loop next has something to fire (epoch ms). */
  nextFireAt(): number {
    // Not sooner than fireIntervalMs after the last firing: what comes due meanwhile goes in one batch.
    const regular = Math.max(
      this.table.peekDue() - this.options.leadMs,
      this.lastFiredAt + this.options.fireIntervalMs,
    );
    if (this.catchups.size === 0) return regular;
    return Math.min(regular, this.deps.clock.now() + this.catchups.msUntilReady());
  }

  // ---- Internals ----

  private async loop(): Promise<void> {
    while (this.running) {
      try {
        if (this.leases.roundDue()) await this.syncLeases();
        await this.applyChanges();
        if (this.deps.clock.now() >= this.nextReconcileAt) {
          this.nextReconcileAt = this.deps.clock.now() + this.options.reconcileIntervalMs;
          await this.reconcile();
        }
        await this.fireDue();
      } catch (error) {
        this.log.error({ err: error }, 'scheduler step failed; retrying');
        await this.sleep(STORE_RETRY_MS);
        continue;
      }
      // Not trusting its leases, it has nothing to do until the next round.
      const untilFire = this.leases.valid() ? this.nextFireAt() - this.deps.clock.now() : Infinity;
      const idleMs = Math.min(untilFire, this.leases.msUntilRound(), MAX_IDLE_MS);
      if (idleMs > 0) await this.sleep(idleMs);
      // The store is synchronous underneath: without this, a busy engine would starve every timer and
      // socket of the process (the API, the worker's releases) until it ran out of work.
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Sleeps, unless a wake (a change event, stop) came since the last one was taken. */
  private async sleep(ms: number): Promise<void> {
    if (this.wake.signal.aborted || !this.running) {
      this.wake = new AbortController();
      return;
    }
    await this.deps.clock.sleep(ms, this.wake.signal).catch(() => undefined);
    if (this.wake.signal.aborted) this.wake = new AbortController();
  }

  /** The tick to fire for a due entry; its nextFireAt is the schedule's following tick, null at its end. */
  private fireOf(entry: Readonly<TimingEntry>): TickFire {
    const following = this.specs.next(entry.spec, entry.nominal);
    const next = following !== null && following <= entry.endAt ? following : null;
    return {
      scheduleId: entry.scheduleId,
      partition: entry.partition,
      version: entry.version,
      nominalTime: entry.nominal,
      dueAt: entry.nominal + entry.jitterMs,
      nextFireAt: next,
      runId: scheduledRunId(entry.scheduleId, entry.nominal),
      late: false,
    };
  }

  /**
   * What the node vouches for once the batch being sent is written (the partitions' frontier, see
   * src/core/watermark.ts): every tick due before the earliest one still waiting — in the table, the catch-up
   * queue, the unsent or the batches still to send (`pendingDue`) — and at most everything within the lead,
   * for the changes applied so far.
   */
  private firedThrough(now: number, pendingDue = Infinity): FiredThrough {
    let waiting = Math.min(this.table.peekDue(), this.catchups.earliestNominal(), pendingDue);
    for (const fire of this.unsent) waiting = Math.min(waiting, fire.dueAt);
    return {
      firedThrough: Math.min(waiting - 1, now + this.options.leadMs),
      changeSeq: this.changeSeq,
    };
  }

  /** Persists the ticks taken, a batch at a time; if one fails, it and the rest are kept as unsent. */
  private async persistInBatches(fires: TickFire[]): Promise<void> {
    const batches: TickFire[][] = [];
    for (let at = 0; at < fires.length; at += this.options.batchSize) {
      batches.push(fires.slice(at, at + this.options.batchSize));
    }
    // The earliest due time of the batches after each one: what they hold its frontier back by.
    const dueAfter = new Float64Array(batches.length).fill(Infinity);
    for (let k = batches.length - 2; k >= 0; k--) {
      let earliest = dueAfter[k + 1] ?? Infinity;
      for (const fire of batches[k + 1] ?? []) earliest = Math.min(earliest, fire.dueAt);
      dueAfter[k] = earliest;
    }
    // A batch's runs are published while the next batch is written: the two wait on different servers (the
    // store's commit, the queue's acknowledgements), so a burst takes the longer of the two rather than their
    // sum. One publish at most is in flight (a batch's starts once the one before is acknowledged), and the
    // firing ends only once the last is. A failed publish fails the firing as before; its runs, and those of
    // the batch written meanwhile, are kept and published first at the next firing (their message ids make
    // a second publish of what did get through a duplicate the queue drops).
    const inFlight = { done: Promise.resolve<unknown>(null), messages: [] as QueueMessage[] };
    const settle = async (): Promise<unknown> => {
      const failure = await inFlight.done;
      if (failure !== null) this.keepUnpublished(inFlight.messages);
      inFlight.done = Promise.resolve(null);
      inFlight.messages = [];
      return failure;
    };
    for (const [k, batch] of batches.entries()) {
      if (k > 0 && this.leases.roundDue()) {
        // The rest goes first at the next firing, after the lease round (see fireDue).
        this.keepUnsent(batches.slice(k).flat());
        break;
      }
      let queued: QueueMessage[];
      try {
        queued = await this.persist(batch, this.firedThrough(this.deps.clock.now(), dueAfter[k]));
      } catch (error) {
        this.keepUnsent(batches.slice(k + 1).flat());
        const failure = await settle();
        if (failure !== null)
          this.log.warn({ err: failure }, 'publish failed too; its runs go at the next firing');
        throw error;
      }
      const failure = await settle();
      if (failure !== null) {
        this.keepUnpublished(queued);
        this.keepUnsent(batches.slice(k + 1).flat());
        throw failure;
      }
      inFlight.done = this.publishSettled(queued);
      inFlight.messages = queued;
    }
    const failure = await settle();
    if (failure !== null) throw failure;
  }

  /** Keeps written runs whose publish failed, for the next firing; a loop, as keepUnsent. */
  private keepUnpublished(messages: readonly QueueMessage[]): void {
    for (const message of messages) this.unpublished.push(message);
  }

  /** Publishes the runs a failed publish left behind, before anything new; kept again if it fails. */
  private async republish(): Promise<void> {
    const messages = this.unpublished.splice(0);
    try {
      await this.deps.queue.publish(messages);
    } catch (error) {
      this.keepUnpublished(messages);
      throw error;
    }
  }

  /** The publish of `queued`: null once acknowledged, else its error (never a rejection left unawaited). */
  private publishSettled(queued: QueueMessage[]): Promise<unknown> {
    if (queued.length === 0) return Promise.resolve(null);
    return this.deps.queue.publish(queued).then(
      () => null,
      (error: unknown) => error,
    );
  }

  /**
   * Writes one batch (one store transaction, whatever its partitions); returns the runs to publish. A batch
   * the store could not take is kept and sent again first at the next firing (its run ids make that safe).
   */
  private async persist(fires: TickFire[], through: FiredThrough): Promise<QueueMessage[]> {
    if (fires.length === 0) return [];
    if (!this.leases.valid()) {
      // Kept for when the leases are trusted again; if they were lost instead, the store fences these off.
      this.keepUnsent(fires);
      return [];
    }
    const leases: PartitionLease[] = [...this.leases.held].map(([partition, epoch]) => ({
      partition,
      epoch,
    }));
    let result: FireResult;
    try {
      const now = this.deps.clock.now();
      result = await this.deps.store.fireTicks(this.options.nodeId, leases, fires, now, through);
    } catch (error) {
      this.keepUnsent(fires);
      throw error;
    }
    if (result.fenced.length > 0) {
      this.log.warn({ partitions: result.fenced }, 'leases fenced: other nodes own these partitions now');
      const fenced = new Set(result.fenced);
      for (const partition of fenced) this.leases.forget(partition);
      this.table.removePartitions(fenced);
      this.catchups.dropPartitions(fenced);
    }
    for (const runId of result.stopping) this.deps.signals.emit({ type: 'cancel_requested', runId });
    for (const runId of result.cancelled) this.deps.signals.emit({ type: 'finished', runId });
    for (const id of result.stale) this.pendingChanges.add(id);
    const metrics = this.deps.metrics;
    if (metrics !== undefined) {
      metrics.fired('queued', result.queued.length);
      metrics.fired('skipped', result.skipped.length);
      metrics.fired('blocked', result.blocked.length);
      metrics.fired('duplicate', result.duplicates.length);
      metrics.fired('stale', result.stale.length);
    }
    return result.queued;
  }

  /** Keeps ticks to send first at the next firing; a loop, not push(...spread): a burst's rest can be 100,000. */
  private keepUnsent(fires: readonly TickFire[]): void {
    for (const fire of fires) this.unsent.push(fire);
  }

  private async resendUnsent(): Promise<void> {
    await this.persistInBatches(this.unsent.splice(0));
  }

  private async loadPartitions(partitions: number[]): Promise<number> {
    let afterId: string | null = null;
    let loaded = 0;
    for (;;) {
      const page: ScheduleTiming[] = await this.deps.store.loadSchedules(partitions, afterId, LOAD_PAGE);
      // Schedules that share a spec and a watermark share their catch-up plan: after downtime, a million
      // schedules of a few specs cost a few croner walks, not a million.
      const plans = new Map<string, ResumePlan>();
      for (const timing of page) await this.apply(timing, plans);
      loaded += page.length;
      const last = page[page.length - 1];
      if (last === undefined || page.length < LOAD_PAGE) return loaded;
      afterId = last.id;
    }
  }

  /** Takes a schedule's current state from the store into memory (or out of it). */
  private async apply(timing: ScheduleTiming, plans?: Map<string, ResumePlan>): Promise<void> {
    const held = this.table.get(timing.id);
    if (held !== null && held.version === timing.version) return;
    if (timing.deleted || timing.paused || timing.nextFireAt === null) {
      this.table.remove(timing.id);
      return;
    }
    const plan = this.plan(timing, plans);
    const jitterMs = jitterOffsetMs(timing.id, timing.jitterSeconds);
    for (const nominal of plan.catchup) {
      this.catchups.add({
        scheduleId: timing.id,
        partition: timing.partition,
        version: timing.version,
        nominal,
        jitterMs,
        nextAfterCatchup: plan.next,
      });
    }
    if (plan.next === null) {
      this.table.remove(timing.id);
      if (plan.catchup.length === 0) await this.markEnded(timing);
      return;
    }
    this.table.upsert({
      scheduleId: timing.id,
      partition: timing.partition,
      version: timing.version,
      spec: this.specs.intern(timing.spec),
      nominal: plan.next,
      jitterMs,
      endAt: timing.endAt ?? Infinity,
    });
  }

  private plan(timing: ScheduleTiming, plans: Map<string, ResumePlan> | undefined): ResumePlan {
    const now = this.deps.clock.now();
    const missed = timing.nextFireAt !== null && timing.nextFireAt < now - this.options.lateGraceMs;
    if (!missed || plans === undefined) return planResume(timing, now, this.options.lateGraceMs);
    const { spec, catchup } = timing;
    const key = [
      spec.kind === 'cron' ? `${spec.timezone}|${spec.cron}` : `${spec.intervalMs}|${spec.anchorAt}`,
      timing.nextFireAt,
      timing.endAt,
      catchup.mode,
      catchup.windowSeconds,
      catchup.maxRuns,
    ].join('|');
    let plan = plans.get(key);
    if (plan === undefined) {
      plan = planResume(timing, now, this.options.lateGraceMs);
      plans.set(key, plan);
    }
    return plan;
  }

  /** A schedule past its end: its watermark becomes null so no node loads it again. */
  private async markEnded(timing: ScheduleTiming): Promise<void> {
    const epoch = this.leases.held.get(timing.partition);
    if (epoch === undefined) return;
    await this.deps.store.advanceWatermarks(this.options.nodeId, { partition: timing.partition, epoch }, [
      { scheduleId: timing.id, version: timing.version, nextFireAt: null },
    ]);
  }

  private reportOwned(): void {
    this.deps.metrics?.owned(this.leases.held.size, this.table.size);
  }
}
