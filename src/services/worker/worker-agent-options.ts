// What a worker agent is given: its ports (deps, adapters chosen by the composition root) and its options,
// resolved once (defaults filled) and frozen.

import { DEFAULT_MEMORY_OVERCOMMIT } from '../../core/job.js';
import type { Clock } from '../../ports/clock.js';
import type { Executor } from '../../ports/executor.js';
import type { RegistryCredentials } from '../../ports/images.js';
import type { LogStore } from '../../ports/log-store.js';
import type { RunQueue } from '../../ports/queue.js';
import type { RunSignals } from '../../ports/run-events.js';
import type { AttemptStore } from '../../ports/store/attempt-store.js';
import type { RunStore } from '../../ports/store/run-store.js';
import type { TenantStore } from '../../ports/store/tenant-store.js';
import type { Logger } from '../logger.js';
import type { WorkerMetrics } from './worker-metrics.js';

export interface WorkerAgentDeps {
  /** Attempts (claims, starts, ends, heartbeats); dispatching retries; the host-command privilege. */
  store: AttemptStore & Pick<RunStore, 'markDispatched'> & TenantStore;
  queue: RunQueue;
  /** The executors this worker has, by runtime; a job whose runtime is missing fails at once. */
  executors: Partial<Record<Executor['runtime'], Executor>>;
  logStore: LogStore;
  signals: RunSignals;
  clock: Clock;
  logger: Logger;
  metrics?: WorkerMetrics;
  /**
   * The tenant's login for an image's registry, opened (services/registry-credentials.ts); null for none.
   * Throws when one is stored but cannot be used: the run fails with that reason. Absent: every pull is
   * anonymous.
   */
  registryCredentials?: RegistryCredentialLookup;
}

export type RegistryCredentialLookup = (
  tenantId: string,
  imageReference: string,
) => Promise<RegistryCredentials | null>;

export interface WorkerAgentOptions {
  workerId: string;
  /** Memory the worker may hand out to runs; a run reserves its job's request (core/job.ts memoryRequestOf). */
  memoryMb: number;
  /**
   * How far the runs' limits may add up beyond `memoryMb`: their sum stays at most `memoryMb` × this (default
   * DEFAULT_MEMORY_OVERCOMMIT; 1 packs by limits, as if every run used all of its limit).
   */
  memoryOvercommit?: number;
  /** Most runs at once, whatever their memory. */
  maxRuns: number;
  heartbeatIntervalMs: number;
  /** PATH for process-runtime jobs (the worker's own, read by the composition root); null for none. */
  hostPath: string | null;
  /** How long one pull waits for a message (default 1000 ms). */
  pullWaitMs?: number;
}

export type ResolvedWorkerAgentOptions = Readonly<Required<WorkerAgentOptions>>;

export function resolveWorkerAgentOptions(options: WorkerAgentOptions): ResolvedWorkerAgentOptions {
  return Object.freeze({
    ...options,
    memoryOvercommit: options.memoryOvercommit ?? DEFAULT_MEMORY_OVERCOMMIT,
    pullWaitMs: options.pullWaitMs ?? 1000,
  });
}
