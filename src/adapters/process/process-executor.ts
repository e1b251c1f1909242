// The process runtime: runs a job's command directly on the host. UNISOLATED — the command runs as the
// worker's own user, with the worker's filesystem and network, and no memory, pid or CPU limits. It exists
// for the embedded/dev default on a host without runc or root; jobs with an image need the container runtime.
//
// Each attempt owns a scratch directory (its cwd, removed afterwards) and a process group (the command is
// spawned detached, so it leads a new group and every child it forks joins it). One attempt goes through:
//
//   starting ──spawn──▶ running ──exit──▶ reaping ──stdio closed (bounded)──▶ done
//      │                  │
//      │                  └─timeout | abort──▶ stopping (SIGTERM to the group; SIGKILL after killGraceMs) ──exit──▶ reaping
//      └─spawn error──▶ done ('failed', e.g. command not found)
//
// A start deferred by `startAt` (pre-dispatch) adds states before `running`: the command is looked up, then a
// gated process is spawned when the launch pacer gives it a turn, and its gate is opened at `startAt`:
//
//   waiting ──(its turn)──▶ gated ──(startAt: release)──▶ running …
//      │                      └─abort──▶ stopping (the gated group, which runs nothing yet) ──exit──▶ reaping
//      └─abort──▶ done ('cancelled before start', nothing spawned)
//
// The gate is opened by the gate opener's thread (gate-opener.ts), which neither spawns nor SQLite can hold
// up, and which reports the exact release time; while that thread is still starting, a start too close for it
// is released from the event loop by the launch pacer instead. A cancel either wins (the gate is never opened:
// the gated group is killed, and its gate closed, so it could not run even if the kill failed) or loses to a
// release already under way (started, then stopped). A start only a few ms away is not worth a gate: the
// plain spawn then just waits for `startAt`. Either way `onStarted` is the start (the release), and the
// timeout counts from it.
//
// On reaping the whole group is SIGKILLed whatever happened, so no background child outlives its run.
// Starting and watching the process is process-launch.ts, the pacing of spawns launch-pacer.ts, opening gates
// gate-opener.ts; the decisions (timeout, cancel, outcome) are here.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../ports/clock.js';
import type { ExecutionHooks, ExecutionResult, ExecutionSpec, Executor } from '../../ports/executor.js';
import { findCommandError } from './command-path.js';
import { GateOpener } from './gate-opener.js';
import { LaunchPacer, type CancelEntry } from './launch-pacer.js';
import { killGroup, launchProcess, type Launch, type LaunchEvents } from './process-launch.js';

export interface ProcessExecutorOptions {
  clock: Clock;
  /** Directory under which each attempt gets its own scratch directory. */
  scratchRoot: string;
  /** Time between SIGTERM and SIGKILL when a run is stopped (timeout, cancel, shutdown). */
  killGraceMs: number;
}

type StopCause = 'timed_out' | 'cancelled';

/** A start less than this far ahead is not gated: a spawn takes about this long anyway. */
const GATE_MIN_LEAD_MS = 20;

/** An attempt stopped before its process started: nothing ran. */
export const CANCELLED_BEFORE_START: ExecutionResult = {
  outcome: 'cancelled',
  exitCode: null,
  reason: 'cancelled before start',
};

export class ProcessExecutor implements Executor {
  readonly runtime = 'process' as const;
  private readonly options: Readonly<ProcessExecutorOptions>;
  /** Shared by all attempts: releases must be paced against every spawn this process makes. */
  private readonly pacer: LaunchPacer;
  /** Opens gates off the event loop, which spawns and the scheduler's transactions block for ms at a time. */
  private readonly gates = new GateOpener();

  constructor(options: ProcessExecutorOptions) {
    this.options = Object.freeze({ ...options });
    this.pacer = new LaunchPacer({ now: () => options.clock.now() });
    // Once, here: a recursive mkdir on every run costs milliseconds of lag under load.
    mkdirSync(options.scratchRoot, { recursive: true });
  }

  /** Stops the gate opener's thread (it is unref'd and stops when idle anyway); runs still waiting fail. */
  close(): Promise<void> {
    return this.gates.close();
  }

  async execute(spec: ExecutionSpec, hooks: ExecutionHooks, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return CANCELLED_BEFORE_START;
    const command = spec.argv[0];
    if (command === undefined || command === '') {
      return { outcome: 'failed', exitCode: null, reason: 'empty command' };
    }
    const prefix = join(this.options.scratchRoot, `${safeName(spec.runId)}.${spec.attempt}-`);
    // Starting now, synchronous: one mkdir is cheaper than a round trip through the thread pool on the way to
    // the start. Starting later, there is time for the round trip, and the event loop (which has releases to
    // make on time) is spared the filesystem.
    const scratch = isGated(spec, this.options.clock.now()) ? await mkdtemp(prefix) : mkdtempSync(prefix);
    try {
      return await this.run(command, spec, hooks, signal, scratch);
    } finally {
      await rm(scratch, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
    }
  }

  private run(
    command: string,
    spec: ExecutionSpec,
    hooks: ExecutionHooks,
    signal: AbortSignal,
    cwd: string,
  ): Promise<ExecutionResult> {
    const now = (): number => this.options.clock.now();
    return new Promise<ExecutionResult>((resolve) => {
      let stopCause: StopCause | null = null;
      let started = false;
      let timeoutTimer: NodeJS.Timeout | null = null;
      let killTimer: NodeJS.Timeout | null = null;
      let settled = false;
      let pid: number | undefined;
      let launch: Launch | null = null;
      /** Why a gated process's gate could not be opened (it is then killed, unstarted). */
      let gateError: string | null = null;
      /** The pacer's entry (the gated spawn, or the start) while it has not run. */
      let pending: CancelEntry | null = null;

      const settle = (result: ExecutionResult): void => {
        if (settled) return;
        settled = true;
        pending?.();
        if (timeoutTimer !== null) clearTimeout(timeoutTimer);
        if (killTimer !== null) clearTimeout(killTimer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const stop = (cause: StopCause): void => {
        if (stopCause !== null || settled) return;
        stopCause = cause;
        pending?.();
        pending = null;
        // Nothing spawned yet: nothing to stop.
        if (launch === null) return settle(CANCELLED_BEFORE_START);
        // Not spawned yet: the signal goes out as soon as the pid is known (see `spawned`).
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), this.options.killGraceMs);
      };
      const onAbort = (): void => stop('cancelled');
      /** Counted from `at`, the start, which may have been a moment before this runs. */
      const armTimeout = (at: number): void => {
        timeoutTimer = setTimeout(() => stop('timed_out'), Math.max(0, spec.timeoutMs - (now() - at)));
      };
      const begin = (at: number): void => {
        started = true;
        hooks.onStarted(at);
        // A cancel that lost the race to the gate already stopped it: no timeout to count.
        if (stopCause === null && !settled) armTimeout(at);
      };
      const events = (gated: boolean): LaunchEvents => ({
        spawned: (spawnedPid, at) => {
          pid = spawnedPid;
          hooks.onSpawned?.(spawnedPid); // it leads its own group
          if (stopCause !== null) killGroup(pid, 'SIGTERM');
          if (gated) return; // ready, not started: the release is the start
          started = true;
          hooks.onStarted(at);
        },
        output: (stream, chunk) =>
          hooks.onOutput(stream, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
        failed: (error) => settle(spawnFailure(command, error)),
        ended: (code, exitSignal) =>
          settle(
            gateError !== null && !started && stopCause === null
              ? { outcome: 'failed', exitCode: null, reason: `could not start ${command}: ${gateError}` }
              : resultOf(stopCause, started, code, exitSignal, spec.timeoutMs),
          ),
      });
      const launchNow = (gated: boolean): Launch => {
        const request = { command, args: spec.argv.slice(1), env: { ...spec.env }, cwd, gated };
        launch = launchProcess(request, events(gated), now);
        return launch;
      };
      /** Opens the gate at `startAt`: from the gate opener's thread, or from this loop while it is not up. */
      const openGateAt = (gated: Launch, startAt: number): CancelEntry => {
        const fd = this.gates.accepts(startAt - now()) ? gated.lendGate() : null;
        if (fd === null) {
          return this.pacer.release(startAt, () => {
            pending = null;
            const at = now();
            // False when the gated process is already gone: its exit settles the attempt.
            if (gated.release()) begin(at);
          });
        }
        const cancel = this.gates.open(startAt, fd, {
          opened: (at) => {
            pending = null;
            begin(at);
            gated.returnGate();
          },
          failed: (reason) => {
            // Its shell is gone, or the thread is (a crash, or close()): the gate stays shut, the run unstarted.
            pending = null;
            gateError = reason;
            gated.returnGate();
            killGroup(pid, 'SIGKILL');
          },
        });
        // Lost only to a gate already being opened: the start is reported, then the stop follows it.
        return () => {
          if (cancel()) gated.returnGate();
        };
      };

      signal.addEventListener('abort', onAbort, { once: true });
      const startAt = spec.startAt ?? -Infinity;
      if (isGated(spec, now())) {
        const missing = findCommandError(command, spec.env.PATH, cwd);
        if (missing !== null) return settle(spawnFailure(command, missing));
        this.gates.accepts(startAt - now()); // starts the thread if it is not up, while the spawn waits its turn
        pending = this.pacer.spawn(startAt, () => {
          pending = null;
          const gated = launchNow(true);
          if (settled) return; // it could not be spawned
          pending = openGateAt(gated, startAt);
        });
      } else if (startAt > now()) {
        pending = this.pacer.release(startAt, () => {
          pending = null;
          armTimeout(now());
          launchNow(false);
        });
      } else {
        armTimeout(now());
        launchNow(false);
      }
      if (signal.aborted) stop('cancelled'); // aborted while the scratch directory was being made
    });
  }
}

/** Whether the start is far enough ahead to be worth a gate. */
function isGated(spec: ExecutionSpec, now: number): boolean {
  return spec.startAt !== null && spec.startAt - now >= GATE_MIN_LEAD_MS;
}

function resultOf(
  stopCause: StopCause | null,
  started: boolean,
  code: number | null,
  exitSignal: NodeJS.Signals | null,
  timeoutMs: number,
): ExecutionResult {
  if (stopCause === 'timed_out') {
    return {
      outcome: 'timed_out',
      exitCode: code,
      reason: `exceeded timeout of ${formatDuration(timeoutMs)}`,
    };
  }
  if (stopCause === 'cancelled') {
    return started ? { outcome: 'cancelled', exitCode: code, reason: 'cancelled' } : CANCELLED_BEFORE_START;
  }
  if (code === 0) return { outcome: 'succeeded', exitCode: 0, reason: null };
  if (code !== null) return { outcome: 'failed', exitCode: code, reason: `exited with code ${code}` };
  return { outcome: 'failed', exitCode: null, reason: `killed by ${exitSignal ?? 'an unknown signal'}` };
}

function spawnFailure(
  command: string,
  error: { code: string | undefined; message: string },
): ExecutionResult {
  if (error.code === 'ENOENT')
    return { outcome: 'failed', exitCode: null, reason: `command not found: ${command}` };
  if (error.code === 'EACCES')
    return { outcome: 'failed', exitCode: null, reason: `permission denied: ${command}` };
  return { outcome: 'failed', exitCode: null, reason: `could not start ${command}: ${error.message}` };
}

function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Run ids are already safe; this keeps a scratch directory name inside its root whatever it is given. */
function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}
