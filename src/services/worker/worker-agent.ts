// The worker agent: pulls runs from the queue as far as its capacity allows, claims each in the store, runs it
// through the executor for its job's runtime, and records the result (retrying per the job's policy). It uses
// only ports; the composition root gives it the adapters.
//
// It owns its capacity (runs at once, memory reserved) and the executions it started. Agent states:
//
//   idle ──start──▶ running ──stop──▶ stopping ──(every execution recorded)──▶ stopped
//
// While running, the pull loop takes a delivery only when a slot and its memory are free: a run that does not
// fit is nak'ed to come back later; a run the store will not hand over (cancelled, taken, stale attempt) is
// acked and dropped. Each execution goes: claimed ──▶ executing ──▶ recorded (finishAttempt, fenced) ──▶ gone,
// and is stopped early by a cancel (heartbeat answer or RunSignal) or by stop(). A run stopped by stop() is
// recorded as `lost` (reason "worker stopped") so the job's retry policy applies. Heartbeats continue until
// the last execution is recorded, so the reaper does not take a run that is still stopping.

import { runtimeOf } from '../../core/job.js';
import { decideAfterAttempt, type AttemptOutcome } from '../../core/run-state.js';
import type { Clock } from '../../ports/clock.js';
import type { ExecutionResult, Executor } from '../../ports/executor.js';
import type { Delivery, RunQueue } from '../../ports/queue.js';
import type { RunSignal, RunSignals } from '../../ports/run-events.js';
import type { ClaimedRun, Store } from '../../ports/store.js';
import type { LogStore } from '../../ports/log-store.js';
import type { Logger } from '../logger.js';
import { GuardedLogWriter } from './guarded-log-writer.js';
import { buildExecutionSpec } from './run-environment.js';
import type { WorkerMetrics } from './worker-metrics.js';

export type WorkerAgentState = 'idle' | 'running' | 'stopping' | 'stopped';

export type Runtime = Executor['runtime'];

export interface WorkerAgentDeps {
  store: Store;
  queue: RunQueue;
  /** The executors this worker has, by runtime; a job whose runtime is missing fails at once. */
  executors: Partial<Record<Runtime, Executor>>;
  logStore: LogStore;
  signals: RunSignals;
  clock: Clock;
  logger: Logger;
  metrics?: WorkerMetrics;
}

export interface WorkerAgentOptions {
  workerId: string;
  /** Memory the worker may hand out to runs; a run reserves its job's `resources.memoryMb`. */
  memoryMb: number;
  /** Most runs at once, whatever their memory. */
  maxRuns: number;
  heartbeatIntervalMs: number;
  /** PATH for process-runtime jobs (the worker's own, read by the composition root); null for none. */
  hostPath: string | null;
  /** How long one pull waits for a message (default 1000 ms). */
  pullWaitMs?: number;
}

/** Most deliveries taken per pull, so one worker does not hoard messages it then has to nak. */
const PULL_BATCH = 4;
/** A run that does not fit comes back after this long (and the loop waits as long, or until a run ends). */
const NO_ROOM_DELAY_MS = 250;
const RETRY_AFTER_ERROR_MS = 1000;

type StopCause = 'cancel' | 'shutdown';

interface Execution {
  readonly runId: string;
  readonly attempt: number;
  readonly memoryMb: number;
  readonly controller: AbortController;
  stopCause: StopCause | null;
  done: Promise<void>;
}

export class WorkerAgent {
  private readonly deps: WorkerAgentDeps;
  private readonly options: Readonly<Required<WorkerAgentOptions>>;
  private readonly log: Logger;
  private state: WorkerAgentState = 'idle';
  private readonly executions = new Map<string, Execution>();
  private reservedMb = 0;
  private readonly stopController = new AbortController();
  private readonly wakers = new Set<() => void>();
  private loopDone: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private beating = false;
  private unsubscribe: (() => void) | null = null;

  constructor(deps: WorkerAgentDeps, options: WorkerAgentOptions) {
    this.deps = deps;
    this.options = Object.freeze({ ...options, pullWaitMs: options.pullWaitMs ?? 1000 });
    this.log = deps.logger.child({ workerId: options.workerId });
  }

  get status(): WorkerAgentState {
    return this.state;
  }

  runningCount(): number {
    return this.executions.size;
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`worker agent cannot start: it is ${this.state}`);
    this.state = 'running';
    this.unsubscribe = this.deps.signals.on((signal) => this.onSignal(signal));
    this.heartbeatTimer = setInterval(() => void this.beat(), this.options.heartbeatIntervalMs);
    this.loopDone = this.loop().catch((error: unknown) =>
      this.log.error({ err: error }, 'pull loop crashed'),
    );
    this.log.info(
      {
        memoryMb: this.options.memoryMb,
        maxRuns: this.options.maxRuns,
        runtimes: Object.keys(this.deps.executors),
      },
      'worker started',
    );
  }

  /** Stops pulling, stops every execution (recorded as lost, so retries apply), and resolves when all are recorded. */
  stop(): Promise<void> {
    if (this.stopped !== null) return this.stopped;
    if (this.state === 'idle') {
      this.state = 'stopped';
      this.stopped = Promise.resolve();
      return this.stopped;
    }
    this.state = 'stopping';
    this.stopped = this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopController.abort();
    this.unsubscribe?.();
    this.wake();
    this.stopAll();
    await this.loopDone;
    this.stopAll(); // anything the loop launched while it was finishing
    while (this.executions.size > 0) await Promise.all([...this.executions.values()].map((e) => e.done));
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.state = 'stopped';
    this.log.info({}, 'worker stopped');
  }

  private stopAll(): void {
    for (const runId of this.executions.keys()) this.stopExecution(runId, 'shutdown');
  }

  private freeSlots(): number {
    if (this.options.memoryMb - this.reservedMb <= 0) return 0;
    return Math.max(0, this.options.maxRuns - this.executions.size);
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      const slots = this.freeSlots();
      if (slots === 0) {
        await this.idle(); // until a run ends (or stop)
        continue;
      }
      let deliveries: Delivery[];
      try {
        const max = Math.min(slots, PULL_BATCH);
        deliveries = await this.deps.queue.pull(max, this.options.pullWaitMs, this.stopController.signal);
      } catch (error) {
        if (this.state !== 'running') break;
        this.log.error({ err: error }, 'queue pull failed');
        await this.idle(RETRY_AFTER_ERROR_MS);
        continue;
      }
      let noRoom = false;
      for (const delivery of deliveries) {
        if (this.state !== 'running') await settle(delivery.nak(0), this.log);
        else if (!(await this.take(delivery))) noRoom = true;
      }
      if (noRoom) await this.idle(NO_ROOM_DELAY_MS);
    }
  }

  /** Claims and launches one delivered run; false when it did not fit (it was nak'ed). */
  private async take(delivery: Delivery): Promise<boolean> {
    const { message } = delivery;
    const freeMb = this.options.memoryMb - this.reservedMb;
    if (this.executions.size >= this.options.maxRuns || message.memoryMb > freeMb) {
      if (message.memoryMb > this.options.memoryMb) {
        this.log.warn(
          { runId: message.runId, memoryMb: message.memoryMb, workerMemoryMb: this.options.memoryMb },
          'run needs more memory than this worker has; leaving it for another worker',
        );
      }
      await settle(delivery.nak(NO_ROOM_DELAY_MS), this.log);
      return false;
    }
    // Reserve before the claim so the memory is not promised twice while the store answers.
    this.reservedMb += message.memoryMb;
    let claimed: ClaimedRun | null;
    try {
      claimed = await this.deps.store.claimRun(
        message.runId,
        message.attempt,
        this.options.workerId,
        this.deps.clock.now(),
      );
    } catch (error) {
      this.reservedMb -= message.memoryMb;
      this.log.error({ err: error, runId: message.runId }, 'claiming a run failed; it will come back');
      await settle(delivery.nak(RETRY_AFTER_ERROR_MS), this.log);
      return true;
    }
    // Ack only once the claim is durable (or the store declined it: cancelled, taken, or a stale attempt).
    await settle(delivery.ack(), this.log);
    if (claimed === null) {
      this.reservedMb -= message.memoryMb;
      this.log.debug({ runId: message.runId, attempt: message.attempt }, 'run not claimable; dropped');
      return true;
    }
    this.launch(claimed, message.memoryMb);
    return true;
  }

  private launch(claimed: ClaimedRun, memoryMb: number): void {
    const execution: Execution = {
      runId: claimed.run.id,
      attempt: claimed.run.attempt,
      memoryMb,
      controller: new AbortController(),
      stopCause: null,
      done: Promise.resolve(),
    };
    this.executions.set(execution.runId, execution);
    if (this.state !== 'running') this.stopExecution(execution.runId, 'shutdown');
    execution.done = this.runAttempt(claimed, execution)
      .catch((error: unknown) =>
        this.log.error(
          { err: error, runId: execution.runId, attempt: execution.attempt },
          'recording an attempt failed; the reaper will settle the run',
        ),
      )
      .finally(() => {
        this.executions.delete(execution.runId);
        this.reservedMb -= execution.memoryMb;
        this.wake();
      });
  }

  private async runAttempt({ run, job }: ClaimedRun, execution: Execution): Promise<void> {
    const { store, clock } = this.deps;
    const { workerId } = this.options;
    const log = this.log.child({ runId: run.id, attempt: run.attempt });
    const started = { at: null as number | null, monotonic: 0, recorded: Promise.resolve() };
    const writer = new GuardedLogWriter(this.deps.logStore, run.id, log);

    const runtime = runtimeOf(job);
    const executor = this.deps.executors[runtime];
    let result: ExecutionResult;
    if (executor === undefined) {
      result = { outcome: 'failed', exitCode: null, reason: missingRuntimeReason(runtime) };
    } else {
      try {
        const spec = buildExecutionSpec(job, run, this.options.hostPath);
        const hooks = {
          onStarted: (at: number): void => {
            started.at = at;
            started.monotonic = clock.monotonic();
            started.recorded = store
              .markStarted(run.id, run.attempt, workerId, at)
              .catch((error: unknown) => log.warn({ err: error }, 'recording the start failed'));
          },
          onOutput: (_stream: 'stdout' | 'stderr', chunk: Buffer): void => writer.write(chunk),
        };
        result = await executor.execute(spec, hooks, execution.controller.signal);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        result = { outcome: 'failed', exitCode: null, reason: `executor error: ${message}` };
      }
    }
    await started.recorded;
    await writer.close();

    let outcome: AttemptOutcome = result.outcome;
    let reason = result.reason;
    if (outcome === 'cancelled' && execution.stopCause === 'shutdown') {
      outcome = 'lost';
      reason = 'worker stopped';
    }
    const at = clock.now();
    const decision = decideAfterAttempt(job.retry, run.attempt, outcome, at);
    const retryAt = decision.retry ? decision.retryAtMs : null;
    const recorded = await store.finishAttempt({
      runId: run.id,
      attempt: run.attempt,
      workerId,
      outcome,
      exitCode: result.exitCode,
      reason,
      at,
      retryAt,
    });
    if (!recorded) {
      log.warn({ outcome }, 'attempt result fenced off: the run is no longer this worker’s');
      return;
    }
    const durationMs = started.at === null ? 0 : Math.max(0, clock.monotonic() - started.monotonic);
    const lagMs = started.at !== null && run.attempt === 1 ? started.at - run.nominalTime : null;
    this.deps.metrics?.runFinished(outcome, durationMs, lagMs);
    const fields = {
      outcome,
      exitCode: result.exitCode,
      reason,
      retryAt,
      durationMs: Math.round(durationMs),
    };
    if (outcome === 'succeeded') log.debug(fields, 'attempt finished');
    else log.info(fields, 'attempt finished');

    if (retryAt === null) {
      this.deps.signals.emit({ type: 'finished', runId: run.id });
      return;
    }
    // The store already holds the retry as queued; the queue only speeds it up (it is rebuilt at start).
    const next = {
      runId: run.id,
      tenantId: run.tenantId,
      attempt: run.attempt + 1,
      memoryMb: job.resources.memoryMb,
      availableAt: retryAt,
    };
    await this.deps.queue
      .publish([next])
      .catch((error: unknown) =>
        log.warn({ err: error }, 'publishing the retry failed; it stays queued in the store'),
      );
    this.deps.signals.emit({ type: 'queued', runId: run.id });
  }

  private stopExecution(runId: string, cause: StopCause): void {
    const execution = this.executions.get(runId);
    if (execution === undefined) return;
    execution.stopCause ??= cause;
    execution.controller.abort();
  }

  private onSignal(signal: RunSignal): void {
    if (signal.type === 'cancel_requested') this.stopExecution(signal.runId, 'cancel');
  }

  /** Refreshes the heartbeats of the runs in hand; the store answers with those whose cancel was requested. */
  private async beat(): Promise<void> {
    if (this.beating || this.executions.size === 0) return;
    this.beating = true;
    try {
      const runIds = [...this.executions.keys()];
      const cancelled = await this.deps.store.heartbeat(this.options.workerId, runIds, this.deps.clock.now());
      for (const runId of cancelled) this.stopExecution(runId, 'cancel');
    } catch (error) {
      this.log.warn({ err: error }, 'heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  /** Waits until wake() (a run ended, or stop), or `ms` if given. */
  private idle(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wakers.add(done);
      if (this.state !== 'running') done();
    });
  }

  private wake(): void {
    for (const done of [...this.wakers]) done();
  }
}

function missingRuntimeReason(runtime: Runtime): string {
  return runtime === 'container'
    ? 'no container runtime on this worker; jobs with an image need a worker with runc'
    : 'no process runtime on this worker; jobs without an image need a worker with the process runtime';
}

async function settle(ackOrNak: Promise<void>, log: Logger): Promise<void> {
  try {
    await ackOrNak;
  } catch (error) {
    log.warn({ err: error }, 'queue ack/nak failed');
  }
}
