// `hourglass registries login|list|logout` against the real server: the password comes from stdin only (a
// --password flag is refused before any request), is never printed, and the login is listed and removed.
// Also `runs get` shows the run's image digest line.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { runCli, ServerProcess, type CliResult } from '../support/server-process.js';

describe('hourglass registries', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  const password = `cli-registry-pw-${randomBytes(8).toString('hex')}`;

  const cli = (args: string[], input?: string): Promise<CliResult> =>
    runCli(args, { PATH: process.env['PATH'] ?? '', ...env }, input);
  const noPassword = (result: CliResult): void => {
    assert.ok(!result.stdout.includes(password) && !result.stderr.includes(password), 'printed the password');
  };

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api,worker'] });
    const { key } = await server.createTenant('cli-registries');
    env = { HOURGLASS_URL: server.url, HOURGLASS_API_KEY: key };
  });
  after(() => server.stop());

  it('logs in with the password on stdin, lists the login and logs out', async () => {
    const login = await cli(
      ['registries', 'login', 'Registry.Example.com:5000', '--username', 'robot', '--password-stdin'],
      `${password}\n`,
    );
    assert.equal(login.code, 0, login.stderr);
    assert.equal(login.stdout, 'logged in to registry.example.com:5000 as robot\n');
    noPassword(login);
    const list = await cli(['registries', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^HOST\s+USERNAME\s+UPDATED\nregistry\.example\.com:5000\s+robot\s+\d{4}-/);
    noPassword(list);
    const json = await cli(['registries', 'list', '--json']);
    assert.deepEqual(
      JSON.parse(json.stdout).items.map((l: { host: string }) => l.host),
      ['registry.example.com:5000'],
    );
    const logout = await cli(['registries', 'logout', 'registry.example.com:5000']);
    assert.deepEqual([logout.code, logout.stdout], [0, 'logged out of registry.example.com:5000\n']);
    const again = await cli(['registries', 'logout', 'registry.example.com:5000']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /not_found, host/);
  });

  it('refuses a password on the command line, a missing --password-stdin and an empty stdin (exit 2)', async () => {
    const flag = await cli(['registries', 'login', 'ghcr.io', '--username', 'u', '--password', password]);
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /--password is not accepted/);
    const missing = await cli(['registries', 'login', 'ghcr.io', '--username', 'u'], password);
    assert.deepEqual([missing.code, /missing --password-stdin/.test(missing.stderr)], [2, true]);
    const empty = await cli(['registries', 'login', 'ghcr.io', '--username', 'u', '--password-stdin'], '');
    assert.deepEqual([empty.code, /no password on stdin/.test(empty.stderr)], [2, true]);
    const bad = await cli(
      ['registries', 'login', 'https://ghcr.io', '--username', 'u', '--password-stdin'],
      'x',
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /validation_failed, host/);
    const list = await cli(['registries', 'list', '--json']);
    assert.deepEqual(JSON.parse(list.stdout).items, []);
  });

  it('shows a run’s image digest in runs get (- for a host command)', async () => {
    await cli(['jobs', 'create', 'plain', '--', 'true']);
    const run = await cli(['run', 'plain', '--wait']);
    assert.equal(run.code, 0, run.stderr);
    const list = await cli(['runs', 'list', '--job', 'plain', '--json']);
    const runId = JSON.parse(list.stdout).items[0].id as string;
    const got = await cli(['runs', 'get', runId]);
    assert.match(got.stdout, /^Image digest:\s+-$/m);
  });
});
