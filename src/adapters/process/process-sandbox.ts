// What the process runtime can confine on this host, found once when the server starts and then fixed for the
// executor's life (passed to the launcher with its options): a uid per run when root, and a memory limit per
// run — a cgroup when root on a cgroup v1 memory controller, else an address-space rlimit. It is not a
// sandbox in any case: a run sees the host's filesystem (whatever its uid may read) and network.

import type { ProcessIsolation } from '../../ports/executor.js';
import { findMemoryCgroupRoot } from './memory-cgroup.js';
import { DEFAULT_RUN_UID_COUNT, type RunUserRange } from './run-users.js';

export interface ProcessSandbox {
  /** The uids runs get, one each; null when runs run as the launcher's own user (it is not root). */
  runUsers: RunUserRange | null;
  memory: { kind: 'cgroup'; root: string } | { kind: 'address-space' } | { kind: 'none' };
}

/** Runs as the launcher's user, no memory limit: what tests of the bare executor use. */
export const NO_SANDBOX: Readonly<ProcessSandbox> = Object.freeze({
  runUsers: null,
  memory: { kind: 'none' as const },
});

/** The most this host allows: uids and a cgroup when root, the rlimit otherwise. */
export function probeProcessSandbox(options: { runUidBase: number }): ProcessSandbox {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const cgroupRoot = root ? findMemoryCgroupRoot() : null;
  return {
    runUsers: root ? { base: options.runUidBase, count: DEFAULT_RUN_UID_COUNT } : null,
    memory: cgroupRoot !== null ? { kind: 'cgroup', root: cgroupRoot } : { kind: 'address-space' },
  };
}

export function describeSandbox(sandbox: ProcessSandbox): ProcessIsolation {
  return {
    separateUsers: sandbox.runUsers !== null,
    memoryLimit: sandbox.memory.kind === 'cgroup' ? 'cgroup' : sandbox.memory.kind,
  };
}
