// Host commands are a privilege (`limits.allowHostCommands`): a tenant without it cannot create, change to,
// schedule or run a job without an image (403 naming the limit), only an admin can grant or take it, a run
// queued before it was taken fails at the worker, and a tenant stored before the limit existed does not have it.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, it } from 'node:test';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { bootstrap } from '../../src/server/bootstrap.js';
import { TenantService } from '../../src/services/tenant-service.js';
import { CLI, ServerProcess } from '../support/server-process.js';

type Tenant = { id: string; key: string; keyId: string };

function assertRefused(res: { status: number; body: any; text: string }, field: string): void {
  assert.equal(res.status, 403, res.text);
  assert.equal(res.body.code, 'forbidden');
  assert.equal(res.body.field, field);
  assert.match(res.body.detail, /limits\.allowHostCommands/);
}

describe('limits.allowHostCommands', () => {
  let server: ServerProcess;
  let plain: Tenant;

  before(async () => {
    server = await ServerProcess.start();
    plain = await server.createTenant('plain', { allowHostCommands: false });
  });
  after(() => server.stop());

  it('is off for a tenant created without it, and refuses its host-command jobs with 403', async () => {
    const tenant = await server.request('GET', '/v1/tenants', { key: server.adminKey });
    const created = await server.request('POST', '/v1/tenants', {
      key: server.adminKey,
      body: { name: 'defaults' },
    });
    assert.equal(created.body.limits.allowHostCommands, false);
    assert.equal(
      tenant.body.items.find((t: { id: string }) => t.id === plain.id).limits.allowHostCommands,
      false,
    );
    const job = { name: 'steal', command: ['sh', '-c', 'cat /proc/1/environ'] };
    assertRefused(await server.request('POST', '/v1/jobs', { key: plain.key, body: job }), 'image');
    // Nothing was created.
    assert.deepEqual((await server.request('GET', '/v1/jobs', { key: plain.key })).body.items, []);
    // A job with an image is the container runtime's: allowed.
    const image = await server.request('POST', '/v1/jobs', {
      key: plain.key,
      body: { name: 'boxed', image: 'alpine:3', command: ['true'] },
    });
    assert.equal(image.status, 201, image.text);
    // …and cannot be turned into a host command.
    assertRefused(
      await server.request('PATCH', '/v1/jobs/boxed', { key: plain.key, body: { image: null } }),
      'image',
    );
    assert.equal((await server.request('GET', '/v1/jobs/boxed', { key: plain.key })).body.image, 'alpine:3');
  });

  it('can be set by an admin only, never by the tenant itself', async () => {
    const self = await server.request('PATCH', `/v1/tenants/${plain.id}`, {
      key: plain.key,
      body: { limits: { allowHostCommands: true } },
    });
    assert.equal(self.status, 403, self.text);
    const own = await server.request('POST', '/v1/tenants', {
      key: plain.key,
      body: { name: 'mine', limits: { allowHostCommands: true } },
    });
    assert.equal(own.status, 403, own.text);
    // A job body cannot carry it either.
    const smuggled = await server.request('POST', '/v1/jobs', {
      key: plain.key,
      body: { name: 'smuggled', command: ['true'], limits: { allowHostCommands: true } },
    });
    assert.equal(smuggled.status, 400, smuggled.text);
    const listed = await server.request('GET', '/v1/tenants', { key: server.adminKey });
    assert.equal(
      listed.body.items.find((t: { id: string }) => t.id === plain.id).limits.allowHostCommands,
      false,
    );
  });

  it('once granted lets host commands run; taken away, refuses new runs and schedules and fails queued runs', async () => {
    const tenant = await server.createTenant('granted-later', { allowHostCommands: false });
    const grant = await server.request('PATCH', `/v1/tenants/${tenant.id}`, {
      key: server.adminKey,
      body: { limits: { allowHostCommands: true } },
    });
    assert.equal(grant.status, 200, grant.text);
    assert.equal(grant.body.limits.allowHostCommands, true);
    assert.equal(grant.body.limits.maxJobs, 1000); // the other limits kept their values
    const job = await server.request('POST', '/v1/jobs', {
      key: tenant.key,
      body: { name: 'hello', command: ['echo', 'hi'] },
    });
    assert.equal(job.status, 201, job.text);
    const ran = await server.request('POST', '/v1/jobs/hello/runs', { key: tenant.key, body: {} });
    assert.equal((await server.waitForRun(tenant.key, ran.body.id)).status, 'succeeded');
    // A run queued for later, then the privilege taken away before it starts.
    const runAt = new Date(Date.now() + 3000).toISOString();
    const later = await server.request('POST', '/v1/jobs/hello/runs', { key: tenant.key, body: { runAt } });
    assert.equal(later.status, 201, later.text);
    const revoke = await server.request('PATCH', `/v1/tenants/${tenant.id}`, {
      key: server.adminKey,
      body: { limits: { allowHostCommands: false } },
    });
    assert.equal(revoke.body.limits.allowHostCommands, false);
    assertRefused(await server.request('POST', '/v1/jobs/hello/runs', { key: tenant.key, body: {} }), 'job');
    assertRefused(
      await server.request('POST', '/v1/jobs/hello/schedules', { key: tenant.key, body: { every: '1h' } }),
      'job',
    );
    const failed = await server.waitForRun(tenant.key, later.body.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.reason, /limits\.allowHostCommands/);
    assert.equal(failed.startedAt, null); // nothing ran
  });
});

describe('hourglass tenants … --allow-host-commands', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
  });
  after(() => server.stop());

  const cli = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        env: {
          PATH: process.env['PATH'] ?? '',
          HOURGLASS_URL: server.url,
          HOURGLASS_API_KEY: server.adminKey,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('creates a tenant with the privilege, or without it by default, and changes it', async () => {
    const plain = await cli('tenants', 'create', 'cli-plain', '--json');
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(JSON.parse(plain.stdout).limits.allowHostCommands, false);
    const trusted = await cli('tenants', 'create', 'cli-trusted', '--allow-host-commands');
    assert.equal(trusted.code, 0, trusted.stderr);
    assert.match(trusted.stdout, /Host commands:\s+allowed/);
    const id = JSON.parse(plain.stdout).id as string;
    const granted = await cli('tenants', 'update', id, '--allow-host-commands', '--json');
    assert.equal(granted.code, 0, granted.stderr);
    assert.equal(JSON.parse(granted.stdout).limits.allowHostCommands, true);
    const denied = await cli('tenants', 'update', id, '--deny-host-commands', '--json');
    assert.equal(JSON.parse(denied.stdout).limits.allowHostCommands, false);
    const both = await cli('tenants', 'update', id, '--allow-host-commands', '--deny-host-commands');
    assert.equal(both.code, 2);
    assert.match(both.stderr, /cannot be given together/);
  });
});

describe('a tenant stored before limits.allowHostCommands existed', () => {
  it('reads without it, and its host-command jobs are refused', async () => {
    const first = await ServerProcess.start();
    const tenant = await first.createTenant('old');
    assert.equal(
      (await first.request('POST', '/v1/jobs', { key: tenant.key, body: { name: 'j', command: ['true'] } }))
        .status,
      201,
    );
    await first.stop({ cleanup: false });
    // What an older version stored: the limits without the new one.
    const db = new Database(`${first.dataDir}/hourglass.db`);
    const row = db.prepare('SELECT limits_json FROM tenants WHERE id = ?').get(tenant.id) as {
      limits_json: string;
    };
    const { allowHostCommands, ...older } = JSON.parse(row.limits_json) as Record<string, unknown>;
    assert.equal(allowHostCommands, true);
    db.prepare('UPDATE tenants SET limits_json = ? WHERE id = ?').run(JSON.stringify(older), tenant.id);
    db.close();

    const second = await ServerProcess.start({
      dataDir: first.dataDir,
      env: { HOURGLASS_ADMIN_KEY: first.adminKey },
    });
    try {
      const listed = await second.request('GET', '/v1/tenants', { key: first.adminKey });
      const old = listed.body.items.find((t: { id: string }) => t.id === tenant.id);
      assert.equal(old.limits.allowHostCommands, false);
      assertRefused(await second.request('POST', '/v1/jobs/j/runs', { key: tenant.key, body: {} }), 'job');
    } finally {
      await second.stop({ cleanup: true });
    }
  });
});

describe('the first-start default tenant', () => {
  it('may run host commands, so that the quick start works', async () => {
    const store = SqliteStore.open(':memory:');
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-bootstrap-'));
    try {
      const result = await bootstrap(store, new TenantService(store, systemClock), {
        configuredAdminKey: null,
        credentialsPath: join(dir, 'first-start-credentials.txt'),
        now: Date.now(),
      });
      assert.ok(result.credentials);
      const tenant = await store.getTenant(result.credentials.tenantId);
      assert.equal(tenant?.limits.allowHostCommands, true);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
