// The load forecast's reads (ports/store/load-forecast-store.ts), as in sqlite-load-forecast-queries.ts:
// schedules from forecast_load, the counts kept by every schedule write (postgres-load-forecast-counts.ts),
// one row per distinct timing (a tenant's: a range of the primary key; the fleet's: summed by key); queued
// runs from the outbox index runs_undispatched. Read in autocommit: a snapshot of one statement is all a
// forecast needs.

import type { QueuedLoadGroup, ScheduleLoadGroup } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { FORECAST_TIMING_COLUMNS, timingOfRow, type TimingRow } from './postgres-load-forecast-counts.js';

interface QueuedLoadRow {
  available_at: number;
  memory_mb: number;
  memory_request_mb: number | null;
  n: number;
}

export async function listScheduleLoad(
  sql: Sql,
  tenantId: string | null,
  notEndedBefore: number,
): Promise<ScheduleLoadGroup[]> {
  const notEnded = '(end_at IS NULL OR end_at >= $1)';
  const rows = await sql.rows<TimingRow & { schedules: number; memory_mb: number }>(
    tenantId === null
      ? `SELECT ${FORECAST_TIMING_COLUMNS}, SUM(schedules)::bigint AS schedules,
           SUM(memory_mb)::bigint AS memory_mb
         FROM forecast_load WHERE ${notEnded} GROUP BY spec_key, ${FORECAST_TIMING_COLUMNS}`
      : `SELECT ${FORECAST_TIMING_COLUMNS}, schedules, memory_mb FROM forecast_load
         WHERE tenant_id = $2 AND ${notEnded}`,
    tenantId === null ? [notEndedBefore] : [notEndedBefore, tenantId],
  );
  return rows.map((row) => ({
    ...timingOfRow(row),
    schedules: Number(row.schedules),
    memoryMb: Number(row.memory_mb),
  }));
}

export async function listQueuedLoad(
  sql: Sql,
  tenantId: string | null,
  fromMs: number,
  toMs: number,
): Promise<QueuedLoadGroup[]> {
  const rows = await sql.rows<QueuedLoadRow>(
    `SELECT r.available_at, j.memory_mb, j.memory_request_mb, COUNT(*)::bigint AS n
     FROM runs r JOIN jobs j ON j.id = r.job_id
     WHERE r.status = 'queued' AND r.dispatched_at IS NULL AND r.blocked_by IS NULL
       AND r.available_at >= $1 AND r.available_at < $2 AND ($3::text IS NULL OR r.tenant_id = $3)
     GROUP BY r.available_at, j.memory_mb, j.memory_request_mb`,
    [fromMs, toMs, tenantId],
  );
  return rows.map((row) => ({
    at: Number(row.available_at),
    memoryMb: row.memory_mb,
    memoryRequestMb: row.memory_request_mb,
    runs: Number(row.n),
  }));
}
