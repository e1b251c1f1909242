// Every Executor the contract suite runs against: the process executor in this process, the same through its
// launcher process (as the server runs it), and the runc executor over a busybox image. Each factory makes an
// executor of the test's own (its scratch directory, runc root, bundles and cgroups), builds specs in its world
// (a host command, or a command in the image), and says what of its runs is left on the host, so that the suite
// can check that nothing is. HOURGLASS_TEST_EXECUTORS (comma-separated names: process, launcher, runc) narrows
// the list; a missing runc (or busybox-static, or root) fails instead of skipping with
// HOURGLASS_REQUIRE_SERVICES=1 or when HOURGLASS_TEST_EXECUTORS names it.

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LauncherExecutor } from '../../src/adapters/process/launcher-executor.js';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { probeProcessSandbox, type ProcessSandbox } from '../../src/adapters/process/process-sandbox.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { ExecutionSpec, Executor } from '../../src/ports/executor.js';
import { BUSYBOX_CONFIG, CAN_RUN_CONTAINERS, containerFixture } from './container-fixtures.js';
import { executionSpec, HOST_PATH } from './executor-fixtures.js';
import { skipUnless } from './required-services.js';

/** Time between SIGTERM and SIGKILL for every executor here: short, so that stops are quick to test. */
export const KILL_GRACE_MS = 300;

/** Run ids of this test process: what it finds left on the host is its own. */
export const RUN_ID_PREFIX = `run_ec${process.pid}`;

export interface ExecutorUnderTest {
  executor: Executor;
  /** A spec that runs `argv` here (on the host's PATH, or in the image), unique run id, defaults filled. */
  spec(argv: string[], overrides?: Partial<ExecutionSpec>): ExecutionSpec;
  /**
   * What is left on the host of this executor's runs (scratch directories, cgroups, containers, bundles,
   * mounts, image pins) and, once closed, of the executor itself (its launcher process): empty when clean.
   */
  leftovers(): string[];
  /** Stops the executor (its launcher, its warm containers, its gate thread). */
  close(): Promise<void>;
  /** Removes its directories; after close(). */
  destroy(): void;
}

export interface ExecutorFactory {
  name: string;
  /** The test runner's `skip`: false, or why this executor cannot run here. */
  skip: false | string;
  /** Capability: a run over its memory limit is killed by the kernel and reported `oom_killed`. */
  reportsOomKill: boolean;
  /** Capability: `onSpawned` reports the run's host process group (host processes only). */
  reportsProcessGroup: boolean;
  /** The image digest a result reports (`imageDigest`); null for host commands. */
  imageDigest: string | null;
  /** The environment a run with `env` sees: exactly it for a host command; an image's adds its own. */
  environmentOf(env: Record<string, string>): Record<string, string>;
  create(): Promise<ExecutorUnderTest>;
}

let serial = 0;
function uniqueRunId(): string {
  serial += 1;
  return `${RUN_ID_PREFIX}_${serial}`;
}

/** A uid range apart from the server's default and the other test files' (they may run at the same time). */
const RUN_UID_BASE = 2_100_000_000;
const sandbox: ProcessSandbox = probeProcessSandbox({ runUidBase: RUN_UID_BASE });
const memoryCgroupRoot = sandbox.memory.kind === 'cgroup' ? sandbox.memory.root : null;

/** A scratch root of its own, passable by the run uids (mkdtemp makes 0700). */
function scratchDir(): { dir: string; scratchRoot: string } {
  const dir = mkdtempSync(join(tmpdir(), 'hg-executor-contract-'));
  chmodSync(dir, 0o711);
  return { dir, scratchRoot: join(dir, 'scratch') };
}

/** Scratch directories and memory cgroups of this process's runs still on the host. */
function hostRunLeftovers(scratchRoot: string): string[] {
  const left = readdirSync(scratchRoot).map((name) => `scratch directory ${name}`);
  if (memoryCgroupRoot !== null) {
    for (const name of readdirSync(memoryCgroupRoot))
      if (name.startsWith(`${RUN_ID_PREFIX}_`)) left.push(`memory cgroup ${name}`);
  }
  return left;
}

function hostSpec(argv: string[], overrides: Partial<ExecutionSpec> = {}): ExecutionSpec {
  return executionSpec(argv, { runId: uniqueRunId(), env: { PATH: HOST_PATH }, ...overrides });
}

const hostCommands = {
  skip: false as const,
  reportsOomKill: sandbox.memory.kind === 'cgroup',
  reportsProcessGroup: true,
  imageDigest: null,
  environmentOf: (env: Record<string, string>) => ({ ...env }),
};

const processFactory: ExecutorFactory = {
  name: 'process',
  ...hostCommands,
  create() {
    const { dir, scratchRoot } = scratchDir();
    const executor = new ProcessExecutor({
      clock: systemClock,
      scratchRoot,
      killGraceMs: KILL_GRACE_MS,
      sandbox,
    });
    return Promise.resolve({
      executor,
      spec: hostSpec,
      leftovers: () => hostRunLeftovers(scratchRoot),
      close: () => executor.close(),
      destroy: () => rmSync(dir, { recursive: true, force: true }),
    });
  },
};

/** Pids of this process's children running the launcher. */
function launcherPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (fields[0] !== 'Z' && Number(fields[1]) === process.pid && cmdline.includes('launcher-process.js'))
        pids.push(Number(name));
    } catch {
      continue; // it exited while we looked
    }
  }
  return pids;
}

const launcherFactory: ExecutorFactory = {
  name: 'launcher',
  ...hostCommands,
  create() {
    const { dir, scratchRoot } = scratchDir();
    const executor = new LauncherExecutor({ scratchRoot, killGraceMs: KILL_GRACE_MS, sandbox });
    let closed = false;
    return Promise.resolve({
      executor,
      spec: hostSpec,
      leftovers: () => [
        ...hostRunLeftovers(scratchRoot),
        ...(closed ? launcherPids().map((pid) => `launcher process ${pid}`) : []),
      ],
      close: async () => {
        closed = true;
        await executor.close();
      },
      destroy: () => rmSync(dir, { recursive: true, force: true }),
    });
  },
};

const IMAGE_DIGEST = `sha256:${'0'.repeat(64)}`;

function runcFactory(skip: false | string): ExecutorFactory {
  return {
    name: 'runc',
    skip,
    reportsOomKill: true,
    reportsProcessGroup: false,
    imageDigest: IMAGE_DIGEST,
    environmentOf(env) {
      // The image's env under the run's, and HOME, which runc sets from the user's /etc/passwd entry.
      const image = Object.fromEntries(BUSYBOX_CONFIG.env.map((entry) => entry.split('=', 2)));
      return { ...image, HOME: '/root', ...env };
    },
    async create() {
      const fixture = containerFixture({ killGraceMs: KILL_GRACE_MS });
      await fixture.executor.removeOrphans();
      return {
        executor: fixture.executor,
        spec: (argv, overrides = {}) =>
          executionSpec(argv, {
            runId: uniqueRunId(),
            image: 'registry.test/busybox:1',
            env: {},
            memoryMb: 128,
            ...overrides,
          }),
        leftovers() {
          const left: string[] = [];
          const listed = execFileSync('runc', ['--root', fixture.stateRoot, 'list', '--quiet'], {
            encoding: 'utf8',
          });
          for (const id of listed.split('\n')) if (id !== '') left.push(`container ${id}`);
          for (const name of readdirSync(fixture.bundleRoot)) left.push(`bundle ${name}`);
          const memoryParent = `/sys/fs/cgroup/memory${fixture.cgroupParent}`;
          if (existsSync(memoryParent)) {
            for (const entry of readdirSync(memoryParent, { withFileTypes: true }))
              if (entry.isDirectory()) left.push(`memory cgroup ${entry.name}`);
          }
          if (fixture.images.pinned !== 0) left.push(`${fixture.images.pinned} image pins`);
          for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n'))
            if (line.includes(fixture.bundleRoot)) left.push(`mount ${line}`);
          return left;
        },
        close: () => fixture.executor.close(),
        destroy: () => fixture.cleanup(),
      };
    },
  };
}

const selected = process.env['HOURGLASS_TEST_EXECUTORS']?.split(',').map((name) => name.trim());
const wanted = (name: string): boolean => selected === undefined || selected.includes(name);

const factories: ExecutorFactory[] = [];
if (wanted('process')) factories.push(processFactory);
if (wanted('launcher')) factories.push(launcherFactory);
if (wanted('runc')) {
  const what = 'runc and busybox-static as root';
  if (selected?.includes('runc') && !CAN_RUN_CONTAINERS)
    throw new Error(`HOURGLASS_TEST_EXECUTORS names runc, but ${what} is not available`);
  factories.push(runcFactory(skipUnless(CAN_RUN_CONTAINERS, what)));
}

export const EXECUTOR_FACTORIES: readonly ExecutorFactory[] = factories;
