// listRuns: a tenant's runs newest first, by job, schedule, statuses and a time range, paged by keyset on the
// run id. Each filter combination has its own statement (compiled the first time it is asked for), so each
// reads through its own index, and the cursor and the time range are bounds on the id (core/run-id-range.ts),
// always bound ('' and '~' when absent) to keep the statements few.
//
// Without a job, a status filter reads runs_tenant_status (tenant_id, status, id): one ordered range per
// status, merged (SQLite merges a compound ORDER BY whose arms come sorted), so a page of "failures only"
// reads about `limit` rows plus a seek per status however many other runs the tenant has. Unfiltered is
// the same merge over every status (runs_tenant_id was dropped in migration 3). With a job, runs_job
// (job_id, id) is read and the statuses filter its rows: a job's runs are all one tenant's, and a status
// index per job would be one more B-tree every fired run enters at a random place.

import type Database from 'better-sqlite3';
import { notFound } from '../../core/errors.js';
import { runIdRange } from '../../core/run-id-range.js';
import { RUN_STATUSES, type RunStatus } from '../../core/run-state.js';
import type { Run } from '../../core/run.js';
import type { Page, RunFilter } from '../../ports/store.js';
import type { JobQueries } from './sqlite-job-queries.js';
import { rowToRun, toPage, type RunRow } from './sqlite-rows.js';

export const RUN_COLUMNS = `id, tenant_id, job_id, schedule_id, status, attempt, exit_code, reason, args_json,
  env_json, created_at, nominal_time, due_at, blocked_by, available_at, dispatched_at, started_at,
  finished_at, worker_id, heartbeat_at, cancel_requested_at, idempotency_key, request_hash, image_digest`;

type ListStatement = Database.Statement<[Record<string, unknown>], RunRow>;

/** The statuses asked for, in RUN_STATUSES order and known ones only, so they can be written into SQL. */
export function knownStatuses(statuses: readonly RunStatus[]): RunStatus[] {
  const wanted = new Set<string>(statuses);
  return RUN_STATUSES.filter((status) => wanted.has(status));
}

/** The statement of a page by job (or not), schedule (with its job) and statuses (known ones, in order). */
export function listStatementSql(job: boolean, schedule: boolean, statuses: readonly RunStatus[]): string {
  const head = `SELECT ${RUN_COLUMNS} FROM runs WHERE tenant_id = @tenantId AND id < @below AND id >= @atOrAbove`;
  const tail = 'ORDER BY id DESC LIMIT @limit';
  if (!job) {
    // One ordered arm per status (every status when unfiltered), merged.
    const arms = (statuses.length === 0 ? RUN_STATUSES : statuses).map(
      (status) => `${head} AND status = '${status}'`,
    );
    return `${arms.join(' UNION ALL ')} ${tail}`;
  }
  const filter = [
    'AND job_id = @jobId',
    schedule ? 'AND schedule_id = @scheduleId' : '',
    statuses.length === 0 ? '' : `AND status IN (${statuses.map((s) => `'${s}'`).join(', ')})`,
  ].join(' ');
  return `${head} ${filter} ${tail}`;
}

export function compileRunListQueries(db: Database.Database, jobs: Pick<JobQueries, 'tenantHasJob'>) {
  const statements = new Map<string, ListStatement>();
  const statementFor = (job: boolean, schedule: boolean, statuses: readonly RunStatus[]): ListStatement => {
    const key = `${job}/${schedule}/${statuses.join(',')}`;
    let statement = statements.get(key);
    if (statement === undefined) {
      statement = db.prepare<[Record<string, unknown>], RunRow>(listStatementSql(job, schedule, statuses));
      statements.set(key, statement);
    }
    return statement;
  };
  const scheduleJob = db
    .prepare<[string, string], string>('SELECT job_id FROM schedules WHERE id = ? AND tenant_id = ?')
    .pluck();

  return {
    listRuns(tenantId: string, filter: RunFilter): Page<Run> {
      const { scheduleId, limit } = filter;
      let { jobId } = filter;
      // The job or schedule is found in the tenant first. runs_job is not tenant-scoped (migration 3): given
      // another tenant's job, the list would walk all of that job's runs to filter them out by tenant, and
      // take time in proportion to someone else's data. A job's runs are all its tenant's.
      // Deleted jobs too: their runs stay listable by the job's id.
      if (jobId !== undefined && !jobs.tenantHasJob(tenantId, jobId)) {
        throw notFound('job', jobId, 'jobId');
      }
      if (scheduleId !== undefined) {
        // A schedule's runs are read through its job's index; deleted schedules keep their row, so their
        // runs are still listed.
        const jobOfSchedule = scheduleJob.get(scheduleId, tenantId);
        if (jobOfSchedule === undefined) throw notFound('schedule', scheduleId, 'scheduleId');
        if (jobId !== undefined && jobId !== jobOfSchedule) return { items: [], nextCursor: null };
        jobId = jobOfSchedule;
      }
      const statuses = knownStatuses(filter.statuses ?? []);
      if (statuses.length === 0 && (filter.statuses?.length ?? 0) > 0) return { items: [], nextCursor: null };
      const { below, atOrAbove } = runIdRange(filter);
      if (atOrAbove >= below) return { items: [], nextCursor: null };
      const statement = statementFor(jobId !== undefined, scheduleId !== undefined, statuses);
      const rows = statement.all({ tenantId, below, atOrAbove, limit: limit + 1, jobId, scheduleId });
      return toPage(rows, limit, rowToRun);
    },
  };
}
