// Job definitions, tenant-facing. A job is soft-deleted: its runs stay readable under its id.

import type { Job } from '../../core/job.js';
import type { Page } from './page.js';

/** What deleting a job stopped, so their listeners can be told at once. */
export interface DeletedJob {
  /** Its queued runs, now cancelled. */
  cancelled: string[];
  /** Its running runs, asked to stop. */
  stopping: string[];
  /** Its live schedules, now deleted. */
  schedules: string[];
}

export interface JobStore {
  /**
   * Inserts the job if the tenant has fewer than `maxJobs` live jobs, checked in the same transaction; throws
   * HourglassError `plan_limit_exceeded` if not, `job_name_taken` when a live job already has that name.
   * Concurrency: concurrent inserts of one tenant, from any process, never leave more than `maxJobs` live
   * jobs (the count and the insert are serialized per tenant: a count that another insert has not yet seen
   * is not a count), nor two live jobs with one name (a unique constraint; the loser gets `job_name_taken`).
   */
  insertJob(job: Job, maxJobs: number): Promise<void>;
  /** By id or by name, live jobs only. */
  findJob(tenantId: string, idOrName: string): Promise<Job | null>;
  listJobs(tenantId: string, limit: number, cursor?: string): Promise<Page<Job>>;
  /** Throws `job_name_taken` like insertJob (under concurrency too), `not_found` if it is not live. */
  updateJob(job: Job): Promise<void>;
  /**
   * Soft-deletes the job (its runs stay readable), cancels its queued runs and asks running ones to stop;
   * returns the ids of both, so their listeners can be told at once. Its schedules are deleted with it, each
   * a change of its own in the change sequence (ScheduleStore). One transaction: a run a worker claims
   * meanwhile is asked to stop rather than left running (cancel the queued ones, then ask the running ones,
   * each a conditional write), and no schedule is inserted for the job once it is deleted.
   */
  deleteJob(tenantId: string, jobId: string, at: number): Promise<DeletedJob>;
}
