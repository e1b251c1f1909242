// Schedules, tenant-facing. Every change raises the schedule's version and the store's change sequence
// (schedule-timing-store.ts), which is how the scheduler engine learns of it.

import type { Schedule } from '../../core/schedule.js';
import type { Page } from './page.js';

export interface ScheduleFilter {
  jobId?: string;
  limit: number;
  /** The last id of the previous page; schedules are listed oldest first. */
  cursor?: string;
}

export interface ScheduleStore {
  /**
   * Inserts the schedule if the tenant has fewer than `maxSchedules` live ones, checked in the same
   * transaction; throws `plan_limit_exceeded` if not, and `not_found` (field `jobId`) if its job is not live.
   */
  insertSchedule(schedule: Schedule, maxSchedules: number): Promise<void>;
  /** Live schedules only. */
  getSchedule(tenantId: string, scheduleId: string): Promise<Schedule | null>;
  /**
   * Live schedules, oldest first. A `jobId` the tenant does not have (another tenant's, or none) throws
   * not_found naming it, as listRuns does; a deleted job of its own lists none.
   */
  listSchedules(tenantId: string, filter: ScheduleFilter): Promise<Page<Schedule>>;
  /**
   * Writes every field of the schedule if its stored version is `schedule.version − 1` (the caller raised it);
   * false when another change came first (or it was deleted), and nothing was written.
   */
  updateSchedule(schedule: Schedule): Promise<boolean>;
  /** Soft-deletes it; its runs stay readable. False when there was no such live schedule. */
  deleteSchedule(tenantId: string, scheduleId: string, at: number): Promise<boolean>;
}
