// What the container tests share: a busybox root filesystem built from the host's static busybox (Debian's
// busybox-static), owned by the container id map's range as an unpacked image is, served by an image source
// that hands out that directory; and a runc executor over it under a runc root of the test's own.

import { execFileSync } from 'node:child_process';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  rmdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RuncExecutor, type RuncExecutorOptions } from '../../src/adapters/container/runc-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import {
  DEFAULT_CONTAINER_ID_MAP,
  type ImageRunConfig,
  type ImageSource,
  type PreparedImage,
} from '../../src/ports/images.js';
import { IS_ROOT } from './required-services.js';

export const BUSYBOX = '/bin/busybox';

export function commandWorks(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** runc installed, a static busybox to build images from, and root (rootless runc fails on cgroup v1). */
export const CAN_RUN_CONTAINERS =
  IS_ROOT && commandWorks('runc', ['--version']) && existsSync(BUSYBOX) && commandWorks(BUSYBOX, ['true']);

/** A directory with busybox and its applets in /bin, /etc/passwd with root and nobody, owned by the id map. */
export function buildBusyboxRootfs(parent: string): string {
  const rootfs = join(parent, 'busybox-rootfs');
  for (const dir of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root'])
    mkdirSync(join(rootfs, dir), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n');
  for (const applet of applets)
    if (applet !== '' && applet !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', applet));
  writeFileSync(
    join(rootfs, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n',
  );
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  execFileSync('chmod', ['-R', 'a+rX', rootfs]);
  execFileSync('chmod', ['1777', join(rootfs, 'tmp')]);
  execFileSync('chown', [
    '-R',
    '-h',
    `${DEFAULT_CONTAINER_ID_MAP.hostId}:${DEFAULT_CONTAINER_ID_MAP.hostId}`,
    rootfs,
  ]);
  chownSync(rootfs, DEFAULT_CONTAINER_ID_MAP.hostId, DEFAULT_CONTAINER_ID_MAP.hostId);
  return rootfs;
}

export const BUSYBOX_CONFIG: ImageRunConfig = {
  entrypoint: [],
  cmd: ['/bin/sh'],
  env: ['PATH=/bin'],
  workingDir: '/',
  user: '',
};

/** An image source that hands out one prepared directory for any reference, counting its pins. */
export class DirectoryImageSource implements ImageSource {
  pinned = 0;
  constructor(
    private readonly rootfs: string,
    private readonly config: ImageRunConfig = BUSYBOX_CONFIG,
  ) {}

  prepare(): Promise<PreparedImage> {
    return Promise.resolve(this.pin());
  }

  private pin(): PreparedImage {
    this.pinned++;
    let released = false;
    return {
      digest: `sha256:${'0'.repeat(64)}`,
      rootfs: this.rootfs,
      config: this.config,
      release: () => {
        if (!released) this.pinned--;
        released = true;
      },
      retain: () => this.pin(),
    };
  }
}

/** A runc executor over `images`, its runc root and bundles in `dir`, under a cgroup parent named for `name`. */
export function runcExecutorIn(dir: string, images: ImageSource, name: string): RuncExecutor {
  return new RuncExecutor({
    clock: systemClock,
    runtimePath: 'runc',
    stateRoot: join(dir, 'runc'),
    bundleRoot: join(dir, 'bundles'),
    images,
    idMap: DEFAULT_CONTAINER_ID_MAP,
    killGraceMs: 500,
    cgroupParent: `/hourglass-test-${name}-${process.pid}`,
  });
}

export interface ContainerFixture {
  dir: string;
  rootfs: string;
  images: DirectoryImageSource;
  executor: RuncExecutor;
  /** What `executor` was made with: for another executor on the same directories (a restarted worker). */
  executorOptions: RuncExecutorOptions;
  stateRoot: string;
  bundleRoot: string;
  cgroupParent: string;
  cleanup(): void;
}

/** A runc executor of the test's own (its runc root, bundles and cgroup parent unique to it). */
export function containerFixture(
  options: { killGraceMs?: number; warmContainers?: number; warmIdleMs?: number } = {},
): ContainerFixture {
  const dir = mkdtempSync(join(tmpdir(), 'hg-containers-'));
  execFileSync('chmod', ['711', dir]);
  const rootfs = buildBusyboxRootfs(dir);
  const images = new DirectoryImageSource(rootfs);
  const stateRoot = join(dir, 'runc');
  const bundleRoot = join(dir, 'bundles');
  const cgroupParent = `/hourglass-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const executorOptions: RuncExecutorOptions = {
    clock: systemClock,
    runtimePath: 'runc',
    stateRoot,
    bundleRoot,
    images,
    idMap: DEFAULT_CONTAINER_ID_MAP,
    killGraceMs: options.killGraceMs ?? 500,
    cgroupParent,
    ...(options.warmContainers === undefined ? {} : { warmContainers: options.warmContainers }),
    ...(options.warmIdleMs === undefined ? {} : { warmIdleMs: options.warmIdleMs }),
  };
  const executor = new RuncExecutor(executorOptions);
  return {
    dir,
    executorOptions,
    rootfs,
    images,
    executor,
    stateRoot,
    bundleRoot,
    cgroupParent,
    cleanup() {
      for (const controller of [
        'memory',
        'pids',
        'cpu,cpuacct',
        'cpuset',
        'blkio',
        'freezer',
        'devices',
        'net_cls,net_prio',
        'perf_event',
        'hugetlb',
      ]) {
        // An empty cgroup directory goes with rmdir(2) only (its control files cannot be unlinked).
        try {
          rmdirSync(`/sys/fs/cgroup/${controller}${cgroupParent}`);
        } catch {
          // not made in this controller
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
