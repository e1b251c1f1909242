// Registry logins through the real server: put, list, delete; hosts validated and normalised; tenant B can
// neither see, overwrite nor delete tenant A's login (the same host is a login of each); the per-tenant limit;
// a malformed job image is refused at the API; and the password in no answer, not in the server's log output, and not as plaintext anywhere in the SQLite
// files (database, WAL). The credentials key file is created 0600 in the data directory.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_REGISTRY_CREDENTIALS_PER_TENANT } from '../../src/core/registry-credential.js';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

const secretOf = (who: string) => `${who}-registry-password-${randomBytes(12).toString('hex')}`;

describe('registry logins API', () => {
  let server: ServerProcess;
  let alice: TestTenant;
  let bob: TestTenant;
  const alicePassword = secretOf('alice');
  const bobPassword = secretOf('bob');
  /** Every answer's text, to look for the passwords in. */
  const answers: string[] = [];

  const call = async (who: TestTenant, method: string, path: string, body?: unknown) => {
    const res = await server.request(method, path, { key: who.key, body });
    answers.push(res.text);
    return res;
  };

  before(async () => {
    // debug: the most the server ever logs.
    server = await ServerProcess.start({ env: { HOURGLASS_LOG_LEVEL: 'debug' } });
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
  });
  after(() => server.stop());

  it('creates (201), replaces (200) and lists a login, normalising the host, never with the password', async () => {
    const put = await call(alice, 'PUT', '/v1/registries/GHCR.io', { username: 'alice', password: 'old' });
    assert.equal(put.status, 201, put.text);
    assert.deepEqual(Object.keys(put.body).sort(), ['createdAt', 'host', 'updatedAt', 'username']);
    assert.equal(put.body.host, 'ghcr.io');
    const again = await call(alice, 'PUT', '/v1/registries/ghcr.io', {
      username: 'alice-robot',
      password: alicePassword,
    });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.createdAt, put.body.createdAt);
    const list = await call(alice, 'GET', '/v1/registries');
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.items.map((l: { host: string; username: string }) => [l.host, l.username]),
      [['ghcr.io', 'alice-robot']],
    );
    const ipv6 = await call(alice, 'PUT', `/v1/registries/${encodeURIComponent('[::1]:5000')}`, {
      username: 'a',
      password: alicePassword,
    });
    assert.equal(ipv6.status, 201, ipv6.text);
    assert.equal(ipv6.body.host, '[::1]:5000');
    const hub = await call(alice, 'PUT', '/v1/registries/index.docker.io', { username: 'a', password: 'x' });
    assert.deepEqual([hub.status, hub.body.host], [201, 'docker.io']);
  });

  it('refuses bad hosts, usernames and passwords with 400 naming the field', async () => {
    const login = { username: 'u', password: 'p' };
    for (const host of ['https:%2F%2Fghcr.io', 'ghcr.io%2Fteam', 'ghcr.io:99999', 'bad_host', '-x.io']) {
      const res = await call(alice, 'PUT', `/v1/registries/${host}`, login);
      assert.deepEqual([res.status, res.body.field], [400, 'host'], `${host}: ${res.text}`);
    }
    const cases: [unknown, string][] = [
      [{ username: '', password: 'p' }, 'username'],
      [{ username: 'a:b', password: 'p' }, 'username'],
      [{ username: 'u'.repeat(257), password: 'p' }, 'username'],
      [{ username: 'u', password: '' }, 'password'],
      [{ username: 'u', password: 'p'.repeat(4097) }, 'password'],
      [{ username: 'u', password: 'a\u0000b' }, 'password'],
      [{ username: 'u', password: 'a\nb' }, 'password'],
      [{ username: 'u' }, 'password'],
      [{ username: 'u', password: 'p', extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const res = await call(alice, 'PUT', '/v1/registries/ghcr.io', body);
      assert.deepEqual([res.status, res.body.field], [400, field], `${JSON.stringify(body)}: ${res.text}`);
    }
    const del = await call(alice, 'DELETE', '/v1/registries/bad_host');
    assert.deepEqual([del.status, del.body.field], [400, 'host']);
  });

  it('keeps tenants apart: B cannot see, overwrite or delete A’s login; the same host is one of each', async () => {
    const seen = await call(bob, 'GET', '/v1/registries');
    assert.deepEqual([seen.status, seen.body.items], [200, []]);
    const gone = await call(bob, 'DELETE', '/v1/registries/ghcr.io');
    assert.deepEqual([gone.status, gone.body.code], [404, 'not_found']);
    const own = await call(bob, 'PUT', '/v1/registries/ghcr.io', { username: 'bob', password: bobPassword });
    assert.equal(own.status, 201, 'B’s login for the same host is a new one of its own');
    const aliceList = await call(alice, 'GET', '/v1/registries');
    const aliceGhcr = aliceList.body.items.find((l: { host: string }) => l.host === 'ghcr.io');
    assert.equal(aliceGhcr.username, 'alice-robot', 'B’s put changed A’s login');
    assert.equal((await call(bob, 'DELETE', '/v1/registries/ghcr.io')).status, 204);
    const stillThere = await call(alice, 'GET', '/v1/registries');
    assert.ok(
      stillThere.body.items.some((l: { host: string }) => l.host === 'ghcr.io'),
      'B deleted A’s',
    );
    assert.equal((await call(bob, 'DELETE', '/v1/registries/ghcr.io')).status, 404);
    // The admin key manages tenants, not their logins.
    const admin = await server.request('GET', '/v1/registries', { key: server.adminKey });
    assert.deepEqual([admin.status, admin.body.code], [403, 'forbidden']);
  });

  it('deletes a login (204, then 404)', async () => {
    assert.equal((await call(alice, 'DELETE', '/v1/registries/docker.io')).status, 204);
    const again = await call(alice, 'DELETE', '/v1/registries/docker.io');
    assert.deepEqual([again.status, again.body.code, again.body.field], [404, 'not_found', 'host']);
  });

  it(`keeps at most ${MAX_REGISTRY_CREDENTIALS_PER_TENANT} logins per tenant`, async () => {
    const carol = await server.createTenant('carol');
    for (let i = 0; i < MAX_REGISTRY_CREDENTIALS_PER_TENANT; i++) {
      const res = await call(carol, 'PUT', `/v1/registries/r${i}.example.com`, {
        username: 'c',
        password: 'p',
      });
      assert.equal(res.status, 201, res.text);
    }
    const over = await call(carol, 'PUT', '/v1/registries/one-more.example.com', {
      username: 'c',
      password: 'p',
    });
    assert.deepEqual([over.status, over.body.code], [422, 'plan_limit_exceeded']);
    const replace = await call(carol, 'PUT', '/v1/registries/r0.example.com', {
      username: 'c2',
      password: 'p',
    });
    assert.equal(replace.status, 200, 'replacing one at the limit is allowed');
  });

  it('refuses a malformed job image reference with 400 naming image', async () => {
    for (const image of [
      'Bad Image!',
      'ghcr.io/Team/app',
      'app:bad tag',
      'app@sha256:123',
      'bad_host:5000/app',
    ]) {
      const res = await call(alice, 'POST', '/v1/jobs', { name: 'imaged', image });
      assert.deepEqual([res.status, res.body.field], [400, 'image'], `${image}: ${res.text}`);
    }
    const ok = await call(alice, 'POST', '/v1/jobs', { name: 'imaged', image: 'ghcr.io/team/app:1' });
    assert.equal(ok.status, 201, ok.text);
    const patch = await call(alice, 'PATCH', '/v1/jobs/imaged', { image: 'UPPER/case' });
    assert.deepEqual([patch.status, patch.body.field], [400, 'image']);
  });

  it('shows a host command’s run with imageDigest null', async () => {
    await server.create(alice.key, '/v1/jobs', { name: 'hello', command: ['true'] });
    const run = await server.create(alice.key, '/v1/jobs/hello/runs', {});
    const done = await server.waitForRun(alice.key, run.id);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.imageDigest, null);
  });

  it('leaves the passwords in no answer, no log line and no SQLite file as plaintext', async () => {
    await server.stop({ cleanup: false });
    for (const password of [alicePassword, bobPassword]) {
      for (const text of answers) assert.ok(!text.includes(password), `an answer shows a password: ${text}`);
      assert.ok(!server.output.stderr.includes(password), 'the server log shows a password');
      assert.ok(!server.output.stdout.includes(password), 'the server output shows a password');
      for (const file of ['hourglass.db', 'hourglass.db-wal', 'hourglass.db-shm']) {
        const path = join(server.dataDir, file);
        if (!existsSync(path)) continue;
        const bytes = readFileSync(path);
        assert.ok(!bytes.includes(Buffer.from(password)), `${file} holds a password in plaintext`);
      }
    }
    // The usernames are stored readable (they are listed): the file really was searched.
    const db = Buffer.concat(
      ['hourglass.db', 'hourglass.db-wal']
        .map((f) => join(server.dataDir, f))
        .filter(existsSync)
        .map((p) => readFileSync(p)),
    );
    assert.ok(db.includes(Buffer.from('alice-robot')));
    const key = statSync(join(server.dataDir, 'registry-credentials.key'));
    assert.equal(key.mode & 0o777, 0o600);
    assert.match(readFileSync(join(server.dataDir, 'registry-credentials.key'), 'utf8'), /^[0-9a-f]{64}\n$/);
  });
});
