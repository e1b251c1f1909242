// Private images through the real server and CLI: tenant A logs in to a registry behind basic auth
// (`registries login --password-stdin`), its image job runs and the run shows the digest it ran (API and
// `runs get`); tenant B, with no login or a wrong one, cannot run A's image even though it is cached; once A
// logs out, A's next run is refused too. The password is in no server output.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CAN_RUN_CONTAINERS } from '../support/container-fixtures.js';
import {
  buildBusyboxImage,
  HAS_IMAGE_TOOLS,
  startTestRegistry,
  type TestRegistry,
} from '../support/oci-fixtures.js';
import { skipUnless } from '../support/required-services.js';
import { runCli, ServerProcess, type TestTenant } from '../support/server-process.js';

describe(
  'private images with registry logins',
  {
    skip: skipUnless(
      CAN_RUN_CONTAINERS && HAS_IMAGE_TOOLS,
      'runc, skopeo, umoci and docker-registry as root',
    ),
  },
  () => {
    let registry: TestRegistry;
    let server: ServerProcess;
    let alice: TestTenant;
    let bob: TestTenant;
    let image: string;
    let digest: string;

    before(async () => {
      registry = await startTestRegistry({ auth: true });
      digest = await registry.push(await buildBusyboxImage(), 'team-a/private:1');
      image = `${registry.host}/team-a/private:1`;
      server = await ServerProcess.start({
        env: { HOURGLASS_INSECURE_REGISTRIES: registry.host, HOURGLASS_LOG_LEVEL: 'debug' },
      });
      alice = await server.createTenant('alice', { allowHostCommands: false });
      bob = await server.createTenant('bob', { allowHostCommands: false });
      for (const tenant of [alice, bob]) {
        await server.create(tenant.key, '/v1/jobs', {
          name: 'private',
          image,
          command: ['sh', '-c', 'echo private ok'],
          retry: { maxAttempts: 2, backoffSeconds: 0 },
        });
      }
    });
    after(async () => {
      await server?.stop();
      await registry?.stop();
    });

    const cli = (tenant: TestTenant, args: string[], input?: string) =>
      runCli(
        args,
        { PATH: process.env['PATH'] ?? '', HOURGLASS_URL: server.url, HOURGLASS_API_KEY: tenant.key },
        input,
      );
    const runOnce = async (tenant: TestTenant): Promise<any> => {
      const run = await server.create(tenant.key, '/v1/jobs/private/runs');
      return server.waitForRun(tenant.key, run.id, undefined, 60_000);
    };

    it('runs A’s private image with A’s login and records the digest it ran', async () => {
      const login = registry.login!;
      const result = await cli(
        alice,
        ['registries', 'login', registry.host, '--username', login.username, '--password-stdin'],
        login.password,
      );
      assert.equal(result.code, 0, result.stderr);
      const run = await runOnce(alice);
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      assert.equal(run.imageDigest, digest);
      const logs = await server.request('GET', `/v1/runs/${run.id}/logs`, { key: alice.key });
      assert.equal(logs.text, 'private ok\n');
      const shown = await cli(alice, ['runs', 'get', run.id]);
      assert.match(shown.stdout, new RegExp(`^Image digest:\\s+${digest}$`, 'm'));
    });

    it('refuses B, cached or not, with no login and with a wrong one, without retrying', async () => {
      const none = await runOnce(bob);
      assert.deepEqual([none.status, none.attempt, none.imageDigest], ['failed', 1, null]);
      assert.match(none.reason, /unauthorized/);
      const put = await server.request('PUT', `/v1/registries/${registry.host}`, {
        key: bob.key,
        body: { username: registry.login!.username, password: 'not-the-password' },
      });
      assert.equal(put.status, 201, put.text);
      const wrong = await runOnce(bob);
      assert.deepEqual([wrong.status, wrong.attempt], ['failed', 1]);
      assert.match(wrong.reason, /unauthorized/);
    });

    it('refuses A once A has logged out', async () => {
      const out = await cli(alice, ['registries', 'logout', registry.host]);
      assert.equal(out.code, 0, out.stderr);
      const run = await runOnce(alice);
      assert.equal(run.status, 'failed');
      assert.match(run.reason, /unauthorized/);
    });

    it('shows the password in no server output', () => {
      const password = registry.login!.password;
      assert.ok(!server.output.stderr.includes(password), 'the server log shows the password');
      assert.ok(!server.output.stdout.includes(password));
    });
  },
);
