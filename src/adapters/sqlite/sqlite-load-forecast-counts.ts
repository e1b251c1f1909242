// The load forecast's counts (core/forecast-share.ts): a row of forecast_load per tenant and forecast key,
// with the number of counted schedules and the memory their runs request. Changed inside the transaction of
// every schedule write (sqlite-schedule-queries.ts) and of a job's change of memory (sqlite-store.ts), so
// the forecast reads rows per distinct timing, never the schedules. A write reads the schedule's stored row
// before and after it changes, and moves the count from the one's key to the other's: what is counted is
// what is stored. A row whose count reaches zero is removed, so schedules that come and go leave nothing.
//
// A process of the version before the counts (during a rolling upgrade) writes schedules without them. So
// meta's forecast_counted_seq records the change sequence the counts are current with: each write here moves
// it to its own change_seq only if it was current before (the previous change counted), and a read that
// finds it behind the schedules' latest change rebuilds the counts from the schedules (rebuildIfStale).

import type Database from 'better-sqlite3';
import {
  forecastShareOf,
  memoryChangeShare,
  type ForecastShare,
  type ForecastTiming,
} from '../../core/forecast-share.js';
import { memoryRequestOf, type JobResources } from '../../core/job.js';

/** The schedule columns a forecast timing is made of, in the order of TimingColumns. */
export const FORECAST_TIMING_COLUMNS = 'kind, cron, timezone, interval_ms, anchor_at, start_at, end_at';

export type TimingColumns = [
  kind: 'cron' | 'every',
  cron: string | null,
  timezone: string | null,
  intervalMs: number | null,
  anchorAt: number | null,
  startAt: number | null,
  endAt: number | null,
];

export function timingOfColumns([
  kind,
  cron,
  timezone,
  intervalMs,
  anchorAt,
  startAt,
  endAt,
]: Readonly<TimingColumns>): ForecastTiming {
  return {
    spec:
      kind === 'cron'
        ? { kind, expression: cron ?? '', timezone: timezone ?? 'UTC' }
        : { kind, intervalMs: intervalMs ?? 0, anchorMs: anchorAt ?? 0 },
    startAt,
    endAt,
  };
}

function resourcesOf(memoryMb: number, memoryRequestMb: number | null): JobResources {
  return memoryRequestMb === null ? { memoryMb } : { memoryMb, memoryRequestMb };
}

type StoredRow = [
  tenantId: string,
  paused: number,
  deletedAt: number | null,
  memoryMb: number,
  memoryRequestMb: number | null,
  ...timing: TimingColumns,
];
type GroupRow = [...timing: TimingColumns, schedules: number];
type BackfillRow = [
  tenantId: string,
  memoryMb: number,
  memoryRequestMb: number | null,
  ...timing: TimingColumns,
  schedules: number,
];

/** A share and the tenant whose counts it is of. */
export interface TenantShare {
  tenantId: string;
  share: ForecastShare;
}

const COUNTED_SEQ = "'forecast_counted_seq'";

export function compileLoadForecastCounts(db: Database.Database) {
  const upsert = db.prepare<[string, string, ...TimingColumns, number, number]>(`INSERT INTO forecast_load
      (tenant_id, spec_key, ${FORECAST_TIMING_COLUMNS}, schedules, memory_mb)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (tenant_id, spec_key) DO UPDATE SET schedules = schedules + excluded.schedules,
      memory_mb = memory_mb + excluded.memory_mb`);
  const dropEmpty = db.prepare<[string, string]>(
    'DELETE FROM forecast_load WHERE tenant_id = ? AND spec_key = ? AND schedules <= 0',
  );
  const stored = db
    .prepare<[string], StoredRow>(
      `SELECT s.tenant_id, s.paused, s.deleted_at, j.memory_mb, j.memory_request_mb,
         s.kind, s.cron, s.timezone, s.interval_ms, s.anchor_at, s.start_at, s.end_at
       FROM schedules s JOIN jobs j ON j.id = s.job_id WHERE s.id = ?`,
    )
    .raw();
  const markCounted = db.prepare<[string]>(`UPDATE meta SET value = CAST(s.change_seq AS TEXT)
    FROM (SELECT change_seq FROM schedules WHERE id = ?) AS s
    WHERE key = ${COUNTED_SEQ} AND CAST(value AS INTEGER) = s.change_seq - 1`);
  const isStale = db
    .prepare<[], number>(
      `SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key = ${COUNTED_SEQ}), -1)
         <> (SELECT COALESCE(MAX(change_seq), 0) FROM schedules)`,
    )
    .pluck();
  const clear = db.prepare('DELETE FROM forecast_load');
  const setCounted = db.prepare(`INSERT INTO meta (key, value)
    VALUES (${COUNTED_SEQ}, CAST((SELECT COALESCE(MAX(change_seq), 0) FROM schedules) AS TEXT))
    ON CONFLICT (key) DO UPDATE SET value = excluded.value`);
  const countedOfJob = db
    .prepare<[string, string], GroupRow>(
      `SELECT ${FORECAST_TIMING_COLUMNS}, COUNT(*) FROM schedules INDEXED BY schedules_tenant_job
       WHERE tenant_id = ? AND job_id = ? AND deleted_at IS NULL AND paused = 0
       GROUP BY ${FORECAST_TIMING_COLUMNS}`,
    )
    .raw();
  const countedOfAll = db
    .prepare<[], BackfillRow>(
      `SELECT s.tenant_id, j.memory_mb, j.memory_request_mb,
         s.kind, s.cron, s.timezone, s.interval_ms, s.anchor_at, s.start_at, s.end_at, COUNT(*)
       FROM schedules s JOIN jobs j ON j.id = s.job_id
       WHERE s.deleted_at IS NULL AND s.paused = 0
       GROUP BY s.tenant_id, s.job_id, s.kind, s.cron, s.timezone, s.interval_ms, s.anchor_at, s.start_at,
         s.end_at`,
    )
    .raw();

  const add = (tenantId: string, share: ForecastShare, sign: 1 | -1): void => {
    const { spec, startAt, endAt } = share.timing;
    const cron = spec.kind === 'cron' ? [spec.expression, spec.timezone] : [null, null];
    const every = spec.kind === 'every' ? [spec.intervalMs, spec.anchorMs] : [null, null];
    upsert.run(
      tenantId,
      share.key,
      spec.kind,
      cron[0] ?? null,
      cron[1] ?? null,
      every[0] ?? null,
      every[1] ?? null,
      startAt,
      endAt,
      sign * share.schedules,
      sign * share.memoryMb,
    );
    if (sign * share.schedules < 0) dropEmpty.run(tenantId, share.key);
  };

  /** The counts afresh from every counted schedule, current with the latest change. */
  const backfill = (): void => {
    clear.run();
    for (const row of countedOfAll.all()) {
      const [tenantId, memoryMb, memoryRequestMb, kind, cron, timezone, intervalMs, anchorAt, ...tail] = row;
      const [startAt, endAt, schedules] = tail;
      const timing = timingOfColumns([kind, cron, timezone, intervalMs, anchorAt, startAt, endAt]);
      const resources = resourcesOf(memoryMb, memoryRequestMb);
      const share = forecastShareOf(timing, { paused: false, deleted: false }, resources, schedules);
      if (share !== null) add(tenantId, share, 1);
    }
    setCounted.run();
  };
  // Checked again inside: another process may have rebuilt them since.
  const rebuild = db.transaction(() => {
    if (isStale.get() === 1) backfill();
  });

  return {
    /** What the schedule as stored now adds to its tenant's counts; null when nothing (paused, deleted). */
    storedShare(scheduleId: string): TenantShare | null {
      const row = stored.get(scheduleId);
      if (row === undefined) return null;
      const [tenantId, paused, deletedAt, memoryMb, memoryRequestMb, ...timing] = row;
      const share = forecastShareOf(
        timingOfColumns(timing),
        { paused: paused === 1, deleted: deletedAt !== null },
        resourcesOf(memoryMb, memoryRequestMb),
      );
      return share === null ? null : { tenantId, share };
    },

    /** In the schedule write's transaction, after it: the counts are current with its change (see the header). */
    markCounted(scheduleId: string): void {
      markCounted.run(scheduleId);
    },

    /** In the caller's transaction: adds (sign 1) or takes away (−1) a share read by storedShare. */
    apply(share: TenantShare | null, sign: 1 | -1): void {
      if (share !== null) add(share.tenantId, share.share, sign);
    },

    /** In the caller's transaction: a job's request changed from `before` to `after`. */
    moveJobMemory(tenantId: string, jobId: string, before: JobResources, after: JobResources): void {
      if (memoryRequestOf(before) === memoryRequestOf(after)) return; // a rename, a new image…
      for (const row of countedOfJob.all(tenantId, jobId)) {
        const [kind, cron, timezone, intervalMs, anchorAt, startAt, endAt, schedules] = row;
        const timing = timingOfColumns([kind, cron, timezone, intervalMs, anchorAt, startAt, endAt]);
        const share = memoryChangeShare(timing, schedules, before, after);
        if (share !== null) add(tenantId, share, 1);
      }
    },

    /** Rebuilds the counts when a write went past them (see the header); two index lookups otherwise. */
    rebuildIfStale(): void {
      if (isStale.get() === 1) rebuild.immediate();
    },

    /** In the migration's transaction: the counts of every counted schedule. */
    backfill,
  };
}

export type LoadForecastCounts = ReturnType<typeof compileLoadForecastCounts>;
