// The jobs table: insert within the plan limit, lookup, listing and soft deletion. A job is never removed,
// only marked deleted, so its runs stay readable; "live" means deleted_at IS NULL, and a name is unique among
// a tenant's live jobs only (the partial unique index jobs_tenant_name, whose violation is job_name_taken).

import { HourglassError, notFound } from '../../core/errors.js';
import type { Job } from '../../core/job.js';
import type { Page } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { isUniqueViolation } from './postgres-errors.js';
import { moveJobMemory } from './postgres-load-forecast-counts.js';
import { lockTenantLimits } from './postgres-locks.js';
import { BEFORE_ALL_IDS, JOB_COLUMNS, jobParams, rowToJob, toPage, type JobRow } from './postgres-rows.js';

const JOB_VALUES = '$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15';
/** created_at's place in jobParams (JOB_COLUMNS order). */
const CREATED_AT_PARAM = 13;

/** The unique violation on a live job's (tenant, name), as the error the API reports. */
async function translatingNameTaken<T>(job: Job, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (isUniqueViolation(error, 'jobs_tenant_name')) {
      throw new HourglassError('job_name_taken', `a job named ${JSON.stringify(job.name)} already exists`, {
        field: 'name',
        name: job.name,
      });
    }
    throw error;
  }
}

/** In a transaction: the count and the insert hold the tenant's plan-limit lock (postgres-locks.ts). */
export async function insertJobWithinLimit(sql: Sql, job: Job, maxJobs: number): Promise<void> {
  await lockTenantLimits(sql, job.tenantId);
  const counted = await sql.first<{ n: number }>(
    'SELECT COUNT(*) AS n FROM jobs WHERE tenant_id = $1 AND deleted_at IS NULL',
    [job.tenantId],
  );
  if ((counted?.n ?? 0) >= maxJobs) {
    throw new HourglassError('plan_limit_exceeded', `the plan allows at most ${maxJobs} jobs`, {
      limit: 'maxJobs',
    });
  }
  await translatingNameTaken(job, () =>
    sql.changes(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (${JOB_VALUES})`, jobParams(job)),
  );
}

/**
 * In a transaction; not_found when there is no such live job. Locks the job row, then (when its memory
 * request changes) the schedule change counter, to move what its schedules add to the forecast's counts.
 */
export async function updateJob(sql: Sql, job: Job): Promise<void> {
  const before = await sql.first<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL FOR UPDATE`,
    [job.id, job.tenantId],
  );
  if (before === undefined) throw notFound('job', job.id);
  const changes = await translatingNameTaken(job, () =>
    sql.changes(
      // Everything but the ids and createdAt is the caller's.
      `UPDATE jobs SET name = $3, image = $4, command = $5, args = $6, env = $7, memory_mb = $8,
         memory_request_mb = $9, network = $10, timeout_seconds = $11, max_attempts = $12,
         backoff_seconds = $13, updated_at = $14
       WHERE id = $1 AND tenant_id = $2 AND deleted_at IS NULL`,
      jobParams(job).filter((_, i) => i !== CREATED_AT_PARAM),
    ),
  );
  if (changes === 0) throw notFound('job', job.id);
  await moveJobMemory(sql, job.tenantId, job.id, rowToJob(before).resources, job.resources);
}

/** By id or by name, live only; an id wins over a name, so a job named like another's id cannot shadow it. */
export async function findJob(sql: Sql, tenantId: string, idOrName: string): Promise<Job | null> {
  const row = await sql.first<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs
     WHERE tenant_id = $1 AND deleted_at IS NULL AND (id = $2 OR name = $2)
     ORDER BY id = $2 DESC LIMIT 1`,
    [tenantId, idOrName],
  );
  return row ? rowToJob(row) : null;
}

/** A run's job, deleted or not: the run row is the authority on which job it belongs to. */
export async function getJobOfRun(sql: Sql, jobId: string): Promise<Job | null> {
  const row = await sql.first<JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = $1`, [jobId]);
  return row ? rowToJob(row) : null;
}

/**
 * Whether the job is the tenant's, deleted or not: a list filtered by a job asks this first, through the
 * tenant's index, so a job of another tenant costs what an unknown one does.
 */
export async function tenantHasJob(sql: Sql, tenantId: string, jobId: string): Promise<boolean> {
  const row = await sql.first('SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2', [tenantId, jobId]);
  return row !== undefined;
}

export async function listJobs(
  sql: Sql,
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<Job>> {
  const rows = await sql.rows<JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs
     WHERE tenant_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3`,
    [tenantId, cursor ?? BEFORE_ALL_IDS, limit + 1],
  );
  return toPage(rows, limit, rowToJob);
}

/** Part of deleting a job, in the caller's transaction: marks it deleted and holds its row until commit. */
export async function softDeleteJob(sql: Sql, tenantId: string, jobId: string, at: number): Promise<void> {
  const changes = await sql.changes(
    'UPDATE jobs SET deleted_at = $1 WHERE tenant_id = $2 AND id = $3 AND deleted_at IS NULL',
    [at, tenantId, jobId],
  );
  if (changes === 0) throw notFound('job', jobId);
}

/** A job's tenant and memory, for the queue messages of a fired batch: read once per batch for all its jobs. */
export async function jobsForMessages(
  sql: Sql,
  jobIds: readonly string[],
): Promise<Map<string, { tenantId: string; memoryMb: number; memoryRequestMb: number | null }>> {
  const rows = await sql.rows<{
    id: string;
    tenant_id: string;
    memory_mb: number;
    memory_request_mb: number | null;
  }>('SELECT id, tenant_id, memory_mb, memory_request_mb FROM jobs WHERE id = ANY($1::text[])', [jobIds]);
  return new Map(
    rows.map((row) => [
      row.id,
      { tenantId: row.tenant_id, memoryMb: row.memory_mb, memoryRequestMb: row.memory_request_mb },
    ]),
  );
}
