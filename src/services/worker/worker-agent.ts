// The worker agent: pulls runs from the queue as far as its capacity allows, claims each in the store, runs it
// through the executor for its job's runtime, and records the result (retrying per the job's policy). It uses
// only ports; the composition root gives it the adapters.
//
// It owns its capacity (runs at once, memory reserved) and the executions it started. Agent states:
//
//   idle ──start──▶ running ──stop──▶ stopping ──(every execution recorded or released)──▶ stopped
//
// While running, the pull loop takes a delivery only when a slot and its memory are free. A run that does not
// fit is nak'ed to come back later, and so is a run this worker is still executing (an earlier attempt not
// yet recorded or abandoned). A run that needs more memory than the worker has at all could never run here: it
// is claimed and failed. A run the store will not hand over (cancelled, taken, stale attempt) is acked and
// dropped. Once claimed, the reservation becomes the job's current memory (the job may have been edited since
// the message was published); a run that no longer fits is released and nak'ed.
//
// Each execution goes: claimed ──▶ executing ──▶ recorded (finishAttempt, fenced) ──▶ gone, and is stopped
// early by a cancel (heartbeat answer or RunSignal), by a fence (the heartbeat answers that the attempt is no
// longer this worker's: reaped, retried or finished; its result will be rejected), or by stop(). A run stopped
// by stop() is released — queued again with the same attempt (reason "worker stopped") — so a graceful stop
// costs no attempt; a run claimed while stopping is released at once, without executing. Released runs are
// not published again: the queue is rebuilt from the store at the next start. Heartbeats continue until the
// last execution is recorded or released, so the reaper does not take a run that is still stopping.

import { runtimeOf } from '../../core/job.js';
import { decideAfterAttempt, type AttemptOutcome } from '../../core/run-state.js';
import type { Run } from '../../core/run.js';
import type { Clock } from '../../ports/clock.js';
import type { ExecutionResult, Executor } from '../../ports/executor.js';
import type { Delivery, RunQueue } from '../../ports/queue.js';
import type { RunSignal, RunSignals } from '../../ports/run-events.js';
import type { ClaimedRun, HeldAttempt, Store } from '../../ports/store.js';
import type { LogStore } from '../../ports/log-store.js';
import type { Logger } from '../logger.js';
import { recordedOutcome, retryMessage } from '../retry-message.js';
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
/** A delivery for a run this worker is still executing comes back after this long. */
const BUSY_RUN_DELAY_MS = 1000;
const WORKER_STOPPED = 'worker stopped';

/** Why an execution was stopped early; the first cause wins. */
type StopCause = 'cancel' | 'shutdown' | 'fenced';

interface Execution {
  readonly runId: string;
  readonly attempt: number;
  readonly memoryMb: number;
  readonly controller: AbortController;
  stopCause: StopCause | null;
  /** Its slot and memory were given back (once its end is recorded, or at the latest when its task ends). */
  retired: boolean;
}

interface AttemptEnd {
  outcome: AttemptOutcome;
  exitCode: number | null;
  reason: string | null;
  /** False for an end no retry can help (a run too big for any worker). */
  retryable: boolean;
  /** From the process start to its end; 0 when it never started. */
  durationMs: number;
  startedAt: number | null;
}

export class WorkerAgent {
  private readonly deps: WorkerAgentDeps;
  private readonly options: Readonly<Required<WorkerAgentOptions>>;
  private readonly log: Logger;
  private state: WorkerAgentState = 'idle';
  /** Executions not yet retired, by run id: at most one per run. */
  private readonly executions = new Map<string, Execution>();
  /** Every launched attempt until it has fully ended (recorded, retry published), for stop() to wait on. */
  private readonly tasks = new Set<Promise<void>>();
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

  /**
   * Stops pulling, stops every execution and releases its run (queued again with the same attempt), and
   * resolves when every execution is recorded or released.
   */
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
    await this.loopDone; // a run it claims from now on is released without executing
    this.stopAll();
    while (this.tasks.size > 0) await Promise.all([...this.tasks]);
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.state = 'stopped';
    this.log.info({}, 'worker stopped');
  }

  private stopAll(): void {
    for (const execution of this.executions.values()) this.stopExecution(execution, 'shutdown');
  }

  /** Whether one more run of `memoryMb` fits now. */
  private fits(memoryMb: number): boolean {
    return this.executions.size < this.options.maxRuns && memoryMb <= this.options.memoryMb - this.reservedMb;
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
    if (this.executions.has(message.runId)) {
      // An earlier attempt of this run is still executing here (e.g. reaped while its worker was slow, and
      // not yet abandoned): claiming now would run the run twice, and mix up the two executions.
      await settle(delivery.nak(BUSY_RUN_DELAY_MS), this.log);
      return true;
    }
    // A run bigger than this whole worker takes no slot: it is claimed only to be failed (see place()).
    const oversized = message.memoryMb > this.options.memoryMb;
    if (!oversized && !this.fits(message.memoryMb)) {
      await settle(delivery.nak(NO_ROOM_DELAY_MS), this.log);
      return false;
    }
    // Reserve before the claim so the memory is not promised twice while the store answers.
    const reservedMb = oversized ? 0 : message.memoryMb;
    this.reservedMb += reservedMb;
    let claimed: ClaimedRun | null;
    try {
      claimed = await this.deps.store.claimRun(
        message.runId,
        message.attempt,
        this.options.workerId,
        this.deps.clock.now(),
      );
    } catch (error) {
      this.reservedMb -= reservedMb;
      this.log.error({ err: error, runId: message.runId }, 'claiming a run failed; it will come back');
      await settle(delivery.nak(RETRY_AFTER_ERROR_MS), this.log);
      return true;
    }
    // place() reserves again, with what the claimed job asks for now.
    this.reservedMb -= reservedMb;
    if (claimed === null) {
      // The store declined it (cancelled, taken, or a stale attempt): nothing will ever claim this message.
      await settle(delivery.ack(), this.log);
      this.log.debug({ runId: message.runId, attempt: message.attempt }, 'run not claimable; dropped');
      return true;
    }
    return this.place(delivery, claimed);
  }

  /** Decides what to do with a run just claimed: launch it, fail it, or release it. False when it did not fit. */
  private async place(delivery: Delivery, claimed: ClaimedRun): Promise<boolean> {
    const { run, job } = claimed;
    const log = this.log.child({ runId: run.id, attempt: run.attempt });
    const memoryMb = job.resources.memoryMb;
    if (memoryMb > this.options.memoryMb) {
      await settle(delivery.ack(), log);
      const reason = `needs ${memoryMb} MB of memory; the largest worker has ${this.options.memoryMb} MB`;
      log.warn({ memoryMb, workerMemoryMb: this.options.memoryMb }, 'run can never fit; failing it');
      const end: AttemptEnd = {
        outcome: 'failed',
        exitCode: null,
        reason,
        retryable: false,
        durationMs: 0,
        startedAt: null,
      };
      await this.record(claimed, end, null, log).catch((error: unknown) =>
        log.error({ err: error }, 'recording a failed run failed; the reaper will settle it'),
      );
      return true;
    }
    if (this.state !== 'running') {
      await this.release(run, WORKER_STOPPED, log);
      await settle(delivery.nak(0), log);
      return true;
    }
    if (!this.fits(memoryMb)) {
      await this.release(run, `needs ${memoryMb} MB of memory, more than is free on this worker now`, log);
      await settle(delivery.nak(NO_ROOM_DELAY_MS), log);
      return false;
    }
    this.launch(claimed, memoryMb);
    // Ack only once the claim is durable; the message has done its work.
    await settle(delivery.ack(), log);
    return true;
  }

  private launch(claimed: ClaimedRun, memoryMb: number): void {
    const execution: Execution = {
      runId: claimed.run.id,
      attempt: claimed.run.attempt,
      memoryMb,
      controller: new AbortController(),
      stopCause: null,
      retired: false,
    };
    this.executions.set(execution.runId, execution);
    this.reservedMb += memoryMb;
    // Cancelled while it was away (released by a stopping worker): it is recorded without starting.
    if (claimed.run.cancelRequestedAt !== null) this.stopExecution(execution, 'cancel');
    const task: Promise<void> = this.runAttempt(claimed, execution)
      .catch((error: unknown) =>
        this.log.error(
          { err: error, runId: execution.runId, attempt: execution.attempt },
          'recording an attempt failed; the reaper will settle the run',
        ),
      )
      .finally(() => {
        this.retire(execution);
        this.tasks.delete(task);
      });
    this.tasks.add(task);
  }

  /** Gives an execution's slot and memory back, once. Never touches another attempt's map entry. */
  private retire(execution: Execution): void {
    if (execution.retired) return;
    execution.retired = true;
    if (this.executions.get(execution.runId) === execution) this.executions.delete(execution.runId);
    this.reservedMb -= execution.memoryMb;
    this.wake();
  }

  private async runAttempt(claimed: ClaimedRun, execution: Execution): Promise<void> {
    const { run, job } = claimed;
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

    if (result.outcome === 'cancelled' && execution.stopCause === 'shutdown') {
      // Stopped only because this worker is stopping: the attempt is given back, not spent.
      await this.release(run, WORKER_STOPPED, log);
      this.retire(execution);
      return;
    }
    const durationMs = started.at === null ? 0 : Math.max(0, clock.monotonic() - started.monotonic);
    const end = { ...result, retryable: true, durationMs, startedAt: started.at };
    await this.record(claimed, end, execution, log);
  }

  /**
   * Records an attempt's end (fenced) and follows up on what the store did: metrics, the retry message, the
   * signal. The execution, if any, is retired as soon as the store has answered, so a retry can come back to
   * this worker at once.
   */
  private async record(
    { run, job }: ClaimedRun,
    end: AttemptEnd,
    execution: Execution | null,
    log: Logger,
  ): Promise<void> {
    const at = this.deps.clock.now();
    const decision = end.retryable
      ? decideAfterAttempt(job.retry, run.attempt, end.outcome, at)
      : ({ retry: false } as const);
    const retryAt = decision.retry ? decision.retryAtMs : null;
    const result = await this.deps.store.finishAttempt({
      runId: run.id,
      attempt: run.attempt,
      workerId: this.options.workerId,
      outcome: end.outcome,
      exitCode: end.exitCode,
      reason: end.reason,
      at,
      retryAt,
    });
    if (execution !== null) this.retire(execution);
    if (result === 'fenced') {
      // Not this worker's to count: whoever settled the run (reaper, another worker) records it.
      if (execution?.stopCause === 'fenced') log.info({ outcome: end.outcome }, 'abandoned attempt ended');
      else
        log.warn({ outcome: end.outcome }, 'attempt result fenced off: the run is no longer this worker’s');
      return;
    }
    const outcome = recordedOutcome(end.outcome, retryAt, result);
    const lagMs = end.startedAt !== null && run.attempt === 1 ? end.startedAt - run.nominalTime : null;
    this.deps.metrics?.runFinished(outcome, end.durationMs, lagMs);
    const fields = {
      outcome,
      exitCode: end.exitCode,
      reason: end.reason,
      retryAt: result === 'requeued' ? retryAt : null,
      durationMs: Math.round(end.durationMs),
    };
    if (outcome === 'succeeded') log.debug(fields, 'attempt finished');
    else log.info(fields, 'attempt finished');

    if (result === 'finished' || retryAt === null) {
      this.deps.signals.emit({ type: 'finished', runId: run.id });
      return;
    }
    // The store already holds the retry as queued; the queue only speeds it up (it is rebuilt at start).
    await this.deps.queue
      .publish([retryMessage(run, job.resources.memoryMb, retryAt)])
      .catch((error: unknown) =>
        log.warn({ err: error }, 'publishing the retry failed; it stays queued in the store'),
      );
    this.deps.signals.emit({ type: 'queued', runId: run.id });
  }

  /** Gives a claimed run back to the queue, same attempt. A failure leaves it to the reaper. */
  private async release(run: Run, reason: string, log: Logger): Promise<void> {
    try {
      const { workerId } = this.options;
      if (await this.deps.store.releaseRun(run.id, run.attempt, workerId, this.deps.clock.now(), reason)) {
        log.info({ reason }, 'run released: queued again with the same attempt');
        this.deps.signals.emit({ type: 'queued', runId: run.id });
      } else {
        log.warn({ reason }, 'releasing the run was fenced off: it is no longer this worker’s');
      }
    } catch (error) {
      log.error({ err: error }, 'releasing a run failed; the reaper will settle it');
    }
  }

  private stopExecution(execution: Execution, cause: StopCause): void {
    execution.stopCause ??= cause;
    execution.controller.abort();
  }

  /** Stops the run's execution early; with `attempt`, only if it is still that attempt of the run. */
  private stopRun(runId: string, cause: StopCause, attempt?: number): void {
    const execution = this.executions.get(runId);
    if (execution === undefined || (attempt !== undefined && execution.attempt !== attempt)) return;
    this.stopExecution(execution, cause);
  }

  private onSignal(signal: RunSignal): void {
    if (signal.type === 'cancel_requested') this.stopRun(signal.runId, 'cancel');
  }

  /**
   * Refreshes the heartbeats of the attempts in hand. The store answers which to stop (cancel requested) and
   * which are no longer this worker's (fenced: reaped, retried, finished), which are abandoned.
   */
  private async beat(): Promise<void> {
    if (this.beating || this.executions.size === 0) return;
    this.beating = true;
    try {
      const held: HeldAttempt[] = [...this.executions.values()].map(({ runId, attempt }) => ({
        runId,
        attempt,
      }));
      const answer = await this.deps.store.heartbeat(this.options.workerId, held, this.deps.clock.now());
      // The map may have changed while the store answered: act only on the attempt the answer is about.
      const attemptOf = new Map(held.map(({ runId, attempt }) => [runId, attempt]));
      for (const runId of answer.fenced) {
        this.log.warn({ runId, attempt: attemptOf.get(runId) }, 'run no longer this worker’s; abandoning it');
        this.stopRun(runId, 'fenced', attemptOf.get(runId));
      }
      for (const runId of answer.cancel) this.stopRun(runId, 'cancel', attemptOf.get(runId));
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
