// A private image end to end on the worker side: tenant A's login, stored sealed through the service, is
// opened by the worker and pulls A's image from a real registry behind basic auth (docker-registry with
// htpasswd), which runs in a real runc container; the run records the digest it ran. Tenant B, with no
// login, is refused (unauthorized) and not retried — even with the image already cached for A.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OciImageCache } from '../../src/adapters/oci/oci-image-cache.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { DEFAULT_PLAN_LIMITS } from '../../src/core/tenant.js';
import { DEFAULT_CONTAINER_ID_MAP } from '../../src/ports/images.js';
import { RegistryCredentialService } from '../../src/services/registry-credentials.js';
import { CAN_RUN_CONTAINERS, runcExecutorIn } from '../support/container-fixtures.js';
import {
  buildBusyboxImage,
  HAS_IMAGE_TOOLS,
  startTestRegistry,
  type TestRegistry,
} from '../support/oci-fixtures.js';
import { skipUnless } from '../support/required-services.js';
import { createJob, id, submitRun, waitForStatus, withWorker } from '../support/worker-fixtures.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';

describe(
  'a private image pulled with the tenant’s stored login',
  {
    skip: skipUnless(
      CAN_RUN_CONTAINERS && HAS_IMAGE_TOOLS,
      'runc, skopeo, umoci and docker-registry as root',
    ),
  },
  () => {
    let registry: TestRegistry;
    let dir: string;
    let digest: string;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hg-private-login-'));
      chmodSync(dir, 0o711); // the containers' root passes through to the cache and the bundles
      registry = await startTestRegistry({ auth: true });
      digest = await registry.push(await buildBusyboxImage(), 'team-a/private:1');
    });
    after(async () => {
      await registry?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs for A with A’s login, records the digest; B without one is refused, not retried', async () => {
      const images = new OciImageCache({
        cacheDir: mkdtempSync(join(dir, 'cache-')),
        idMap: DEFAULT_CONTAINER_ID_MAP,
        maxImageBytes: 1024 * 1024 * 1024,
        maxCacheBytes: 4 * 1024 * 1024 * 1024,
        insecureRegistries: [registry.host],
      });
      const executor = runcExecutorIn(dir, images, 'login');
      let service: RegistryCredentialService | null = null;
      await withWorker(
        SQLITE_MEMORY,
        {
          executors: { container: executor },
          registryCredentials: (tenantId, image) => service!.credentialsForImage(tenantId, image),
        },
        async ({ world, logOf }) => {
          service = new RegistryCredentialService(world.store, systemClock, randomBytes(32));
          const login = registry.login!;
          await service.putLogin(world.tenant.id, registry.host, login);
          const image = `${registry.host}/team-a/private:1`;
          const mine = await createJob(world, { image, command: ['sh', '-c'], args: ['echo private ok'] });
          const run = await submitRun(world, mine);
          const done = await waitForStatus(world, run, 'succeeded', 'failed');
          assert.equal(done.status, 'succeeded', `${done.reason ?? ''} ${await logOf(run.id)}`);
          assert.equal(await logOf(run.id), 'private ok\n');
          assert.equal(done.imageDigest, digest);

          const bob = { id: id('tenant'), name: 'bob', limits: DEFAULT_PLAN_LIMITS, createdAt: Date.now() };
          await world.store.createTenant(bob);
          const theirs = await createJob(world, {
            tenantId: bob.id,
            image,
            command: ['sh', '-c'],
            args: ['echo should not run'],
            retry: { maxAttempts: 3, backoffSeconds: 0 },
          });
          const refused = await waitForStatus(world, await submitRun(world, theirs), 'failed', 'succeeded');
          assert.equal(refused.status, 'failed');
          assert.equal(refused.attempt, 1, 'retried');
          assert.match(refused.reason ?? '', /unauthorized/);
          assert.ok(!(refused.reason ?? '').includes(login.password));
          assert.equal(refused.imageDigest, null);
        },
      );
    });
  },
);
