// The load forecast's reads (ports/store/load-forecast-store.ts). Schedules are grouped in two steps: by
// (tenant, timing, job) in the order of schedules_forecast, which makes it a streaming aggregate over one
// index with no sort and no table row read, then those groups (thousands, not millions) by timing and the
// job's memory. The fleet-wide read is the same scan over every tenant. Queued runs come from the dispatch
// sweep's outbox index (runs_undispatched), which holds only runs not yet handed to the queue.

import type Database from 'better-sqlite3';
import type { QueuedLoadGroup, ScheduleLoadGroup } from '../../ports/store.js';

type ScheduleLoadRow = [
  kind: 'cron' | 'every',
  cron: string | null,
  timezone: string | null,
  intervalMs: number | null,
  anchorAt: number | null,
  startAt: number | null,
  endAt: number | null,
  memoryMb: number,
  memoryRequestMb: number | null,
  schedules: number,
];
type QueuedLoadRow = [at: number, memoryMb: number, memoryRequestMb: number | null, runs: number];

const TIMING = 'kind, cron, timezone, interval_ms, anchor_at, start_at, end_at';

const scheduleLoad = (where: string) => `
  SELECT g.kind, g.cron, g.timezone, g.interval_ms, g.anchor_at, g.start_at, g.end_at,
         j.memory_mb, j.memory_request_mb, SUM(g.n)
  FROM (SELECT ${TIMING}, job_id, COUNT(*) AS n FROM schedules INDEXED BY schedules_forecast
        WHERE ${where} deleted_at IS NULL AND paused = 0
        GROUP BY tenant_id, ${TIMING}, job_id) AS g
  JOIN jobs j ON j.id = g.job_id AND j.deleted_at IS NULL
  GROUP BY g.kind, g.cron, g.timezone, g.interval_ms, g.anchor_at, g.start_at, g.end_at,
           j.memory_mb, j.memory_request_mb`;

const queuedLoad = (where: string) => `
  SELECT r.available_at, j.memory_mb, j.memory_request_mb, COUNT(*)
  FROM runs r INDEXED BY runs_undispatched JOIN jobs j ON j.id = r.job_id
  WHERE r.status = 'queued' AND r.dispatched_at IS NULL AND r.blocked_by IS NULL
    AND r.available_at >= ? AND r.available_at < ? ${where}
  GROUP BY r.available_at, j.memory_mb, j.memory_request_mb`;

function toScheduleGroup(row: ScheduleLoadRow): ScheduleLoadGroup {
  const [kind, cron, timezone, intervalMs, anchorAt, startAt, endAt, memoryMb, memoryRequestMb, n] = row;
  return {
    spec:
      kind === 'cron'
        ? { kind, expression: cron ?? '', timezone: timezone ?? 'UTC' }
        : { kind, intervalMs: intervalMs ?? 0, anchorMs: anchorAt ?? 0 },
    startAt,
    endAt,
    memoryMb,
    memoryRequestMb,
    schedules: n,
  };
}

function toQueuedGroup([at, memoryMb, memoryRequestMb, runs]: QueuedLoadRow): QueuedLoadGroup {
  return { at, memoryMb, memoryRequestMb, runs };
}

export function compileLoadForecastQueries(db: Database.Database) {
  const tenantSchedules = db.prepare<[string], ScheduleLoadRow>(scheduleLoad('tenant_id = ? AND')).raw();
  const fleetSchedules = db.prepare<[], ScheduleLoadRow>(scheduleLoad('')).raw();
  const tenantQueued = db
    .prepare<[number, number, string], QueuedLoadRow>(queuedLoad('AND r.tenant_id = ?'))
    .raw();
  const fleetQueued = db.prepare<[number, number], QueuedLoadRow>(queuedLoad('')).raw();
  return {
    listScheduleLoad: (tenantId: string | null): ScheduleLoadGroup[] =>
      (tenantId === null ? fleetSchedules.all() : tenantSchedules.all(tenantId)).map(toScheduleGroup),
    listQueuedLoad: (tenantId: string | null, fromMs: number, toMs: number): QueuedLoadGroup[] =>
      (tenantId === null ? fleetQueued.all(fromMs, toMs) : tenantQueued.all(fromMs, toMs, tenantId)).map(
        toQueuedGroup,
      ),
  };
}

export type LoadForecastQueries = ReturnType<typeof compileLoadForecastQueries>;
