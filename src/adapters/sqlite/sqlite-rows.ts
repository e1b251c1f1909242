// Row shapes of the SQLite tables and their mapping to and from the core's domain types. Columns are
// snake_case, times are epoch ms, lists and maps are JSON text; the domain uses null (never undefined) for
// an absent value, and so do the rows.

import type { Job, NetworkMode } from '../../core/job.js';
import type { RunStatus } from '../../core/run-state.js';
import type { Run, RunEvent, RunEventType } from '../../core/run.js';
import type { ApiKey, KeyScope, PlanLimits, Tenant } from '../../core/tenant.js';
import { impliedTickEvents } from '../../core/tick-timeline.js';

export interface TenantRow {
  id: string;
  name: string;
  limits_json: string;
  created_at: number;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string | null;
  scope: KeyScope;
  prefix: string;
  secret_hash: string;
  name: string | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface JobRow {
  id: string;
  tenant_id: string;
  name: string;
  image: string | null;
  command_json: string;
  args_json: string;
  env_json: string;
  memory_mb: number;
  /** Null: the default request (core/job.ts memoryRequestOf). */
  memory_request_mb: number | null;
  network: NetworkMode;
  timeout_seconds: number;
  max_attempts: number;
  backoff_seconds: number;
  created_at: number;
  updated_at: number;
}

export interface RunRow {
  id: string;
  tenant_id: string;
  job_id: string;
  schedule_id: string | null;
  status: RunStatus;
  attempt: number;
  exit_code: number | null;
  reason: string | null;
  args_json: string | null;
  env_json: string | null;
  created_at: number;
  nominal_time: number;
  /** NULL on rows written before migration 2: read as the nominal time. */
  due_at: number | null;
  blocked_by: string | null;
  available_at: number;
  dispatched_at: number | null;
  started_at: number | null;
  finished_at: number | null;
  worker_id: string | null;
  heartbeat_at: number | null;
  cancel_requested_at: number | null;
  idempotency_key: string | null;
  request_hash: string | null;
  /** NULL before migration 8, and for runs that pulled no image. */
  image_digest: string | null;
}

export interface RunEventRow {
  at: number;
  type: RunEventType;
  attempt: number;
  status: RunStatus;
  detail: string | null;
}

/** JSON columns are written only by this adapter, so their shape is known. */
function parseJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

function parseNullableJson<T>(text: string | null): T | null {
  return text === null ? null : parseJson<T>(text);
}

export function tenantToRow(tenant: Tenant): TenantRow {
  return {
    id: tenant.id,
    name: tenant.name,
    limits_json: JSON.stringify(tenant.limits),
    created_at: tenant.createdAt,
  };
}

export function rowToTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    name: row.name,
    limits: parseJson<PlanLimits>(row.limits_json),
    createdAt: row.created_at,
  };
}

export function apiKeyToRow(key: ApiKey): ApiKeyRow {
  return {
    id: key.id,
    tenant_id: key.tenantId,
    scope: key.scope,
    prefix: key.prefix,
    secret_hash: key.secretHash,
    name: key.name,
    created_at: key.createdAt,
    revoked_at: key.revokedAt,
    last_used_at: key.lastUsedAt,
  };
}

export function rowToApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    scope: row.scope,
    prefix: row.prefix,
    secretHash: row.secret_hash,
    name: row.name,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

export function jobToRow(job: Job): JobRow {
  return {
    id: job.id,
    tenant_id: job.tenantId,
    name: job.name,
    image: job.image,
    command_json: JSON.stringify(job.command),
    args_json: JSON.stringify(job.args),
    env_json: JSON.stringify(job.env),
    memory_mb: job.resources.memoryMb,
    memory_request_mb: job.resources.memoryRequestMb ?? null,
    network: job.network ?? 'none',
    timeout_seconds: job.timeoutSeconds,
    max_attempts: job.retry.maxAttempts,
    backoff_seconds: job.retry.backoffSeconds,
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
}

export function rowToJob(row: JobRow): Job {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    image: row.image,
    command: parseJson<string[]>(row.command_json),
    args: parseJson<string[]>(row.args_json),
    env: parseJson<Record<string, string>>(row.env_json),
    resources:
      row.memory_request_mb === null
        ? { memoryMb: row.memory_mb }
        : { memoryMb: row.memory_mb, memoryRequestMb: row.memory_request_mb },
    ...(row.network === 'none' ? {} : { network: row.network }),
    timeoutSeconds: row.timeout_seconds,
    retry: { maxAttempts: row.max_attempts, backoffSeconds: row.backoff_seconds },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function runToRow(run: Run, requestHash: string | null): RunRow {
  return {
    id: run.id,
    tenant_id: run.tenantId,
    job_id: run.jobId,
    schedule_id: run.scheduleId,
    status: run.status,
    attempt: run.attempt,
    exit_code: run.exitCode,
    reason: run.reason,
    args_json: run.args === null ? null : JSON.stringify(run.args),
    env_json: run.env === null ? null : JSON.stringify(run.env),
    created_at: run.createdAt,
    nominal_time: run.nominalTime,
    due_at: run.dueAt,
    blocked_by: run.blockedBy,
    available_at: run.availableAt,
    dispatched_at: run.dispatchedAt,
    started_at: run.startedAt,
    finished_at: run.finishedAt,
    worker_id: run.workerId,
    heartbeat_at: run.heartbeatAt,
    cancel_requested_at: run.cancelRequestedAt,
    idempotency_key: run.idempotencyKey,
    request_hash: requestHash,
    image_digest: run.imageDigest,
  };
}

export function rowToRun(row: RunRow): Run {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    jobId: row.job_id,
    scheduleId: row.schedule_id,
    status: row.status,
    attempt: row.attempt,
    exitCode: row.exit_code,
    reason: row.reason,
    args: parseNullableJson<string[]>(row.args_json),
    env: parseNullableJson<Record<string, string>>(row.env_json),
    createdAt: row.created_at,
    nominalTime: row.nominal_time,
    dueAt: row.due_at ?? row.nominal_time,
    blockedBy: row.blocked_by,
    availableAt: row.available_at,
    dispatchedAt: row.dispatched_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    workerId: row.worker_id,
    heartbeatAt: row.heartbeat_at,
    cancelRequestedAt: row.cancel_requested_at,
    idempotencyKey: row.idempotency_key,
    imageDigest: row.image_digest,
  };
}

export function rowToRunEvent(row: RunEventRow): RunEvent {
  return { at: row.at, type: row.type, attempt: row.attempt, status: row.status, detail: row.detail };
}

/** Shared with every store adapter (src/core/tick-timeline.ts). */
export { tickCreatedDetail } from '../../core/tick-timeline.js';

/** What a run row says about its first events when they were not stored (see migration 3). */
export interface FiredRunRow {
  fired_late: number | null;
  schedule_id: string | null;
  nominal_time: number;
  created_at: number;
}

/**
 * The events a tick's run fired in bulk did not store: created, then dispatched, both at its creation, as
 * attempt 1 and queued (what the run was right after each). Empty for any other run: its events are stored.
 */
export function impliedRunEvents(row: FiredRunRow): RunEvent[] {
  if (row.fired_late === null || row.schedule_id === null) return [];
  return impliedTickEvents({
    scheduleId: row.schedule_id,
    nominalTime: row.nominal_time,
    late: row.fired_late === 1,
    createdAt: row.created_at,
  });
}

/** Where a list cursor should start when none is given: ids are ASCII, and `~` sorts after all of them. */
export const AFTER_ALL_IDS = '~';
export const BEFORE_ALL_IDS = '';

/** A page from `limit + 1` fetched rows: the extra row only tells that another page exists. */
export function toPage<R, T extends { id: string }>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit).map(map);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last ? last.id : null };
}
