// The executor port: runs one attempt of a job to its end. The process runtime runs a host command; the
// container runtime (runc) plugs in behind the same interface.

import type { NetworkMode } from '../core/job.js';
import type { AttemptOutcome } from '../core/run-state.js';
import type { RegistryCredentials } from './images.js';

export interface ExecutionSpec {
  runId: string;
  attempt: number;
  /** Whose run it is: a cached image is runnable by a tenant only once its own credentials resolved it. */
  tenantId: string;
  /** argv: the job's command followed by the run's (or job's) args. */
  argv: string[];
  /**
   * The job's command and the run's (or job's) args apart, for a container: a command replaces the image's
   * Entrypoint and Cmd, args alone replace its Cmd (as `docker run --entrypoint` and its arguments do).
   */
  command: string[];
  args: string[];
  env: Record<string, string>;
  image: string | null;
  /**
   * The tenant's login for the image's registry host, opened by the worker for this attempt; null for an
   * anonymous pull (and for host commands). Never to be logged, put in an argv or an error message.
   */
  registryCredentials: RegistryCredentials | null;
  /** A container's network (absent: none); host commands share the host's. */
  network?: NetworkMode;
  memoryMb: number;
  /** Counted from the start (not from the hand-over to the executor when the start is deferred). */
  timeoutMs: number;
  /**
   * When the process should start, epoch ms; null for now. A run handed over early (pre-dispatch) is made
   * ready ahead and started at this time, so that its lag is the start's precision, not its preparation.
   */
  startAt: number | null;
}

export interface ExecutionHooks {
  /**
   * Called once the process has started (its start time is what lag is measured to); never for an attempt
   * stopped before its deferred start.
   */
  onStarted(at: number): void;
  /** Output as it comes; the executor does not cap it, the log sink does. */
  onOutput(stream: 'stdout' | 'stderr', chunk: Buffer): void;
  /**
   * The run's process group exists (host processes only; before its start, when the start is deferred): for
   * whoever must be able to stop it without the executor (the launcher's worker, when the launcher dies).
   */
  onSpawned?(processGroup: number): void;
}

export interface ExecutionResult {
  outcome: Extract<AttemptOutcome, 'succeeded' | 'failed' | 'timed_out' | 'oom_killed' | 'cancelled'>;
  exitCode: number | null;
  reason: string | null;
  /** The image manifest digest the attempt ran (PreparedImage.digest); absent or null for host commands. */
  imageDigest?: string | null;
  /** False when another attempt cannot help (an image not found, refused or unsafe); retried by policy otherwise. */
  retryable?: boolean;
}

/**
 * What the process runtime confines on this host, decided once at start: for /readyz and job responses.
 * It is never a sandbox: a host command shares the host's filesystem (what its uid may read) and network.
 */
export interface ProcessIsolation {
  /** Every run under a uid of its own (the server runs as root), apart from the server and other runs. */
  separateUsers: boolean;
  /**
   * How `resources.memoryMb` is enforced: `cgroup` (a memory cgroup per run, swap included; a run over it is
   * killed and reported `oom_killed`), `address-space` (an RLIMIT_AS: allocations past it fail, and the run
   * fails as its program reports it), or `none`.
   */
  memoryLimit: 'cgroup' | 'address-space' | 'none';
}

/** Whether this worker can run containers, decided once at start (for /readyz and the server's banner). */
export interface ContainerRuntimeStatus {
  /** The runtime binary, as configured (`--runtime-path`). */
  path: string;
  /** The runtime's version (`runc --version`), e.g. "1.1.5+ds1"; null when it did not answer. */
  version: string | null;
  /** Why containers cannot run here; null when they can. Jobs with an image then fail, never run unisolated. */
  unavailableReason: string | null;
}

export interface Executor {
  readonly runtime: 'process' | 'container';
  /** Runs to completion. Aborting the signal stops the run (SIGTERM, grace, SIGKILL) with outcome `cancelled`. */
  execute(spec: ExecutionSpec, hooks: ExecutionHooks, signal: AbortSignal): Promise<ExecutionResult>;
}
