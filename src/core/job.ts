// A job is a definition: what to run (an image, or a host command for the process runtime), with its
// environment, resources, timeout and retry policy. Runs are created from it.

import type { RetryPolicy } from './run-state.js';

export interface JobResources {
  memoryMb: number;
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
  timeoutSeconds: number;
  retry: RetryPolicy;
  createdAt: number;
  updatedAt: number;
}

/** The memory a job may ask for, in MB: the API's schema and the CLI's `--memory-mb` both check it. */
export const JOB_MEMORY_MB = Object.freeze({ min: 16, max: 1_048_576 });

export const JOB_DEFAULTS = Object.freeze({
  memoryMb: 1024,
  timeoutSeconds: 3600,
  maxAttempts: 1,
  backoffSeconds: 10,
});

/** The runtime a job needs on a worker. */
export function runtimeOf(job: Pick<Job, 'image'>): 'container' | 'process' {
  return job.image === null ? 'process' : 'container';
}
