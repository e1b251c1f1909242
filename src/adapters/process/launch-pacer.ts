// The launch pacer: one per process executor, it owns the timing of deferred starts on the event loop. Gates
// are normally opened from the gate opener's thread (gate-opener.ts), which the loop's blocking cannot delay;
// what remains here is the spawns, the starts too close to be gated, and the gates of starts handed over while
// that thread is still starting. Two kinds of work go through it, both on the event loop:
//
// - releases ("start this gated process at T"): one timer armed a little before the earliest T; when it fires
//   the last moments are waited out on the clock (a timer alone is a millisecond or more late, or early when
//   the loop's cached time is stale), then every release due by now runs in one go;
// - spawns of gated processes: a fork blocks the event loop for milliseconds, so a spawn is held back while
//   a release is due within the expected spawn time, and runs right after that release instead. Spawns run
//   one per turn of the loop, earliest start first, so I/O and timers get their turns in between.
//
// A spawn is held back only while the queue can afford it: when waiting would make some queued spawn late for
// its own start, spawns go ahead and may delay a release by a spawn's cost. Entries are cancellable until they ran. States of an entry:
//
//   pending ──(its time, or its turn)──▶ ran
//      └──cancel──▶ cancelled

/** Cancels a pending entry; does nothing once it ran. */
export type CancelEntry = () => void;

interface Entry {
  /** Releases: when to run. Spawns: the start the spawned process is for (earliest first). */
  at: number;
  run: () => void;
  live: boolean;
}

export interface LaunchPacerOptions {
  /** Wall-clock epoch ms (a release runs once this is ≥ its time). */
  now: () => number;
  /** How long before a release its timer fires, the rest being waited out on the clock. */
  earlyMs?: number;
  /** A first guess of a spawn's cost, refined as spawns are measured. */
  initialSpawnMs?: number;
}

const DEFAULT_EARLY_MS = 0;
/** A stale loop time can fire the timer this much early at most before it is simply re-armed. */
const MAX_SPIN_MS = 4;
/** Weight of the latest measurement in the running spawn-cost estimate. */
const SPAWN_COST_WEIGHT = 0.2;
/**
 * Releases are held back from spawns by this multiple of the typical spawn cost. Larger protects releases
 * from slow spawns better but leaves fewer gaps to spawn in when releases are dense (every 5 ms at 200/s):
 * a spawn must fit between two releases.
 */
const SPAWN_GUARD_FACTOR = 1.25;

export class LaunchPacer {
  private readonly now: () => number;
  private readonly earlyMs: number;
  private readonly releases: Entry[] = [];
  private readonly spawns: Entry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private pumping = false;
  private spawnCostMs: number;

  constructor(options: LaunchPacerOptions) {
    this.now = options.now;
    this.earlyMs = options.earlyMs ?? DEFAULT_EARLY_MS;
    this.spawnCostMs = options.initialSpawnMs ?? 3;
  }

  /** Runs `release` as soon as the clock reads `at` or later (and not before). */
  release(at: number, release: () => void): CancelEntry {
    const entry = insert(this.releases, at, release);
    this.arm();
    return () => this.cancel(entry, this.releases);
  }

  /** Runs `spawn` (a gated launch for a start at `startAt`) at a moment when it delays no release. */
  spawn(startAt: number, spawn: () => void): CancelEntry {
    const entry = insert(this.spawns, startAt, spawn);
    this.pump();
    return () => this.cancel(entry, this.spawns);
  }

  /** The margin a spawn must leave before the next release. */
  spawnGuardMs(): number {
    return this.spawnCostMs * SPAWN_GUARD_FACTOR;
  }

  private cancel(entry: Entry, list: Entry[]): void {
    if (!entry.live) return;
    entry.live = false;
    const index = list.indexOf(entry);
    if (index >= 0) list.splice(index, 1);
    if (list !== this.releases) return;
    this.arm(); // re-armed for the next one, or disarmed (no idle timer)
    this.pump(); // spawns held back for it need not wait any longer
  }

  private arm(): void {
    const next = this.releases[0];
    if (next === undefined) {
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      this.timerAt = Infinity;
      return;
    }
    if (this.timer !== null && this.timerAt === next.at) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = next.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.at - this.earlyMs - this.now()));
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const next = this.releases[0];
    if (next === undefined) return;
    if (next.at - this.now() > MAX_SPIN_MS) {
      this.arm();
      return;
    }
    // The last few milliseconds: wait them out here, bounded by the monotonic clock in case `now` is stuck.
    const spinUntil = performance.now() + MAX_SPIN_MS + 1;
    while (this.now() < next.at && performance.now() < spinUntil) {
      // busy wait, by design: at most a few milliseconds per distinct release time
    }
    const now = Math.max(this.now(), next.at);
    try {
      while (this.releases[0] !== undefined && this.releases[0].at <= now) {
        const entry = this.releases.shift() as Entry;
        entry.live = false;
        entry.run();
      }
    } finally {
      this.arm();
      this.pump(); // spawns held back for this release may go now
    }
  }

  private pump(): void {
    if (this.pumping || this.spawns.length === 0) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      const head = this.spawns[0];
      if (head === undefined) return;
      // Held back while a release is imminent, if the queue can afford it; fire() pumps again after it.
      if (this.shouldHoldBack()) return;
      this.spawns.shift();
      head.live = false;
      const began = performance.now();
      try {
        head.run();
      } finally {
        const cost = performance.now() - began;
        this.spawnCostMs += (cost - this.spawnCostMs) * SPAWN_COST_WEIGHT;
        this.pump();
      }
    });
  }

  /**
   * Whether the head spawn should wait for an imminent release: only if, after that wait (about one guard),
   * every queued spawn, done one after the other at the typical cost, is still ready a guard before its start.
   * Otherwise spawns go ahead and a release may be late by a spawn's cost, rather than a start by much more.
   */
  private shouldHoldBack(): boolean {
    const now = this.now();
    const guard = this.spawnGuardMs();
    const untilRelease = (this.releases[0]?.at ?? Infinity) - now;
    if (untilRelease >= guard) return false;
    let readyAt = now + untilRelease + guard; // when spawning could resume
    for (const entry of this.spawns) {
      readyAt += this.spawnCostMs;
      if (readyAt + guard > entry.at) return false;
    }
    return true;
  }
}

/** Inserts in order of `at`, after entries with the same time (so equal times keep their order). */
function insert(list: Entry[], at: number, run: () => void): Entry {
  const entry: Entry = { at, run, live: true };
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((list[mid] as Entry).at <= at) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, entry);
  return entry;
}
