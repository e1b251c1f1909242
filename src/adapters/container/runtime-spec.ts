// The OCI runtime spec (config.json) of one container run: pure, so every limit it sets can be read and tested
// in one place. What each part does (docs/containers.md, "The runtime spec"):
//
// - namespaces: pid, ipc, uts, mount, cgroup, network (new and empty unless a prepared one is joined) and user
//   (0…size-1 inside is the id map's host range outside: root in the container is nobody on the host);
// - root: the run's overlay (the shared read-only image below, the run's own writable layer above);
// - /tmp: a tmpfs capped at `tmpMb` (tmpfs pages are memory, so they count toward the memory limit too);
// - cgroup: memory with swap at the same value (no swap), pids, CPU quota;
// - process: no capabilities at all, noNewPrivileges, the strict seccomp profile, nofile and core rlimits;
// - /proc: the paths runc's own default spec masks or makes read-only.

import type { ContainerIdMap } from '../../ports/images.js';
import { CONTAINER_SECCOMP_PROFILE } from './seccomp-profile.js';

export interface ContainerLimits {
  memoryMb: number;
  pids: number;
  /** CPUs the run may use, in total time (a CFS quota): 1 is one core's worth. */
  cpus: number;
  tmpMb: number;
  nofile: number;
}

export const DEFAULT_CONTAINER_LIMITS: ContainerLimits = {
  memoryMb: 1024,
  pids: 512,
  cpus: 1,
  tmpMb: 256,
  nofile: 1024,
};

export interface RuntimeSpecInput {
  argv: string[];
  /** KEY=value entries. */
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  hostname: string;
  idMap: ContainerIdMap;
  limits: ContainerLimits;
  /** cgroupfs path, relative to each controller's root (e.g. /hourglass/<id>). */
  cgroupsPath: string;
  /** A network namespace to join (egress); null for a new one holding only its own loopback. */
  networkNamespacePath: string | null;
  /** A static shell bound read-only at GATE_PATH, to hold a deferred start (runc-executor.ts); none if absent. */
  gateShell?: string | null;
  /** A file to bind read-only at /etc/resolv.conf (egress); the image's own otherwise. */
  resolvConfPath?: string;
}

/** Where the gate shell is bound in a container whose start is deferred. */
export const GATE_PATH = '/.hourglass/busybox'; // busybox picks its applet by this name: the next arg says sh

const CFS_PERIOD_US = 100_000;
const MIB = 1024 * 1024;

/** runc's default spec (`runc spec`): kernel interfaces a container must not read or write. */
const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/fs/selinux',
  '/sys/dev/block',
];
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function buildRuntimeSpec(input: RuntimeSpecInput): Record<string, unknown> {
  const { limits, idMap } = input;
  const memoryBytes = limits.memoryMb * MIB;
  const mapping = [{ containerID: 0, hostID: idMap.hostId, size: idMap.size }];
  const network =
    input.networkNamespacePath === null
      ? { type: 'network' }
      : { type: 'network', path: input.networkNamespacePath };
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: input.uid, gid: input.gid, additionalGids: [input.gid] },
      args: input.argv,
      env: input.env,
      cwd: input.cwd,
      capabilities: { bounding: [], effective: [], inheritable: [], permitted: [], ambient: [] },
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: limits.nofile, soft: limits.nofile },
        { type: 'RLIMIT_CORE', hard: 0, soft: 0 },
      ],
      noNewPrivileges: true,
      oomScoreAdj: 1000, // if the host itself runs short, the kernel takes a run before the worker
    },
    root: { path: 'rootfs', readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      {
        destination: '/dev/mqueue',
        type: 'mqueue',
        source: 'mqueue',
        options: ['nosuid', 'noexec', 'nodev'],
      },
      // In a user namespace sysfs cannot be mounted for a new network namespace's view: bind the host's,
      // read-only. Joining a prepared namespace (owned by the host's user namespace) runc cannot bind it
      // either: an empty read-only tmpfs stands there instead.
      input.networkNamespacePath === null
        ? {
            destination: '/sys',
            type: 'none',
            source: '/sys',
            options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
          }
        : {
            destination: '/sys',
            type: 'tmpfs',
            source: 'tmpfs',
            options: ['nosuid', 'noexec', 'nodev', 'ro', 'size=0'],
          },
      {
        destination: '/tmp',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'nodev', 'mode=1777', `size=${limits.tmpMb}m`],
      },
      ...(input.resolvConfPath === undefined
        ? []
        : [
            {
              destination: '/etc/resolv.conf',
              type: 'none',
              source: input.resolvConfPath,
              options: ['bind', 'ro', 'nosuid', 'nodev', 'noexec'],
            },
          ]),
      ...(input.gateShell === null || input.gateShell === undefined
        ? []
        : [
            {
              destination: GATE_PATH,
              type: 'none',
              source: input.gateShell,
              options: ['bind', 'ro', 'nosuid', 'nodev'],
            },
          ]),
    ],
    linux: {
      uidMappings: mapping,
      gidMappings: mapping,
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'cgroup' },
        { type: 'user' },
        network,
      ],
      cgroupsPath: input.cgroupsPath,
      resources: {
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: memoryBytes, swap: memoryBytes, disableOOMKiller: false },
        pids: { limit: limits.pids },
        cpu: { quota: Math.round(limits.cpus * CFS_PERIOD_US), period: CFS_PERIOD_US },
      },
      seccomp: CONTAINER_SECCOMP_PROFILE,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
