// Missed ticks waiting to be fired late, oldest first, let out at a bounded rate (a token bucket over the
// monotonic clock): after downtime, a million schedules each catching up one tick become a steady stream
// rather than one storm.

export interface LateTick {
  scheduleId: string;
  partition: number;
  version: number;
  nominal: number;
  jitterMs: number;
  /** The schedule's regular next tick when this was planned: the watermark to write if nothing newer. */
  nextAfterCatchup: number | null;
}

export class CatchupQueue {
  private ticks: LateTick[] = [];
  private sorted = true;
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly monotonic: () => number,
  ) {
    this.tokens = perSecond;
    this.refilledAt = monotonic();
  }

  get size(): number {
    return this.ticks.length;
  }

  add(tick: LateTick): void {
    const last = this.ticks[this.ticks.length - 1];
    if (last !== undefined && last.nominal > tick.nominal) this.sorted = false;
    this.ticks.push(tick);
  }

  /** The nominal time of the oldest tick waiting (Infinity when none): no tick waiting is due before it. */
  earliestNominal(): number {
    this.sort();
    return this.ticks[0]?.nominal ?? Infinity;
  }

  /** How long until the rate lets the next tick out (0 when it may go now). */
  msUntilReady(): number {
    if (this.ticks.length === 0) return Infinity;
    const tokens = this.tokens + ((this.monotonic() - this.refilledAt) / 1000) * this.perSecond;
    return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / this.perSecond) * 1000);
  }

  /** Up to `max` of the oldest ticks, as far as the rate allows now. */
  take(max: number): LateTick[] {
    if (this.ticks.length === 0 || max <= 0) return [];
    const now = this.monotonic();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) / 1000) * this.perSecond);
    this.refilledAt = now;
    const count = Math.min(max, Math.floor(this.tokens), this.ticks.length);
    if (count <= 0) return [];
    this.sort();
    this.tokens -= count;
    return this.ticks.splice(0, count);
  }

  private sort(): void {
    if (this.sorted) return;
    this.ticks.sort((a, b) => a.nominal - b.nominal);
    this.sorted = true;
  }

  dropPartitions(partitions: ReadonlySet<number>): void {
    this.ticks = this.ticks.filter((tick) => !partitions.has(tick.partition));
  }
}
