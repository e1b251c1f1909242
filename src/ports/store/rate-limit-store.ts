// Rate limits shared by every process on the store: one GCRA state per key (src/core/rate-limit.ts), so a
// tenant's limit holds across every API process of a deployment, not per process. The rule is the core's;
// the store only keeps the state and makes each take atomic.

import type { RateDecision } from '../../core/rate-limit.js';

export interface RateLimit {
  perSecond: number;
  burst: number;
}

export interface RateLimitStore {
  /**
   * Takes one token for `key` (e.g. a tenant's run creation) under `limit`, judged at `now`: allowed, or
   * refused with the milliseconds until a token is available. A refused take writes nothing. A key's state is
   * one row, updated in place.
   *
   * Concurrency: takes of one key from every process and connection are atomic: each decides on the state
   * the take before it left, so concurrent takes never allow more than burst + perSecond × elapsed between
   * them. Time is `now`, the caller's clock, which every process of a deployment must share; an adapter may
   * judge by its database's clock instead (PostgreSQL does), on every take, so that hosts' clocks do not
   * matter.
   */
  takeRateToken(key: string, limit: RateLimit, now: number): Promise<RateDecision>;
}
