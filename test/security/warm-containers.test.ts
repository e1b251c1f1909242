// Warm containers and gated starts, with runc: a run that takes a warm container (or whose container was
// created ahead) gets exactly what a container made for it would — its env, argv, the image's own files, its
// memory limit — and nothing of any run before it, whichever tenant's; a warm container never taken leaves
// nothing behind.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RuncExecutor } from '../../src/adapters/container/runc-executor.js';
import { DEFAULT_CONTAINER_ID_MAP } from '../../src/ports/images.js';
import {
  CAN_RUN_CONTAINERS,
  containerFixture,
  type ContainerFixture,
} from '../support/container-fixtures.js';
import { captureExecution, executionSpec, type CapturedExecution } from '../support/executor-fixtures.js';
import { skipUnless } from '../support/required-services.js';

const ENV = { PATH: '/opt/bin:/bin', QUOTE: "it's", EXPAND: '$HOME `id` *' };
const HOSTILE_ARGS = ["it's", '$(touch /pwned)', '*', 'two\nlines', ''];

function spec(argv: string[], overrides: Parameters<typeof executionSpec>[1] = {}) {
  return executionSpec(argv, {
    runId: `run_w${Math.random().toString(36).slice(2, 10)}`,
    image: 'registry.test/busybox:1',
    env: ENV,
    memoryMb: 128,
    ...overrides,
  });
}

/** What a run sees (its argv and env, the files of its root and /tmp), as the tests compare them. */
const PROBE = [
  '/bin/sh',
  '-c',
  'for a in "$@"; do printf "[%s]" "$a"; done; echo; env | sort; ls /; cat /tmp/mark 2>&1; true',
  'probe',
  ...HOSTILE_ARGS,
];

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
  assert.ok(condition(), what);
}

describe(
  'warm containers and gated starts',
  { skip: skipUnless(CAN_RUN_CONTAINERS, 'runc and busybox-static as root') },
  () => {
    let fixture: ContainerFixture;
    let executor: RuncExecutor;
    let cold: CapturedExecution;

    /** Nothing is left: no container in runc's root, no bundle, no mount, no pin on the image. */
    function assertNothingLeft(): void {
      assert.equal(
        execFileSync('runc', ['--root', fixture.stateRoot, 'list', '--quiet'], { encoding: 'utf8' }),
        '',
      );
      assert.deepEqual(readdirSync(fixture.bundleRoot), []);
      assert.equal(fixture.images.pinned, 0);
      assert.doesNotMatch(execFileSync('mount', { encoding: 'utf8' }), new RegExp(fixture.bundleRoot));
    }

    before(async () => {
      fixture = containerFixture({ warmContainers: 2, warmIdleMs: 3_000 });
      executor = fixture.executor;
      await executor.removeOrphans();
      // The image's own `date`, which busybox's applet of that name must not stand in for.
      mkdirSync(join(fixture.rootfs, 'opt', 'bin'), { recursive: true });
      writeFileSync(join(fixture.rootfs, 'opt', 'bin', 'date'), '#!/bin/sh\necho "the image\'s own date"\n');
      chmodSync(join(fixture.rootfs, 'opt', 'bin', 'date'), 0o755);
      for (const path of ['opt', 'opt/bin', 'opt/bin/date'])
        chownSync(
          join(fixture.rootfs, path),
          DEFAULT_CONTAINER_ID_MAP.hostId,
          DEFAULT_CONTAINER_ID_MAP.hostId,
        );
      // The reference: a container made for its run, its command in config.json (no gate).
      const plain = containerFixture({ warmContainers: 0 });
      try {
        mkdirSync(join(plain.rootfs, 'opt', 'bin'), { recursive: true });
        writeFileSync(join(plain.rootfs, 'opt', 'bin', 'date'), '#!/bin/sh\necho "the image\'s own date"\n');
        chmodSync(join(plain.rootfs, 'opt', 'bin', 'date'), 0o755);
        cold = await captureExecution(plain.executor, spec(PROBE));
        // A command named like a busybox applet is the image's own file (the gate's busybox must not run it).
        const date = await captureExecution(plain.executor, spec(['date']));
        assert.equal(date.stdout, "the image's own date\n", date.stderr);
      } finally {
        plain.cleanup();
      }
      assert.equal(cold.result.outcome, 'succeeded', cold.stderr);
    });
    after(async () => {
      await executor?.close();
      fixture?.cleanup();
    });

    it('gives a run in a container created ahead exactly what a container made at its time gets', async () => {
      const ahead = await captureExecution(executor, spec(PROBE, { startAt: Date.now() + 700 }));
      assert.equal(ahead.result.outcome, 'succeeded', ahead.stderr);
      assert.equal(ahead.stdout, cold.stdout);
      assert.equal(ahead.stderr, cold.stderr);
      const date = await captureExecution(executor, spec(['date'], { startAt: Date.now() + 700 }));
      assert.equal(date.stdout, "the image's own date\n", date.stderr);
    });

    it('hands a hot image’s next run a warm container, with nothing of the runs before it', async () => {
      // A first run of the key makes none; the second makes one for the next. Each leaves a mark in its files.
      const mark = 'echo secret of $HOURGLASS_TENANT > /tmp/mark; echo x > /mark';
      for (const tenantId of ['tenant_a', 'tenant_a']) {
        const run = await captureExecution(executor, spec(['/bin/sh', '-c', mark], { tenantId }));
        assert.equal(run.result.outcome, 'succeeded', run.stderr);
      }
      await waitFor(() => executor.warmUsage().ready === 1, 'a warm container waits');
      const before = executor.warmUsage().taken;
      const date = await captureExecution(executor, spec(['date'], { tenantId: 'tenant_b' }));
      assert.equal(date.stdout, "the image's own date\n", date.stderr);
      assert.equal(executor.warmUsage().taken, before + 1, 'the run took the warm container');
      await waitFor(() => executor.warmUsage().ready === 1, 'another warm container waits');
      // Another tenant's run of the same image takes it: it sees its own env and argv, and no mark.
      const warm = await captureExecution(executor, spec(PROBE, { tenantId: 'tenant_b' }));
      assert.equal(executor.warmUsage().taken, before + 2, 'the run took the warm container');
      assert.equal(warm.result.outcome, 'succeeded', warm.stderr);
      assert.equal(warm.stdout, cold.stdout);
      assert.doesNotMatch(warm.stdout, /secret|mark\n/);
    });

    it('keeps a warm container to its memory limit, and gives another limit none', async () => {
      for (let i = 0; i < 2; i++) await captureExecution(executor, spec(['true'], { memoryMb: 64 }));
      await waitFor(() => executor.warmUsage().ready >= 1 && executor.warmUsage().making === 0, 'warm');
      const taken = executor.warmUsage().taken;
      const oom = await captureExecution(
        executor,
        spec(['/bin/sh', '-c', 'exec dd if=/dev/zero of=/dev/null bs=300M count=1'], { memoryMb: 64 }),
      );
      assert.equal(executor.warmUsage().taken, taken + 1);
      assert.equal(oom.result.outcome, 'oom_killed', `${oom.stdout} ${oom.stderr}`);
      const other = await captureExecution(executor, spec(['true'], { memoryMb: 96 }));
      assert.equal(other.result.outcome, 'succeeded');
      assert.equal(executor.warmUsage().taken, taken + 1, 'a 96 MB run takes no 64 MB container');
    });

    it('is cancelled at its gate, running nothing, when its run is cancelled before its start', async () => {
      for (let i = 0; i < 2; i++) await captureExecution(executor, spec(['true'], { memoryMb: 32 }));
      await waitFor(() => executor.warmUsage().making === 0, 'warm');
      const taken = executor.warmUsage().taken;
      const controller = new AbortController();
      const running = captureExecution(
        executor,
        spec(['/bin/sh', '-c', 'echo ran > /dev/stderr'], { memoryMb: 32, startAt: Date.now() + 60_000 }),
        controller.signal,
      );
      setTimeout(() => controller.abort(), 300);
      const run = await running;
      assert.equal(executor.warmUsage().taken, taken + 1);
      assert.deepEqual(
        [run.result.outcome, run.result.reason, run.stderr],
        ['cancelled', 'cancelled before start', ''],
      );
    });

    it('discards warm containers not taken within the idle time, and at close, leaving nothing', async () => {
      await waitFor(() => executor.warmUsage().ready === 0, 'idle ones discarded');
      await waitFor(() => readdirSync(fixture.bundleRoot).length === 0, 'their bundles removed');
      assertNothingLeft();
      for (let i = 0; i < 2; i++) await captureExecution(executor, spec(['true']));
      await waitFor(() => executor.warmUsage().ready === 1, 'a warm container waits');
      assert.equal(readdirSync(fixture.bundleRoot).length, 1);
      await executor.close();
      assertNothingLeft();
      assert.equal(existsSync(join(fixture.rootfs, 'pwned')), false);
    });
  },
);
