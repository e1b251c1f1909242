// Jobs with an image, end to end through the API and the CLI of a real server: pulled from a registry on
// loopback (listed in HOURGLASS_INSECURE_REGISTRIES), run in runc containers, their limits enforced, and
// nothing left behind — not even after the server is SIGKILLed mid-run.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CAN_RUN_CONTAINERS } from '../support/container-fixtures.js';
import {
  buildBusyboxImage,
  buildPythonImage,
  HAS_IMAGE_TOOLS,
  startTestRegistry,
  type TestRegistry,
} from '../support/oci-fixtures.js';
import { skipUnless } from '../support/required-services.js';
import { runCli, ServerProcess, type TestTenant } from '../support/server-process.js';

const SUITE_SKIP = skipUnless(
  CAN_RUN_CONTAINERS && HAS_IMAGE_TOOLS,
  'runc, skopeo, umoci and docker-registry as root',
);

function containersOf(server: ServerProcess): string {
  return execFileSync('runc', ['--root', `${server.dataDir}.containers/runc`, 'list', '--quiet'], {
    encoding: 'utf8',
  });
}

/** The containers of runs: without the warm ones, which wait at their gate for a run not known yet. */
function runContainersOf(server: ServerProcess): string[] {
  return containersOf(server)
    .split('\n')
    .filter((id) => id !== '' && !id.startsWith('warm-'));
}

function sleepersAlive(marker: string): number {
  const out = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(marker)).length;
}

describe('jobs with an image', { skip: SUITE_SKIP }, () => {
  let registry: TestRegistry;
  let server: ServerProcess;
  let tenant: TestTenant;
  let python: string;
  let busybox: string;
  let pythonDigest: string;

  before(async () => {
    registry = await startTestRegistry();
    pythonDigest = await registry.push(await buildPythonImage(), 'lang/python:3.11');
    await registry.push(await buildBusyboxImage(), 'tools/busybox:1');
    python = `${registry.host}/lang/python:3.11`;
    busybox = `${registry.host}/tools/busybox:1`;
    server = await ServerProcess.start({ env: { HOURGLASS_INSECURE_REGISTRIES: registry.host } });
    // A tenant that may not run host commands: images are what every tenant may run.
    tenant = await server.createTenant('images', { allowHostCommands: false });
  });
  after(async () => {
    await server?.stop();
    await registry?.stop();
  });

  async function runImage(name: string, body: Record<string, unknown>): Promise<any> {
    await server.create(tenant.key, '/v1/jobs', { name, ...body });
    const run = await server.create(tenant.key, `/v1/jobs/${name}/runs`);
    return server.waitForRun(tenant.key, run.id, undefined, 60_000);
  }

  it('runs python3 in the Python image, with its output in the log', async () => {
    const run = await runImage('py', {
      image: python,
      command: ['python3', '-c', 'print("hello from", "python")'],
    });
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const logs = await server.request('GET', `/v1/runs/${run.id}/logs`, { key: tenant.key });
    assert.equal(logs.text, 'hello from python\n');
    assert.equal(run.imageDigest, pythonDigest);
  });

  it('runs Python threads and subprocesses under the seccomp profile (clone3 → ENOSYS, clone falls back)', async () => {
    const script = [
      'import subprocess, threading',
      'out = []',
      't = threading.Thread(target=lambda: out.append("thread ok")); t.start(); t.join()',
      'print(out[0])',
      'print(subprocess.run(["echo", "subprocess ok"], capture_output=True, text=True).stdout.strip())',
    ].join('\n');
    const run = await runImage('py-threads', { image: python, command: ['python3', '-c', script] });
    assert.equal(run.status, 'succeeded', JSON.stringify(run));
    const logs = await server.request('GET', `/v1/runs/${run.id}/logs`, { key: tenant.key });
    assert.equal(logs.text, 'thread ok\nsubprocess ok\n');
  });

  it('runs through the CLI: jobs create --image, run --wait', async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOURGLASS_URL: server.url, HOURGLASS_API_KEY: tenant.key };
    const created = await runCli(
      ['jobs', 'create', 'cli-py', '--image', python, '--', 'python3', '-c', 'print(6 * 7)'],
      env,
    );
    assert.equal(created.code, 0, created.stderr);
    const ran = await runCli(['run', 'cli-py', '--wait'], env);
    assert.equal(ran.code, 0, ran.stderr);
    assert.equal(ran.stdout, '42\n'); // run --wait prints the run's output
  });

  it('is oom_killed allocating 2 GiB under a 1 GiB limit, and the server lives on', async () => {
    const run = await runImage('hog', {
      image: python,
      command: ['python3', '-c', 'b = bytearray(2 * 1024 ** 3); print("allocated")'],
      resources: { memoryMb: 1024 },
    });
    assert.equal(run.status, 'oom_killed', JSON.stringify(run));
    assert.equal((await server.request('GET', '/healthz')).status, 200);
  });

  it('is timed_out for sleep 600 with a 5 s timeout, leaving no process or container', async () => {
    const run = await runImage('sleeper', { image: busybox, command: ['sleep', '600'], timeoutSeconds: 5 });
    assert.equal(run.status, 'timed_out');
    assert.deepEqual(runContainersOf(server), []);
    assert.equal(sleepersAlive('sleep 600'), 0);
  });

  it('fails an image that is not in the registry, naming it, without retrying', async () => {
    const run = await runImage('missing', {
      image: `${registry.host}/tools/nothing:1`,
      command: ['true'],
      retry: { maxAttempts: 3 },
    });
    assert.equal(run.status, 'failed');
    assert.match(run.reason, /tools\/nothing:1 was not found/);
    assert.equal(run.attempt, 1);
  });

  it('takes network egress only for image jobs, and fails it once where the operator did not enable it', async () => {
    const hostJob = await server.request('POST', '/v1/jobs', {
      key: tenant.key,
      body: { name: 'host-egress', command: ['true'], network: 'egress' },
    });
    assert.equal(hostJob.status, 400);
    assert.equal(hostJob.body.field, 'network');
    const bad = await server.request('POST', '/v1/jobs', {
      key: tenant.key,
      body: { name: 'bad-net', image: busybox, network: 'host' },
    });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /network/);
    const created = await server.create(tenant.key, '/v1/jobs', {
      name: 'wants-egress',
      image: busybox,
      command: ['true'],
      network: 'egress',
      retry: { maxAttempts: 3 },
    });
    assert.equal(created.network, 'egress');
    const run = await server.create(tenant.key, '/v1/jobs/wants-egress/runs');
    const ended = await server.waitForRun(tenant.key, run.id, undefined, 30_000);
    assert.equal(ended.status, 'failed');
    assert.match(ended.reason, /network egress is not enabled on this worker/);
    assert.equal(ended.attempt, 1);
    const plain = await server.request('GET', '/v1/jobs/py', { key: tenant.key });
    assert.equal(plain.body.network, 'none');
  });

  it('leaves nothing running when the server is SIGKILLed mid-run and restarted', async () => {
    await server.create(tenant.key, '/v1/jobs', {
      name: 'orphan',
      image: busybox,
      command: ['sleep', '601'],
      timeoutSeconds: 3600,
    });
    const run = await server.create(tenant.key, '/v1/jobs/orphan/runs');
    await server.waitForRun(tenant.key, run.id, ['running'], 30_000);
    // Running is recorded as runc is started; the container's process follows within moments.
    for (let i = 0; i < 100 && sleepersAlive('sleep 601') === 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(sleepersAlive('sleep 601'), 1);
    await server.stop({ kill: true, cleanup: false });
    assert.equal(sleepersAlive('sleep 601'), 1, 'the container outlives its worker');
    const dataDir = server.dataDir;
    server = await ServerProcess.start({ dataDir, env: { HOURGLASS_INSECURE_REGISTRIES: registry.host } });
    assert.equal(containersOf(server), '');
    assert.equal(sleepersAlive('sleep 601'), 0);
    tenant = await server.createTenant('images-after-restart', { allowHostCommands: false });
  });

  it('keeps a warm container for a hot image, and removes it when the server stops', async () => {
    await server.create(tenant.key, '/v1/jobs', { name: 'hot', image: busybox, command: ['true'] });
    for (let i = 0; i < 3; i++) {
      const run = await server.create(tenant.key, '/v1/jobs/hot/runs');
      assert.equal((await server.waitForRun(tenant.key, run.id, undefined, 30_000)).status, 'succeeded');
    }
    for (let i = 0; i < 100 && !/^warm-/m.test(containersOf(server)); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(containersOf(server), /^warm-[0-9a-f]+$/m);
    assert.deepEqual(runContainersOf(server), []);
    const dataDir = server.dataDir;
    await server.stop({ cleanup: false }); // SIGTERM: a graceful stop
    assert.equal(containersOf(server), '');
    server = await ServerProcess.start({ dataDir, env: { HOURGLASS_INSECURE_REGISTRIES: registry.host } });
  });
});

describe('a job with an image on a worker that cannot run containers', { skip: SUITE_SKIP }, () => {
  it('fails with the reason, never runs unisolated, and /readyz says why', async () => {
    const server = await ServerProcess.start({ args: ['--runtime-path', '/nonexistent/runc'] });
    try {
      const ready = await server.request('GET', '/readyz');
      assert.deepEqual(ready.body.isolation.containerRuntime, {
        runtime: 'runc',
        path: '/nonexistent/runc',
        version: null,
        available: false,
        reason: 'container runtime /nonexistent/runc not found',
      });
      const tenant = await server.createTenant('no-runc');
      await server.create(tenant.key, '/v1/jobs', {
        name: 'img',
        image: 'registry.example/x:1',
        command: ['true'],
        retry: { maxAttempts: 3 },
      });
      const created = await server.create(tenant.key, '/v1/jobs/img/runs');
      const run = await server.waitForRun(tenant.key, created.id);
      assert.equal(run.status, 'failed');
      assert.match(run.reason, /no container runtime on this worker/);
      assert.equal(run.attempt, 1);
    } finally {
      await server.stop();
    }
  });
});
