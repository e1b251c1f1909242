// Row shapes of the schedules table and their mapping to the core's Schedule and the engine's ScheduleTiming.
// The spec and the catch-up policy are spread over plain columns (not JSON) so that the engine's load of a
// million schedules reads integers and short strings only; `paused` is 0/1.
//
// Timing reads (loadSchedules, getScheduleTiming, listScheduleChanges) fetch TIMING_COLUMNS as raw arrays:
// no per-row object with named keys is built by the driver, which is most of the cost of a large load.

import type {
  CatchupMode,
  CatchupPolicy,
  OverlapPolicy,
  Schedule,
  ScheduleSpec,
} from '../../core/schedule.js';
import type { ScheduleTiming } from '../../ports/store.js';

export interface ScheduleRow {
  id: string;
  tenant_id: string;
  job_id: string;
  partition: number;
  kind: 'cron' | 'every';
  cron: string | null;
  timezone: string | null;
  every: string | null;
  interval_ms: number | null;
  anchor_at: number | null;
  start_at: number | null;
  end_at: number | null;
  paused: number;
  overlap_policy: OverlapPolicy;
  catchup_mode: CatchupMode;
  catchup_window_seconds: number;
  catchup_max_runs: number;
  jitter_seconds: number;
  args_json: string | null;
  env_json: string | null;
  created_at: number;
  updated_at: number;
  version: number;
  next_fire_at: number | null;
  /** [spec, catchup], derived from the columns above; written with them, read by the engine's load only. */
  timing_json: string;
}

export const SCHEDULE_COLUMNS = `id, tenant_id, job_id, partition, kind, cron, timezone, every, interval_ms,
  anchor_at, start_at, end_at, paused, overlap_policy, catchup_mode, catchup_window_seconds, catchup_max_runs,
  jitter_seconds, args_json, env_json, created_at, updated_at, version, next_fire_at, timing_json`;

export const TIMING_COLUMNS = `id, partition, version, kind, cron, timezone, every, interval_ms, anchor_at,
  start_at, end_at, jitter_seconds, catchup_mode, catchup_window_seconds, catchup_max_runs, paused,
  deleted_at, next_fire_at, change_seq`;

/** The engine's load: active schedules only, so paused and deleted are known to be false. */
export const LOAD_COLUMNS =
  'id, partition, version, start_at, end_at, jitter_seconds, next_fire_at, change_seq, timing_json';

export type LoadRow = [
  id: string,
  partition: number,
  version: number,
  startAt: number | null,
  endAt: number | null,
  jitterSeconds: number,
  nextFireAt: number | null,
  changeSeq: number,
  timingJson: string,
];

/** A raw row of TIMING_COLUMNS, in that order. */
export type TimingRow = [
  id: string,
  partition: number,
  version: number,
  kind: 'cron' | 'every',
  cron: string | null,
  timezone: string | null,
  every: string | null,
  intervalMs: number | null,
  anchorAt: number | null,
  startAt: number | null,
  endAt: number | null,
  jitterSeconds: number,
  catchupMode: CatchupMode,
  catchupWindowSeconds: number,
  catchupMaxRuns: number,
  paused: number,
  deletedAt: number | null,
  nextFireAt: number | null,
  changeSeq: number,
];

export function scheduleToRow(schedule: Schedule): ScheduleRow {
  const { spec, catchup } = schedule;
  return {
    id: schedule.id,
    tenant_id: schedule.tenantId,
    job_id: schedule.jobId,
    partition: schedule.partition,
    kind: spec.kind,
    cron: spec.kind === 'cron' ? spec.cron : null,
    timezone: spec.kind === 'cron' ? spec.timezone : null,
    every: spec.kind === 'every' ? spec.every : null,
    interval_ms: spec.kind === 'every' ? spec.intervalMs : null,
    anchor_at: spec.kind === 'every' ? spec.anchorAt : null,
    start_at: schedule.startAt,
    end_at: schedule.endAt,
    paused: schedule.paused ? 1 : 0,
    overlap_policy: schedule.overlapPolicy,
    catchup_mode: catchup.mode,
    catchup_window_seconds: catchup.windowSeconds,
    catchup_max_runs: catchup.maxRuns,
    jitter_seconds: schedule.jitterSeconds,
    args_json: schedule.args === null ? null : JSON.stringify(schedule.args),
    env_json: schedule.env === null ? null : JSON.stringify(schedule.env),
    created_at: schedule.createdAt,
    updated_at: schedule.updatedAt,
    version: schedule.version,
    next_fire_at: schedule.nextFireAt,
    timing_json: JSON.stringify([spec, catchup]),
  };
}

/** Rows are written only by scheduleToRow, so the columns of the other kind are null and these are not. */
function specOf(
  kind: 'cron' | 'every',
  cron: string | null,
  timezone: string | null,
  every: string | null,
  intervalMs: number | null,
  anchorAt: number | null,
): ScheduleSpec {
  return kind === 'cron'
    ? { kind, cron: cron ?? '', timezone: timezone ?? 'UTC' }
    : { kind, every: every ?? '', intervalMs: intervalMs ?? 0, anchorAt: anchorAt ?? 0 };
}

export function rowToSchedule(row: ScheduleRow): Schedule {
  const catchup: CatchupPolicy = {
    mode: row.catchup_mode,
    windowSeconds: row.catchup_window_seconds,
    maxRuns: row.catchup_max_runs,
  };
  return {
    id: row.id,
    tenantId: row.tenant_id,
    jobId: row.job_id,
    partition: row.partition,
    spec: specOf(row.kind, row.cron, row.timezone, row.every, row.interval_ms, row.anchor_at),
    startAt: row.start_at,
    endAt: row.end_at,
    paused: row.paused !== 0,
    overlapPolicy: row.overlap_policy,
    catchup,
    jitterSeconds: row.jitter_seconds,
    args: row.args_json === null ? null : (JSON.parse(row.args_json) as string[]),
    env: row.env_json === null ? null : (JSON.parse(row.env_json) as Record<string, string>),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    nextFireAt: row.next_fire_at,
  };
}

export function timingRowToTiming(row: TimingRow): ScheduleTiming {
  return {
    id: row[0],
    partition: row[1],
    version: row[2],
    spec: specOf(row[3], row[4], row[5], row[6], row[7], row[8]),
    startAt: row[9],
    endAt: row[10],
    jitterSeconds: row[11],
    catchup: { mode: row[12], windowSeconds: row[13], maxRuns: row[14] },
    paused: row[15] !== 0,
    deleted: row[16] !== null,
    nextFireAt: row[17],
    changeSeq: row[18],
  };
}

/**
 * Maps a page of the engine's load. Schedules with the same spec and catch-up share one frozen spec and one
 * frozen catch-up object (a million cron schedules mostly have a handful of distinct ones), so each distinct
 * timing_json is parsed once per page.
 */
export function loadRowsToTimings(rows: LoadRow[]): ScheduleTiming[] {
  const parsed = new Map<string, readonly [ScheduleSpec, CatchupPolicy]>();
  const out = new Array<ScheduleTiming>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as LoadRow;
    let timing = parsed.get(row[8]);
    if (timing === undefined) {
      const [spec, catchup] = JSON.parse(row[8]) as [ScheduleSpec, CatchupPolicy];
      timing = [Object.freeze(spec), Object.freeze(catchup)];
      parsed.set(row[8], timing);
    }
    out[i] = {
      id: row[0],
      partition: row[1],
      version: row[2],
      spec: timing[0],
      startAt: row[3],
      endAt: row[4],
      jitterSeconds: row[5],
      catchup: timing[1],
      paused: false,
      deleted: false,
      nextFireAt: row[6],
      changeSeq: row[7],
    };
  }
  return out;
}
