// listRuns: a tenant's runs newest first, by job, schedule, statuses and a time range, paged by keyset on the
// run id. The cursor and the time range are bounds on the id (core/run-id-range.ts) and on id_time, the
// partition key, so a page reads only the day partitions of its range.
//
// Without a job, one status reads runs_tenant_status (tenant_id, status, id) as one range. Several
// statuses ("failures only") read one such range per status, each cut at `limit` (a LIMIT in each arm),
// and sort those few rows: a page costs about `limit` rows per status, however many other runs the tenant
// has; a single `status = ANY(...)` would be planned as a bitmap of every matching run, or a walk of
// runs_tenant_id past all the others. Unfiltered reads runs_tenant_id. With a job, runs_tenant_job
// (tenant_id, job_id, id) is read and the statuses filter its rows.

import { notFound } from '../../core/errors.js';
import { isId } from '../../core/ids.js';
import { runIdRange } from '../../core/run-id-range.js';
import { RUN_STATUSES, type RunStatus } from '../../core/run-state.js';
import type { Run } from '../../core/run.js';
import type { Page, RunFilter } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { tenantHasJob } from './postgres-job-queries.js';
import { idTimeOf, RUN_COLUMNS, rowToRun, toPage, type RunRow } from './postgres-rows.js';

/** The statuses asked for, in RUN_STATUSES order and known ones only. */
function knownStatuses(statuses: readonly RunStatus[]): RunStatus[] {
  const wanted = new Set<string>(statuses);
  return RUN_STATUSES.filter((status) => wanted.has(status));
}

/**
 * The id_time range of a page: no later than the cursor's (ids below it are no later) nor than `toMs`, no
 * earlier than `fromMs`, so the day partitions outside it are not read.
 */
function idTimeRange(filter: RunFilter): { from: number; to: number } {
  let to = Number.MAX_SAFE_INTEGER;
  if (filter.cursor !== undefined && isId('run', filter.cursor)) to = idTimeOf(filter.cursor);
  if (filter.toMs !== undefined) to = Math.min(to, filter.toMs);
  return { from: filter.fromMs ?? 0, to };
}

export async function listRuns(sql: Sql, tenantId: string, filter: RunFilter): Promise<Page<Run>> {
  const { scheduleId, limit } = filter;
  let { jobId } = filter;
  // The job or schedule is found in the tenant first, so a filter naming another tenant's is not_found and
  // costs what an unknown one does. Deleted jobs and schedules keep their rows: their runs stay listable.
  if (jobId !== undefined && !(await tenantHasJob(sql, tenantId, jobId))) {
    throw notFound('job', jobId, 'jobId');
  }
  if (scheduleId !== undefined) {
    // A schedule keeps its job for life: its runs are read through the job's index (runs_tenant_job), so a
    // fired run enters no index of its schedule's.
    const schedule = await sql.first<{ job_id: string }>(
      'SELECT job_id FROM schedules WHERE id = $1 AND tenant_id = $2',
      [scheduleId, tenantId],
    );
    if (schedule === undefined) throw notFound('schedule', scheduleId, 'scheduleId');
    if (jobId !== undefined && jobId !== schedule.job_id) return { items: [], nextCursor: null };
    jobId = schedule.job_id;
  }
  const query = listRunsQuery(tenantId, { ...filter, jobId });
  if (query === null) return { items: [], nextCursor: null };
  const rows = await sql.rows<RunRow>(query.text, query.values);
  return toPage(rows, limit, rowToRun);
}

/**
 * The statement of one page, for a filter whose job is resolved (a schedule's included); null when it can
 * list nothing (no known status asked for, or an empty range).
 */
export function listRunsQuery(
  tenantId: string,
  filter: RunFilter,
): { text: string; values: unknown[] } | null {
  const statuses = knownStatuses(filter.statuses ?? []);
  if (statuses.length === 0 && (filter.statuses?.length ?? 0) > 0) return null;
  const { below, atOrAbove } = runIdRange(filter);
  if (atOrAbove >= below) return null;
  const idTimes = idTimeRange(filter);

  const values: unknown[] = [tenantId, below, atOrAbove, idTimes.to, idTimes.from, filter.limit + 1];
  const where = ['tenant_id = $1', 'id < $2', 'id >= $3', 'id_time <= $4', 'id_time >= $5'];
  const add = (condition: string, value: unknown) => {
    values.push(value);
    where.push(`${condition} $${values.length}`);
  };
  if (filter.jobId !== undefined) add('job_id =', filter.jobId);
  if (filter.scheduleId !== undefined) add('schedule_id =', filter.scheduleId);
  let query: string;
  if (filter.jobId === undefined && statuses.length > 1) {
    const arms = statuses.map((status) => {
      values.push(status);
      const conditions = [...where, `status = $${values.length}`].join(' AND ');
      return `(SELECT ${RUN_COLUMNS} FROM runs WHERE ${conditions} ORDER BY id DESC LIMIT $6)`;
    });
    query = `${arms.join(' UNION ALL ')} ORDER BY id DESC LIMIT $6`;
  } else {
    if (statuses.length === 1) add('status =', statuses[0]);
    else if (statuses.length > 1) {
      values.push(statuses);
      where.push(`status = ANY($${values.length}::text[])`);
    }
    query = `SELECT ${RUN_COLUMNS} FROM runs WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $6`;
  }
  return { text: query, values };
}
