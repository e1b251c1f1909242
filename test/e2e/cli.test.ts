// The real `hourglass` binary against the real server: the five-minute tour of the README, and exit codes
// that scripts can rely on.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CLI, ServerProcess } from '../support/server-process.js';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

describe('hourglass CLI', () => {
  let server: ServerProcess;
  let env: Record<string, string>;

  function cli(...args: string[]): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env['PATH'] ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  before(async () => {
    server = await ServerProcess.start();
    const { key } = await server.createTenant('cli');
    env = { HOURGLASS_URL: server.url, HOURGLASS_API_KEY: key };
  });
  after(() => server.stop());

  it('creates a job and runs it with --wait, printing its output and status', async () => {
    const created = await cli('jobs', 'create', 'hello', '--', 'sh', '-c', 'echo "hello from hourglass"');
    assert.equal(created.code, 0, created.stderr);
    const run = await cli('run', 'hello', '--wait');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'hello from hourglass\n');
    assert.match(run.stderr, /succeeded/);
  });

  it('exits with the run’s outcome: 1 for failed, 124 for timed out', async () => {
    await cli('jobs', 'create', 'bad', '--', 'sh', '-c', 'echo broken >&2; exit 7');
    const failed = await cli('run', 'bad', '--wait');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /failed/);
    assert.match(failed.stderr, /7/);
    assert.equal(failed.stdout, 'broken\n');

    await cli('jobs', 'create', 'slow', '--timeout', '1', '--', 'sleep', '30');
    const slow = await cli('run', 'slow', '--wait');
    assert.equal(slow.code, 124, slow.stderr);
    assert.match(slow.stderr, /timed_out/);
  });

  it('follows logs live and lists, gets and cancels runs', async () => {
    await cli('jobs', 'create', 'count', '--', 'sh', '-c', 'for i in 1 2 3; do echo $i; sleep 0.1; done');
    const followed = await cli('run', 'count', '--follow');
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, '1\n2\n3\n');

    const list = await cli('runs', 'list', '--job', 'count', '--json');
    assert.equal(list.code, 0, list.stderr);
    const runs = JSON.parse(list.stdout);
    const items = Array.isArray(runs) ? runs : runs.items;
    assert.equal(items.length, 1);
    assert.equal(items[0].status, 'succeeded');

    const got = await cli('runs', 'get', items[0].id);
    assert.equal(got.code, 0);
    assert.match(got.stdout, /succeeded/);

    await cli('jobs', 'create', 'forever', '--', 'sleep', '60');
    const started = await cli('run', 'forever');
    const runId = started.stdout.trim();
    await server.waitForRun(env['HOURGLASS_API_KEY'] ?? '', runId, ['running']);
    const cancel = await cli('runs', 'cancel', runId);
    assert.equal(cancel.code, 0, cancel.stderr);
    const final = await server.waitForRun(env['HOURGLASS_API_KEY'] ?? '', runId);
    assert.equal(final.status, 'cancelled');
  });

  it('reports API errors without a stack trace, and bad usage with exit code 2', async () => {
    const missing = await cli('run', 'no-such-job', '--wait');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const usage = await cli('jobs', 'frobnicate');
    assert.equal(usage.code, 2);
    const badKey = await cli('jobs', 'list', '--api-key', 'hg_wrong');
    assert.equal(badKey.code, 1);
    assert.match(badKey.stderr, /unauthorized/);
  });

  it('manages tenants and keys with the admin key', async () => {
    const adminEnv = { HOURGLASS_URL: server.url, HOURGLASS_ADMIN_KEY: server.adminKey };
    const saved = env;
    env = adminEnv;
    try {
      const tenant = await cli('tenants', 'create', 'acme', '--json');
      assert.equal(tenant.code, 0, tenant.stderr);
      const tenantId = JSON.parse(tenant.stdout).id;
      const key = await cli('keys', 'create', '--tenant', tenantId);
      assert.equal(key.code, 0, key.stderr);
      assert.match(key.stdout.trim(), /^hg_/);
      env = { HOURGLASS_URL: server.url, HOURGLASS_API_KEY: key.stdout.trim() };
      assert.equal((await cli('jobs', 'list')).code, 0);
    } finally {
      env = saved;
    }
  });
});
