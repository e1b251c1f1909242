// A schedule's runs by tick and its pause intervals (ports/store/schedule-history-store.ts), and the pause
// writes that schedule changes make in their own transaction (sqlite-schedule-queries.ts).

import type Database from 'better-sqlite3';
import { encodeTime, ID_PREFIXES } from '../../core/ids.js';
import type { RunStatus } from '../../core/run-state.js';
import type { PauseInterval, TickRun } from '../../core/tick-explanation.js';

interface TickRunRow {
  id: string;
  nominal_time: number;
  status: RunStatus;
  reason: string | null;
  created_at: number;
  fired_late: number | null;
}

interface PauseRow {
  paused_at: number;
  resumed_at: number | null;
}

/** The lowest run id of a tick at `ms` or later: a tick's run id begins with its nominal time. */
export function firstRunIdAt(ms: number): string {
  return `${ID_PREFIXES.run}_${encodeTime(ms)}`;
}

export function compileScheduleHistoryQueries(db: Database.Database) {
  // A schedule's runs have no index of their own (migration 5): they are read through their job's, runs_job
  // (job_id, id), which a schedule keeps for life; the schedule is found in the tenant first. The id range is
  // the tick range, and the nominal_time test makes it exact.
  const tickRuns = db.prepare<[string, string, string, string, string, number, number, number], TickRunRow>(
    `SELECT id, nominal_time, status, reason, created_at, fired_late FROM runs
     WHERE job_id = (SELECT job_id FROM schedules WHERE id = ? AND tenant_id = ?)
       AND schedule_id = ? AND id >= ? AND id < ? AND nominal_time >= ? AND nominal_time < ?
     ORDER BY id LIMIT ?`,
  );
  const pauses = db.prepare<[string, string, number, number], PauseRow>(
    `SELECT p.paused_at, p.resumed_at FROM schedule_pauses p
     WHERE p.schedule_id = ? AND EXISTS (SELECT 1 FROM schedules s WHERE s.id = p.schedule_id AND s.tenant_id = ?)
       AND p.paused_at < ? AND (p.resumed_at IS NULL OR p.resumed_at > ?)
     ORDER BY p.paused_at`,
  );
  const openPause = db.prepare<[string, number, string]>(
    `INSERT INTO schedule_pauses (schedule_id, paused_at) SELECT ?, ?
     WHERE NOT EXISTS (SELECT 1 FROM schedule_pauses WHERE schedule_id = ? AND resumed_at IS NULL)
     ON CONFLICT DO NOTHING`,
  );
  const closePause = db.prepare<[number, string]>(
    'UPDATE schedule_pauses SET resumed_at = ? WHERE schedule_id = ? AND resumed_at IS NULL',
  );

  return {
    listTickRuns(
      tenantId: string,
      scheduleId: string,
      fromMs: number,
      toMs: number,
      limit: number,
    ): TickRun[] {
      const rows = tickRuns.all(
        scheduleId,
        tenantId,
        scheduleId,
        firstRunIdAt(fromMs),
        firstRunIdAt(toMs),
        fromMs,
        toMs,
        limit,
      );
      return rows.map((row) => ({
        id: row.id,
        nominalTime: row.nominal_time,
        status: row.status,
        reason: row.reason,
        createdAt: row.created_at,
        firedLate: row.fired_late === null ? null : row.fired_late === 1,
      }));
    },

    listSchedulePauses(tenantId: string, scheduleId: string, fromMs: number, toMs: number): PauseInterval[] {
      return pauses
        .all(scheduleId, tenantId, toMs, fromMs)
        .map((row) => ({ pausedAt: row.paused_at, resumedAt: row.resumed_at }));
    },

    /** Inside the schedule change's transaction: opens or closes its pause as the change leaves it. */
    recordPause(scheduleId: string, paused: boolean, at: number): void {
      if (paused) openPause.run(scheduleId, at, scheduleId);
      else closePause.run(at, scheduleId);
    },
  };
}

export type ScheduleHistoryQueries = ReturnType<typeof compileScheduleHistoryQueries>;
