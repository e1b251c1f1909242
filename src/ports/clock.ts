// Time flows through this port so that tests can drive it. `now` is wall-clock epoch ms (what is stored and
// shown); `monotonic` is for measuring intervals and deadlines, immune to wall-clock steps.

export interface Clock {
  now(): number;
  monotonic(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
