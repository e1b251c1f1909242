// Starting one host process and watching it to its end. Decisions (timeouts, cancels) stay with the
// executor; this only reports. The fork blocks the event loop for 4–8 ms on small VMs (docs/benchmarks.md:
// forking from a worker thread was measured and was slower overall, so it stays here).
//
// A launch goes: spawning ──▶ spawned (pid) ──exit──▶ group SIGKILLed ──stdio closed (bounded)──▶ ended,
// or spawning ──▶ failed (the command could not be started).

import { spawn, type ChildProcess } from 'node:child_process';

export interface LaunchRequest {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface LaunchEvents {
  spawned(pid: number, at: number): void;
  output(stream: 'stdout' | 'stderr', chunk: Uint8Array): void;
  failed(error: { code: string | undefined; message: string }): void;
  ended(code: number | null, signal: NodeJS.Signals | null): void;
}

/** How long to wait for stdout/stderr to close after the group was killed (a child may have escaped it). */
const STDIO_CLOSE_WAIT_MS = 2000;

export function launchProcess(request: LaunchRequest, events: LaunchEvents, now: () => number): void {
  let child: ChildProcess;
  try {
    child = spawn(request.command, request.args, {
      cwd: request.cwd,
      env: request.env,
      // Its own process group: every child it forks joins it, and the group is killed as one.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    events.failed(describeError(error));
    return;
  }
  let spawned = false;
  let ended = false;
  child.stdout?.on('data', (chunk: Buffer) => events.output('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => events.output('stderr', chunk));
  child.once('spawn', () => {
    spawned = true;
    events.spawned(child.pid ?? -1, now());
  });
  child.once('error', (error) => {
    // Before 'spawn' this is a failure to start; after it, a failed kill, which 'exit' still follows.
    if (spawned || ended) return;
    ended = true;
    events.failed(describeError(error));
  });
  child.once('exit', (code, signal) => {
    ended = true;
    // Whatever happened, nothing of the run outlives it: background children included.
    killGroup(child.pid, 'SIGKILL');
    void waitForStdio(child).then(() => events.ended(code, signal));
  });
}

/**
 * Signals the whole process group led by `pid`. A group that is already gone (ESRCH) is the usual case after
 * exit; any other error (EPERM) cannot be acted on here and must not crash the worker from a timer.
 */
export function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined || pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: nothing left to signal.
  }
}

function describeError(error: unknown): { code: string | undefined; message: string } {
  return {
    code: (error as NodeJS.ErrnoException | null)?.code,
    message: error instanceof Error ? error.message : String(error),
  };
}

/** Resolves once the child's stdio has closed, or after a bounded wait (then the pipes are destroyed). */
function waitForStdio(child: ChildProcess): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s) => s !== null && !s.closed);
  if (streams.length === 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      for (const stream of streams) stream?.destroy();
      resolve();
    }, STDIO_CLOSE_WAIT_MS);
    let open = streams.length;
    for (const stream of streams) {
      stream?.once('close', () => {
        open -= 1;
        if (open === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}
