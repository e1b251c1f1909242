// Small statistics helpers shared by the benchmarks.

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

export interface Summary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export const round = (value: number, digits = 2): number => Number(value.toFixed(digits));

// ---- Scheduler benchmarks (bench/scheduler-peers and its systems) ----

/** The workload every system of bench/scheduler-peers runs: `schedules` schedules firing every second. */
export interface SchedulerPeerOptions {
  schedules: number;
  /** Length of the measured window, after the warm-up. */
  seconds: number;
  /** Seconds after the schedules exist before the window opens (first fires, connection pools, JIT). */
  warmupSeconds: number;
}

export interface SchedulerPeerResult {
  system: string;
  schedules: number;
  seconds: number;
  /** Fires whose processing began inside the window. */
  fires: number;
  firesPerSecond: number;
  /** Processing began − the tick's nominal time, over the ticks whose nominal time is inside the window. */
  lagMs: { p50: number; p99: number; max: number };
  /** Ticks of the window (schedules × seconds) that never began processing by the end of the drain. */
  missed: number;
  /** Fires beyond the first for one schedule in one second of the window. */
  duplicates: number;
  notes: string;
}

/**
 * The accounting of one measured window, shared so every system is counted the same way. The window is
 * [windowStart, windowStart + seconds × 1000); a schedule firing every second has exactly one nominal tick
 * in each one-second slot of it, whatever its phase, so a slot seen twice is a duplicate and a slot never
 * seen is a missed tick. Memory is one byte per (schedule, second): fine for the 10k-schedule peers workload.
 */
export interface TickLedger {
  readonly windowStart: number;
  readonly windowEnd: number;
  /** One fire of `scheduleKey` for the tick `nominalMs`, whose processing began at `startedMs`. */
  record(scheduleKey: string, nominalMs: number, startedMs: number): void;
  /** Schedules whose latest recorded tick is at or after the window's end (nothing left to drain). */
  drainedSchedules(): number;
  result(system: string, notes: string): SchedulerPeerResult;
}

export function createTickLedger(options: {
  schedules: number;
  seconds: number;
  windowStart: number;
}): TickLedger {
  const { schedules, seconds, windowStart } = options;
  const windowEnd = windowStart + seconds * 1000;
  const slots = new Map<string, Uint8Array>();
  const latestTick = new Map<string, number>();
  let drained = 0;
  const lags: number[] = [];
  let fires = 0;
  return {
    windowStart,
    windowEnd,
    record(scheduleKey, nominalMs, startedMs) {
      if (startedMs >= windowStart && startedMs < windowEnd) fires++;
      const latest = latestTick.get(scheduleKey) ?? -Infinity;
      if (nominalMs > latest) {
        if (latest < windowEnd && nominalMs >= windowEnd) drained++;
        latestTick.set(scheduleKey, nominalMs);
      }
      if (nominalMs < windowStart || nominalMs >= windowEnd) return;
      lags.push(startedMs - nominalMs);
      let seen = slots.get(scheduleKey);
      if (!seen) slots.set(scheduleKey, (seen = new Uint8Array(seconds)));
      const slot = Math.floor((nominalMs - windowStart) / 1000);
      seen[slot] = Math.min(255, (seen[slot] ?? 0) + 1);
    },
    drainedSchedules: () => drained,
    result(system, notes) {
      let filled = 0;
      let duplicates = 0;
      for (const seen of slots.values()) {
        for (const count of seen) {
          if (count > 0) filled++;
          if (count > 1) duplicates += count - 1;
        }
      }
      const lag = summarize(lags);
      return {
        system,
        schedules,
        seconds,
        fires,
        firesPerSecond: fires / seconds,
        lagMs: { p50: lag.p50, p99: lag.p99, max: lag.max },
        missed: schedules * seconds - filled,
        duplicates,
        notes,
      };
    },
  };
}

/** How long after the window's end a system may still pick up the window's late ticks. */
export const DRAIN_TIMEOUT_MS = 15_000;

/**
 * Runs one measured window from now: the ledger starts after the warm-up, on a whole second (so an aligned
 * tick never sits on its edge by accident), and is handed to `open` before the window opens (it ignores ticks
 * outside the window, and a tick due exactly at its start must not race the timer that opens it). Resolves
 * after the window, once every schedule has moved past it or the drain timed out.
 */
export async function measureWindow(
  options: SchedulerPeerOptions,
  open: (ledger: TickLedger) => void,
): Promise<TickLedger> {
  const windowStart = Math.ceil((Date.now() + options.warmupSeconds * 1000) / 1000) * 1000;
  const ledger = createTickLedger({ schedules: options.schedules, seconds: options.seconds, windowStart });
  open(ledger);
  await sleepUntil(ledger.windowEnd);
  const drainDeadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (ledger.drainedSchedules() < options.schedules && Date.now() < drainDeadline) {
    await sleepUntil(Date.now() + 100);
  }
  return ledger;
}

export function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
