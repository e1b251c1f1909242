// Warm containers: created before their run is known, held at their gate (container-launch.ts), so that a run
// started now pays for none of runc's 35–60 ms of creating one. A warm container is made for a key — what is
// fixed when a container is created: image digest, memory limit, user, working directory — once that key is
// run a second time within `idleMs`, one at a time per key, and `max` at most in all (past it, the key run
// least recently gives its container up). One not taken within `idleMs` is discarded.
//
// A warm container belongs to no tenant while it waits: only the gate shell has run in it, on a fresh overlay.
// The run that takes it has had its own access to the image checked (the image cache) before it asks.

export interface WarmEntry {
  /** False once its container is gone (it died, or was discarded). */
  alive(): boolean;
}

export interface WarmContainersOptions<T extends WarmEntry> {
  max: number;
  idleMs: number;
  /** Stops and removes a container never taken. */
  discard(entry: T): Promise<void>;
  /** Told of a warm container that could not be made (it is not retried until the key is run again). */
  onError?(error: unknown): void;
}

export interface WarmUsage {
  ready: number;
  making: number;
  taken: number;
}

interface Slot<T> {
  entry: T;
  timer: NodeJS.Timeout;
}

/** Keys remembered as run recently, at most: past it, the oldest are forgotten. */
const MAX_REMEMBERED_KEYS = 1_000;

export class WarmContainers<T extends WarmEntry> {
  private readonly ready = new Map<string, Slot<T>>();
  private readonly making = new Set<string>();
  /** key → when it was last run; Map order is least recently run first. */
  private readonly lastRun = new Map<string, number>();
  private closed = false;
  private taken = 0;

  constructor(
    private readonly options: WarmContainersOptions<T>,
    private readonly now: () => number = Date.now,
  ) {}

  /** The warm container for `key`, now the caller's to run and remove; null when there is none. */
  take(key: string): T | null {
    const slot = this.ready.get(key);
    if (slot === undefined) return null;
    this.ready.delete(key);
    clearTimeout(slot.timer);
    if (slot.entry.alive()) {
      this.taken++;
      return slot.entry;
    }
    void this.discard(slot.entry);
    return null;
  }

  /**
   * A run of `key` is starting: the second within idleMs, with no container waiting or being made, makes one
   * for the next run of it.
   */
  ran(key: string, make: () => Promise<T>): void {
    if (this.closed || this.options.max <= 0) return;
    const now = this.now();
    const previous = this.lastRun.get(key);
    this.lastRun.delete(key);
    this.lastRun.set(key, now);
    if (this.lastRun.size > MAX_REMEMBERED_KEYS) this.lastRun.delete(this.lastRun.keys().next().value!);
    if (previous === undefined || now - previous > this.options.idleMs) return;
    if (this.ready.has(key) || this.making.has(key)) return;
    if (this.ready.size + this.making.size >= this.options.max && !this.giveUpOne(key)) return;
    this.making.add(key);
    make()
      .then(
        (entry) => {
          if (this.closed) return void this.discard(entry);
          const timer = setTimeout(() => {
            if (this.ready.get(key)?.entry !== entry) return;
            this.ready.delete(key);
            void this.discard(entry);
          }, this.options.idleMs);
          timer.unref();
          this.ready.set(key, { entry, timer });
        },
        (error: unknown) => this.options.onError?.(error),
      )
      .finally(() => this.making.delete(key));
  }

  /** How many are waiting and being made, and how many runs took one (for tests and metrics). */
  size(): WarmUsage {
    return { ready: this.ready.size, making: this.making.size, taken: this.taken };
  }

  /** Discards every waiting container; none is made after this. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.ready.values()];
    this.ready.clear();
    await Promise.all(
      slots.map((slot) => {
        clearTimeout(slot.timer);
        return this.discard(slot.entry);
      }),
    );
  }

  /** Makes room for `key` by discarding the waiting container of the key run least recently; false if none. */
  private giveUpOne(key: string): boolean {
    for (const candidate of this.lastRun.keys()) {
      if (candidate === key) continue;
      const slot = this.ready.get(candidate);
      if (slot === undefined) continue;
      this.ready.delete(candidate);
      clearTimeout(slot.timer);
      void this.discard(slot.entry);
      return true;
    }
    return false;
  }

  private async discard(entry: T): Promise<void> {
    try {
      await this.options.discard(entry);
    } catch (error) {
      this.options.onError?.(error);
    }
  }
}
