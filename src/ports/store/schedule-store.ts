// Schedules, tenant-facing. Every change raises the schedule's version and the store's change sequence
// (schedule-timing-store.ts), which is how the scheduler engine learns of it.
//
// Concurrency: every change (insert, update, delete, and each schedule of a deleted job) takes a change
// sequence number unique in the store and in commit order: once a change numbered N is visible, no change
// with a smaller number becomes visible later. Numbers may leave gaps, never repeat or reorder. SQLite gets it
// from MAX + 1 under its single writer; elsewhere a number handed out before commit (a PostgreSQL SEQUENCE)
// breaks it — take it from a counter row updated in the writing transaction.
//
// Pauses: insertSchedule and updateSchedule record them, in the same transaction, for
// schedule-history-store.ts: a schedule written paused opens a pause at its updatedAt unless one is open, one
// written unpaused closes the open one at its updatedAt.

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
   * Concurrency: never more than `maxSchedules` live ones under concurrent inserts of one tenant from any
   * process (count and insert serialized per tenant), and never one for a job whose deletion committed first
   * (the job row is locked against deleteJob).
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
   * false when another change came first (or it was deleted), and nothing was written. Concurrency: of
   * concurrent updates from one version, at most one returns true (the version check is in the write).
   */
  updateSchedule(schedule: Schedule): Promise<boolean>;
  /**
   * updateSchedule for several schedules of one tenant at once, all or nothing: every one is written (each
   * with its own change number, its pause recorded) if every stored version is its `version − 1`; otherwise
   * false and none is. The ids must be distinct. Concurrency: one transaction, rows locked in id order.
   */
  updateSchedules(schedules: readonly Schedule[]): Promise<boolean>;
  /**
   * Soft-deletes it; its runs stay readable. False when there was no such live schedule: of concurrent
   * deletes, one returns true.
   */
  deleteSchedule(tenantId: string, scheduleId: string, at: number): Promise<boolean>;
}
