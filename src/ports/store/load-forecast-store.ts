// The load forecast's reads (core/load-forecast.ts): the live, unpaused schedules of live jobs, grouped by
// their timing and their job's memory, and the runs queued for later, grouped by due time. Grouped in the
// database, so a million schedules that share ten thousand specs cross the wire as ten thousand rows.

import type { TimeSpec } from '../../core/schedule-time.js';

/** Schedules of one timing whose jobs ask for the same memory. */
export interface ScheduleLoadGroup {
  spec: TimeSpec;
  startAt: number | null;
  endAt: number | null;
  /** The job's memory limit and request (null: the default share, core/job.ts memoryRequestOf). */
  memoryMb: number;
  memoryRequestMb: number | null;
  schedules: number;
}

/** Queued runs not yet handed to the queue (one-off runs for later, retries after a backoff), by due time. */
export interface QueuedLoadGroup {
  at: number;
  memoryMb: number;
  memoryRequestMb: number | null;
  runs: number;
}

export interface LoadForecastStore {
  /** Live, unpaused schedules of live jobs; of one tenant, or of every tenant when `tenantId` is null. */
  listScheduleLoad(tenantId: string | null): Promise<ScheduleLoadGroup[]>;
  /** Queued, undispatched, unblocked runs due in [fromMs, toMs); of one tenant, or of all when null. */
  listQueuedLoad(tenantId: string | null, fromMs: number, toMs: number): Promise<QueuedLoadGroup[]>;
}
