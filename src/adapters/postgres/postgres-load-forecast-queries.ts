// The load forecast's reads (ports/store/load-forecast-store.ts), as in sqlite-load-forecast-queries.ts:
// schedules grouped by (tenant, timing, job) over schedules_forecast (an index-only scan where the
// visibility map allows), then by timing and the job's memory; queued runs from the outbox index
// runs_undispatched. Read in autocommit: a snapshot of one statement is all a forecast needs.

import type { QueuedLoadGroup, ScheduleLoadGroup } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';

interface ScheduleLoadRow {
  kind: 'cron' | 'every';
  cron: string | null;
  timezone: string | null;
  interval_ms: number | null;
  anchor_at: number | null;
  start_at: number | null;
  end_at: number | null;
  memory_mb: number;
  memory_request_mb: number | null;
  n: number;
}

interface QueuedLoadRow {
  available_at: number;
  memory_mb: number;
  memory_request_mb: number | null;
  n: number;
}

const TIMING = 'kind, cron, timezone, interval_ms, anchor_at, start_at, end_at';

export async function listScheduleLoad(sql: Sql, tenantId: string | null): Promise<ScheduleLoadGroup[]> {
  const rows = await sql.rows<ScheduleLoadRow>(
    `SELECT g.kind, g.cron, g.timezone, g.interval_ms, g.anchor_at, g.start_at, g.end_at,
            j.memory_mb, j.memory_request_mb, SUM(g.n)::bigint AS n
     FROM (SELECT ${TIMING}, job_id, COUNT(*) AS n FROM schedules
           WHERE ($1::text IS NULL OR tenant_id = $1) AND deleted_at IS NULL AND NOT paused
           GROUP BY tenant_id, ${TIMING}, job_id) AS g
     JOIN jobs j ON j.id = g.job_id AND j.deleted_at IS NULL
     GROUP BY g.kind, g.cron, g.timezone, g.interval_ms, g.anchor_at, g.start_at, g.end_at,
              j.memory_mb, j.memory_request_mb`,
    [tenantId],
  );
  return rows.map((row) => ({
    spec:
      row.kind === 'cron'
        ? { kind: 'cron', expression: row.cron ?? '', timezone: row.timezone ?? 'UTC' }
        : { kind: 'every', intervalMs: Number(row.interval_ms), anchorMs: Number(row.anchor_at) },
    startAt: row.start_at === null ? null : Number(row.start_at),
    endAt: row.end_at === null ? null : Number(row.end_at),
    memoryMb: row.memory_mb,
    memoryRequestMb: row.memory_request_mb,
    schedules: Number(row.n),
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
