// Partition frontiers (src/core/watermark.ts): how far each partition's owner has fired, kept on the lease
// rows (migration 4). Written inside fireTicks' transaction for the partitions it holds; read with every
// schedule read, so that a schedule's watermark is what the engine would load.

import type Database from 'better-sqlite3';
import type { PartitionFrontier } from '../../core/watermark.js';
import type { FiredThrough } from '../../ports/store.js';

export type Frontiers = ReadonlyMap<number, PartitionFrontier>;

export function compileFrontierQueries(db: Database.Database) {
  // At most one row per partition (256): read whole, it costs less than a join on every schedule read.
  const all = db
    .prepare<[], [number, number, number]>(
      `SELECT partition, fired_through, fired_through_seq
      FROM scheduler_leases WHERE fired_through IS NOT NULL AND fired_through_seq IS NOT NULL`,
    )
    .raw();
  const record = db.prepare<[number, number, string]>(`UPDATE scheduler_leases
    SET fired_through = ?, fired_through_seq = ? WHERE partition IN (SELECT value FROM json_each(?))`);

  return {
    frontiers(): Frontiers {
      const map = new Map<number, PartitionFrontier>();
      for (const [partition, firedThrough, changeSeq] of all.all()) {
        map.set(partition, { firedThrough, changeSeq });
      }
      return map;
    },
    /** Inside the caller's transaction, for partitions whose lease it has just checked. */
    record(partitions: readonly number[], through: FiredThrough): void {
      if (partitions.length === 0) return;
      record.run(through.firedThrough, through.changeSeq, JSON.stringify(partitions));
    },
  };
}

export type FrontierQueries = ReturnType<typeof compileFrontierQueries>;

/** Shared with every store adapter (src/core/watermark.ts). */
export { memoisedNextTick } from '../../core/watermark.js';
