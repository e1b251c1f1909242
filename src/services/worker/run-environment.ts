// What one attempt runs with: argv, environment, start time and registry login, built from the claimed run and
// its job. Pure.

import { runtimeOf, type Job } from '../../core/job.js';
import type { Run } from '../../core/run.js';
import type { ExecutionSpec } from '../../ports/executor.js';
import type { RegistryCredentials } from '../../ports/images.js';

/**
 * The attempt's environment: the job's env, the run's overrides, then the HOURGLASS_* variables (last, so a job
 * cannot spoof them). A process-runtime job also gets the worker's PATH first (a job may override it); a
 * container keeps its image's own PATH.
 */
export function buildRunEnvironment(job: Job, run: Run, hostPath: string | null): Record<string, string> {
  const env: Record<string, string> = {};
  if (hostPath !== null && runtimeOf(job) === 'process') env.PATH = hostPath;
  Object.assign(env, job.env, run.env ?? {});
  env.HOURGLASS_RUN_ID = run.id;
  env.HOURGLASS_JOB_ID = job.id;
  env.HOURGLASS_SCHEDULE_ID = run.scheduleId ?? '';
  env.HOURGLASS_SCHEDULED_TIME = new Date(run.nominalTime).toISOString();
  env.HOURGLASS_ATTEMPT = String(run.attempt);
  return env;
}

/**
 * `now` decides the start: a run's first attempt handed over before its due time (pre-dispatch, a future run)
 * starts at `dueAt`; a retry, or a run whose due time has passed (released by a stopping worker), at once.
 * `registryCredentials` are the tenant's for the image's registry (looked up by the attempt runner).
 */
export function buildExecutionSpec(
  job: Job,
  run: Run,
  hostPath: string | null,
  now: number,
  registryCredentials: RegistryCredentials | null = null,
): ExecutionSpec {
  return {
    runId: run.id,
    attempt: run.attempt,
    tenantId: run.tenantId,
    argv: [...job.command, ...(run.args ?? job.args)],
    command: job.command,
    args: run.args ?? job.args,
    env: buildRunEnvironment(job, run, hostPath),
    image: job.image,
    ...(job.network === undefined ? {} : { network: job.network }),
    registryCredentials: job.image === null ? null : registryCredentials,
    memoryMb: job.resources.memoryMb,
    timeoutMs: job.timeoutSeconds * 1000,
    startAt: run.attempt === 1 && run.dueAt > now ? run.dueAt : null,
  };
}
