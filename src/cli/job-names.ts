// Job names for list tables, which people read by name while the API answers job ids: one page of jobs (the
// API's largest) covers most tenants in one request; only a tenant with more jobs than that pays a lookup per
// job it still lacks. A deleted job has no name left, and shows its id.

import type { HourglassClient } from '../sdk/index.js';

const JOBS_PAGE_LIMIT = 500;

/** A name for each of `jobIds` that still names a job; the others are left out. */
export async function jobNamesOf(
  client: HourglassClient,
  jobIds: readonly string[],
): Promise<Map<string, string>> {
  const wanted = new Set(jobIds);
  const names = new Map<string, string>();
  if (wanted.size === 0) return names;
  const page = await client.listJobs({ limit: JOBS_PAGE_LIMIT });
  for (const job of page.items) if (wanted.has(job.id)) names.set(job.id, job.name);
  if (page.nextCursor === null) return names;
  const missing = [...wanted].filter((id) => !names.has(id));
  const found = await Promise.all(missing.map((id) => client.getJob(id).catch(() => null)));
  for (const job of found) if (job !== null) names.set(job.id, job.name);
  return names;
}
