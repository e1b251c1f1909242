// A schedule's runs by tick and its pause intervals (ports/store/schedule-history-store.ts), and the pause
// writes that schedule changes make in their own transaction (postgres-schedule-queries.ts).

import { encodeTime, ID_PREFIXES } from '../../core/ids.js';
import type { RunStatus } from '../../core/run-state.js';
import type { PauseInterval, TickRun } from '../../core/tick-explanation.js';
import type { Sql } from './postgres-database.js';

interface TickRunRow {
  id: string;
  nominal_time: number;
  status: RunStatus;
  reason: string | null;
  created_at: number;
  fired_late: boolean | null;
}

/** The lowest run id of a tick at `ms` or later: a tick's run id begins with its nominal time. */
function firstRunIdAt(ms: number): string {
  return `${ID_PREFIXES.run}_${encodeTime(ms)}`;
}

/**
 * A schedule keeps its job for life, so its runs are read through the job's index (runs_tenant_job: tenant,
 * job, id), as listRuns does; the id range is the tick range, and id_time (a scheduled run's nominal time)
 * names the day partitions to read.
 */
export async function listTickRuns(
  sql: Sql,
  tenantId: string,
  scheduleId: string,
  fromMs: number,
  toMs: number,
  limit: number,
): Promise<TickRun[]> {
  const schedule = await sql.first<{ job_id: string }>(
    'SELECT job_id FROM schedules WHERE id = $1 AND tenant_id = $2',
    [scheduleId, tenantId],
  );
  if (schedule === undefined) return [];
  const rows = await sql.rows<TickRunRow>(
    `SELECT id, nominal_time, status, reason, created_at, fired_late FROM runs
     WHERE tenant_id = $1 AND job_id = $2 AND schedule_id = $3 AND id >= $4 AND id < $5
       AND id_time >= $6 AND id_time < $7 AND nominal_time >= $6 AND nominal_time < $7
     ORDER BY id LIMIT $8`,
    [tenantId, schedule.job_id, scheduleId, firstRunIdAt(fromMs), firstRunIdAt(toMs), fromMs, toMs, limit],
  );
  return rows.map((row) => ({
    id: row.id,
    nominalTime: row.nominal_time,
    status: row.status,
    reason: row.reason,
    createdAt: row.created_at,
    firedLate: row.fired_late,
  }));
}

export async function listSchedulePauses(
  sql: Sql,
  tenantId: string,
  scheduleId: string,
  fromMs: number,
  toMs: number,
): Promise<PauseInterval[]> {
  const rows = await sql.rows<{ paused_at: number; resumed_at: number | null }>(
    `SELECT p.paused_at, p.resumed_at FROM schedule_pauses p
     WHERE p.schedule_id = $1
       AND EXISTS (SELECT 1 FROM schedules s WHERE s.id = p.schedule_id AND s.tenant_id = $2)
       AND p.paused_at < $3 AND (p.resumed_at IS NULL OR p.resumed_at > $4)
     ORDER BY p.paused_at`,
    [scheduleId, tenantId, toMs, fromMs],
  );
  return rows.map((row) => ({ pausedAt: row.paused_at, resumedAt: row.resumed_at }));
}

/**
 * In the schedule change's transaction, after its row is locked (so changes of one schedule record their
 * pauses one at a time): opens a pause unless one is open, or closes the open one.
 */
export async function recordPause(sql: Sql, scheduleId: string, paused: boolean, at: number): Promise<void> {
  if (paused) {
    await sql.changes(
      `INSERT INTO schedule_pauses (schedule_id, paused_at) SELECT $1, $2
       WHERE NOT EXISTS (SELECT 1 FROM schedule_pauses WHERE schedule_id = $1 AND resumed_at IS NULL)
       ON CONFLICT DO NOTHING`,
      [scheduleId, at],
    );
  } else {
    await sql.changes(
      'UPDATE schedule_pauses SET resumed_at = $2 WHERE schedule_id = $1 AND resumed_at IS NULL',
      [scheduleId, at],
    );
  }
}
