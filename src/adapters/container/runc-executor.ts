// The container runtime: each attempt of a job with an image runs in a runc container of its own, with every
// limit of runtime-spec.ts enforced by the kernel. One attempt goes through:
//
//   preparing (image pulled or cached, pinned; overlay mounted; config.json written)
//       │  └─ image error ──▶ done ('failed', not retried when another attempt cannot help)
//       ▼  (a warm container of the same image, limit and user is taken instead when one waits: warm-containers.ts)
//   created (a start ahead, or a warm container: `runc run` done, the process held at its gate)
//       ▼  (startAt: the launch script goes through the gate, container-launch.ts)
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

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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
import type { ContainerProcess } from './container-process.js';
import { gateArgv, launchScript } from './container-launch.js';
import { buildRuntimeSpec, DEFAULT_CONTAINER_LIMITS, type ContainerLimits } from './runtime-spec.js';
import { WarmContainers, type WarmUsage } from './warm-containers.js';

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
  /** Warm containers kept at most (warm-containers.ts); 0, the default, makes none. Needs the gate shell. */
  warmContainers?: number;
  /** A warm container not taken within this long is discarded (default 60 s). */
  warmIdleMs?: number;
  /** Told of a warm container that could not be made or removed. */
  onWarmError?(error: unknown): void;
}

const DEFAULT_GATE_SHELL = '/bin/busybox';
/** Less ahead than this, a gate gains nothing: creating the container takes about this long. */
const GATE_MIN_LEAD_MS = 100;
const DEFAULT_WARM_IDLE_MS = 60_000;

/** A container whose `runc run` is started: held at its gate when `gate` is not null. */
interface ContainerChild {
  id: string;
  bundle: ContainerBundle;
  child: ChildProcess;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  gate: Writable | null;
  /** Where its output goes: the run's hooks once it has one (nothing is written before a gate opens). */
  output: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Set when runc run has exited. */
  done: boolean;
  alive(): boolean;
  /** A warm container's own pin of its image (released when it is removed); null when the run holds it. */
  image: PreparedImage | null;
}

const MEMORY_CGROUP_ROOT = '/sys/fs/cgroup/memory';

export class RuncExecutor implements Executor {
  readonly runtime = 'container' as const;
  private readonly options: Readonly<RuncExecutorOptions>;
  private readonly limits: Omit<ContainerLimits, 'memoryMb'>;
  private readonly cgroupParent: string;
  private readonly gateShell: string | null;
  private readonly warm: WarmContainers<ContainerChild> | null;

  constructor(options: RuncExecutorOptions) {
    this.options = Object.freeze({ ...options });
    this.limits = { ...DEFAULT_CONTAINER_LIMITS, ...options.limits };
    this.cgroupParent = options.cgroupParent ?? '/hourglass-containers';
    // Without a static busybox on this host, deferred starts run runc at their time instead (slower, still correct).
    const gateShell = options.gateShell === undefined ? DEFAULT_GATE_SHELL : options.gateShell;
    this.gateShell = gateShell !== null && existsSync(gateShell) ? gateShell : null;
    const warmContainers = options.warmContainers ?? 0;
    this.warm =
      this.gateShell === null || warmContainers <= 0
        ? null
        : new WarmContainers<ContainerChild>({
            max: warmContainers,
            idleMs: options.warmIdleMs ?? DEFAULT_WARM_IDLE_MS,
            discard: (container) => this.discardWarm(container),
            ...(options.onWarmError === undefined ? {} : { onError: options.onWarmError }),
          });
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

  /** Discards the warm containers; call when the worker stops (a killed one's are removed as orphans). */
  async close(): Promise<void> {
    await this.warm?.close();
  }

  /** Warm containers waiting and being made. */
  warmUsage(): WarmUsage {
    return this.warm?.size() ?? { ready: 0, making: 0, taken: 0 };
  }

  async execute(spec: ExecutionSpec, hooks: ExecutionHooks, signal: AbortSignal): Promise<ExecutionResult> {
    if (signal.aborted) return CANCELLED_BEFORE_START;
    if (spec.image === null) return failed('a container needs an image');
    const id = containerId(spec);
    let image: PreparedImage | null = null;
    let container: ContainerChild | null = null;
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
      const mode = networkModeOf(spec);
      const launch = this.gateShell === null ? null : launchScript(process);
      if (launch !== null && mode === 'none' && this.warm !== null) {
        const key = warmKey(image.digest, spec.memoryMb, process);
        container = this.warm.take(key);
        const pinned = image;
        this.warm.ran(key, () => this.makeWarm(pinned, process, spec.memoryMb));
      }
      if (container === null) {
        try {
          network = await this.prepareNetwork(id, mode);
        } catch (error) {
          if (error instanceof EgressUnavailable)
            return { ...failed(error.message), ...digest, retryable: false };
          throw error;
        }
        const gated = launch !== null && this.startsAhead(spec);
        const bundle = await this.makeBundle(id, image.rootfs, process, spec.memoryMb, network, gated);
        if (!gated && !(await waitUntil(spec.startAt, this.options.clock, signal))) {
          await removeBundle(bundle.dir);
          return { ...CANCELLED_BEFORE_START, ...digest };
        }
        container = this.startRunc(id, bundle, gated, null);
      }
      const end = await this.runContainer(container, spec, hooks, signal, launch);
      return { ...end, ...digest };
    } finally {
      if (container !== null) await this.removeContainer(container);
      await network?.release();
      image?.release();
    }
  }

  /** Writes the bundle of a container (its overlay mounted), gated or with the command in config.json. */
  private async makeBundle(
    id: string,
    rootfs: string,
    process: ContainerProcess,
    memoryMb: number,
    network: PreparedNetwork,
    gated: boolean,
  ): Promise<ContainerBundle> {
    const runtimeSpec = buildRuntimeSpec({
      ...process,
      // A gated container's environment is the launch script's; its init's, the gate shell's, holds nothing.
      ...(gated ? { argv: gateArgv(), env: [] } : {}),
      gateShell: gated ? this.gateShell : null,
      hostname: 'run',
      idMap: this.options.idMap,
      limits: { ...this.limits, memoryMb },
      cgroupsPath: `${this.cgroupParent}/${id}`,
      networkNamespacePath: network.namespacePath,
      ...(network.resolvConf === undefined
        ? {}
        : { resolvConfPath: join(this.options.bundleRoot, id, RESOLV_CONF) }),
    });
    return createBundle(
      this.options.bundleRoot,
      id,
      rootfs,
      this.options.idMap,
      runtimeSpec,
      network.resolvConf,
    );
  }

  /** A gated container of this image, limit and process, made for a run not known yet. */
  private async makeWarm(
    image: PreparedImage,
    process: ContainerProcess,
    memoryMb: number,
  ): Promise<ContainerChild> {
    const pin = image.retain();
    const id = `warm-${randomBytes(6).toString('hex')}`;
    try {
      const bundle = await this.makeBundle(id, pin.rootfs, process, memoryMb, NO_NETWORK, true);
      return this.startRunc(id, bundle, true, pin);
    } catch (error) {
      pin.release();
      throw error;
    }
  }

  private async discardWarm(container: ContainerChild): Promise<void> {
    container.gate?.destroy(); // closed unwritten: the gate shell exits 125, running nothing
    await this.removeContainer(container);
  }

  /** Spawns `runc run` of the bundle; a gated one gets the write end of its gate as fd 3. */
  private startRunc(
    id: string,
    bundle: ContainerBundle,
    gated: boolean,
    image: PreparedImage | null,
  ): ContainerChild {
    const args = [
      '--root',
      this.options.stateRoot,
      'run',
      '--keep',
      ...(gated ? ['--preserve-fds', '1'] : []),
    ];
    const child = spawn(this.options.runtimePath, [...args, '--bundle', bundle.dir, id], {
      stdio: ['ignore', 'pipe', 'pipe', gated ? 'pipe' : 'ignore'],
    });
    const container: ContainerChild = {
      id,
      bundle,
      child,
      exited: new Promise((resolve) => {
        child.once('error', () => resolve([null, null]));
        child.once('close', (exitCode, bySignal) => resolve([exitCode, bySignal]));
      }),
      gate: gated ? (child.stdio[3] as Writable) : null,
      output: () => undefined,
      done: false,
      alive: () => !container.done,
      image,
    };
    void container.exited.then(() => (container.done = true));
    container.gate?.on('error', () => undefined); // a container gone before its start: its exit says so
    child.stdout?.on('data', (chunk: Buffer) => container.output('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => container.output('stderr', chunk));
    return container;
  }

  /** Kills what is left of the container and removes it, its bundle and (a warm one's) its image pin. */
  private async removeContainer(container: ContainerChild): Promise<void> {
    if (!container.done) {
      await this.runc(['kill', '--all', container.id, 'KILL']).catch(() => undefined);
      await container.exited;
    }
    await this.runc(['delete', '--force', container.id]).catch(() => undefined);
    await removeBundle(container.bundle.dir);
    container.image?.release();
  }

  private async runContainer(
    container: ContainerChild,
    spec: ExecutionSpec,
    hooks: ExecutionHooks,
    signal: AbortSignal,
    launch: string | null,
  ): Promise<ExecutionResult> {
    const { id, exited, gate } = container;
    container.output = (stream, chunk) => hooks.onOutput(stream, chunk);
    if (gate !== null) {
      // The container is made and waits at its gate; at startAt the launch script lets it exec the command.
      if (!(await waitUntil(spec.startAt, this.options.clock, signal))) {
        gate.destroy(); // closed unwritten: the gate shell exits 125, running nothing
        await this.runc(['kill', '--all', id, 'KILL']).catch(() => undefined);
        await exited;
        return CANCELLED_BEFORE_START;
      }
      gate.end(launch ?? '');
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

  /** Started far enough ahead for a container created now to gain on one created at its time. */
  private startsAhead(spec: ExecutionSpec): boolean {
    return spec.startAt !== null && spec.startAt - this.options.clock.now() >= GATE_MIN_LEAD_MS;
  }

  private async prepareNetwork(id: string, mode: NetworkMode): Promise<PreparedNetwork> {
    if (mode === 'none') return NO_NETWORK;
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

/** What is fixed when a container is created (the rest, env and argv, comes through its gate). */
function warmKey(digest: string, memoryMb: number, process: ContainerProcess): string {
  return JSON.stringify([digest, memoryMb, process.uid, process.gid, process.cwd]);
}

const NO_NETWORK: PreparedNetwork = { namespacePath: null, release: async () => undefined };

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
