// The console's calls for the overview, runs and jobs pages, over api.ts's `send`: the stats of a window,
// a filtered page of runs, a run with its timeline, cancel and re-run, and a job's create, update and delete.

import {
  getJson,
  postJson,
  send,
  type CreateJobInput,
  type Job,
  type Page,
  type Run,
  type RunDetail,
  type RunStats,
  type StatsWindow,
  type UpdateJobInput,
} from './api';

/** The statuses a run ends in when it went wrong: the runs page's "Failures only". */
export { FAILURE_RUN_STATUSES as FAILURE_STATUSES } from './api';

export type { RunStats, StatsWindow } from './api';

export function getStats(key: string, window: StatsWindow): Promise<RunStats> {
  return getJson<RunStats>(key, `/v1/stats?window=${window}`);
}

/** What the runs page filters by, as its URL query keeps it. */
export interface RunsQuery {
  jobId?: string;
  scheduleId?: string;
  /** One status or several, comma-separated. */
  status?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

export function listRuns(key: string, query: RunsQuery): Promise<Page<Run>> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(name, String(value));
  }
  return getJson<Page<Run>>(key, `/v1/runs?${params.toString()}`);
}

const runPath = (runId: string): string => `/v1/runs/${encodeURIComponent(runId)}`;
const jobPath = (jobId: string): string => `/v1/jobs/${encodeURIComponent(jobId)}`;

export function getRunDetail(key: string, runId: string): Promise<RunDetail> {
  return getJson<RunDetail>(key, runPath(runId));
}

export function cancelRun(key: string, runId: string): Promise<Run> {
  return postJson<Run>(key, `${runPath(runId)}/cancel`);
}

/** A new run of `run`'s job with the same args and env (null: the job's own, so none are sent). */
export function rerun(key: string, run: Run): Promise<Run> {
  const body: { args?: string[]; env?: Record<string, string> } = {};
  if (run.args !== null) body.args = run.args;
  if (run.env !== null) body.env = run.env;
  return postJson<Run>(key, `${jobPath(run.jobId)}/runs`, body);
}

export function getJob(key: string, jobId: string): Promise<Job> {
  return getJson<Job>(key, jobPath(jobId));
}

export function createJob(key: string, input: CreateJobInput): Promise<Job> {
  return postJson<Job>(key, '/v1/jobs', input);
}

export async function updateJob(key: string, jobId: string, input: UpdateJobInput): Promise<Job> {
  return (await (await send(key, 'PATCH', jobPath(jobId), input)).json()) as Job;
}

export async function deleteJob(key: string, jobId: string): Promise<void> {
  await send(key, 'DELETE', jobPath(jobId));
}
