// The load forecast's reads (core/load-forecast.ts): the counts of live, unpaused schedules by timing
// (core/forecast-share.ts), which the store keeps with every schedule write, so a read costs the number of
// distinct timings, not of schedules; and the runs queued for later, grouped by due time.

import type { TimeSpec } from '../../core/schedule-time.js';

/** Live, unpaused schedules of one timing (one forecast key), with what their runs request. */
export interface ScheduleLoadGroup {
  spec: TimeSpec;
  startAt: number | null;
  endAt: number | null;
  schedules: number;
  /** The memory, in MiB, their runs request together (core/job.ts memoryRequestOf of each one's job). */
  memoryMb: number;
}

/** Queued runs not yet handed to the queue (one-off runs for later, retries after a backoff), by due time. */
export interface QueuedLoadGroup {
  at: number;
  memoryMb: number;
  memoryRequestMb: number | null;
  runs: number;
}

export interface LoadForecastStore {
  /**
   * Live, unpaused schedules by timing, of one tenant, or summed over every tenant when `tenantId` is null;
   * timings whose endAt is before `notEndedBefore` (no tick left) are left out.
   */
  listScheduleLoad(tenantId: string | null, notEndedBefore: number): Promise<ScheduleLoadGroup[]>;
  /** Queued, undispatched, unblocked runs due in [fromMs, toMs); of one tenant, or of all when null. */
  listQueuedLoad(tenantId: string | null, fromMs: number, toMs: number): Promise<QueuedLoadGroup[]>;
}
