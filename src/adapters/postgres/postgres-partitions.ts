// Day partitions of runs and run_events, and their retention.
//
// The partition key is id_time, the time a run's id carries (core/ids.ts): its creation for a run made
// through the API, its tick's nominal time for a schedule's run — both the moment the run came to be, give or
// take the scheduler's lead. Not created_at, nor the nominal time as a column of its own: a run is looked up
// by id alone (getRun, every worker write), and only a key computed from the id lets such a lookup name its
// one partition. A run and its timeline share the key, so they are kept and dropped together.
//
// Maintenance (maintainPartitions, run at open and then periodically by the store), UTC days:
//
//   ahead      partitions for today and the next `daysAhead` days exist; a day made late takes over the
//              rows the default partition holds for it (a run whose day had no partition yet is never
//              refused: it waits in the default partition);
//   retention  a day wholly older than `retentionDays` before today is dropped — table drop, no row-by-row
//              delete — unless a run of it is still queued or running (a future run made that day, a long
//              run): then only its finished runs and their events are deleted, and the day stays until the
//              next maintenance finds it done. The default partition's expired finished rows, and the
//              Idempotency-Keys of expired days, are deleted the same way.
//
// Making and dropping a partition takes a brief exclusive lock on the parent table; every such step runs in
// its own transaction with a lock_timeout, so it never queues the store's traffic behind it for long: a step
// that cannot get its lock gives up, and the next maintenance does it. Several processes may run
// maintenance: a session advisory lock lets one at a time do it, the others skip the round.

import type pg from 'pg';

export const DAY_MS = 86_400_000;

const PARTITIONED = ['runs', 'run_events'] as const;
type PartitionedTable = (typeof PARTITIONED)[number];

/** Short enough that the store's queries never wait long behind a maintenance step. */
const LOCK_TIMEOUT = '2s';
const MAINTENANCE_LOCK = "hashtextextended(current_schema() || ':hourglass:partition-maintenance', 0)";

export interface PartitionReport {
  /** Day partitions made, as runs_pYYYYMMDD names. */
  created: string[];
  /** Day partitions dropped. */
  dropped: string[];
  /** Expired days kept for their unfinished runs: their finished runs were deleted. */
  trimmed: string[];
  /** Steps that could not get their lock in time: done by a later maintenance. */
  deferred: string[];
  /** False when another process was maintaining the partitions: nothing was done. */
  ran: boolean;
}

const startOfDay = (ms: number): number => Math.floor(ms / DAY_MS) * DAY_MS;

/** runs_p20260308 for the UTC day starting at `dayStart`. */
export function partitionName(table: PartitionedTable, dayStart: number): string {
  return `${table}_p${new Date(dayStart).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

/** The day a partition name stands for, or null for a name that is not one of ours. */
function dayOfName(table: PartitionedTable, name: string): number | null {
  const match = new RegExp(`^${table}_p(\\d{4})(\\d{2})(\\d{2})$`).exec(name);
  if (!match) return null;
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
}

/** The day partitions of `table` in the store's schema, by day start. */
export async function dayPartitions(
  client: pg.PoolClient,
  table: PartitionedTable,
): Promise<Map<number, string>> {
  const result = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i
     JOIN pg_class c ON c.oid = i.inhrelid
     JOIN pg_class p ON p.oid = i.inhparent
     JOIN pg_namespace n ON n.oid = p.relnamespace
     WHERE p.relname = $1 AND n.nspname = current_schema()`,
    [table],
  );
  const days = new Map<number, string>();
  for (const { name } of result.rows) {
    const day = dayOfName(table, name);
    if (day !== null) days.set(day, name);
  }
  return days;
}

/** A maintenance step in a transaction of its own; false when its lock was not granted in time. */
async function step(client: pg.PoolClient, work: () => Promise<void>): Promise<boolean> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
    await work();
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    if ((error as { code?: unknown }).code === '55P03') return false; // lock_not_available
    throw error;
  }
}

/**
 * Makes the day's partition of `table`: as a table of its own, given the rows the default partition held for
 * that day, then attached (which checks nothing of the default partition is left in its range).
 */
async function createDay(client: pg.PoolClient, table: PartitionedTable, day: number): Promise<void> {
  const name = partitionName(table, day);
  const bounds = [day, day + DAY_MS];
  await client.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
  // Both sides list the parent's columns in its order (LIKE copies them so).
  await client.query(
    `WITH moved AS (DELETE FROM ${table}_default WHERE id_time >= $1 AND id_time < $2 RETURNING *)
     INSERT INTO ${name} SELECT * FROM moved`,
    bounds,
  );
  await client.query(
    `ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${day}) TO (${day + DAY_MS})`,
  );
}

/** Whether the day still has a run to do: queued (blocked ones included) or running. */
async function hasUnfinishedRuns(client: pg.PoolClient, runsPartition: string): Promise<boolean> {
  const result = await client.query(
    `SELECT 1 FROM ${runsPartition} WHERE status IN ('queued', 'running') LIMIT 1`,
  );
  return result.rows.length > 0;
}

/** Finished runs, and the events of runs that are gone, of one partition pair (or the default ones). */
async function deleteFinished(
  client: pg.PoolClient,
  runs: string,
  events: string,
  beforeIdTime: number,
): Promise<void> {
  await client.query(`DELETE FROM ${runs} WHERE id_time < $1 AND status NOT IN ('queued', 'running')`, [
    beforeIdTime,
  ]);
  await client.query(
    `DELETE FROM ${events} e WHERE e.id_time < $1
       AND NOT EXISTS (SELECT 1 FROM ${runs} r WHERE r.id = e.run_id AND r.id_time = e.id_time)`,
    [beforeIdTime],
  );
}

/**
 * One maintenance round at `now`: partitions for today and `daysAhead` days after it, and every day wholly
 * before `retentionDays` days ago dropped (or trimmed, see the header).
 */
export async function maintainPartitions(
  client: pg.PoolClient,
  now: number,
  retentionDays: number,
  daysAhead: number,
): Promise<PartitionReport> {
  const report: PartitionReport = { created: [], dropped: [], trimmed: [], deferred: [], ran: false };
  const locked = await client.query<{ ok: boolean }>(
    `SELECT pg_try_advisory_lock(${MAINTENANCE_LOCK}) AS ok`,
  );
  if (locked.rows[0]?.ok !== true) return report;
  report.ran = true;
  try {
    const today = startOfDay(now);
    for (const table of PARTITIONED) {
      const existing = await dayPartitions(client, table);
      for (let day = today; day <= today + daysAhead * DAY_MS; day += DAY_MS) {
        if (existing.has(day)) continue;
        const name = partitionName(table, day);
        const done = await step(client, () => createDay(client, table, day));
        (done ? report.created : report.deferred).push(name);
      }
    }
    // Every day that ends at or before the cutoff is past retention.
    const cutoff = today - retentionDays * DAY_MS;
    const runDays = await dayPartitions(client, 'runs');
    const eventDays = await dayPartitions(client, 'run_events');
    for (const [day, runs] of [...runDays].sort(([a], [b]) => a - b)) {
      if (day + DAY_MS > cutoff) continue;
      const events = eventDays.get(day);
      const done = await step(client, async () => {
        await client.query('DELETE FROM run_idempotency_keys WHERE id_time >= $1 AND id_time < $2', [
          day,
          day + DAY_MS,
        ]);
        if (await hasUnfinishedRuns(client, runs)) {
          await deleteFinished(client, runs, events ?? 'run_events_default', day + DAY_MS);
          report.trimmed.push(runs);
        } else {
          await client.query(`DROP TABLE ${runs}`);
          if (events !== undefined) await client.query(`DROP TABLE ${events}`);
          report.dropped.push(runs);
        }
      });
      if (!done) report.deferred.push(runs);
    }
    const done = await step(client, async () => {
      await client.query('DELETE FROM run_idempotency_keys WHERE id_time < $1', [cutoff]);
      await deleteFinished(client, 'runs_default', 'run_events_default', cutoff);
    });
    if (!done) report.deferred.push('runs_default');
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${MAINTENANCE_LOCK})`);
  }
  return report;
}
