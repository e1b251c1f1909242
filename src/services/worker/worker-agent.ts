// The worker agent: pulls runs from the queue as far as its capacity allows, claims each in the store, and
// launches an attempt for it (attempt-runner.ts), whose end is recorded, retried per the job's policy, or
// released (attempt-recorder.ts). It uses only ports; the composition root gives it the adapters.
//
// It owns its capacity (runs at once; memory, memory-ledger.ts: a run reserves its job's request, and the runs'
// limits are bounded by the overcommit), the executions it started (execution.ts) and their heartbeats. Agent
// states:
//
//   idle ──start──▶ running ──stop──▶ stopping ──(every execution recorded or released)──▶ stopped
//
// While running, the pull loop takes deliveries only while a slot is free, and places them in the order the
// queue handed them over (its due-time order). A run that does not fit yet waits here, its delivery held (never
// nak'ed with a delay): the loop stops pulling and places it the moment a run ends and frees its memory, before
// anything delivered later. A run this worker is still executing (an earlier attempt not yet recorded or
// abandoned) is nak'ed to come back later. A run that needs more memory than the worker has at all could never
// run here: it is claimed and failed. A run the store will not hand over (cancelled, taken, stale attempt) is
// acked and dropped. Once claimed, the reservation becomes the job's current memory (the job may have been
// edited since the message was published); a run that no longer fits is released and waits, as above.
//
// A run stopped by stop() is released — queued again with the same attempt (reason "worker stopped") — so a
// graceful stop costs no attempt; a run claimed while stopping is released at once, without executing. Released
// runs are not published again here: the dispatch sweep publishes them (run-dispatcher.ts). Heartbeats continue
// until the last execution is recorded or released, so the reaper does not take a run that is still stopping.

import type { Delivery } from '../../ports/queue.js';
import type { RunSignal } from '../../ports/run-events.js';
import type { ClaimedRun } from '../../ports/store/attempt-store.js';
import type { Logger } from '../logger.js';
import { failWithoutRunning, releaseRun, WORKER_STOPPED } from './attempt-recorder.js';
import { runAttempt, type RunnerContext } from './attempt-runner.js';
import { memoryRequestOf } from '../../core/job.js';
import {
  createExecution,
  stopExecution,
  type Execution,
  type RunMemory,
  type StopCause,
} from './execution.js';
import { startHeartbeat } from './heartbeat.js';
import { MemoryLedger } from './memory-ledger.js';
import {
  resolveWorkerAgentOptions,
  type ResolvedWorkerAgentOptions,
  type WorkerAgentDeps,
  type WorkerAgentOptions,
} from './worker-agent-options.js';

export type { Runtime } from './attempt-runner.js';
export type { WorkerAgentDeps, WorkerAgentOptions } from './worker-agent-options.js';

export type WorkerAgentState = 'idle' | 'running' | 'stopping' | 'stopped';

/** Most deliveries taken per pull, so one worker does not hold back runs another worker could start. */
const PULL_BATCH = 4;
const RETRY_AFTER_ERROR_MS = 1000;
/** A delivery for a run this worker is still executing comes back after this long. */
const BUSY_RUN_DELAY_MS = 1000;

/** A delivery pulled and not yet placed, with the memory it needs (its job's now, once a claim has shown it). */
interface Waiting {
  readonly delivery: Delivery;
  memory: RunMemory;
}

/** What became of a waiting delivery the loop tried to place: settled one way or another, or still waiting. */
type Placement = 'done' | 'wait';

export class WorkerAgent {
  private readonly deps: WorkerAgentDeps;
  private readonly options: ResolvedWorkerAgentOptions;
  private readonly log: Logger;
  /** What running and recording an attempt need, built once. */
  private readonly attempts: RunnerContext;
  private state: WorkerAgentState = 'idle';
  /** Executions not yet retired, by run id: at most one per run. */
  private readonly executions = new Map<string, Execution>();
  /** Every launched attempt until it has fully ended (recorded, retry published), for stop() to wait on. */
  private readonly tasks = new Set<Promise<void>>();
  /** What the executions (and a claim in flight) have reserved. */
  private readonly memory: MemoryLedger;
  /** Pulled and not yet placed, in delivery order: the first one waits for capacity, if any does. */
  private readonly waiting: Waiting[] = [];
  /** Executions retired so far: tells the loop that capacity came free while it was busy, not idle. */
  private retiredCount = 0;
  private readonly stopController = new AbortController();
  private readonly wakers = new Set<() => void>();
  private loopDone: Promise<void> = Promise.resolve();
  private stopped: Promise<void> | null = null;
  private stopHeartbeat: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(deps: WorkerAgentDeps, options: WorkerAgentOptions) {
    this.deps = deps;
    this.options = resolveWorkerAgentOptions(options);
    this.log = deps.logger.child({ workerId: options.workerId });
    this.memory = new MemoryLedger(this.options.memoryMb, this.options.memoryOvercommit);
    const { workerId, hostPath } = options;
    this.attempts = { ...deps, workerId, hostPath, retire: (execution) => this.retire(execution) };
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
    this.stopHeartbeat = startHeartbeat({
      ...this.attempts,
      intervalMs: this.options.heartbeatIntervalMs,
      log: this.log,
      held: () => [...this.executions.values()].map(({ runId, attempt }) => ({ runId, attempt })),
      stopRun: (runId, cause, attempt) => this.stopRun(runId, cause, attempt),
    });
    this.loopDone = this.loop().catch((error: unknown) =>
      this.log.error({ err: error }, 'pull loop crashed'),
    );
    this.log.info(
      {
        memoryMb: this.options.memoryMb,
        memoryOvercommit: this.options.memoryOvercommit,
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
    this.stopHeartbeat?.();
    this.stopHeartbeat = null;
    this.state = 'stopped';
    this.log.info({}, 'worker stopped');
  }

  private stopAll(): void {
    for (const execution of this.executions.values()) stopExecution(execution, 'shutdown');
  }

  /** Whether one more run of `memory` fits now. */
  private fits(memory: RunMemory): boolean {
    return this.executions.size < this.options.maxRuns && this.memory.fits(memory);
  }

  private freeSlots(): number {
    if (!this.memory.hasRoom()) return 0;
    return Math.max(0, this.options.maxRuns - this.executions.size);
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      const retiredBefore = this.retiredCount;
      if (!(await this.placeWaiting())) {
        await this.idle(retiredBefore); // the first waiting run fits once a run ends (or stop)
        continue;
      }
      const slots = this.freeSlots();
      if (slots === 0) {
        await this.idle(retiredBefore);
        continue;
      }
      let deliveries: Delivery[];
      try {
        const max = Math.min(slots, PULL_BATCH);
        deliveries = await this.deps.queue.pull(max, this.options.pullWaitMs, this.stopController.signal);
      } catch (error) {
        if (this.state !== 'running') break;
        this.log.error({ err: error }, 'queue pull failed');
        await this.idle(null, RETRY_AFTER_ERROR_MS);
        continue;
      }
      for (const delivery of deliveries) {
        const { memoryRequestMb: requestMb, memoryMb: limitMb } = delivery.message;
        this.waiting.push({ delivery, memory: { requestMb, limitMb } });
      }
    }
    // Stopping: what was pulled and never placed goes back to the queue at once, unclaimed.
    for (const { delivery } of this.waiting.splice(0)) await settle(delivery.nak(0), this.log);
  }

  /** Places waiting deliveries in order; false when the first one left must wait for a run to end. */
  private async placeWaiting(): Promise<boolean> {
    while (this.state === 'running') {
      const next = this.waiting[0];
      if (next === undefined) return true;
      if ((await this.take(next)) === 'wait') return false;
      this.waiting.shift();
    }
    return true;
  }

  /** Claims and launches one delivered run, or leaves it waiting when it does not fit now. */
  private async take(waiting: Waiting): Promise<Placement> {
    const { delivery } = waiting;
    const { message } = delivery;
    if (this.executions.has(message.runId)) {
      // An earlier attempt of this run is still executing here (e.g. reaped while its worker was slow, and
      // not yet abandoned): claiming now would run the run twice, and mix up the two executions.
      await settle(delivery.nak(BUSY_RUN_DELAY_MS), this.log);
      return 'done';
    }
    // A run bigger than this whole worker takes no slot: it is claimed only to be failed (see place()).
    const oversized = this.memory.neverFits(waiting.memory) !== null;
    if (!oversized && !this.fits(waiting.memory)) return 'wait';
    // Reserve before the claim so the memory is not promised twice while the store answers.
    const reserved: RunMemory = oversized ? { requestMb: 0, limitMb: 0 } : waiting.memory;
    this.memory.reserve(reserved);
    let claimed: ClaimedRun | null;
    try {
      claimed = await this.deps.store.claimRun(
        message.runId,
        message.attempt,
        this.options.workerId,
        this.deps.clock.now(),
      );
    } catch (error) {
      this.memory.release(reserved);
      this.log.error({ err: error, runId: message.runId }, 'claiming a run failed; it will come back');
      await settle(delivery.nak(RETRY_AFTER_ERROR_MS), this.log);
      return 'done';
    }
    // place() reserves again, with what the claimed job asks for now.
    this.memory.release(reserved);
    if (claimed === null) {
      // The store declined it (cancelled, taken, or a stale attempt): nothing will ever claim this message.
      await settle(delivery.ack(), this.log);
      this.log.debug({ runId: message.runId, attempt: message.attempt }, 'run not claimable; dropped');
      return 'done';
    }
    return this.place(waiting, claimed);
  }

  /** Decides what to do with a run just claimed: launch it, fail it, or release it to wait for capacity. */
  private async place(waiting: Waiting, claimed: ClaimedRun): Promise<Placement> {
    const { delivery } = waiting;
    const { run, job } = claimed;
    const log = this.log.child({ runId: run.id, attempt: run.attempt });
    const memory: RunMemory = { requestMb: memoryRequestOf(job.resources), limitMb: job.resources.memoryMb };
    const never = this.memory.neverFits(memory);
    if (never !== null) {
      await settle(delivery.ack(), log);
      log.warn({ ...memory, workerMemoryMb: this.options.memoryMb }, 'run can never fit; failing it');
      await failWithoutRunning(this.attempts, claimed, never, log);
      return 'done';
    }
    if (this.state !== 'running') {
      await releaseRun(this.attempts, run, WORKER_STOPPED, log);
      await settle(delivery.nak(0), log);
      return 'done';
    }
    if (!this.fits(memory)) {
      // The job grew since the message was sent: the run is given back to the store (queued, same attempt)
      // while it waits here, first in line, for what it needs now.
      const reason = `reserves ${memory.requestMb} MB of memory (limit ${memory.limitMb} MB), more than is free on this worker now`;
      await releaseRun(this.attempts, run, reason, log);
      waiting.memory = memory;
      return 'wait';
    }
    this.launch(claimed, memory);
    // Ack only once the claim is durable; the message has done its work.
    await settle(delivery.ack(), log);
    return 'done';
  }

  private launch(claimed: ClaimedRun, memory: RunMemory): void {
    const execution = createExecution(claimed.run.id, claimed.run.attempt, memory);
    this.executions.set(execution.runId, execution);
    this.memory.reserve(memory);
    // Cancelled while it was away (released by a stopping worker): it is recorded without starting.
    if (claimed.run.cancelRequestedAt !== null) stopExecution(execution, 'cancel');
    const task: Promise<void> = runAttempt(this.attempts, claimed, execution, this.log)
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
    this.memory.release(execution.memory);
    this.retiredCount++;
    this.wake();
  }

  /** Stops the run's execution early; with `attempt`, only if it is still that attempt of the run. */
  private stopRun(runId: string, cause: StopCause, attempt?: number): void {
    const execution = this.executions.get(runId);
    if (execution === undefined || (attempt !== undefined && execution.attempt !== attempt)) return;
    stopExecution(execution, cause);
  }

  private onSignal(signal: RunSignal): void {
    if (signal.type === 'cancel_requested') this.stopRun(signal.runId, 'cancel');
  }

  /**
   * Waits until wake() (a run ended, or stop), or `ms` if given; at once if a run has ended since the loop read
   * `retiredSince` (a wake-up while it was busy placing or pulling is not lost).
   */
  private idle(retiredSince: number | null, ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms);
      this.wakers.add(done);
      if (this.state !== 'running' || (retiredSince !== null && retiredSince !== this.retiredCount)) done();
    });
  }

  private wake(): void {
    for (const done of [...this.wakers]) done();
  }
}

async function settle(ackOrNak: Promise<void>, log: Logger): Promise<void> {
  try {
    await ackOrNak;
  } catch (error) {
    log.warn({ err: error }, 'queue ack/nak failed');
  }
}
