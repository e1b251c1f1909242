// The `jobId` filter of the run and schedule lists: a job's id or a live job's name, as on the job routes.

import { notFound } from '../core/errors.js';
import { isId } from '../core/ids.js';
import type { JobStore } from '../ports/store/job-store.js';

/**
 * The id to filter by. An id is passed through as it is (the store answers not_found for one the tenant does
 * not have, and accepts a deleted job's, whose runs stay readable); a name is looked up among the tenant's
 * live jobs, and one it does not have is not_found with field `jobId`. Job names never look like ids
 * (job-service.ts), so the two cannot be confused.
 */
export async function resolveJobFilter(
  store: Pick<JobStore, 'findJob'>,
  tenantId: string,
  jobId: string | undefined,
): Promise<string | undefined> {
  if (jobId === undefined || isId('job', jobId)) return jobId;
  const job = await store.findJob(tenantId, jobId);
  if (job === null) throw notFound('job', jobId, 'jobId');
  return job.id;
}
