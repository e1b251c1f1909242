// Job definitions: create, read, update, delete, with the tenant's plan limits enforced. The request's shape
// was validated at the API edge; this layer checks what needs the tenant or the store. Deleting a job deletes
// its schedules too, and tells the scheduler at once.

import { randomBytes } from 'node:crypto';
import { HourglassError, invalid, notFound } from '../core/errors.js';
import { isId, newId } from '../core/ids.js';
import { parseImageReference } from '../core/image-reference.js';
import { JOB_DEFAULTS, type Job, type JobResources, type NetworkMode } from '../core/job.js';
import { partitionOf } from '../core/schedule.js';
import { checkHostCommandsAllowed, type Tenant } from '../core/tenant.js';
import type { Clock } from '../ports/clock.js';
import type { RunSignals } from '../ports/run-events.js';
import type { ScheduleChanges } from '../ports/schedule-changes.js';
import type { JobStore } from '../ports/store/job-store.js';
import type { Page } from '../ports/store/page.js';

export interface JobInput {
  name?: string;
  image?: string | null;
  network?: NetworkMode;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** `memoryRequestMb: null` puts the request back to its default. */
  resources?: { memoryMb?: number; memoryRequestMb?: number | null };
  timeoutSeconds?: number;
  retry?: { maxAttempts?: number; backoffSeconds?: number };
}

export class JobService {
  constructor(
    private readonly store: JobStore,
    private readonly signals: RunSignals,
    private readonly clock: Clock,
    private readonly scheduleChanges: ScheduleChanges,
  ) {}

  async createJob(tenant: Tenant, input: JobInput & { name: string }): Promise<Job> {
    const now = this.clock.now();
    const job: Job = {
      id: newId('job', now, randomBytes),
      tenantId: tenant.id,
      name: input.name,
      image: input.image ?? null,
      ...(input.network === undefined || input.network === 'none' ? {} : { network: input.network }),
      command: input.command ?? [],
      args: input.args ?? [],
      env: input.env ?? {},
      // Defaults never exceed the plan: a small plan gets jobs that fit it, not an error about a field
      // the user never sent.
      resources: withRequest(
        input.resources?.memoryMb ?? Math.min(JOB_DEFAULTS.memoryMb, tenant.limits.maxMemoryMb),
        input.resources?.memoryRequestMb,
      ),
      timeoutSeconds:
        input.timeoutSeconds ?? Math.min(JOB_DEFAULTS.timeoutSeconds, tenant.limits.maxTimeoutSeconds),
      retry: {
        maxAttempts: input.retry?.maxAttempts ?? JOB_DEFAULTS.maxAttempts,
        backoffSeconds: input.retry?.backoffSeconds ?? JOB_DEFAULTS.backoffSeconds,
      },
      createdAt: now,
      updatedAt: now,
    };
    checkJob(job, tenant);
    await this.store.insertJob(job, tenant.limits.maxJobs);
    return job;
  }

  listJobs(tenantId: string, limit: number, cursor?: string): Promise<Page<Job>> {
    return this.store.listJobs(tenantId, limit, cursor);
  }

  async getJob(tenantId: string, idOrName: string): Promise<Job> {
    const job = await this.store.findJob(tenantId, idOrName);
    if (job === null) throw notFound('job', idOrName, 'job');
    return job;
  }

  async updateJob(tenant: Tenant, idOrName: string, patch: JobInput): Promise<Job> {
    const current = await this.getJob(tenant.id, idOrName);
    const job: Job = {
      ...current,
      name: patch.name ?? current.name,
      image: patch.image === undefined ? current.image : patch.image,
      command: patch.command ?? current.command,
      args: patch.args ?? current.args,
      env: patch.env ?? current.env,
      resources: withRequest(
        patch.resources?.memoryMb ?? current.resources.memoryMb,
        patch.resources?.memoryRequestMb === undefined
          ? current.resources.memoryRequestMb
          : patch.resources.memoryRequestMb,
      ),
      timeoutSeconds: patch.timeoutSeconds ?? current.timeoutSeconds,
      retry: { ...current.retry, ...patch.retry },
      updatedAt: this.clock.now(),
    };
    const network = patch.network ?? current.network ?? 'none';
    if (network === 'none') delete job.network;
    else job.network = network;
    checkJob(job, tenant);
    await this.store.updateJob(job);
    return job;
  }

  async deleteJob(tenantId: string, idOrName: string): Promise<Job> {
    const job = await this.getJob(tenantId, idOrName);
    const { cancelled, stopping, schedules } = await this.store.deleteJob(tenantId, job.id, this.clock.now());
    // Workers and schedulers hear at once; heartbeats and reconciliation would tell them soon anyway.
    for (const runId of stopping) this.signals.emit({ type: 'cancel_requested', runId });
    for (const runId of cancelled) this.signals.emit({ type: 'finished', runId });
    for (const scheduleId of schedules) {
      this.scheduleChanges.emit({ scheduleId, partition: partitionOf(scheduleId) });
    }
    return job;
  }
}

/** A job's resources; a request left out (or null) is the default, which follows the limit. */
function withRequest(memoryMb: number, memoryRequestMb: number | null | undefined): JobResources {
  return memoryRequestMb === undefined || memoryRequestMb === null
    ? { memoryMb }
    : { memoryMb, memoryRequestMb };
}

/** Rules that span fields or need the tenant's plan. */
function checkJob(job: Job, tenant: Tenant): void {
  if (isId('job', job.name)) throw invalid('name', 'must not look like a job id');
  if (job.image === null && job.command.length === 0) {
    throw invalid('command', 'is required when the job has no image (it is the host command to run)');
  }
  if (job.image === null && job.network !== undefined) {
    throw invalid('network', "is for jobs with an image: a host command shares the host's network");
  }
  if (job.image === null) checkHostCommandsAllowed(tenant.limits, 'image');
  // A malformed reference is the request's fault, told now rather than as a failed run later.
  else parseImageReference(job.image, 'image');
  if (job.resources.memoryMb > tenant.limits.maxMemoryMb) {
    throw new HourglassError(
      'plan_limit_exceeded',
      `resources.memoryMb: ${job.resources.memoryMb} is above the plan's limit of ${tenant.limits.maxMemoryMb} MB`,
      { field: 'resources.memoryMb', limit: 'maxMemoryMb' },
    );
  }
  const request = job.resources.memoryRequestMb;
  if (request !== undefined && request > job.resources.memoryMb) {
    throw invalid(
      'resources.memoryRequestMb',
      `${request} is above the job's memory limit, resources.memoryMb (${job.resources.memoryMb}): a run cannot reserve more than it may use`,
    );
  }
  if (job.timeoutSeconds > tenant.limits.maxTimeoutSeconds) {
    throw new HourglassError(
      'plan_limit_exceeded',
      `timeoutSeconds: ${job.timeoutSeconds} is above the plan's limit of ${tenant.limits.maxTimeoutSeconds} s`,
      { field: 'timeoutSeconds', limit: 'maxTimeoutSeconds' },
    );
  }
}
