// Row shapes of the schedules table and their mapping to the core's Schedule and the engine's ScheduleTiming.
// The spec and the catch-up policy are spread over plain columns, as in the SQLite schema. A large load maps
// schedules with the same spec and catch-up to one frozen spec and one frozen catch-up object (a million cron
// schedules mostly have a handful of distinct ones), so the engine does not hold a copy per schedule.

import type {
  CatchupMode,
  CatchupPolicy,
  OverlapPolicy,
  Schedule,
  ScheduleSpec,
} from '../../core/schedule.js';
import type { ScheduleTiming } from '../../ports/store.js';
import { jsonb } from './postgres-rows.js';

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
  paused: boolean;
  overlap_policy: OverlapPolicy;
  catchup_mode: CatchupMode;
  catchup_window_seconds: number;
  catchup_max_runs: number;
  jitter_seconds: number;
  args: string[] | null;
  env: Record<string, string> | null;
  created_at: number;
  updated_at: number;
  version: number;
  next_fire_at: number | null;
  change_seq: number;
}

/** Every column but change_seq (the store's to give), in scheduleParams order. */
export const SCHEDULE_COLUMNS = `id, tenant_id, job_id, partition, kind, cron, timezone, every, interval_ms,
  anchor_at, start_at, end_at, paused, overlap_policy, catchup_mode, catchup_window_seconds, catchup_max_runs,
  jitter_seconds, args, env, created_at, updated_at, version, next_fire_at`;

export const TIMING_COLUMNS = `id, partition, version, kind, cron, timezone, every, interval_ms, anchor_at,
  start_at, end_at, jitter_seconds, catchup_mode, catchup_window_seconds, catchup_max_runs, paused,
  deleted_at, next_fire_at, change_seq`;

export type TimingRow = Pick<
  ScheduleRow,
  | 'id'
  | 'partition'
  | 'version'
  | 'kind'
  | 'cron'
  | 'timezone'
  | 'every'
  | 'interval_ms'
  | 'anchor_at'
  | 'start_at'
  | 'end_at'
  | 'jitter_seconds'
  | 'catchup_mode'
  | 'catchup_window_seconds'
  | 'catchup_max_runs'
  | 'paused'
  | 'next_fire_at'
  | 'change_seq'
> & { deleted_at: number | null };

/** In SCHEDULE_COLUMNS order. */
export function scheduleParams(schedule: Schedule): unknown[] {
  const { spec, catchup } = schedule;
  return [
    schedule.id,
    schedule.tenantId,
    schedule.jobId,
    schedule.partition,
    spec.kind,
    spec.kind === 'cron' ? spec.cron : null,
    spec.kind === 'cron' ? spec.timezone : null,
    spec.kind === 'every' ? spec.every : null,
    spec.kind === 'every' ? spec.intervalMs : null,
    spec.kind === 'every' ? spec.anchorAt : null,
    schedule.startAt,
    schedule.endAt,
    schedule.paused,
    schedule.overlapPolicy,
    catchup.mode,
    catchup.windowSeconds,
    catchup.maxRuns,
    schedule.jitterSeconds,
    jsonb(schedule.args),
    jsonb(schedule.env),
    schedule.createdAt,
    schedule.updatedAt,
    schedule.version,
    schedule.nextFireAt,
  ];
}

/** Rows are written only by scheduleParams, so the columns of the other kind are null and these are not. */
function specOf(
  row: Pick<ScheduleRow, 'kind' | 'cron' | 'timezone' | 'every' | 'interval_ms' | 'anchor_at'>,
) {
  const spec: ScheduleSpec =
    row.kind === 'cron'
      ? { kind: 'cron', cron: row.cron ?? '', timezone: row.timezone ?? 'UTC' }
      : {
          kind: 'every',
          every: row.every ?? '',
          intervalMs: row.interval_ms ?? 0,
          anchorAt: row.anchor_at ?? 0,
        };
  return spec;
}

const catchupOf = (
  row: Pick<ScheduleRow, 'catchup_mode' | 'catchup_window_seconds' | 'catchup_max_runs'>,
) => ({
  mode: row.catchup_mode,
  windowSeconds: row.catchup_window_seconds,
  maxRuns: row.catchup_max_runs,
});

export function rowToSchedule(row: ScheduleRow): Schedule {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    jobId: row.job_id,
    partition: row.partition,
    spec: specOf(row),
    startAt: row.start_at,
    endAt: row.end_at,
    paused: row.paused,
    overlapPolicy: row.overlap_policy,
    catchup: catchupOf(row),
    jitterSeconds: row.jitter_seconds,
    args: row.args,
    env: row.env,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
    nextFireAt: row.next_fire_at,
  };
}

/** Maps timing rows, sharing one frozen spec and catch-up object among rows that have the same ones. */
export function rowsToTimings(rows: readonly TimingRow[]): ScheduleTiming[] {
  const specs = new Map<string, Readonly<ScheduleSpec>>();
  const catchups = new Map<string, Readonly<CatchupPolicy>>();
  return rows.map((row) => {
    const specKey = `${row.kind}|${row.cron}|${row.timezone}|${row.every}|${row.interval_ms}|${row.anchor_at}`;
    let spec = specs.get(specKey);
    if (spec === undefined) specs.set(specKey, (spec = Object.freeze(specOf(row))));
    const catchupKey = `${row.catchup_mode}|${row.catchup_window_seconds}|${row.catchup_max_runs}`;
    let catchup = catchups.get(catchupKey);
    if (catchup === undefined) catchups.set(catchupKey, (catchup = Object.freeze(catchupOf(row))));
    return {
      id: row.id,
      partition: row.partition,
      version: row.version,
      spec,
      startAt: row.start_at,
      endAt: row.end_at,
      jitterSeconds: row.jitter_seconds,
      catchup,
      paused: row.paused,
      deleted: row.deleted_at !== null,
      nextFireAt: row.next_fire_at,
      changeSeq: row.change_seq,
    };
  });
}
