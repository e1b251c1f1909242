// The container runtime: each attempt of a job with an image runs in a runc container of its own, with every
// limit of runtime-spec.ts enforced by the kernel. One attempt goes through:
//
//   preparing (image pulled or cached, pinned; overlay mounted; config.json written)
//       │  └─ image error ──▶ done ('failed', not retried when another attempt cannot help)
//       ▼  (startAt, when the start is deferred: the preparation is done ahead, the runtime started on time)
//   running (`runc run`, foreground: its exit status is the container process's)
//       │  └─ timeout | abort ──▶ stopping (SIGTERM to the container's init; after killGraceMs SIGKILL to all)
//       ▼
//   reaping (the memory cgroup's oom_kill counter read, `runc delete`, overlay unmounted, bundle removed)
//
// The container runs in the foreground of a `runc run` we spawn: runc stays its parent, so its exit status is
// ours to read, which a created-then-started container (reparented to init) would not give us. `runc run
// --keep` keeps the cgroup after the exit, so that its OOM counter is read before `runc delete` removes it.
// State lives under a runc root of this worker's own, so everything in it is ours: at start, whatever is
// there was left by a worker that died, and is removed (removeOrphans).

import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { CANCELLED_BEFORE_START, decideAttemptOutcome, type StopCause } from '../../core/attempt-outcome.js';
import type { Clock } from '../../ports/clock.js';
import type { ExecutionHooks, ExecutionResult, ExecutionSpec, Executor } from '../../ports/executor.js';
import { ImageError, type ContainerIdMap, type ImageSource, type PreparedImage } from '../../ports/images.js';
import {
  createBundle,
  listBundles,
  removeBundle,
  RESOLV_CONF,
  type ContainerBundle,
} from './container-bundle.js';
import type { ContainerNetworks, NetworkMode, PreparedNetwork } from './container-network.js';
import { ContainerProcessError, resolveContainerProcess } from './container-process.js';
import {
  buildRuntimeSpec,
  DEFAULT_CONTAINER_LIMITS,
  GATE_PATH,
  type ContainerLimits,
} from './runtime-spec.js';

const runFile = promisify(execFile);

export interface RuncExecutorOptions {
  clock: Clock;
  /** The runtime binary (`--runtime-path`). */
  runtimePath: string;
  /** runc's --root: this worker's containers only. */
  stateRoot: string;
  /** Where each run's bundle is made. */
  bundleRoot: string;
  images: ImageSource;
  idMap: ContainerIdMap;
  killGraceMs: number;
  /** Limits other than memory (which is the job's); DEFAULT_CONTAINER_LIMITS by default. */
  limits?: Partial<Omit<ContainerLimits, 'memoryMb'>>;
  /** For `egress` runs; without it every run has network `none`. */
  networks?: ContainerNetworks;
  /** cgroupfs parent of every container's cgroup, in each controller. */
  cgroupParent?: string;
  /**
   * A static shell binary (busybox-static's) that holds a deferred start at its gate inside the container
   * (bound read-only at /.hourglass/busybox); null starts every run by running runc at its time.
   */
  gateShell?: string | null;
}

const DEFAULT_GATE_SHELL = '/bin/busybox';
/** Less ahead than this, a gate gains nothing: creating the container takes about this long. */
const GATE_MIN_LEAD_MS = 100;
/** Holds the container until one line arrives on fd 3 (closed unopened: exit 125), then execs the command. */
const GATE_SCRIPT = 'IFS= read -r _ <&3 || exit 125; exec 3<&-; exec "$0" "$@"';

function gatedArgv(argv: string[]): string[] {
  return [GATE_PATH, 'sh', '-c', GATE_SCRIPT, ...argv];
}

const MEMORY_CGROUP_ROOT = '/sys/fs/cgroup/memory';

export class RuncExecutor implements Executor {
  readonly runtime = 'container' as const;
  private readonly options: Readonly<RuncExecutorOptions>;
  private readonly limits: Omit<ContainerLimits, 'memoryMb'>;
  private readonly cgroupParent: string;
  private readonly gateShell: string | null;

  constructor(options: RuncExecutorOptions) {
    this.options = Object.freeze({ ...options });
    this.limits = { ...DEFAULT_CONTAINER_LIMITS, ...options.limits };
    this.cgroupParent = options.cgroupParent ?? '/hourglass-containers';
    // Without a static busybox on this host, deferred starts run runc at their time instead (slower, still correct).
    const gateShell = options.gateShell === undefined ? DEFAULT_GATE_SHELL : options.gateShell;
    this.gateShell = gateShell !== null && existsSync(gateShell) ? gateShell : null;
    // Once, here: bundles are made in it for every run. The mapped root passes through it to its bundle.
    mkdirSync(options.bundleRoot, { recursive: true, mode: 0o711 });
    chmodSync(options.bundleRoot, 0o711);
    mkdirSync(options.stateRoot, { recursive: true, mode: 0o700 });
  }

  /** Removes every container, bundle and cgroup a previous worker left (it died mid-run). Call before runs. */
  async removeOrphans(): Promise<string[]> {
    const { stdout } = await this.runc(['list', '--quiet']);
    const ids = stdout.split('\n').filter((id) => id !== '');
    for (const id of ids) await this.runc(['delete', '--force', id]).catch(() => undefined);
    for (const dir of await listBundles(this.options.bundleRoot)) await removeBundle(dir);
    await this.options.networks?.removeOrphans();
    return ids;
  }

  async execute(spec: ExecutionSpec, hooks: ExecutionHooks, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return CANCELLED_BEFORE_START;
    if (spec.image === null) return failed('a container needs an image');
    const id = containerId(spec);
    let image: PreparedImage | null = null;
    let bundle: ContainerBundle | null = null;
    let network: PreparedNetwork | null = null;
    try {
      try {
        image = await this.options.images.prepare(
          { reference: spec.image, tenantId: spec.tenantId, credentials: spec.registryCredentials },
          signal,
        );
      } catch (error) {
        if (signal.aborted) return CANCELLED_BEFORE_START;
        if (error instanceof ImageError) return { ...failed(error.message), retryable: error.retryable };
        throw error;
      }
      const digest = { imageDigest: image.digest };
      let process;
      try {
        process = await resolveContainerProcess(image.config, image.rootfs, spec);
      } catch (error) {
        if (error instanceof ContainerProcessError)
          return { ...failed(error.message), ...digest, retryable: false };
        throw error;
      }
      try {
        network = await this.prepareNetwork(id, networkModeOf(spec));
      } catch (error) {
        if (error instanceof EgressUnavailable)
          return { ...failed(error.message), ...digest, retryable: false };
        throw error;
      }
      const gate = this.gateFor(spec);
      const runtimeSpec = buildRuntimeSpec({
        ...process,
        argv: gate === null ? process.argv : gatedArgv(process.argv),
        gateShell: gate,
        hostname: 'run',
        idMap: this.options.idMap,
        limits: { ...this.limits, memoryMb: spec.memoryMb },
        cgroupsPath: `${this.cgroupParent}/${id}`,
        networkNamespacePath: network.namespacePath,
        ...(network.resolvConf === undefined
          ? {}
          : { resolvConfPath: join(this.options.bundleRoot, id, RESOLV_CONF) }),
      });
      bundle = await createBundle(
        this.options.bundleRoot,
        id,
        image.rootfs,
        this.options.idMap,
        runtimeSpec,
        network.resolvConf,
      );
      if (gate === null && !(await waitUntil(spec.startAt, this.options.clock, signal)))
        return { ...CANCELLED_BEFORE_START, ...digest };
      const end = await this.runContainer(id, bundle.dir, spec, hooks, signal, gate !== null);
      return { ...end, ...digest };
    } finally {
      await this.runc(['delete', '--force', id]).catch(() => undefined);
      if (bundle !== null) await removeBundle(bundle.dir);
      await network?.release();
      image?.release();
    }
  }

  private async runContainer(
    id: string,
    bundleDir: string,
    spec: ExecutionSpec,
    hooks: ExecutionHooks,
    signal: AbortSignal,
    gated: boolean,
  ): Promise<ExecutionResult> {
    const args = [
      '--root',
      this.options.stateRoot,
      'run',
      '--keep',
      ...(gated ? ['--preserve-fds', '1'] : []),
    ];
    const child = spawn(this.options.runtimePath, [...args, '--bundle', bundleDir, id], {
      stdio: ['ignore', 'pipe', 'pipe', gated ? 'pipe' : 'ignore'],
    });
    const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('error', () => resolve([null, null]));
      child.once('close', (exitCode, bySignal) => resolve([exitCode, bySignal]));
    });
    child.stdout?.on('data', (chunk: Buffer) => hooks.onOutput('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => hooks.onOutput('stderr', chunk));
    if (gated) {
      // The container is made now and waits at its gate; at startAt one byte on fd 3 lets it exec the command.
      const gate = child.stdio[3] as Writable;
      gate.on('error', () => undefined); // a container gone before its start: its exit says so
      if (!(await waitUntil(spec.startAt, this.options.clock, signal))) {
        gate.destroy(); // closed unopened: the gate shell exits 125, running nothing
        await this.runc(['kill', '--all', id, 'KILL']).catch(() => undefined);
        await exited;
        return CANCELLED_BEFORE_START;
      }
      gate.end('\n');
    }
    hooks.onStarted(this.options.clock.now());
    let stopCause: StopCause | null = null;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (cause: StopCause): void => {
      if (stopCause !== null) return;
      stopCause = cause;
      void this.runc(['kill', id, 'TERM']).catch(() => undefined);
      killTimer = setTimeout(
        () => void this.runc(['kill', '--all', id, 'KILL']).catch(() => undefined),
        this.options.killGraceMs,
      );
    };
    const timeout = setTimeout(() => stop('timed_out'), spec.timeoutMs);
    const onAbort = (): void => stop('cancelled');
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    const [code, exitSignal] = await exited;
    clearTimeout(timeout);
    clearTimeout(killTimer);
    signal.removeEventListener('abort', onAbort);
    const oomKilled = await this.oomKilled(id);
    // runc answers 128 + n for a process ended by signal n; say which, as the process runtime does.
    const killed = code !== null && code > 128 && code < 160 ? signalName(code - 128) : null;
    return decideAttemptOutcome(
      stopCause,
      true,
      killed === null ? code : null,
      killed ?? exitSignal,
      spec,
      oomKilled,
    );
  }

  /** The gate shell to hold a deferred start with, or null to start it by running runc at its time. */
  private gateFor(spec: ExecutionSpec): string | null {
    if (this.gateShell === null || spec.startAt === null) return null;
    return spec.startAt - this.options.clock.now() >= GATE_MIN_LEAD_MS ? this.gateShell : null;
  }

  private async prepareNetwork(id: string, mode: NetworkMode): Promise<PreparedNetwork> {
    if (mode === 'none') return { namespacePath: null, release: async () => undefined };
    if (this.options.networks === undefined) throw new EgressUnavailable();
    return this.options.networks.prepare(id, mode);
  }

  /** The kernel's OOM killer acted in the container's memory cgroup (kept by `run --keep` until deleted). */
  private async oomKilled(id: string): Promise<boolean> {
    try {
      const text = await readFile(
        `${MEMORY_CGROUP_ROOT}${this.cgroupParent}/${id}/memory.oom_control`,
        'utf8',
      );
      return Number(/oom_kill (\d+)/.exec(text)?.[1] ?? 0) > 0;
    } catch {
      return false;
    }
  }

  private runc(args: string[]): Promise<{ stdout: string }> {
    return runFile(this.options.runtimePath, ['--root', this.options.stateRoot, ...args], {
      timeout: 30_000,
    });
  }
}

function failed(reason: string): ExecutionResult {
  return { outcome: 'failed', exitCode: null, reason };
}

/** runc ids: letters, digits, `_`, `+`, `-`, `.`; one per attempt so a retry never meets its predecessor. */
function containerId(spec: ExecutionSpec): string {
  return `${spec.runId.replace(/[^A-Za-z0-9_.-]/g, '_')}-${spec.attempt}`;
}

function networkModeOf(spec: ExecutionSpec): NetworkMode {
  return spec.network ?? 'none';
}

/** A job asks for egress on a worker whose operator did not enable it (--egress-pool). */
class EgressUnavailable extends Error {
  constructor() {
    super(
      'network egress is not enabled on this worker (its operator sets --egress-pool); jobs with network none run',
    );
  }
}

/** Waits for a deferred start; false when aborted first. */
function waitUntil(startAt: number | null, clock: Clock, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  const delay = startAt === null ? 0 : startAt - clock.now();
  if (delay <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, delay);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const SIGNAL_NAMES: Record<number, NodeJS.Signals> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  6: 'SIGABRT',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  15: 'SIGTERM',
};

function signalName(n: number): NodeJS.Signals | null {
  return SIGNAL_NAMES[n] ?? null;
}
