// First start: a first start that fails (the port taken) does not burn the generated keys: the next start
// prints the same ones, from the 0600 credentials file. With an operator's admin key no `default` tenant is
// created and no tenant key printed.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, ServerProcess, type CliResult } from '../support/server-process.js';

const CREDENTIALS = 'first-start-credentials.txt';

describe('first start', () => {
  it('keeps the generated keys when the port is taken, and the next start prints the same ones', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-first-start-'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as AddressInfo).port;
    let failed: CliResult;
    try {
      failed = await runCli(['server', '--port', String(port), '--data-dir', dataDir], {
        ...process.env,
        HOURGLASS_ADMIN_KEY: '',
        HOURGLASS_LOG_LEVEL: 'warn',
      });
    } finally {
      await new Promise((r) => taken.close(r));
    }
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, new RegExp(`127.0.0.1:${port} is already in use.*--port`));
    assert.doesNotMatch(failed.stdout, /hg_/, 'nothing printed by a start that failed');
    const file = join(dataDir, CREDENTIALS);
    assert.equal((statSync(file).mode & 0o777).toString(8), '600');
    const saved = readFileSync(file, 'utf8');
    const adminKey = /^HOURGLASS_ADMIN_KEY=(hg_\S+)$/m.exec(saved)?.[1] ?? '';
    const tenantKey = /^HOURGLASS_API_KEY=(hg_\S+)$/m.exec(saved)?.[1] ?? '';
    assert.ok(adminKey !== '' && tenantKey !== '', saved);

    const server = await ServerProcess.start({ dataDir, generatedAdminKey: true });
    try {
      assert.equal(server.adminKey, adminKey, 'the same admin key is printed');
      assert.match(server.output.stdout, /tenant "default" \(ten_\w+\) key: (hg_\S+)/);
      assert.match(server.output.stdout, new RegExp(`key: ${tenantKey}\\n`));
      assert.match(server.output.stdout, new RegExp(`until you remove ${file}`));
      assert.equal((await server.request('GET', '/v1/tenants', { key: adminKey })).status, 200);
      assert.equal((await server.request('GET', '/v1/jobs', { key: tenantKey })).status, 200);
      const tenants = (await server.request('GET', '/v1/tenants', { key: adminKey })).body.items;
      assert.deepEqual(
        tenants.map((t: { name: string }) => t.name),
        ['default'],
        'one default tenant, not a second one',
      );
    } finally {
      await server.stop({ cleanup: true });
    }
  });

  for (const via of ['HOURGLASS_ADMIN_KEY', 'a key file'] as const) {
    it(`creates no default tenant and prints no key with an operator's admin key (${via})`, async () => {
      const server = await ServerProcess.start({ adminKeyFile: via === 'a key file' });
      try {
        assert.doesNotMatch(server.output.stdout, /hg_|tenant "default"/);
        assert.ok(!existsSync(join(server.dataDir, CREDENTIALS)), 'no credentials file');
        const tenants = await server.request('GET', '/v1/tenants', { key: server.adminKey });
        assert.equal(tenants.status, 200);
        assert.deepEqual(tenants.body.items, []);
      } finally {
        await server.stop({ cleanup: false });
      }
      // A later start without the key generates nothing either: the store was bootstrapped by the operator.
      const again = await ServerProcess.start({ dataDir: server.dataDir, env: { HOURGLASS_ADMIN_KEY: '' } });
      try {
        assert.doesNotMatch(again.output.stdout, /hg_/);
        assert.ok(!existsSync(join(server.dataDir, CREDENTIALS)));
        const tenants = await again.request('GET', '/v1/tenants', { key: server.adminKey });
        assert.deepEqual(tenants.body.items, [], 'the operator key still works and no tenant appeared');
      } finally {
        await again.stop({ cleanup: true });
      }
    });
  }

  it('prints no key from a credentials file once an operator key is given, and revokes its admin key', async () => {
    const first = await ServerProcess.start({ generatedAdminKey: true });
    const generated = first.adminKey;
    await first.stop({ cleanup: false });
    const operated = await ServerProcess.start({ dataDir: first.dataDir });
    try {
      assert.doesNotMatch(operated.output.stdout, /hg_/);
      assert.match(operated.output.stdout, /holds first-start credentials: store the tenant key elsewhere/);
      assert.equal((await operated.request('GET', '/v1/tenants', { key: generated })).status, 401);
      assert.equal((await operated.request('GET', '/v1/tenants', { key: operated.adminKey })).status, 200);
    } finally {
      await operated.stop({ cleanup: true });
    }
  });
});
