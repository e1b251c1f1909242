// Partition frontiers (src/core/watermark.ts): how far each partition's owner has fired, kept on the lease
// rows (migration 3). Written inside fireTicks' transaction for the partitions whose lease it has locked;
// read with every schedule read, so that a schedule's watermark is what the engine would load.

import type { PartitionFrontier } from '../../core/watermark.js';
import type { FiredThrough } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';

export type Frontiers = ReadonlyMap<number, PartitionFrontier>;

/** At most one row per partition (256): read whole, it costs less than a join on every schedule read. */
export async function readFrontiers(sql: Sql): Promise<Frontiers> {
  const rows = await sql.rows<{ partition: number; fired_through: number; fired_through_seq: number }>(
    `SELECT partition, fired_through, fired_through_seq FROM scheduler_leases
     WHERE fired_through IS NOT NULL AND fired_through_seq IS NOT NULL`,
  );
  return new Map(
    rows.map((row) => [row.partition, { firedThrough: row.fired_through, changeSeq: row.fired_through_seq }]),
  );
}

/** Inside the caller's transaction, for partitions whose lease it holds locked. */
export async function recordFrontiers(
  sql: Sql,
  partitions: readonly number[],
  through: FiredThrough,
): Promise<void> {
  if (partitions.length === 0) return;
  await sql.changes(
    `UPDATE scheduler_leases SET fired_through = $1, fired_through_seq = $2
     WHERE partition = ANY($3::integer[])`,
    [through.firedThrough, through.changeSeq, partitions],
  );
}
