// The load forecast's reads (ports/store/load-forecast-store.ts). Schedules come from forecast_load, the
// counts kept by every schedule write (sqlite-load-forecast-counts.ts, which rebuilds them first if a write
// went past them): a tenant's rows are one range of its primary key, the fleet's are every tenant's summed
// by key; either way one row per distinct timing, whatever the number of schedules. Queued runs come from
// the dispatch sweep's outbox index (runs_undispatched), which holds only runs not yet handed to the queue.

import type Database from 'better-sqlite3';
import type { QueuedLoadGroup, ScheduleLoadGroup } from '../../ports/store.js';
import {
  FORECAST_TIMING_COLUMNS,
  timingOfColumns,
  type LoadForecastCounts,
  type TimingColumns,
} from './sqlite-load-forecast-counts.js';

type ScheduleLoadRow = [...timing: TimingColumns, schedules: number, memoryMb: number];
type QueuedLoadRow = [at: number, memoryMb: number, memoryRequestMb: number | null, runs: number];

const NOT_ENDED = '(end_at IS NULL OR end_at >= ?)';

const tenantLoad = `SELECT ${FORECAST_TIMING_COLUMNS}, schedules, memory_mb FROM forecast_load
  WHERE tenant_id = ? AND ${NOT_ENDED}`;
// The key determines the timing columns: grouping by it alone would do, but SQL wants them named.
const fleetLoad = `SELECT ${FORECAST_TIMING_COLUMNS}, SUM(schedules), SUM(memory_mb) FROM forecast_load
  WHERE ${NOT_ENDED} GROUP BY spec_key, ${FORECAST_TIMING_COLUMNS}`;

const queuedLoad = (where: string) => `
  SELECT r.available_at, j.memory_mb, j.memory_request_mb, COUNT(*)
  FROM runs r INDEXED BY runs_undispatched JOIN jobs j ON j.id = r.job_id
  WHERE r.status = 'queued' AND r.dispatched_at IS NULL AND r.blocked_by IS NULL
    AND r.available_at >= ? AND r.available_at < ? ${where}
  GROUP BY r.available_at, j.memory_mb, j.memory_request_mb`;

function toScheduleGroup(row: ScheduleLoadRow): ScheduleLoadGroup {
  const [kind, cron, timezone, intervalMs, anchorAt, startAt, endAt, schedules, memoryMb] = row;
  const timing = timingOfColumns([kind, cron, timezone, intervalMs, anchorAt, startAt, endAt]);
  return { ...timing, schedules, memoryMb };
}

function toQueuedGroup([at, memoryMb, memoryRequestMb, runs]: QueuedLoadRow): QueuedLoadGroup {
  return { at, memoryMb, memoryRequestMb, runs };
}

export function compileLoadForecastQueries(
  db: Database.Database,
  counts: Pick<LoadForecastCounts, 'rebuildIfStale'>,
) {
  const tenantSchedules = db.prepare<[string, number], ScheduleLoadRow>(tenantLoad).raw();
  const fleetSchedules = db.prepare<[number], ScheduleLoadRow>(fleetLoad).raw();
  const tenantQueued = db
    .prepare<[number, number, string], QueuedLoadRow>(queuedLoad('AND r.tenant_id = ?'))
    .raw();
  const fleetQueued = db.prepare<[number, number], QueuedLoadRow>(queuedLoad('')).raw();
  return {
    listScheduleLoad(tenantId: string | null, notEndedBefore: number): ScheduleLoadGroup[] {
      counts.rebuildIfStale();
      return (
        tenantId === null ? fleetSchedules.all(notEndedBefore) : tenantSchedules.all(tenantId, notEndedBefore)
      ).map(toScheduleGroup);
    },
    listQueuedLoad: (tenantId: string | null, fromMs: number, toMs: number): QueuedLoadGroup[] =>
      (tenantId === null ? fleetQueued.all(fromMs, toMs) : tenantQueued.all(fromMs, toMs, tenantId)).map(
        toQueuedGroup,
      ),
  };
}

export type LoadForecastQueries = ReturnType<typeof compileLoadForecastQueries>;
