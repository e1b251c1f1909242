// The Store contract for registry logins and run image digests, against every adapter: a login is one row per
// (tenant, host), replaced in place (createdAt kept), listed without its sealed secret, scoped to its tenant
// for every method, and bounded per tenant in the same transaction; an attempt's image digest is recorded on
// its run and kept across a later attempt that pulled none.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import type { SealedRegistryCredential } from '../../src/core/registry-credential.js';
import type { Store } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { attemptResult, mustGetRun, seedJob, seedRunning, tick, withStore } from './store-fixtures.js';

const sealed = (tenantId: string, host: string, n = 1): SealedRegistryCredential => ({
  tenantId,
  host,
  username: `robot${n}`,
  ciphertext: Buffer.from(`sealed-${n}`),
  nonce: Buffer.alloc(12, n),
  keyId: 'k'.repeat(16),
  createdAt: 1000 * n,
  updatedAt: 1000 * n,
});

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): registry logins`, () => {
    test('put creates, then replaces in place keeping createdAt; get returns it sealed', async (store) => {
      assert.equal(await store.putRegistryCredential(sealed('ten_a', 'ghcr.io', 1), 50), true);
      assert.equal(await store.putRegistryCredential(sealed('ten_a', 'ghcr.io', 2), 50), false);
      const got = await store.getRegistryCredential('ten_a', 'ghcr.io');
      assert.deepEqual(got, { ...sealed('ten_a', 'ghcr.io', 2), createdAt: 1000 });
      assert.deepEqual(await store.listRegistryCredentials('ten_a'), [
        { host: 'ghcr.io', username: 'robot2', createdAt: 1000, updatedAt: 2000 },
      ]);
    });

    test('every method is scoped to the tenant: the same host is kept apart per tenant', async (store) => {
      await store.putRegistryCredential(sealed('ten_a', 'ghcr.io', 1), 50);
      await store.putRegistryCredential(sealed('ten_b', 'ghcr.io', 2), 50);
      assert.equal((await store.getRegistryCredential('ten_a', 'ghcr.io'))?.username, 'robot1');
      assert.equal(await store.getRegistryCredential('ten_c', 'ghcr.io'), null);
      assert.equal(await store.deleteRegistryCredential('ten_c', 'ghcr.io'), false);
      assert.equal(await store.deleteRegistryCredential('ten_b', 'ghcr.io'), true);
      assert.equal(await store.deleteRegistryCredential('ten_b', 'ghcr.io'), false);
      assert.equal((await store.getRegistryCredential('ten_a', 'ghcr.io'))?.username, 'robot1');
      assert.deepEqual(await store.listRegistryCredentials('ten_b'), []);
      assert.equal((await store.listRegistryCredentials('ten_a')).length, 1);
    });

    test('a new host past the limit is refused; replacing one at the limit is not', async (store) => {
      for (const host of ['a.io', 'b.io', 'c.io'])
        await store.putRegistryCredential(sealed('ten_a', host), 3);
      await assert.rejects(
        store.putRegistryCredential(sealed('ten_a', 'd.io'), 3),
        (error: unknown) => error instanceof HourglassError && error.code === 'plan_limit_exceeded',
      );
      assert.equal(await store.putRegistryCredential(sealed('ten_a', 'c.io', 2), 3), false);
      assert.equal(await store.putRegistryCredential(sealed('ten_b', 'd.io'), 3), true);
      assert.deepEqual(
        (await store.listRegistryCredentials('ten_a')).map((l) => l.host),
        ['a.io', 'b.io', 'c.io'],
      );
    });
  });

  describe(`Store contract (${factory.name}): the image digest a run ran`, () => {
    test('is null until an attempt records one, and kept by a later attempt that records none', async (store) => {
      const job = await seedJob(store, { retry: { maxAttempts: 2, backoffSeconds: 0 } });
      const running = await seedRunning(store, job);
      assert.equal(running.imageDigest, null);
      const digest = `sha256:${'ab'.repeat(32)}`;
      const failed = { outcome: 'failed' as const, exitCode: 1, imageDigest: digest, retryAt: tick() };
      assert.equal(await store.finishAttempt(attemptResult(running, failed)), 'requeued');
      assert.equal((await mustGetRun(store, running)).imageDigest, digest);
      const second = await store.claimRun(running.id, 2, 'wrk_a', tick());
      assert.ok(second);
      assert.equal(await store.finishAttempt(attemptResult(second.run, { imageDigest: null })), 'finished');
      assert.equal((await mustGetRun(store, running)).imageDigest, digest);
    });
  });
}
