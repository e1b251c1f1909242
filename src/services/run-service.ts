// Runs as the API sees them: create (now, or at `runAt`, with idempotency and the tenant's rate limit), read,
// list, cancel. The rate limit is the store's (RateLimitStore), shared by every API process on it, one key
// per tenant. A created run is stored first and then published to the queue if it is due within the queue's
// horizon (core/dispatch.ts); the store is the queue's outbox, so a crash between the two loses nothing.
//
// A future run is due at `runAt` (its nominal time and due time). It is published available a little before
// (`preDispatchLeadMs`), so that a worker holds it when it is due and starts its process at `dueAt`.

import { createHash, randomBytes } from 'node:crypto';
import { HourglassError, invalid, notFound } from '../core/errors.js';
import { isId, newId } from '../core/ids.js';
import { memoryRequestOf, type Job } from '../core/job.js';
import { DEFAULT_PRE_DISPATCH_LEAD_MS, newQueuedRun, type Run, type RunEvent } from '../core/run.js';
import type { Schedule } from '../core/schedule.js';
import { runtimeOf } from '../core/job.js';
import { checkHostCommandsAllowed, type Tenant } from '../core/tenant.js';
import type { Clock } from '../ports/clock.js';
import type { RunQueue } from '../ports/queue.js';
import type { RunSignals } from '../ports/run-events.js';
import type { JobStore } from '../ports/store/job-store.js';
import type { Page } from '../ports/store/page.js';
import type { RateLimitStore } from '../ports/store/rate-limit-store.js';
import type { CancelResult, RunStore } from '../ports/store/run-store.js';
import { parseInstant } from './input-time.js';
import { resolveJobFilter } from './job-filter.js';
import { runFilterOf, type ListRunsInput } from './run-list-input.js';
import type { JobService } from './job-service.js';
import { dispatchDue } from './run-dispatcher.js';

export interface RunInput {
  args?: string[];
  env?: Record<string, string>;
  /** ISO 8601: run then instead of now (at most 366 days ahead, at most 5 s ago). */
  runAt?: string;
}

export interface RunServiceOptions {
  /** How long before its due time a future run is handed to the queue. */
  preDispatchLeadMs: number;
}

export const DEFAULT_RUN_SERVICE_OPTIONS: Readonly<RunServiceOptions> = Object.freeze({
  preDispatchLeadMs: DEFAULT_PRE_DISPATCH_LEAD_MS,
});

/** How far ahead a run may be asked for, and how late `runAt` may be before it is a mistake. */
export const RUN_AT_MAX_AHEAD_MS = 366 * 86_400_000;
export const RUN_AT_MAX_PAST_MS = 5000;

export class RunService {
  private readonly options: Readonly<RunServiceOptions>;

  constructor(
    private readonly store: RunStore & JobStore & RateLimitStore,
    private readonly queue: RunQueue,
    private readonly jobs: JobService,
    private readonly signals: RunSignals,
    private readonly clock: Clock,
    options: Partial<RunServiceOptions> = {},
  ) {
    this.options = Object.freeze({ ...DEFAULT_RUN_SERVICE_OPTIONS, ...options });
  }

  /**
   * Creates a run of the job, now or at `runAt`. `created` is false when an Idempotency-Key replays an
   * earlier request.
   */
  async createRun(
    tenant: Tenant,
    jobIdOrName: string,
    input: RunInput,
    idempotencyKey: string | null,
  ): Promise<{ run: Run; created: boolean }> {
    const job = await this.jobs.getJob(tenant.id, jobIdOrName);
    const runAt = input.runAt === undefined ? null : checkRunAt(input.runAt, this.clock.now());
    return this.insertAndDispatch(tenant, job, input, runAt, null, idempotencyKey);
  }

  /**
   * Runs a schedule's tick by hand, now: a run of its job with its args and env, `scheduleId` set, limited
   * and replayed like any created run. A manual run: the schedule's overlap policy does not decide it (it is
   * never skipped, blocked or replacing), and the schedule's timing and watermark stay as they are.
   */
  async createScheduleRun(
    tenant: Tenant,
    schedule: Pick<Schedule, 'id' | 'jobId' | 'args' | 'env'>,
    idempotencyKey: string | null,
  ): Promise<{ run: Run; created: boolean }> {
    const job = await this.jobs.getJob(tenant.id, schedule.jobId);
    const input: RunInput = {
      ...(schedule.args === null ? {} : { args: schedule.args }),
      ...(schedule.env === null ? {} : { env: schedule.env }),
    };
    return this.insertAndDispatch(tenant, job, input, null, schedule.id, idempotencyKey);
  }

  private async insertAndDispatch(
    tenant: Tenant,
    job: Job,
    input: RunInput,
    runAt: number | null,
    scheduleId: string | null,
    idempotencyKey: string | null,
  ): Promise<{ run: Run; created: boolean }> {
    // A job stored before its tenant lost the privilege (or before the limit existed) is not run either.
    if (runtimeOf(job) === 'process') checkHostCommandsAllowed(tenant.limits, 'job');
    const requestHash = idempotencyKey === null ? null : hashRequest(job.id, input, runAt, scheduleId);
    if (idempotencyKey !== null) {
      // A replay answers with the first run before any limit is applied: retrying is always safe.
      const earlier = await this.store.findRunByIdempotencyKey(tenant.id, idempotencyKey);
      if (earlier !== null)
        return { run: replayed(earlier.run, earlier.requestHash === requestHash), created: false };
    }
    const { runsPerSecond, runBurst } = tenant.limits;
    const limit = { perSecond: runsPerSecond, burst: runBurst };
    const taken = await this.store.takeRateToken(runCreationKey(tenant.id), limit, this.clock.now());
    if (!taken.allowed) {
      throw new HourglassError(
        'rate_limited',
        `run creation is limited to ${runsPerSecond}/s for this tenant; retry in ${taken.retryAfterMs} ms`,
        { retryAfterMs: taken.retryAfterMs },
      );
    }
    const now = this.clock.now();
    const run = newQueuedRun({
      id: newId('run', now, randomBytes),
      tenantId: tenant.id,
      jobId: job.id,
      scheduleId,
      createdAt: now,
      ...(runAt === null ? {} : { nominalTime: runAt, dueAt: runAt }),
      args: input.args ?? null,
      env: input.env ?? null,
      idempotencyKey,
    });
    run.availableAt = runAt === null ? now : Math.max(now, runAt - this.options.preDispatchLeadMs);
    const result = await this.store.insertRun({ run, requestHash });
    // Two requests with one key raced, and the other inserted first.
    if (!result.inserted) return { run: replayed(result.run, result.sameRequest), created: false };
    const message = {
      runId: run.id,
      tenantId: run.tenantId,
      attempt: 1,
      memoryMb: job.resources.memoryMb,
      memoryRequestMb: memoryRequestOf(job.resources),
      availableAt: run.availableAt,
    };
    // Later than the queue's horizon, it stays in the store until the dispatch sweep publishes it.
    const dispatch = await dispatchDue({ store: this.store, queue: this.queue, clock: this.clock }, [
      message,
    ]);
    const dispatchedAt = dispatch.published.length > 0 ? dispatch.at : null;
    return { run: { ...result.run, dispatchedAt }, created: true };
  }

  async getRun(tenantId: string, runId: string): Promise<Run> {
    const run = isId('run', runId) ? await this.store.getRun(tenantId, runId) : null;
    if (run === null) throw notFound('run', runId, 'runId');
    return run;
  }

  async getTimeline(tenantId: string, runId: string): Promise<{ run: Run; timeline: RunEvent[] }> {
    const run = await this.getRun(tenantId, runId);
    return { run, timeline: await this.store.getRunEvents(run.id) };
  }

  /**
   * The tenant's runs, newest first. `jobId` is a job's id (a deleted job's too) or a live job's name, as on
   * the job routes; a job or schedule the tenant does not have answers 404, never an empty page. `status`
   * may list several, comma-separated; `from`/`to` bound the runs' creation (run-list-input.ts).
   */
  async listRuns(tenantId: string, input: ListRunsInput): Promise<Page<Run>> {
    const filter = runFilterOf(input);
    const jobId = await resolveJobFilter(this.store, tenantId, input.jobId);
    return this.store.listRuns(tenantId, jobId === undefined ? filter : { ...filter, jobId });
  }

  async cancelRun(tenantId: string, runId: string): Promise<Run> {
    await this.getRun(tenantId, runId);
    const result: CancelResult = await this.store.requestCancel(tenantId, runId, this.clock.now());
    if (result.state === 'already_finished') {
      throw new HourglassError(
        'run_already_finished',
        `run ${runId} has already finished (${result.run.status})`,
        {
          field: 'runId',
        },
      );
    }
    this.signals.emit({ type: result.state === 'requested' ? 'cancel_requested' : 'finished', runId });
    return result.run;
  }
}

/** The rate-limit key of a tenant's run creation: one row per tenant in the store. */
export function runCreationKey(tenantId: string): string {
  return `runs/${tenantId}`;
}

/** The run of an Idempotency-Key replay; a different request under the same key is a conflict. */
function replayed(run: Run, sameRequest: boolean): Run {
  if (!sameRequest) {
    throw new HourglassError(
      'idempotency_key_reused',
      'this Idempotency-Key was already used for a different request',
      {
        field: 'Idempotency-Key',
      },
    );
  }
  return run;
}

/** `runAt` as epoch ms, within the bounds; throws naming `runAt`. */
function checkRunAt(text: string, now: number): number {
  const runAt = parseInstant('runAt', text);
  if (runAt < now - RUN_AT_MAX_PAST_MS) {
    throw invalid('runAt', `${text} is in the past; leave runAt out to run now`);
  }
  if (runAt > now + RUN_AT_MAX_AHEAD_MS) throw invalid('runAt', 'must be at most 366 days ahead');
  return runAt;
}

/**
 * Equal for equal requests: env keys are sorted, since their order means nothing, and `runAt` is compared as
 * an instant. A request without `runAt` (or `scheduleId`) hashes as it did before they existed, so stored keys
 * still match.
 * Stored with each keyed run: changing what it covers or how breaks every stored key (a unit test pins it).
 */
export function hashRequest(
  jobId: string,
  input: RunInput,
  runAt: number | null,
  scheduleId: string | null = null,
): string {
  const env = input.env === undefined ? null : Object.entries(input.env).sort(([a], [b]) => (a < b ? -1 : 1));
  const fields: unknown[] = [jobId, input.args ?? null, env];
  if (runAt !== null) fields.push(runAt);
  // A schedule's run by hand is a different request from a plain run of its job with the same args.
  if (scheduleId !== null) fields.push({ scheduleId });
  return createHash('sha256').update(JSON.stringify(fields)).digest('hex');
}
