// What a schedule did in a window of its ticks, for explaining them (core/tick-explanation.ts): its runs by
// tick, and its pause intervals. Pauses are recorded by insertSchedule and updateSchedule (schedule-store.ts)
// in the schedule change's own transaction: a pause opens an interval, a resume closes it.

import type { PauseInterval, TickRun } from '../../core/tick-explanation.js';

export interface ScheduleHistoryStore {
  /**
   * The schedule's runs whose tick (nominal time) is in [fromMs, toMs), oldest first, at most `limit`; none
   * for a schedule the tenant does not have. Read through an index on (schedule or its job, run id), since a
   * tick's run id begins with its tick: the cost is the window's runs, never the schedule's whole history.
   */
  listTickRuns(
    tenantId: string,
    scheduleId: string,
    fromMs: number,
    toMs: number,
    limit: number,
  ): Promise<TickRun[]>;
  /** The schedule's pause intervals that overlap [fromMs, toMs), oldest first; none for another tenant's. */
  listSchedulePauses(
    tenantId: string,
    scheduleId: string,
    fromMs: number,
    toMs: number,
  ): Promise<PauseInterval[]>;
}
