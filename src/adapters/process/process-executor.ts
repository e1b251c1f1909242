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
// On reaping the whole group is SIGKILLed whatever happened, so no background child outlives its run.
// Starting and watching the process is process-launch.ts; the decisions (timeout, cancel, outcome) are here.

import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../ports/clock.js';
import type { ExecutionHooks, ExecutionResult, ExecutionSpec, Executor } from '../../ports/executor.js';
import { killGroup, launchProcess } from './process-launch.js';

export interface ProcessExecutorOptions {
  clock: Clock;
  /** Directory under which each attempt gets its own scratch directory. */
  scratchRoot: string;
  /** Time between SIGTERM and SIGKILL when a run is stopped (timeout, cancel, shutdown). */
  killGraceMs: number;
}

type StopCause = 'timed_out' | 'cancelled';

export class ProcessExecutor implements Executor {
  readonly runtime = 'process' as const;
  private readonly options: Readonly<ProcessExecutorOptions>;

  constructor(options: ProcessExecutorOptions) {
    this.options = Object.freeze({ ...options });
    // Once, here: a recursive mkdir on every run costs milliseconds of lag under load.
    mkdirSync(options.scratchRoot, { recursive: true });
  }

  async execute(spec: ExecutionSpec, hooks: ExecutionHooks, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return { outcome: 'cancelled', exitCode: null, reason: 'cancelled before start' };
    const command = spec.argv[0];
    if (command === undefined || command === '') {
      return { outcome: 'failed', exitCode: null, reason: 'empty command' };
    }
    // Synchronous: one mkdir is cheaper than a round trip through the thread pool on the way to the start.
    const scratch = mkdtempSync(join(this.options.scratchRoot, `${safeName(spec.runId)}.${spec.attempt}-`));
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
    return new Promise<ExecutionResult>((resolve) => {
      let stopCause: StopCause | null = null;
      let killTimer: NodeJS.Timeout | null = null;
      let settled = false;
      let pid: number | undefined;

      const stop = (cause: StopCause): void => {
        if (stopCause !== null || settled) return;
        stopCause = cause;
        // Not spawned yet: the signal goes out as soon as the pid is known (see `spawned`).
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), this.options.killGraceMs);
      };
      const timeoutTimer = setTimeout(() => stop('timed_out'), Math.max(0, spec.timeoutMs));
      const onAbort = (): void => stop('cancelled');
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) stop('cancelled'); // aborted while the scratch directory was being made

      const settle = (result: ExecutionResult): void => {
        settled = true;
        clearTimeout(timeoutTimer);
        if (killTimer !== null) clearTimeout(killTimer);
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };

      launchProcess(
        { command, args: spec.argv.slice(1), env: { ...spec.env }, cwd },
        {
          spawned: (spawnedPid, at) => {
            pid = spawnedPid;
            if (stopCause !== null) killGroup(pid, 'SIGTERM');
            hooks.onStarted(at);
          },
          output: (stream, chunk) =>
            hooks.onOutput(stream, Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)),
          failed: (error) => settle(spawnFailure(command, error)),
          ended: (code, exitSignal) => settle(resultOf(stopCause, code, exitSignal, spec.timeoutMs)),
        },
        () => this.options.clock.now(),
      );
    });
  }
}

function resultOf(
  stopCause: StopCause | null,
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
  if (stopCause === 'cancelled') return { outcome: 'cancelled', exitCode: code, reason: 'cancelled' };
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
