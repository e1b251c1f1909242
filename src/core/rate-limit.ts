// A rate limit as the generic cell rate algorithm (GCRA): a token bucket of `burst` tokens refilled at
// `perSecond`, kept as one number per key instead of two. The state is the bucket's theoretical arrival time
// (`tat`): the instant at which it would be full again. At `now` the bucket holds
// burst − max(0, tat − now) / interval tokens, where interval = 1000 / perSecond ms is one token's worth of
// time; taking one moves `tat` one interval later, from `now` if it was already full. A refused take changes
// nothing. So over any window of length t at most burst + perSecond × t takes are allowed.
//
// Only the decision is here: a store reads the key's state, calls takeToken, and writes the next state only
// if the state is still the one it read (a compare-and-set), or under a lock. An allowed take always moves
// `tat` strictly later than it was, so a state never comes back once replaced: comparing `tat` alone is a
// sound compare-and-set (no ABA).
//
// Time is whatever clock the caller judges by, in epoch ms. A clock that steps back only makes the bucket
// fuller later (`tat` is kept, never moved back), one that steps forward refills it to at most `burst`.

export interface RateState {
  /** When the bucket would be full again (epoch ms of the clock the state was judged by). */
  tat: number;
}

export interface RateDecision {
  allowed: boolean;
  /** 0 when allowed; otherwise the milliseconds until a token is available, rounded up: at least 1. */
  retryAfterMs: number;
}

export interface RateTake extends RateDecision {
  /** The state to store: the new one when allowed, the previous one (unchanged) when refused. */
  nextState: RateState;
}

/**
 * Float epoch milliseconds near 1.7e12 are exact to about 0.0002 ms, and `tat` is a sum of intervals like
 * 333.33…: a take that should land exactly on the bucket's edge may come out a hair over it. This much
 * over still counts as within (a microsecond, far below any rate a plan can name).
 */
const EDGE_TOLERANCE_MS = 0.001;

/**
 * Takes one token at `now` from the bucket in `previous` (null: never taken, so full). `perSecond` > 0 and
 * `burst` ≥ 1 (the plan's validation ensures both).
 */
export function takeToken(
  previous: RateState | null,
  now: number,
  perSecond: number,
  burst: number,
): RateTake {
  const intervalMs = 1000 / perSecond;
  const tat = previous === null ? now : previous.tat;
  const next = Math.max(tat, now) + intervalMs;
  const overMs = next - now - burst * intervalMs;
  if (overMs <= EDGE_TOLERANCE_MS) return { allowed: true, retryAfterMs: 0, nextState: { tat: next } };
  return { allowed: false, retryAfterMs: Math.ceil(overMs), nextState: previous ?? { tat } };
}
