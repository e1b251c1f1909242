// Starting one host process and watching it to its end. Decisions (timeouts, cancels) stay with the
// executor; this only reports. The fork blocks the event loop for 4–8 ms on small VMs (docs/benchmarks.md:
// forking from a worker thread was measured and was slower overall, so it stays here).
//
// A launch goes: spawning ──▶ spawned (pid) ──exit──▶ group SIGKILLed ──stdio closed (bounded)──▶ ended,
// or spawning ──▶ failed (the command could not be started).
//
// A gated launch spawns a shell that waits on a gate (its fd 3) and only then execs the command in its place
// (same pid, group, env, cwd and stdio): spawned means ready, and release() opens the gate — the start. If the
// gate closes unopened (this process died) the shell exits 125 without running the command.
//
// The gate may instead be lent (lendGate) to be opened by another thread (gate-opener.ts): its pipe is then
// neither read nor closed here until it is returned, even past the exit, so that its fd cannot be reused by
// another file while that thread may still write it; and `ended` waits for the return, so that whoever
// opened it has reported the start before the end is reported.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface LaunchRequest {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Spawn ready but held at a gate until release(). */
  gated: boolean;
  /** Run as this uid, and the gid of the same number, with no supplementary groups (the launcher is root). */
  user?: number;
  /** An RLIMIT_AS (hard and soft), in KiB, set by the wrapper shell before the command runs. */
  addressSpaceKb?: number;
  /**
   * A cgroup's `cgroup.procs`, which the wrapper shell writes its own pid to before it runs the command (its
   * uid must be able to write it): it, and all it forks, run in that cgroup. The shell moves itself, because an
   * attach blocks the writer for an RCU grace period (measured: 12 ms at the 90th percentile on a loaded VM),
   * which is then the run's own time, not the launcher's event loop's. If it cannot, it exits 125, unstarted.
   */
  cgroupProcs?: string;
}

/** A launched process; release() opens a gated launch's gate (false if it is gone or was never gated). */
export interface Launch {
  release(): boolean;
  /**
   * The fd of our end of the gate, for another thread to write; null when there is none to lend (not gated,
   * gone, already lent, or the platform's pipe handle does not expose its fd). Until returnGate(), the pipe
   * stays open and `ended` is held back.
   */
  lendGate(): number | null;
  /** The borrower will not write the gate (any more): it is closed. */
  returnGate(): void;
}

/** Node's pipe handle under a socket: not public API, hence checked before use (lendGate says null). */
interface PipeHandle {
  fd?: unknown;
  readStop?: () => number;
}

/**
 * The wrapper shell of a gated or confined launch, which execs the command in its place. `exec` keeps the pid,
 * so the command leads the process group the shell led. The shell exports PWD even when it was not in the
 * environment and rewrites IFS and PPID when they were: their values as given are passed in $1…$3 ("=value",
 * or "-" when absent) and put back, so the command sees exactly the run's env. (OPTIND, if a job sets it, is
 * reset to 1 by the shell: it cannot be put back without the shell failing.) $4 is the RLIMIT_AS in KiB, or
 * "-"; $5 the cgroup.procs to enter, or "-". Then the gate, if any: one line on fd 3 opens it; the shell
 * closes the gate's fd so the command does not inherit it. A gate closed unopened, or a limit or cgroup that
 * cannot be set, exits 125, running nothing.
 */
const RESTORE_AND_LIMIT = [
  'for v in PWD IFS PPID; do case "$1" in =*) export "$v=${1#=}";; *) [ "$v" != PWD ] || unset PWD;; esac; shift; done',
  'case "$1" in -) ;; *) ulimit -v "$1" || exit 125;; esac; shift',
  'case "$1" in -) ;; *) echo "$$" > "$1" || exit 125;; esac; shift',
];
const EXEC = 'exec "$0" "$@"';
// Before the gate, so that only the exec is left to do once it opens.
const GATE_SCRIPT = [...RESTORE_AND_LIMIT, 'IFS= read -r _ <&3 || exit 125', 'exec 3<&-', EXEC].join('; ');
const WRAP_SCRIPT = [...RESTORE_AND_LIMIT, EXEC].join('; ');
const GATE_RESTORED_VARS = ['PWD', 'IFS', 'PPID'] as const;
const SHELL = '/bin/sh';

export interface LaunchEvents {
  spawned(pid: number, at: number): void;
  output(stream: 'stdout' | 'stderr', chunk: Uint8Array): void;
  failed(error: { code: string | undefined; message: string }): void;
  ended(code: number | null, signal: NodeJS.Signals | null): void;
}

/** How long to wait for stdout/stderr to close after the group was killed (a child may have escaped it). */
const STDIO_CLOSE_WAIT_MS = 2000;

export function launchProcess(request: LaunchRequest, events: LaunchEvents, now: () => number): Launch {
  let child: ChildProcess;
  const wrapped = request.gated || request.addressSpaceKb !== undefined || request.cgroupProcs !== undefined;
  try {
    const script = request.gated ? GATE_SCRIPT : WRAP_SCRIPT;
    const limit = request.addressSpaceKb === undefined ? '-' : String(request.addressSpaceKb);
    const confine = [...gateVars(request.env), limit, request.cgroupProcs ?? '-'];
    const [file, args] = wrapped
      ? [SHELL, ['-c', script, request.command, ...confine, ...request.args]]
      : [request.command, request.args];
    child = spawn(file, args, {
      cwd: request.cwd,
      env: request.env,
      // Its own session and process group: every child it forks joins the group, killed as one.
      detached: true,
      stdio: request.gated ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'],
      ...(request.user === undefined ? {} : { uid: request.user, gid: request.user }),
    });
  } catch (error) {
    events.failed(describeError(error));
    return { release: () => false, lendGate: () => null, returnGate: () => undefined };
  }
  let spawned = false;
  let ended = false;
  let lent = false;
  let gateReturned: (() => void) | null = null;
  const gate = request.gated ? (child.stdio[3] as Writable | null) : null;
  // Writing to a gate whose shell was killed fails (EPIPE); the exit that follows is what counts.
  gate?.on('error', () => undefined);
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
    if (!lent) gate?.destroy();
    // Whatever happened, nothing of the run outlives it: background children included.
    killGroup(child.pid, 'SIGKILL');
    const returned = lent ? new Promise<void>((resolve) => (gateReturned = resolve)) : undefined;
    void Promise.all([waitForStdio(child), returned]).then(() => events.ended(code, signal));
  });
  return {
    release: () => {
      if (gate === null || ended || lent || gate.destroyed || gate.writableEnded) return false;
      // A one-byte write to an empty pipe completes at once; end() closes our side as well.
      gate.end('\n');
      return true;
    },
    lendGate: () => {
      if (gate === null || ended || lent || gate.destroyed || gate.writableEnded) return null;
      const handle = (gate as unknown as { _handle?: PipeHandle })._handle;
      if (typeof handle?.fd !== 'number' || handle.fd < 0 || typeof handle.readStop !== 'function')
        return null;
      // Not read any more: at EOF (the shell closed it, or died) Node would close the fd on its own.
      if (handle.readStop() !== 0) return null;
      lent = true;
      return handle.fd;
    },
    returnGate: () => {
      if (!lent) return;
      lent = false;
      gate?.destroy();
      gateReturned?.();
    },
  };
}

function gateVars(env: Record<string, string>): string[] {
  return GATE_RESTORED_VARS.map((name) => (env[name] === undefined ? '-' : `=${env[name]}`));
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

/**
 * The failure as a run's reason will show it. Node's argument errors (ERR_INVALID_ARG_VALUE for a NUL byte,
 * say) quote the offending value, which may be a secret from the job's env: they are reported by code alone.
 * System errors (ENOENT, E2BIG) name only the syscall and the command.
 */
function describeError(error: unknown): { code: string | undefined; message: string } {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code?.startsWith('ERR_')) {
    return { code, message: `${code}: an argument or environment variable is invalid (a NUL byte?)` };
  }
  return { code, message: error instanceof Error ? error.message : String(error) };
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
