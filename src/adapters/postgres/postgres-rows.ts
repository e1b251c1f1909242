// Row shapes of the PostgreSQL tables and their mapping to and from the core's domain types. Columns are
// snake_case; bigint times come back as numbers (postgres-database.ts), jsonb as parsed values, booleans as
// booleans. The domain uses null (never undefined) for an absent value, and so do the rows. jsonb parameters
// are passed as JSON text: pg would send a JavaScript array as a PostgreSQL array, not as JSON.

import type { Job, NetworkMode } from '../../core/job.js';
import { timeOfId } from '../../core/ids.js';
import type { RunStatus } from '../../core/run-state.js';
import type { Run, RunEvent, RunEventType } from '../../core/run.js';
import type { ApiKey, KeyScope, PlanLimits, Tenant } from '../../core/tenant.js';
import { impliedTickEvents } from '../../core/tick-timeline.js';

/**
 * The partition key of a run and of its events: the time its id carries (core/ids.ts) — its creation for a
 * run made through the API, its tick's nominal time for a schedule's run. Computed from the id alone, so
 * every lookup by run id names its partition.
 */
export const idTimeOf = (runId: string): number => timeOfId(runId);

/** JSON text for a jsonb parameter; null stays SQL NULL. */
export const jsonb = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

export interface TenantRow {
  id: string;
  name: string;
  limits: PlanLimits;
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
  command: string[];
  args: string[];
  env: Record<string, string>;
  memory_mb: number;
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
  args: string[] | null;
  env: Record<string, string> | null;
  created_at: number;
  nominal_time: number;
  due_at: number;
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
  image_digest: string | null;
}

export interface RunEventRow {
  at: number;
  type: RunEventType;
  attempt: number;
  status: RunStatus;
  detail: string | null;
}

export const TENANT_COLUMNS = 'id, name, limits, created_at';

export const API_KEY_COLUMNS =
  'id, tenant_id, scope, prefix, secret_hash, name, created_at, revoked_at, last_used_at';

export const JOB_COLUMNS = `id, tenant_id, name, image, command, args, env, memory_mb, memory_request_mb,
  network, timeout_seconds, max_attempts, backoff_seconds, created_at, updated_at`;

export const RUN_COLUMNS = `id, tenant_id, job_id, schedule_id, status, attempt, exit_code, reason, args, env,
  created_at, nominal_time, due_at, blocked_by, available_at, dispatched_at, started_at, finished_at,
  worker_id, heartbeat_at, cancel_requested_at, idempotency_key, request_hash, image_digest`;

/** RUN_COLUMNS qualified by a table alias, for joins. */
export const runColumnsOf = (alias: string): string =>
  RUN_COLUMNS.split(',')
    .map((column) => `${alias}.${column.trim()}`)
    .join(', ');

export function tenantParams(tenant: Tenant): unknown[] {
  return [tenant.id, tenant.name, jsonb(tenant.limits), tenant.createdAt];
}

export function rowToTenant(row: TenantRow): Tenant {
  return { id: row.id, name: row.name, limits: row.limits, createdAt: row.created_at };
}

export function apiKeyParams(key: ApiKey): unknown[] {
  return [
    key.id,
    key.tenantId,
    key.scope,
    key.prefix,
    key.secretHash,
    key.name,
    key.createdAt,
    key.revokedAt,
    key.lastUsedAt,
  ];
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

/** In JOB_COLUMNS order. */
export function jobParams(job: Job): unknown[] {
  return [
    job.id,
    job.tenantId,
    job.name,
    job.image,
    jsonb(job.command),
    jsonb(job.args),
    jsonb(job.env),
    job.resources.memoryMb,
    job.resources.memoryRequestMb ?? null,
    job.network ?? 'none',
    job.timeoutSeconds,
    job.retry.maxAttempts,
    job.retry.backoffSeconds,
    job.createdAt,
    job.updatedAt,
  ];
}

export function rowToJob(row: JobRow): Job {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    image: row.image,
    command: row.command,
    args: row.args,
    env: row.env,
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

/** In RUN_COLUMNS order, then id_time. */
export function runParams(run: Run, requestHash: string | null): unknown[] {
  return [
    run.id,
    run.tenantId,
    run.jobId,
    run.scheduleId,
    run.status,
    run.attempt,
    run.exitCode,
    run.reason,
    jsonb(run.args),
    jsonb(run.env),
    run.createdAt,
    run.nominalTime,
    run.dueAt,
    run.blockedBy,
    run.availableAt,
    run.dispatchedAt,
    run.startedAt,
    run.finishedAt,
    run.workerId,
    run.heartbeatAt,
    run.cancelRequestedAt,
    run.idempotencyKey,
    requestHash,
    run.imageDigest,
    idTimeOf(run.id),
  ];
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
    args: row.args,
    env: row.env,
    createdAt: row.created_at,
    nominalTime: row.nominal_time,
    dueAt: row.due_at,
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

/** What a run row says about its first events when they were not stored (a tick's run fired in bulk). */
export interface FiredRunRow {
  fired_late: boolean | null;
  schedule_id: string | null;
  nominal_time: number;
  created_at: number;
}

export function impliedRunEvents(row: FiredRunRow): RunEvent[] {
  if (row.fired_late === null || row.schedule_id === null) return [];
  return impliedTickEvents({
    scheduleId: row.schedule_id,
    nominalTime: row.nominal_time,
    late: row.fired_late,
    createdAt: row.created_at,
  });
}

/** Where a list cursor starts when none is given: ids are ASCII, and `~` sorts after all of them. */
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
