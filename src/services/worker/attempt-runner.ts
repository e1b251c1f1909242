// Runs one attempt of a claimed run: through the executor for its job's runtime, its output into the run log,
// its start recorded in the store as it happens; then hands the end to the recorder. An attempt stopped only
// because this worker is stopping is released instead (queued again with the same attempt), so a graceful stop
// costs no attempt. An execution goes:
//
//   claimed ──▶ executing ──▶ recorded (finishAttempt, fenced) or released ──▶ retired
//
// A first attempt claimed before its due time (pre-dispatch: handed over a lead ahead) is executed with
// `startAt = run.dueAt`: the executor gets everything ready at once and starts the process at that time, so the
// start recorded (and the lag, startedAt − dueAt) is the start's precision rather than the preparation's cost.
//
// It holds no state beyond the one attempt it runs; the execution (execution.ts) carries how it was stopped.

import { runtimeOf } from '../../core/job.js';
import { HOST_COMMANDS_NOT_ALLOWED, withPlanDefaults } from '../../core/tenant.js';
import type { ExecutionResult, Executor } from '../../ports/executor.js';
import type { LogStore } from '../../ports/log-store.js';
import type { AttemptStore, ClaimedRun } from '../../ports/store/attempt-store.js';
import type { RunStore } from '../../ports/store/run-store.js';
import type { TenantStore } from '../../ports/store/tenant-store.js';
import type { Logger } from '../logger.js';
import { recordAttemptEnd, releaseRun, WORKER_STOPPED, type RecorderContext } from './attempt-recorder.js';
import type { Execution } from './execution.js';
import { GuardedLogWriter } from './guarded-log-writer.js';
import { RegistryCredentialError } from '../registry-credentials.js';
import { buildExecutionSpec } from './run-environment.js';
import type { RegistryCredentialLookup } from './worker-agent-options.js';

export type Runtime = Executor['runtime'];

/** What running an attempt needs from the worker; the agent builds it once. */
export interface RunnerContext extends RecorderContext {
  /** Also the tenant, whose privilege a host command needs. */
  readonly store: AttemptStore & Pick<RunStore, 'markDispatched'> & TenantStore;
  readonly logStore: LogStore;
  /** The executors this worker has, by runtime; a job whose runtime is missing fails at once. */
  readonly executors: Partial<Record<Runtime, Executor>>;
  /** PATH for process-runtime jobs; null for none. */
  readonly hostPath: string | null;
  /** Opens the tenant's registry login for an image job; absent: anonymous pulls. */
  readonly registryCredentials?: RegistryCredentialLookup | undefined;
}

export async function runAttempt(
  ctx: RunnerContext,
  claimed: ClaimedRun,
  execution: Execution,
  workerLog: Logger,
): Promise<void> {
  const { run, job } = claimed;
  const { store, clock, workerId } = ctx;
  const log = workerLog.child({ runId: run.id, attempt: run.attempt });
  const started = { at: null as number | null, monotonic: 0, recorded: Promise.resolve() };
  const writer = new GuardedLogWriter(ctx.logStore, run.id, log);

  const runtime = runtimeOf(job);
  const executor = ctx.executors[runtime];
  let result: ExecutionResult;
  // A missing runtime, or a privilege the tenant lacks, is not a failure another attempt could fix: not retried.
  // The privilege is checked here too, not only at the API: a schedule or a queued run outlives its revocation.
  const refusal =
    executor === undefined
      ? missingRuntimeReason(runtime)
      : runtime === 'process' && !(await hostCommandsAllowed(ctx, run.tenantId))
        ? HOST_COMMANDS_NOT_ALLOWED
        : null;
  let retryable = refusal === null;
  if (executor === undefined || refusal !== null) {
    result = { outcome: 'failed', exitCode: null, reason: refusal };
  } else {
    try {
      // Looked up per attempt, not per job: a login changed or removed since applies to the next attempt.
      const credentials =
        job.image !== null && ctx.registryCredentials !== undefined
          ? await ctx.registryCredentials(run.tenantId, job.image)
          : null;
      const spec = buildExecutionSpec(job, run, ctx.hostPath, clock.now(), credentials);
      const hooks = {
        onStarted: (precise: number): void => {
          // Executors may measure the start below the millisecond; times are stored in whole milliseconds.
          const at = Math.round(precise);
          started.at = at;
          started.monotonic = clock.monotonic();
          log.debug({ startedAt: at }, 'attempt started');
          started.recorded = store
            .markStarted(run.id, run.attempt, workerId, at)
            .catch((error: unknown) => log.warn({ err: error }, 'recording the start failed'));
        },
        onOutput: (_stream: 'stdout' | 'stderr', chunk: Buffer): void => writer.write(chunk),
      };
      result = await executor.execute(spec, hooks, execution.controller.signal);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // A stored login that cannot be opened stays so until the tenant logs in again: not retried.
      const unusableLogin = error instanceof RegistryCredentialError;
      if (unusableLogin) retryable = false;
      result = {
        outcome: 'failed',
        exitCode: null,
        reason: unusableLogin ? message : `executor error: ${message}`,
      };
    }
  }
  if (result.retryable === false) retryable = false;
  await started.recorded;
  await writer.close();

  if (result.outcome === 'cancelled' && execution.stopCause === 'shutdown') {
    // Stopped only because this worker is stopping: the attempt is given back, not spent.
    await releaseRun(ctx, run, WORKER_STOPPED, log);
    ctx.retire(execution);
    return;
  }
  const durationMs = started.at === null ? 0 : Math.max(0, clock.monotonic() - started.monotonic);
  const end = {
    ...result,
    imageDigest: result.imageDigest ?? null,
    retryable,
    durationMs,
    startedAt: started.at,
  };
  await recordAttemptEnd(ctx, claimed, end, execution, log);
}

/** A tenant stored before the limit existed, or gone, runs no host command. */
async function hostCommandsAllowed(ctx: RunnerContext, tenantId: string): Promise<boolean> {
  const tenant = await ctx.store.getTenant(tenantId);
  return tenant !== null && withPlanDefaults(tenant.limits).allowHostCommands;
}

function missingRuntimeReason(runtime: Runtime): string {
  return runtime === 'container'
    ? 'no container runtime on this worker; jobs with an image need a worker with runc'
    : 'no process runtime on this worker; jobs without an image need a worker with the process runtime';
}
