// The process runtime: runs a job's command directly on the host. NOT A SANDBOX — the command shares the
// host's filesystem (what its uid may read) and network, with no pid or CPU limits. What it does confine, as
// the host allows (process-sandbox.ts): as root, each attempt runs under a uid of its own (run-users.ts), so it
// cannot read the data directory, the server's or other runs' /proc entries, nor signal them; and its memory is
// limited, by a cgroup per attempt (memory-cgroup.ts: over it, `oom_killed`) or else an address-space rlimit.
// Host commands are a tenant privilege (limits.allowHostCommands); jobs with an image are the container's.
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
// On reaping the whole group is SIGKILLed whatever happened, so no background child outlives its run; with a
// cgroup, so is every process left in it (one that left the group too), before its uid goes to another run.
// Starting and watching the process is process-launch.ts, the pacing of spawns launch-pacer.ts, opening gates
// gate-opener.ts; the decisions (timeout, cancel, outcome) are here.

import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../ports/clock.js';
import type {
  ExecutionHooks,
  ExecutionResult,
  ExecutionSpec,
  Executor,
  ProcessIsolation,
} from '../../ports/executor.js';
import { CANCELLED_BEFORE_START, decideAttemptOutcome } from '../../core/attempt-outcome.js';
import { findCommandError } from './command-path.js';
import { GateOpener } from './gate-opener.js';
import { LaunchPacer, type CancelEntry } from './launch-pacer.js';
import { MemoryCgroup } from './memory-cgroup.js';
import { describeSandbox, NO_SANDBOX, type ProcessSandbox } from './process-sandbox.js';
import {
  killGroup,
  launchProcess,
  type Launch,
  type LaunchEvents,
  type LaunchRequest,
} from './process-launch.js';
import { RunUsers } from './run-users.js';

export interface ProcessExecutorOptions {
  clock: Clock;
  /** Directory under which each attempt gets its own scratch directory. */
  scratchRoot: string;
  /** Time between SIGTERM and SIGKILL when a run is stopped (timeout, cancel, shutdown). */
  killGraceMs: number;
  /** What each run is confined by (process-sandbox.ts); none by default. */
  sandbox?: ProcessSandbox;
}

/** What confines one attempt: its uid, its memory cgroup or rlimit. */
interface Confinement {
  user?: number;
  cgroup?: MemoryCgroup;
  addressSpaceKb?: number;
}

/** What the launch is told of the confinement. */
function launchConfinement({ user, cgroup, addressSpaceKb }: Confinement): Partial<LaunchRequest> {
  return {
    ...(user === undefined ? {} : { user }),
    ...(cgroup === undefined ? {} : { cgroupProcs: cgroup.procsFile }),
    ...(addressSpaceKb === undefined ? {} : { addressSpaceKb }),
  };
}

type StopCause = 'timed_out' | 'cancelled';

/** A start less than this far ahead is not gated: a spawn takes about this long anyway. */
const GATE_MIN_LEAD_MS = 20;

export { CANCELLED_BEFORE_START } from '../../core/attempt-outcome.js';

export class ProcessExecutor implements Executor {
  readonly runtime = 'process' as const;
  private readonly options: Readonly<ProcessExecutorOptions>;
  /** Shared by all attempts: releases must be paced against every spawn this process makes. */
  private readonly pacer: LaunchPacer;
  /** Opens gates off the event loop, which spawns and the scheduler's transactions block for ms at a time. */
  private readonly gates = new GateOpener();
  private readonly sandbox: ProcessSandbox;
  /** One uid per run, when runs get their own (the launcher is root). */
  private readonly users: RunUsers | null;

  constructor(options: ProcessExecutorOptions) {
    this.options = Object.freeze({ ...options });
    this.sandbox = options.sandbox ?? NO_SANDBOX;
    this.users = this.sandbox.runUsers === null ? null : new RunUsers(this.sandbox.runUsers);
    this.pacer = new LaunchPacer({ now: () => options.clock.now() });
    // Once, here: a recursive mkdir on every run costs milliseconds of lag under load.
    mkdirSync(options.scratchRoot, { recursive: true });
    // Runs of other uids may pass through it to their own directory, but not list it (they would see the
    // names, hence the run ids, of the others).
    if (this.users !== null) chmodSync(options.scratchRoot, 0o711);
  }

  /** What this executor confines, for /readyz and job responses. */
  get isolation(): ProcessIsolation {
    return describeSandbox(this.sandbox);
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
    const user = this.users?.acquire();
    if (user === null) {
      return {
        outcome: 'failed',
        exitCode: null,
        reason: 'no free run uid: every uid of the range is in use',
      };
    }
    const confinement: Confinement = { ...(user === undefined ? {} : { user }) };
    try {
      const prefix = join(this.options.scratchRoot, `${safeName(spec.runId)}.${spec.attempt}-`);
      // Starting now, synchronous: one mkdir is cheaper than a round trip through the thread pool on the way
      // to the start. Starting later, there is time for the round trip, and the event loop (which has releases
      // to make on time) is spared the filesystem.
      const gated = isGated(spec, this.options.clock.now());
      const scratch = gated ? await mkdtemp(prefix) : mkdtempSync(prefix);
      try {
        // Synchronous, as the cgroup's files below: a syscall or three of microseconds each, where a round
        // trip through the thread pool was measured at 4-7 ms at the median on this loaded VM, 100-200 ms at
        // the 99th percentile, enough to make a pre-dispatched start late (docs/benchmarks.md).
        if (user !== undefined) chownSync(scratch, user, user);
        const memory = this.sandbox.memory;
        if (memory.kind === 'cgroup') {
          // A random suffix: a run released by a stopping worker comes back with the same attempt, and a
          // launcher that died may have left that attempt's cgroup behind.
          const name = `${safeName(spec.runId)}.${spec.attempt}-${randomBytes(4).toString('hex')}`;
          try {
            confinement.cgroup = MemoryCgroup.create(memory.root, name, spec.memoryMb);
            if (user !== undefined) confinement.cgroup.delegateTo(user);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            return {
              outcome: 'failed',
              exitCode: null,
              reason: `could not make its memory cgroup: ${message}`,
            };
          }
        } else if (memory.kind === 'address-space') {
          confinement.addressSpaceKb = spec.memoryMb * 1024;
        }
        return await this.run(command, spec, hooks, signal, scratch, confinement);
      } finally {
        // Every process of the run killed before its uid can go to another run.
        if (confinement.cgroup !== undefined) await confinement.cgroup.destroy();
        await rm(scratch, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
      }
    } finally {
      if (user !== undefined) this.users?.release(user);
    }
  }

  private run(
    command: string,
    spec: ExecutionSpec,
    hooks: ExecutionHooks,
    signal: AbortSignal,
    cwd: string,
    confinement: Confinement,
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
              : decideAttemptOutcome(
                  stopCause,
                  started,
                  code,
                  exitSignal,
                  spec,
                  confinement.cgroup?.oomKilled() === true,
                ),
          ),
      });
      const launchNow = (gated: boolean): Launch => {
        const request = {
          command,
          args: spec.argv.slice(1),
          env: { ...spec.env },
          cwd,
          gated,
          ...launchConfinement(confinement),
        };
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
      // A wrapped launch (a shell that execs the command) would report a missing command as "exit 127": looked
      // up first, as an ungated spawn would fail.
      const wrapped = confinement.cgroup !== undefined || confinement.addressSpaceKb !== undefined;
      if (wrapped || isGated(spec, now())) {
        const missing = findCommandError(command, spec.env.PATH, cwd);
        if (missing !== null) return settle(spawnFailure(command, missing));
      }
      if (isGated(spec, now())) {
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

/** Run ids are already safe; this keeps a scratch directory name inside its root whatever it is given. */
function safeName(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '_');
}
