// A run is one execution request of a job, with its attempts and timeline. Times are epoch milliseconds
// in the core; the API renders them as ISO 8601 UTC.

import type { RunStatus } from './run-state.js';

/**
 * How long before its due time a run is handed to the queue, by default: the server's `--scheduler-lead-ms`,
 * which the scheduler fires ticks with and the API hands future runs over with. 800 ms, not 1 s: with 1 s, the
 * firing of second n + 1 falls on the process starts of second n (docs/scheduler.md).
 */
export const DEFAULT_PRE_DISPATCH_LEAD_MS = 800;
/** The largest lead the server accepts: no run is created earlier than this before the time its id carries. */
export const MAX_PRE_DISPATCH_LEAD_MS = 60_000;

export interface Run {
  id: string;
  tenantId: string;
  jobId: string;
  scheduleId: string | null;
  status: RunStatus;
  attempt: number;
  exitCode: number | null;
  reason: string | null;
  /** Overrides given when the run was created; null means the job's own. */
  args: string[] | null;
  env: Record<string, string> | null;
  createdAt: number;
  /** The tick it stands for: its creation time for a run-now, `runAt` for a future run, a schedule's tick. */
  nominalTime: number;
  /** When its process should start: the nominal time, plus the schedule's jitter. Lag is measured from it. */
  dueAt: number;
  /** A run of a schedule waiting for this earlier run to end first (overlap policy buffer_one or replace). */
  blockedBy: string | null;
  /** A queued run is not handed out before this (retry backoff, later a future run). */
  availableAt: number;
  dispatchedAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  workerId: string | null;
  heartbeatAt: number | null;
  cancelRequestedAt: number | null;
  idempotencyKey: string | null;
  /** The image manifest digest (sha256:…) its last attempt that pulled one ran; null for host commands. */
  imageDigest: string | null;
}

export type RunEventType =
  | 'created'
  | 'dispatched'
  | 'claimed'
  | 'started'
  | 'cancel_requested'
  | 'retry_scheduled'
  /** A stopping worker gave the running attempt back: queued again with the same attempt. */
  | 'released'
  | 'finished';

export interface RunEvent {
  at: number;
  type: RunEventType;
  attempt: number;
  status: RunStatus;
  detail: string | null;
}

/** startedAt − dueAt, once the process has started. */
export function lagMs(run: Pick<Run, 'startedAt' | 'dueAt'>): number | null {
  return run.startedAt === null ? null : run.startedAt - run.dueAt;
}

export interface NewRunFields {
  id: string;
  tenantId: string;
  jobId: string;
  /** When it was created; a run-now is due then too, unless `nominalTime` says otherwise. */
  createdAt: number;
  nominalTime?: number;
  /** Defaults to the nominal time. */
  dueAt?: number;
  scheduleId?: string | null;
  args?: string[] | null;
  env?: Record<string, string> | null;
  idempotencyKey?: string | null;
}

/** A run as it is created: queued, attempt 1, available when due, nothing else happened yet. */
export function newQueuedRun(fields: NewRunFields): Run {
  const nominalTime = fields.nominalTime ?? fields.createdAt;
  const dueAt = fields.dueAt ?? nominalTime;
  return {
    id: fields.id,
    tenantId: fields.tenantId,
    jobId: fields.jobId,
    scheduleId: fields.scheduleId ?? null,
    status: 'queued',
    attempt: 1,
    exitCode: null,
    reason: null,
    args: fields.args ?? null,
    env: fields.env ?? null,
    createdAt: fields.createdAt,
    nominalTime,
    dueAt,
    blockedBy: null,
    availableAt: dueAt,
    dispatchedAt: null,
    startedAt: null,
    finishedAt: null,
    workerId: null,
    heartbeatAt: null,
    cancelRequestedAt: null,
    idempotencyKey: fields.idempotencyKey ?? null,
    imageDigest: null,
  };
}
