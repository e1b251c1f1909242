// A job is a definition: what to run (an image, or a host command for the process runtime), with its
// environment, resources, timeout and retry policy. Runs are created from it.

import type { RetryPolicy } from './run-state.js';

export interface JobResources {
  /** The run's memory limit: enforced by the runtime where the host allows it (over it: OOM-killed). */
  memoryMb: number;
  /**
   * What a run reserves on a worker, which packs runs by it (Kubernetes' request, Nomad's `memory`); at most
   * `memoryMb`. Absent: the default, a quarter of the limit (memoryRequestOf), following the limit as it changes.
   */
  memoryRequestMb?: number;
}

export interface Job {
  id: string;
  tenantId: string;
  name: string;
  /** OCI image reference; null means a host command run by the (unisolated) process runtime. */
  image: string | null;
  command: string[];
  args: string[];
  env: Record<string, string>;
  resources: JobResources;
  /**
   * A container's network: `none` (its own loopback only), or `egress` (out to public addresses, never the
   * host's, a private range or metadata). Absent is `none`. Host commands share the host's network whatever this says.
   */
  network?: NetworkMode;
  timeoutSeconds: number;
  retry: RetryPolicy;
  createdAt: number;
  updatedAt: number;
}

export type NetworkMode = 'none' | 'egress';
export const NETWORK_MODES: readonly NetworkMode[] = ['none', 'egress'];

/** The memory a job may ask for, in MB: the API's schema and the CLI's `--memory-mb` both check it. */
export const JOB_MEMORY_MB = Object.freeze({ min: 16, max: 1_048_576 });

export const JOB_DEFAULTS = Object.freeze({
  memoryMb: 1024,
  timeoutSeconds: 3600,
  maxAttempts: 1,
  backoffSeconds: 10,
});

/**
 * The share of the limit a run reserves when its job sets no request: 1 GiB jobs reserve 256 MiB, so four
 * times as many fit as by their limits; its inverse is the default bound on the sum of limits (below).
 */
export const DEFAULT_MEMORY_REQUEST_FRACTION = 0.25;
/**
 * The default bound on a worker's runs' limits, as a multiple of its memory: the inverse of the default
 * request's share, so runs of jobs that set no request meet both bounds together.
 */
export const DEFAULT_MEMORY_OVERCOMMIT = 1 / DEFAULT_MEMORY_REQUEST_FRACTION;
/** The smallest memory a job may ask for, as request or limit (the API's minimum). */
export const MIN_MEMORY_MB = 16;

/** What a run of a job with these resources reserves on a worker, in MB. */
export function memoryRequestOf(resources: JobResources): number {
  const share = Math.ceil(resources.memoryMb * DEFAULT_MEMORY_REQUEST_FRACTION);
  return resources.memoryRequestMb ?? Math.min(resources.memoryMb, Math.max(MIN_MEMORY_MB, share));
}

/** The runtime a job needs on a worker. */
export function runtimeOf(job: Pick<Job, 'image'>): 'container' | 'process' {
  return job.image === null ? 'process' : 'container';
}
