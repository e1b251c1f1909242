// Bulk pause and resume: what a request's body names (listed schedule ids, or every schedule of one job) and
// reading that set, every schedule of it or a 404 naming the field. Changing the set is ScheduleService's.

import { invalid, notFound } from '../core/errors.js';
import { isId } from '../core/ids.js';
import type { Schedule } from '../core/schedule.js';
import type { Page } from '../ports/store/page.js';
import type { ScheduleStore } from '../ports/store/schedule-store.js';

/** A page of a job's live schedules (the service's list, which resolves a job's name and checks it). */
export type ListOfJob = (jobId: string, limit: number, cursor: string | undefined) => Promise<Page<Schedule>>;

/** The schedules a bulk pause or resume acts on: listed ids, or every live schedule of one job. */
export type BulkTarget = { scheduleIds: string[] } | { jobId: string };

/** The most schedule ids one bulk pause or resume may list. */
export const BULK_MAX = 500;

/** A bulk request's body as a target: exactly one of `scheduleIds` and `jobId`, else 400 naming the field. */
export function bulkTargetOf(body: { scheduleIds?: string[]; jobId?: string }): BulkTarget {
  const { scheduleIds, jobId } = body;
  if (scheduleIds !== undefined && jobId !== undefined) {
    throw invalid('jobId', 'give either scheduleIds or jobId, not both');
  }
  if (scheduleIds !== undefined) return { scheduleIds };
  if (jobId !== undefined) return { jobId };
  throw invalid('scheduleIds', 'give the schedules to change (scheduleIds), or a job (jobId)');
}

/**
 * The target's live schedules: each listed id in order (any that is not the tenant's live schedule is 404
 * naming `scheduleIds`), or the job's oldest first (a job the tenant does not have is 404 naming `jobId`).
 */
export async function readBulkTarget(
  listOfJob: ListOfJob,
  store: Pick<ScheduleStore, 'getSchedule'>,
  tenantId: string,
  target: BulkTarget,
): Promise<Schedule[]> {
  if ('jobId' in target) {
    const all: Schedule[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await listOfJob(target.jobId, BULK_MAX, cursor);
      all.push(...page.items);
      if (page.nextCursor === null) return all;
      cursor = page.nextCursor;
    }
  }
  const ids = target.scheduleIds;
  if (ids.length < 1 || ids.length > BULK_MAX) {
    throw invalid('scheduleIds', `must list from 1 to ${BULK_MAX} schedule ids`);
  }
  if (new Set(ids).size !== ids.length) throw invalid('scheduleIds', 'must not list an id twice');
  const found: Schedule[] = [];
  for (const id of ids) {
    const schedule = isId('schedule', id) ? await store.getSchedule(tenantId, id) : null;
    if (schedule === null) throw notFound('schedule', id, 'scheduleIds');
    found.push(schedule);
  }
  return found;
}
