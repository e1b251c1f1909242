// The scheduler engine's reads of schedules: the timing of its partitions' schedules (not their runs' args
// and env), and the store-wide change sequence it reconciles from.

import type { CatchupPolicy, ScheduleSpec } from '../../core/schedule.js';

/** A schedule as the scheduler engine needs it: its timing, not its runs' args and env. */
export interface ScheduleTiming {
  id: string;
  partition: number;
  version: number;
  spec: ScheduleSpec;
  startAt: number | null;
  endAt: number | null;
  jitterSeconds: number;
  catchup: CatchupPolicy;
  paused: boolean;
  /** Deleted (itself or with its job): it fires no more. */
  deleted: boolean;
  nextFireAt: number | null;
  /** Store-wide sequence of schedule changes; reconciliation reads the changes after the last it saw. */
  changeSeq: number;
}

export interface ScheduleTimingStore {
  /** Live, unpaused schedules with a next tick, of these partitions, in id order after `afterId`. */
  loadSchedules(
    partitions: readonly number[],
    afterId: string | null,
    limit: number,
  ): Promise<ScheduleTiming[]>;
  /** One schedule's timing, deleted or paused included; null if it never existed. */
  getScheduleTiming(scheduleId: string): Promise<ScheduleTiming | null>;
  /**
   * Schedules of these partitions changed after `afterSeq` (deleted and paused included), in change order,
   * each once, at its latest change. Because the sequence is in commit order (schedule-store.ts), a reader
   * that passes the last number it saw misses no change, however many writers there are.
   */
  listScheduleChanges(
    partitions: readonly number[],
    afterSeq: number,
    limit: number,
  ): Promise<ScheduleTiming[]>;
  /** The latest change sequence number (0 before any change): every change up to it is visible. */
  latestScheduleChange(): Promise<number>;
}
