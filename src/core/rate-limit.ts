// A rate limit as the generic cell rate algorithm (GCRA): a token bucket of `burst` tokens refilled at
// `perSecond`, kept as one number per key instead of two. The state is the bucket's theoretical arrival time
// (`tat`): the instant at which it would be full again. At `now` the bucket holds
// burst − max(0, tat − now) / interval tokens, where interval = 1000 / perSecond ms is one token's worth of
// time; taking one moves `tat` one interval later, from `now` if it was already full. A refused take changes
// nothing. So over any window of length t at most burst + perSecond × t takes are allowed.
//
// Only the decision is here: a store reads the key's state, calls takeToken, and writes the next state only
// if the state is still the one it read (a compare-and-set), or under a lock. An allowed take moves `tat`
// strictly later than it was — unless the clock stepped back (below) — so a state does not come back once
// replaced: comparing `tat` alone is a sound compare-and-set.
//
// Time is whatever clock the caller judges by, in epoch ms. One that steps forward refills the bucket to at
// most `burst`. One that steps back by X would leave `tat` up to X ahead of every `now`, and the tenant
// refused for X. An allowed take never leaves `tat` more than burst × interval ahead of its `now`; a take
// may judge by a `now` read a little before another's (read, then waited for the store's lock), so a `tat`
// ahead by more than that plus CLOCK_STEP_MS can only come from a clock stepped back (or a burst lowered
// since): the bucket is then taken as holding one token, and the take that uses it stores an empty bucket at
// the new clock. A step back costs the tenant at most CLOCK_STEP_MS plus one token's wait, and gives at most
// one token. Only then can a write move `tat` earlier; for a compare-and-set to be fooled by that, the row
// would have to return to the exact value a stalled take read, and that take would win one token.

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

/** How stale a take's `now` may be (read before it waited for the store) before `tat` is taken as a clock step. */
export const CLOCK_STEP_MS = 60_000;

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
  const impossiblyAhead = previous !== null && previous.tat - now > burst * intervalMs + CLOCK_STEP_MS;
  const tat = previous === null ? now : impossiblyAhead ? now + (burst - 1) * intervalMs : previous.tat;
  const next = Math.max(tat, now) + intervalMs;
  const overMs = next - now - burst * intervalMs;
  if (overMs <= EDGE_TOLERANCE_MS) return { allowed: true, retryAfterMs: 0, nextState: { tat: next } };
  return { allowed: false, retryAfterMs: Math.ceil(overMs), nextState: previous ?? { tat } };
}
