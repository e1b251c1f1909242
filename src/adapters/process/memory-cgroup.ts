// A run's memory cgroup (cgroup v1 memory controller), when the launcher runs as root on a host that has one:
// `<the launcher's own memory cgroup>/hourglass/<run>.<attempt>`, so runs also stay inside whatever limit the
// service itself was given. Its limit is the job's `resources.memoryMb`, swap included (memsw, when swap
// accounting is on), so a run over it is killed by the kernel's OOM killer and reported `oom_killed`.
//
// The run's first process is put in it before it runs its command (it waits at its gate meanwhile); every
// process it forks is born in it and cannot leave it (the other cgroups' files are root's). At the end every
// process still in it (one that left the process group included) is killed, and the cgroup removed.
//
//   created ──pid written──▶ holding the run ──run ended: kill what is left, rmdir──▶ removed

import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import { join } from 'node:path';

const MIB = 1024 * 1024;
/** How long destroy() keeps killing and retrying the rmdir (a killed process takes a moment to be gone). */
const DESTROY_WAIT_MS = 5000;
const DESTROY_STEP_MS = 10;

/**
 * Where runs' memory cgroups go: `hourglass` under this process's own memory cgroup, created if need be;
 * null when there is no cgroup v1 memory controller or it cannot be written (not root, read-only, v2 only).
 * (A launcher that dies leaves its runs' cgroups behind, empty once their processes are killed: they are not
 * swept here, since another server sharing this cgroup may have just made one for a run about to enter it.)
 */
export function findMemoryCgroupRoot(): string | null {
  try {
    const mount = memoryMount();
    const own = ownMemoryCgroup();
    if (mount === null || own === null || !own.startsWith(mount.root)) return null;
    const root = join(mount.point, own.slice(mount.root.length), 'hourglass');
    mkdirSync(root, { recursive: true });
    // Proves the files are writable: a cgroup made and removed.
    const probe = join(root, `probe-${process.pid}`);
    mkdirSync(probe);
    writeFileSync(join(probe, 'memory.limit_in_bytes'), String(64 * MIB));
    rmdirSync(probe);
    return root;
  } catch {
    return null;
  }
}

export class MemoryCgroup {
  private constructor(
    /** The cgroup's directory. */
    readonly path: string,
  ) {}

  /**
   * Makes the cgroup with its limit, synchronously (a start now: a few hundred µs, but up to ~10 ms at the
   * 99th percentile on a loaded VM); throws if it cannot, and the run must then not start.
   */
  static createSync(root: string, name: string, memoryMb: number): MemoryCgroup {
    const path = join(root, name);
    mkdirSync(path);
    try {
      // memory first: memsw may never be below it.
      writeFileSync(join(path, 'memory.limit_in_bytes'), limitOf(memoryMb));
      writeIfPresentSync(join(path, 'memory.memsw.limit_in_bytes'), limitOf(memoryMb));
    } catch (error) {
      tryRmdirSync(path);
      throw error;
    }
    return new MemoryCgroup(path);
  }

  /** The same off the event loop (a deferred start has time for the thread pool's round trip). */
  static async create(root: string, name: string, memoryMb: number): Promise<MemoryCgroup> {
    const path = join(root, name);
    await fs.mkdir(path);
    try {
      await fs.writeFile(join(path, 'memory.limit_in_bytes'), limitOf(memoryMb));
      await fs.writeFile(join(path, 'memory.memsw.limit_in_bytes'), limitOf(memoryMb)).catch(ignoreMissing);
    } catch (error) {
      await fs.rmdir(path).catch(() => undefined);
      throw error;
    }
    return new MemoryCgroup(path);
  }

  /** Puts a process (the run's, still at its gate) in the cgroup; its children are born in it. */
  enter(pid: number): void {
    writeFileSync(join(this.path, 'cgroup.procs'), String(pid));
  }

  /** Whether the kernel's OOM killer killed a process of this cgroup. */
  oomKilled(): boolean {
    try {
      const control = readFileSync(join(this.path, 'memory.oom_control'), 'utf8');
      const kills = /^oom_kill (\d+)$/m.exec(control);
      // Kernels before 4.13 have no counter: under_oom is what is left to tell.
      if (kills?.[1] !== undefined) return Number(kills[1]) > 0;
      return /^under_oom 1$/m.test(control);
    } catch {
      return false;
    }
  }

  /**
   * Kills every process still in the cgroup, then removes it; false if it could not be removed in time.
   * Off the event loop: a cgroup's rmdir can take milliseconds.
   */
  async destroy(): Promise<boolean> {
    const deadline = Date.now() + DESTROY_WAIT_MS;
    for (;;) {
      for (const pid of await this.processes()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ESRCH: gone already.
        }
      }
      const removed = await fs.rmdir(this.path).then(
        () => true,
        (error: NodeJS.ErrnoException) => error.code === 'ENOENT',
      );
      if (removed) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, DESTROY_STEP_MS));
    }
  }

  private async processes(): Promise<number[]> {
    const listed = await fs.readFile(join(this.path, 'cgroup.procs'), 'utf8').catch(() => '');
    return listed
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  }
}

const limitOf = (memoryMb: number): string => String(memoryMb * MIB);

/** No swap accounting (swapaccount=0): memory alone is limited. */
function ignoreMissing(error: NodeJS.ErrnoException): void {
  if (error.code !== 'ENOENT') throw error;
}

function writeIfPresentSync(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (error) {
    ignoreMissing(error as NodeJS.ErrnoException);
  }
}

function tryRmdirSync(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // Left behind, empty: harmless.
  }
}

/** The cgroup v1 memory hierarchy's mount point and the hierarchy path it shows, from /proc/self/mountinfo. */
function memoryMount(): { point: string; root: string } | null {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [mountFields, superFields] = line.split(' - ');
    if (mountFields === undefined || superFields === undefined) continue;
    const [fsType, , options = ''] = superFields.split(' ');
    if (fsType !== 'cgroup' || !options.split(',').includes('memory')) continue;
    const fields = mountFields.split(' ');
    const root = fields[3];
    const point = fields[4];
    if (root !== undefined && point !== undefined) return { point, root };
  }
  return null;
}

/** This process's memory cgroup, as a path in the hierarchy, from /proc/self/cgroup. */
function ownMemoryCgroup(): string | null {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [, controllers, path] = line.split(':');
    if (controllers?.split(',').includes('memory') && path !== undefined) return path;
  }
  return null;
}
