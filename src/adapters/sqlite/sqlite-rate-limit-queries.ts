// Rate-limit state: one row per key, (key, tat), the GCRA state of src/core/rate-limit.ts, updated in place.
// A take reads the row, decides with the core rule and writes the new state in one IMMEDIATE transaction:
// the write lock is taken before the read, so takes from every process on the file run one at a time and
// each decides on what the one before wrote. A refused take writes nothing. Time is the caller's `now`.

import type Database from 'better-sqlite3';
import { takeToken, type RateDecision } from '../../core/rate-limit.js';
import type { RateLimit } from '../../ports/store.js';

export function compileRateLimitQueries(db: Database.Database) {
  const readState = db.prepare<[string], number>('SELECT tat FROM rate_limits WHERE key = ?').pluck();
  const writeState = db.prepare<[string, number]>(
    'INSERT INTO rate_limits (key, tat) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET tat = excluded.tat',
  );
  const take = db.transaction((key: string, limit: RateLimit, now: number): RateDecision => {
    const tat = readState.get(key);
    const decision = takeToken(tat === undefined ? null : { tat }, now, limit.perSecond, limit.burst);
    if (decision.allowed) writeState.run(key, decision.nextState.tat);
    return { allowed: decision.allowed, retryAfterMs: decision.retryAfterMs };
  });
  return {
    takeRateToken: (key: string, limit: RateLimit, now: number): RateDecision =>
      take.immediate(key, limit, now),
  };
}

export type RateLimitQueries = ReturnType<typeof compileRateLimitQueries>;
