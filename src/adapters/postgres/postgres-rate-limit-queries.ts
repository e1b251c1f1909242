// Rate-limit state: one row per key, (key, tat_us), the GCRA state of src/core/rate-limit.ts in whole
// microseconds (compared exactly; the core's milliseconds are rounded to them), updated in place.
// A take is a compare-and-set in autocommit statements, the rule staying in the core:
//
//   read the row and the database's clock → takeToken → refused: done, nothing written;
//   allowed: UPDATE … SET tat_us = $new WHERE key = $1 AND tat_us = $old (the first take: INSERT … ON CONFLICT
//   DO NOTHING) → one row changed: taken; none: another take wrote first, so read again and decide again.
//
// Sound because an allowed take moves tat later (core/rate-limit.ts, which says what a clock stepping back
// changes): the row does not hold an old value again, so a write that finds the value it read is the next
// one after that read. The UPDATE's WHERE
// is re-checked on the newest row version after waiting for a concurrent writer (READ COMMITTED), so of two
// takes that read one state exactly one writes. A lost race costs a read and a write again; under contention
// one take of each round always wins, so the loop ends; MAX_ATTEMPTS only bounds a pathological case.
//
// Time: the database's clock (clock_timestamp(), read with the state), not the caller's: every API process
// of a deployment judges by one clock, whatever its host's says. Two round trips for an allowed take, one for
// a refused one; no transaction and no lock held across them.

import { HourglassError } from '../../core/errors.js';
import { takeToken, type RateDecision } from '../../core/rate-limit.js';
import type { RateLimit } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';

const MAX_ATTEMPTS = 100;

/**
 * Turns off the wait for the WAL flush at the commit of the statement it is joined into (set_config local
 * to its implicit transaction; synchronous_commit is read at commit). Concurrent takes of one key queue on
 * its row lock, which a commit would hold until its flush (a few ms on a disk), on top of the round trips
 * of the compare-and-set. A server crash can undo the takes since the last WAL flush — tokens given back to
 * a tenant; a take whose run was created is durable, since the run's commit flushes the WAL up to it.
 */
const ASYNC_COMMIT = "SELECT set_config('synchronous_commit', 'off', true)";

/** Autocommit statements. */
export async function takeRateToken(sql: Sql, key: string, limit: RateLimit): Promise<RateDecision> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const read = await sql.first<{ now_us: number; tat_us: number | null }>(
      `SELECT c.now_us, r.tat_us
       FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint AS now_us) AS c
       LEFT JOIN rate_limits AS r ON r.key = $1`,
      [key],
    );
    if (read === undefined) throw new Error('the clock query returned no row');
    const previous = read.tat_us === null ? null : { tat: read.tat_us / 1000 };
    const decision = takeToken(previous, read.now_us / 1000, limit.perSecond, limit.burst);
    const nextUs = Math.round(decision.nextState.tat * 1000);
    if (!decision.allowed) return { allowed: false, retryAfterMs: decision.retryAfterMs };
    const written =
      previous === null
        ? await sql.changes(
            'INSERT INTO rate_limits (key, tat_us) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
            [key, nextUs],
          )
        : await sql.changes(
            `UPDATE rate_limits SET tat_us = $2 FROM (${ASYNC_COMMIT}) AS async_commit
             WHERE key = $1 AND tat_us = $3`,
            [key, nextUs, read.tat_us],
          );
    if (written === 1) return { allowed: true, retryAfterMs: 0 };
  }
  throw new HourglassError(
    'unavailable',
    `the rate limit of ${key} lost ${MAX_ATTEMPTS} races in a row; try again`,
  );
}
