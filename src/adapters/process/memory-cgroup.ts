// A run's memory cgroup (cgroup v1 memory controller), when the launcher runs as root on a host that has one:
// `<the launcher's own memory cgroup>/hourglass/<run>.<attempt>-<random>`, so runs also stay inside whatever
// limit the service itself was given. Its limit is the job's `resources.memoryMb`, swap included (memsw, when
// swap accounting is on), so a run over it is killed by the kernel's OOM killer and reported `oom_killed`.
//
// The run's wrapper shell moves itself in before it runs the command; every process it forks is born in it
// and cannot leave it (the other cgroups' files are root's). At the end every
// process still in it (one that left the process group included) is killed, and the cgroup removed.
//
//   created ──the run's shell entered──▶ holding the run ──run ended: kill what is left, rmdir──▶ removed

import { chmodSync, chownSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
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
    // Passable by a run's uid, whatever the umask (the server's is 077): its shell reaches its own cgroup.procs.
    chmodSync(root, 0o711);
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

  /** Makes the cgroup with its limit; throws if it cannot (the run must then not start). */
  static create(root: string, name: string, memoryMb: number): MemoryCgroup {
    const path = join(root, name);
    mkdirSync(path);
    chmodSync(path, 0o711); // see findMemoryCgroupRoot: the run's shell must reach cgroup.procs
    const cgroup = new MemoryCgroup(path);
    try {
      const bytes = String(memoryMb * MIB);
      // memory first: memsw may never be below it.
      writeFileSync(join(path, 'memory.limit_in_bytes'), bytes);
      writeIfPresent(join(path, 'memory.memsw.limit_in_bytes'), bytes);
    } catch (error) {
      tryRmdir(path);
      throw error;
    }
    return cgroup;
  }

  /** The file a process writes its pid to, to enter the cgroup. */
  get procsFile(): string {
    return join(this.path, 'cgroup.procs');
  }

  /**
   * Lets `uid` move its own processes in (the run's wrapper shell enters by itself). It can move no one
   * else's (the kernel wants the same uid) and nothing out (every other cgroup's files are root's), and the
   * limits stay root's.
   */
  delegateTo(uid: number): void {
    chownSync(this.procsFile, uid, uid);
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
   * Kills every process still in the cgroup, then removes it; false if it could not be removed in time. Its
   * reads and rmdir are synchronous: tens of µs each on the cgroup filesystem (the thread pool's round trips
   * cost far more under load); only the wait between tries yields.
   */
  async destroy(): Promise<boolean> {
    const deadline = Date.now() + DESTROY_WAIT_MS;
    for (;;) {
      for (const pid of this.processes()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // ESRCH: gone already.
        }
      }
      if (tryRmdir(this.path)) return true;
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, DESTROY_STEP_MS));
    }
  }

  private processes(): number[] {
    try {
      return readFileSync(join(this.path, 'cgroup.procs'), 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map(Number);
    } catch {
      return [];
    }
  }
}

function writeIfPresent(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (error) {
    // No swap accounting (swapaccount=0): memory alone is limited.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function tryRmdir(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
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
