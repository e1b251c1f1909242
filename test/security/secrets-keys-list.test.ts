// `GET /v1/keys` and `hourglass keys list`: admin only, as every admin route (a tenant key gets 403), and
// never a secret, a hash or a piece of one. A key's last use is recorded when it authenticates, to the
// minute: a second use within the minute writes nothing.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { runCli, ServerProcess, type TestTenant } from '../support/server-process.js';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describe('keys list', () => {
  let server: ServerProcess;
  let alice: TestTenant;
  let bob: TestTenant;
  let secrets: string[];

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
    const spare = await server.request('POST', `/v1/tenants/${alice.id}/keys`, {
      key: server.adminKey,
      body: { name: 'spare' },
    });
    await server.request('DELETE', `/v1/keys/${spare.body.id}`, { key: server.adminKey });
    secrets = [server.adminKey, alice.key, bob.key, spare.body.key];
  });
  after(() => server.stop());

  /** Fails if any secret, its hash or its display prefix is anywhere in `text`. */
  const assertNoSecrets = (text: string): void => {
    for (const secret of secrets) {
      assert.ok(!text.includes(secret), 'a secret is shown');
      assert.ok(!text.includes(sha256(secret)), 'a hash is shown');
      assert.ok(!text.includes(secret.slice(0, 9)), 'a prefix of a secret is shown');
    }
  };

  it('lists every key for the admin with its id, name, scope, tenant and times, and no secret', async () => {
    const listed = await server.request('GET', '/v1/keys', { key: server.adminKey });
    assert.equal(listed.status, 200);
    assertNoSecrets(listed.text);
    const items = listed.body.items as Record<string, unknown>[];
    assert.equal(items.length, 4);
    for (const item of items) {
      assert.deepEqual(Object.keys(item).sort(), [
        'createdAt',
        'id',
        'lastUsedAt',
        'name',
        'revokedAt',
        'scope',
        'tenantId',
      ]);
    }
    const admin = items.find((k) => k['scope'] === 'admin');
    assert.equal(admin?.['tenantId'], null);
    assert.equal(admin?.['name'], 'HOURGLASS_ADMIN_KEY');
    assert.ok(typeof admin?.['lastUsedAt'] === 'string', 'the admin key was used by this very request');
    const spare = items.find((k) => k['name'] === 'spare');
    assert.ok(typeof spare?.['revokedAt'] === 'string', 'a revoked key is listed as revoked');
  });

  it('records a key’s last use once a minute at most, and filters by tenant', async () => {
    const before = await server.request('GET', `/v1/keys?tenantId=${bob.id}`, { key: server.adminKey });
    assert.deepEqual(
      before.body.items.map((k: { id: string; lastUsedAt: string | null }) => [k.id, k.lastUsedAt]),
      [[bob.keyId, null]],
      'only bob’s key, never used',
    );
    assert.equal((await server.request('GET', '/v1/jobs', { key: bob.key })).status, 200);
    const first = await server.request('GET', `/v1/keys?tenantId=${bob.id}`, { key: server.adminKey });
    const usedAt = first.body.items[0].lastUsedAt as string;
    assert.ok(Date.parse(usedAt) > 0);
    assert.equal((await server.request('GET', '/v1/jobs', { key: bob.key })).status, 200);
    const second = await server.request('GET', `/v1/keys?tenantId=${bob.id}`, { key: server.adminKey });
    assert.equal(second.body.items[0].lastUsedAt, usedAt, 'a use within the minute writes nothing');
  });

  it('is refused to tenant keys (403) and without a key (401), and 404s an unknown tenant', async () => {
    const asTenant = await server.request('GET', '/v1/keys', { key: alice.key });
    assert.equal(asTenant.status, 403);
    assert.match(asTenant.headers.get('content-type') ?? '', /application\/problem\+json/);
    assertNoSecrets(asTenant.text);
    const own = await server.request('GET', `/v1/keys?tenantId=${alice.id}`, { key: alice.key });
    assert.equal(own.status, 403, 'not even its own tenant’s keys');
    assert.equal((await server.request('GET', '/v1/keys')).status, 401);
    const unknown = await server.request('GET', '/v1/keys?tenantId=ten_nosuchtenant', {
      key: server.adminKey,
    });
    assert.equal(unknown.status, 404);
  });

  it('hourglass keys list prints a table and --json, without secrets', async () => {
    const env = { ...process.env, HOURGLASS_URL: server.url, HOURGLASS_ADMIN_KEY: server.adminKey };
    const table = await runCli(['keys', 'list', '--tenant', alice.id], env);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+NAME\s+SCOPE\s+TENANT\s+CREATED\s+LAST USED\s+REVOKED/);
    assert.match(table.stdout, new RegExp(`${alice.keyId}\\s+-\\s+tenant\\s+${alice.id}`));
    assert.match(table.stdout, /spare\s+tenant/);
    assertNoSecrets(table.stdout + table.stderr);
    const json = await runCli(['keys', 'list', '--json'], env);
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).items.length, 4);
    assertNoSecrets(json.stdout);
    const asTenant = await runCli(['keys', 'list'], {
      ...process.env,
      HOURGLASS_URL: server.url,
      HOURGLASS_API_KEY: alice.key,
    });
    assert.notEqual(asTenant.code, 0);
    assert.match(asTenant.stderr, /admin key/);
  });
});
