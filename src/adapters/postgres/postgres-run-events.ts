// A run's timeline on PostgreSQL. Every state change of a run is one UPDATE whose WHERE names the state it
// expects (a lost race changes nothing) and which raises the row's event_seq; a data-modifying CTE of the same
// statement appends the event at that seq, recording the attempt and status the UPDATE left. One statement is
// atomic on its own, so most changes need no transaction, and two writers of one run serialize on its row
// lock: the second re-checks its WHERE on the row the first left, and takes the next seq from it.

import { idTimeOf } from './postgres-rows.js';

/**
 * The CTE that appends one event to each row of the CTE `changed` (which must return id, id_time, event_seq,
 * attempt and status). Arguments are SQL expressions — parameters, with their type.
 */
export function eventOfChanged(at: string, type: string, detail: string): string {
  return `event AS (
    INSERT INTO run_events (run_id, id_time, seq, at, type, attempt, status, detail)
    SELECT id, id_time, event_seq, ${at}, ${type}, attempt, status, ${detail} FROM changed
  )`;
}

/** A run id list and their partition keys, as two parallel arrays for unnest($n::text[], $m::bigint[]). */
export function keysOf(runIds: readonly string[]): [string[], number[]] {
  return [[...runIds], runIds.map(idTimeOf)];
}
