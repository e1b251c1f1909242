// A hostile job in a container: what it sees of itself (no capabilities, no new privileges, seccomp), what it
// cannot do (a nested user namespace), what it cannot see (host processes and files, other runs, any network),
// and the limits that stop it (memory, pids, /tmp, timeout), each leaving nothing behind.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RuncExecutor } from '../../src/adapters/container/runc-executor.js';
import {
  CAN_RUN_CONTAINERS,
  containerFixture,
  type ContainerFixture,
} from '../support/container-fixtures.js';
import { captureExecution, executionSpec } from '../support/executor-fixtures.js';
import { skipUnless } from '../support/required-services.js';

const CHILD = fileURLToPath(new URL('../support/container-orphan-child.js', import.meta.url));

function shell(script: string, overrides: Parameters<typeof executionSpec>[1] = {}) {
  return executionSpec(['/bin/sh', '-c', script], {
    runId: `run_c${Math.random().toString(36).slice(2, 10)}`,
    image: 'registry.test/busybox:1',
    env: {},
    memoryMb: 128,
    ...overrides,
  });
}

describe(
  'a container run',
  { skip: skipUnless(CAN_RUN_CONTAINERS, 'runc and busybox-static as root') },
  () => {
    let fixture: ContainerFixture;
    let hostListener: Server;
    let hostPort = 0;

    before(async () => {
      fixture = containerFixture();
      await fixture.executor.removeOrphans();
      hostListener = createServer((socket) => socket.end('host loopback\n'));
      await new Promise<void>((resolve) => hostListener.listen(0, '127.0.0.1', resolve));
      hostPort = (hostListener.address() as { port: number }).port;
    });
    after(() => {
      hostListener?.close();
      fixture?.cleanup();
    });

    /** Nothing of the run is left: no container in runc's root, no bundle, no cgroup, no pin on the image. */
    function assertNothingLeft(): void {
      assert.equal(
        execFileSync('runc', ['--root', fixture.stateRoot, 'list', '--quiet'], { encoding: 'utf8' }),
        '',
      );
      assert.deepEqual(readdirSync(fixture.bundleRoot), []);
      const memoryParent = `/sys/fs/cgroup/memory${fixture.cgroupParent}`;
      const left = existsSync(memoryParent)
        ? readdirSync(memoryParent, { withFileTypes: true }).filter((e) => e.isDirectory())
        : [];
      assert.deepEqual(left, []);
      assert.equal(fixture.images.pinned, 0);
      assert.doesNotMatch(execFileSync('mount', { encoding: 'utf8' }), new RegExp(fixture.bundleRoot));
    }
    it('has no capabilities, no new privileges and the seccomp filter; a nested user namespace fails', async () => {
      const run = await captureExecution(
        fixture.executor,
        shell(
          'grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; unshare -U -r true && echo UNSHARED; id -u',
        ),
      );
      assert.match(run.stdout, /^CapPrm:\s+0000000000000000$/m);
      assert.match(run.stdout, /^CapEff:\s+0000000000000000$/m);
      assert.match(run.stdout, /^CapBnd:\s+0000000000000000$/m);
      assert.match(run.stdout, /^NoNewPrivs:\s+1$/m);
      assert.match(run.stdout, /^Seccomp:\s+2$/m);
      assert.doesNotMatch(run.stdout, /UNSHARED/);
      assert.match(run.stderr, /unshare.*Operation not permitted/);
    });

    it('is root only inside: its uid 0 is an unprivileged uid of the host', async () => {
      const run = await captureExecution(fixture.executor, shell('cat /proc/self/uid_map'));
      assert.match(run.stdout.trim(), /^0\s+100000\s+65536$/);
    });

    it('sees only its own processes, not the host’s files, nor another run’s files', async () => {
      const marker = join(fixture.dir, 'host-secret');
      writeFileSync(marker, 'host secret');
      const slow = captureExecution(
        fixture.executor,
        shell('echo mine > /tmp/own; echo x > /own-root; sleep 2'),
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const run = await captureExecution(
        fixture.executor,
        shell(
          `ps -o pid,args | wc -l; ls /tmp /own-root 2>&1; cat ${marker} 2>&1; ls /proc | grep -c '^[0-9]'`,
        ),
      );
      await slow;
      const [psLines] = run.stdout.split('\n');
      assert.equal(Number(psLines), 4, run.stdout); // header, sh, ps, wc
      assert.match(run.stdout, /\/own-root: No such file or directory/);
      assert.doesNotMatch(run.stdout, /mine|host secret/);
    });

    it('has no network in mode none: not even the host’s loopback', async () => {
      const run = await captureExecution(
        fixture.executor,
        shell(
          `ip -o addr | grep -v ' lo ' | wc -l; echo | nc -w 2 127.0.0.1 ${hostPort} && echo CONNECTED; cat /proc/net/route | wc -l`,
        ),
      );
      assert.doesNotMatch(run.stdout, /CONNECTED|host loopback/);
      const [addresses, routes] = run.stdout.trim().split('\n');
      assert.equal(addresses, '0');
      assert.equal(routes, '1'); // the header only
    });

    it('contains a fork bomb by its pids limit, and the run ends at its timeout', async () => {
      const run = await captureExecution(
        fixture.executor,
        shell('bomb() { bomb | bomb & }; bomb; sleep 1; ls /proc | grep -c "^[0-9]"', { timeoutMs: 5000 }),
      );
      assert.ok(['timed_out', 'failed', 'succeeded'].includes(run.result.outcome));
      const counted = Number(/^(\d+)$/m.exec(run.stdout)?.[1] ?? 0);
      assert.ok(counted <= 512 + 1, `${counted} processes`);
      assertNothingLeft();
    });

    it('gets ENOSPC writing past its /tmp cap', async () => {
      const run = await captureExecution(
        fixture.executor,
        shell('dd if=/dev/zero of=/tmp/fill bs=1M count=300; echo status=$?', { memoryMb: 1024 }),
      );
      assert.match(run.stderr, /No space left on device/);
      assert.match(run.stdout, /status=1/);
    });

    it('removes the containers, bundles and cgroups a SIGKILLed worker left', async () => {
      const orphan = containerFixture();
      try {
        const worker = spawn(
          process.execPath,
          [CHILD, orphan.stateRoot, orphan.bundleRoot, orphan.rootfs, orphan.cgroupParent],
          { stdio: ['ignore', 'pipe', 'inherit'] },
        );
        await new Promise<void>((resolve, reject) => {
          worker.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('running') && resolve());
          worker.once('exit', () => reject(new Error('the worker ended before its run started')));
        });
        worker.kill('SIGKILL');
        await new Promise((resolve) => worker.once('exit', resolve));
        // The container outlives its worker: it is still running, bundle mounted.
        const listed = execFileSync('runc', ['--root', orphan.stateRoot, 'list', '--quiet'], {
          encoding: 'utf8',
        });
        assert.equal(listed.trim(), 'run_orphan-1');
        const restarted = new RuncExecutor(orphan.executorOptions);
        assert.deepEqual(await restarted.removeOrphans(), ['run_orphan-1']);
        assert.equal(
          execFileSync('runc', ['--root', orphan.stateRoot, 'list', '--quiet'], { encoding: 'utf8' }),
          '',
        );
        assert.deepEqual(readdirSync(orphan.bundleRoot), []);
        assert.equal(existsSync(`/sys/fs/cgroup/memory${orphan.cgroupParent}/run_orphan-1`), false);
        assert.doesNotMatch(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }), /^sleep 600$/m);
      } finally {
        orphan.cleanup();
      }
    });
  },
);
