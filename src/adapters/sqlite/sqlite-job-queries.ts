// The jobs table: insert, lookup, listing and soft deletion. A job is never removed, only marked deleted,
// so its runs stay readable; "live" means deleted_at IS NULL, and a name is unique among live jobs only.
// Statements are compiled once, when the store opens.

import type Database from 'better-sqlite3';
import { HourglassError, notFound } from '../../core/errors.js';
import type { Job } from '../../core/job.js';
import type { Page } from '../../ports/store.js';
import { BEFORE_ALL_IDS, jobToRow, rowToJob, toPage, type JobRow } from './sqlite-rows.js';

const JOB_COLUMNS = `id, tenant_id, name, image, command_json, args_json, env_json, memory_mb, memory_request_mb,
  network, timeout_seconds, max_attempts, backoff_seconds, created_at, updated_at`;

/** The driver's unique-violation on (tenant_id, name), as the error the API reports. */
function translateNameTaken(error: unknown, job: Job): never {
  const isNameClash =
    error instanceof Error &&
    (error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE' &&
    error.message.includes('jobs.name');
  if (isNameClash) {
    throw new HourglassError('job_name_taken', `a job named ${JSON.stringify(job.name)} already exists`, {
      field: 'name',
      name: job.name,
    });
  }
  throw error;
}

export function compileJobQueries(db: Database.Database) {
  const insert = db.prepare<[JobRow]>(`INSERT INTO jobs (${JOB_COLUMNS}) VALUES (@id, @tenant_id, @name,
    @image, @command_json, @args_json, @env_json, @memory_mb, @memory_request_mb, @network, @timeout_seconds, @max_attempts,
    @backoff_seconds, @created_at, @updated_at)`);
  const update = db.prepare<[JobRow]>(`UPDATE jobs SET name = @name, image = @image,
    command_json = @command_json, args_json = @args_json, env_json = @env_json, memory_mb = @memory_mb,
    memory_request_mb = @memory_request_mb, network = @network, timeout_seconds = @timeout_seconds, max_attempts = @max_attempts, backoff_seconds = @backoff_seconds,
    updated_at = @updated_at
    WHERE id = @id AND tenant_id = @tenant_id AND deleted_at IS NULL`);
  const byId = db.prepare<[string, string], JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`,
  );
  const byName = db.prepare<[string, string], JobRow>(
    `SELECT ${JOB_COLUMNS} FROM jobs WHERE tenant_id = ? AND name = ? AND deleted_at IS NULL`,
  );
  // A run's job, deleted or not: the run row is the authority on which job it belongs to.
  const anyById = db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs WHERE id = ?`);
  const anyOfTenant = db
    .prepare<[string, string], number>('SELECT 1 FROM jobs WHERE id = ? AND tenant_id = ?')
    .pluck();
  const page = db.prepare<[string, string, number], JobRow>(`SELECT ${JOB_COLUMNS} FROM jobs
    WHERE tenant_id = ? AND deleted_at IS NULL AND id > ? ORDER BY id LIMIT ?`);
  const count = db
    .prepare<[string], number>('SELECT COUNT(*) FROM jobs WHERE tenant_id = ? AND deleted_at IS NULL')
    .pluck();
  const softDelete = db.prepare<[number, string, string]>(
    'UPDATE jobs SET deleted_at = ? WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL',
  );

  return {
    insertJob(job: Job): void {
      try {
        insert.run(jobToRow(job));
      } catch (error) {
        translateNameTaken(error, job);
      }
    },

    updateJob(job: Job): void {
      let changes: number;
      try {
        changes = update.run(jobToRow(job)).changes;
      } catch (error) {
        translateNameTaken(error, job);
      }
      if (changes === 0) throw notFound('job', job.id);
    },

    /** An id wins over a name, so a job named like another job's id cannot shadow it. */
    findJob(tenantId: string, idOrName: string): Job | null {
      const row = byId.get(tenantId, idOrName) ?? byName.get(tenantId, idOrName);
      return row ? rowToJob(row) : null;
    },

    getJobOfRun(jobId: string): Job | null {
      const row = anyById.get(jobId);
      return row ? rowToJob(row) : null;
    },

    /**
     * Whether the job is the tenant's, deleted or not: a list filtered by a job asks this first, by primary
     * key, so a job of another tenant costs what an unknown one does.
     */
    tenantHasJob: (tenantId: string, jobId: string): boolean =>
      anyOfTenant.get(jobId, tenantId) !== undefined,

    listJobs(tenantId: string, limit: number, cursor?: string): Page<Job> {
      const rows = page.all(tenantId, cursor ?? BEFORE_ALL_IDS, limit + 1);
      return toPage(rows, limit, rowToJob);
    },

    countJobs(tenantId: string): number {
      return count.get(tenantId) ?? 0;
    },

    /** Marks the job deleted; its runs are the run queries' business (see SqliteStore.deleteJob). */
    softDeleteJob(tenantId: string, jobId: string, at: number): void {
      if (softDelete.run(at, tenantId, jobId).changes === 0) throw notFound('job', jobId);
    },
  };
}

export type JobQueries = ReturnType<typeof compileJobQueries>;
