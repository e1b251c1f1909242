// The process executor's confinement on its own (no server): the memory cgroup per run (as root) kills a run
// over its limit, kills what escaped the run's process group when the run ends, and is removed; its scratch
// directory is the run's uid's; without a cgroup, the address-space rlimit makes an allocation past the limit
// fail (the run fails: the rlimit cannot tell an OOM apart, and says nothing it does not know).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findMemoryCgroupRoot } from '../../src/adapters/process/memory-cgroup.js';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { probeProcessSandbox, type ProcessSandbox } from '../../src/adapters/process/process-sandbox.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { ExecutionResult, ExecutionSpec } from '../../src/ports/executor.js';
import { IS_ROOT, skipUnless } from '../support/required-services.js';

const HAS_MEMORY_CGROUP_V1 = existsSync('/sys/fs/cgroup/memory/cgroup.procs');
const ALLOCATE_400MB = ['python3', '-c', 'b = bytearray(400 * 1024 * 1024); print("allocated", len(b))'];

function spec(argv: string[], memoryMb: number, startAt: number | null = null): ExecutionSpec {
  return {
    runId: `run_limits${Math.random().toString(36).slice(2)}`,
    attempt: 1,
    tenantId: 'tenant_test',
    argv,
    command: argv,
    args: [],
    registryCredentials: null,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
    image: null,
    memoryMb,
    timeoutMs: 20_000,
    startAt,
  };
}

async function execute(
  executor: ProcessExecutor,
  execution: ExecutionSpec,
): Promise<{ result: ExecutionResult; output: string }> {
  let output = '';
  const hooks = { onStarted: () => undefined, onOutput: (_s: string, c: Buffer) => (output += c.toString()) };
  const result = await executor.execute(execution, hooks, new AbortController().signal);
  return { result, output };
}

function withExecutor(sandbox: () => ProcessSandbox): { get(): ProcessExecutor; scratch(): string } {
  let executor: ProcessExecutor;
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hourglass-limits-'));
    executor = new ProcessExecutor({
      clock: systemClock,
      scratchRoot: join(dir, 'scratch'),
      killGraceMs: 200,
      sandbox: sandbox(),
    });
  });
  after(async () => {
    await executor.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { get: () => executor, scratch: () => join(dir, 'scratch') };
}

describe(
  'the memory cgroup per run',
  { skip: skipUnless(IS_ROOT && HAS_MEMORY_CGROUP_V1, 'root and a cgroup v1 memory controller') },
  () => {
    const executor = withExecutor(() => probeProcessSandbox({ runUidBase: 2_000_000_000 }));

    it('reports a run over its limit oom_killed, started now or at a deferred start', async () => {
      for (const startAt of [null, Date.now() + 300]) {
        const { result, output } = await execute(executor.get(), spec(ALLOCATE_400MB, 64, startAt));
        assert.equal(result.outcome, 'oom_killed', JSON.stringify(result));
        assert.doesNotMatch(output, /allocated/);
      }
      assert.equal(executor.get().isolation.memoryLimit, 'cgroup');
    });

    it('lets a run within its limit succeed', async () => {
      const { result, output } = await execute(
        executor.get(),
        spec(['python3', '-c', 'b = bytearray(32 * 1024 * 1024); print("allocated", len(b))'], 64),
      );
      assert.equal(result.outcome, 'succeeded', JSON.stringify(result));
      assert.match(output, /allocated 33554432/);
    });

    it('kills a process that left the run’s process group, and removes the cgroup', async () => {
      const root = findMemoryCgroupRoot() as string;
      const marker = `escaped-${Math.random().toString(36).slice(2)}`;
      // setsid: a new session and group, out of reach of the group kill; only the cgroup still holds it. The
      // run ends only once it has left the group (it wrote `ready`).
      const escape = `setsid sh -c 'echo > ready; exec python3 -c "import time; time.sleep(60)" ${marker}' > /dev/null 2>&1 < /dev/null &`;
      const { result } = await execute(
        executor.get(),
        spec(['sh', '-c', `${escape} while [ ! -e ready ]; do sleep 0.01; done`], 64),
      );
      assert.equal(result.outcome, 'succeeded');
      const survivors = readdirSync('/proc')
        .filter((name) => /^\d+$/.test(name))
        .filter((pid) => {
          try {
            return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
          } catch {
            return false;
          }
        });
      assert.deepEqual(survivors, []);
      assert.deepEqual(
        readdirSync(root).filter((name) => name.startsWith('run_limits')),
        [],
      );
      assert.deepEqual(readdirSync(executor.scratch()), []);
    });
  },
);

describe('the address-space rlimit (no cgroup: not root, or no cgroup v1)', () => {
  const executor = withExecutor(() => ({ runUsers: null, memory: { kind: 'address-space' } }));

  it('makes an allocation past the limit fail, and the run fails (not oom_killed: it cannot tell)', async () => {
    const { result, output } = await execute(executor.get(), spec(ALLOCATE_400MB, 64));
    assert.equal(result.outcome, 'failed', JSON.stringify(result));
    assert.match(output, /MemoryError/);
    assert.equal(executor.get().isolation.memoryLimit, 'address-space');
  });

  it('lets a run within its limit succeed, and still reports a missing command as such', async () => {
    const ok = await execute(executor.get(), spec(['python3', '-c', 'print(len(bytearray(16 << 20)))'], 128));
    assert.equal(ok.result.outcome, 'succeeded', JSON.stringify(ok.result));
    const missing = await execute(executor.get(), spec(['no-such-command-here'], 64));
    assert.equal(missing.result.reason, 'command not found: no-such-command-here');
  });
});
