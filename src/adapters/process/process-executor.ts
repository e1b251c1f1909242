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
// A start only a few ms away is not worth a gate: the plain spawn then just waits for `startAt`. Either way
// `onStarted` is the start (the release), and the timeout counts from it.
//
// On reaping the whole group is SIGKILLed whatever happened, so no background child outlives its run.
// Starting and watching the process is process-launch.ts, the timing of deferred starts launch-pacer.ts; the
// decisions (timeout, cancel, outcome) are here.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../ports/clock.js';
import type { ExecutionHooks, ExecutionResult, ExecutionSpec, Executor } from '../../ports/executor.js';
import { findCommandError } from './command-path.js';
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

const CANCELLED_BEFORE_START: ExecutionResult = {
  outcome: 'cancelled',
  exitCode: null,
  reason: 'cancelled before start',
};

export class ProcessExecutor implements Executor {
  readonly runtime = 'process' as const;
  private readonly options: Readonly<ProcessExecutorOptions>;
  /** Shared by all attempts: releases must be paced against every spawn this process makes. */
  private readonly pacer: LaunchPacer;

  constructor(options: ProcessExecutorOptions) {
    this.options = Object.freeze({ ...options });
    this.pacer = new LaunchPacer({ now: () => options.clock.now() });
    // Once, here: a recursive mkdir on every run costs milliseconds of lag under load.
    mkdirSync(options.scratchRoot, { recursive: true });
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
      const armTimeout = (): void => {
        timeoutTimer = setTimeout(() => stop('timed_out'), Math.max(0, spec.timeoutMs));
      };
      const events = (gated: boolean): LaunchEvents => ({
        spawned: (spawnedPid, at) => {
          pid = spawnedPid;
          if (stopCause !== null) killGroup(pid, 'SIGTERM');
          if (gated) return; // ready, not started: the release is the start
          started = true;
          hooks.onStarted(at);
        },
        output: (stream, chunk) =>
          hooks.onOutput(stream, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
        failed: (error) => settle(spawnFailure(command, error)),
        ended: (code, exitSignal) => settle(resultOf(stopCause, started, code, exitSignal, spec.timeoutMs)),
      });
      const launchNow = (gated: boolean): void => {
        const request = { command, args: spec.argv.slice(1), env: { ...spec.env }, cwd, gated };
        launch = launchProcess(request, events(gated), now);
      };

      signal.addEventListener('abort', onAbort, { once: true });
      const startAt = spec.startAt ?? -Infinity;
      if (isGated(spec, now())) {
        const missing = findCommandError(command, spec.env.PATH, cwd);
        if (missing !== null) return settle(spawnFailure(command, missing));
        pending = this.pacer.spawn(startAt, () => {
          pending = null;
          launchNow(true);
          if (settled) return; // it could not be spawned
          pending = this.pacer.release(startAt, () => {
            pending = null;
            const at = now();
            // False when the gated process is already gone: its exit settles the attempt.
            if (launch?.release() !== true) return;
            started = true;
            hooks.onStarted(at);
            armTimeout();
          });
        });
      } else if (startAt > now()) {
        pending = this.pacer.release(startAt, () => {
          pending = null;
          armTimeout();
          launchNow(false);
        });
      } else {
        armTimeout();
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
