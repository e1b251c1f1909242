// Images from real registries, end to end through the image cache and the runc executor: a docker-registry on
// loopback (open, and behind basic auth), images built from Debian packages and pushed with skopeo.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OciImageCache } from '../../src/adapters/oci/oci-image-cache.js';
import { DEFAULT_CONTAINER_ID_MAP, ImageError, type ImageRequest } from '../../src/ports/images.js';
import { CAN_RUN_CONTAINERS, runcExecutorIn } from '../support/container-fixtures.js';
import { captureExecution, executionSpec } from '../support/executor-fixtures.js';
import {
  buildBusyboxImage,
  buildPythonImage,
  HAS_IMAGE_TOOLS,
  startTestRegistry,
  type TestRegistry,
} from '../support/oci-fixtures.js';
import { skipUnless } from '../support/required-services.js';

const MIB = 1024 * 1024;
const never = new AbortController().signal;

describe(
  'images from registries',
  {
    skip: skipUnless(
      CAN_RUN_CONTAINERS && HAS_IMAGE_TOOLS,
      'runc, skopeo, umoci and docker-registry as root',
    ),
  },
  () => {
    let open: TestRegistry;
    let secured: TestRegistry;
    let dir: string;
    let busyboxDigest: string;
    let pythonDigest: string;
    let privateDigest: string;

    function cache(overrides: Partial<ConstructorParameters<typeof OciImageCache>[0]> = {}): OciImageCache {
      return new OciImageCache({
        cacheDir: mkdtempSync(join(dir, 'cache-')),
        idMap: DEFAULT_CONTAINER_ID_MAP,
        maxImageBytes: 1024 * MIB,
        maxCacheBytes: 10 * 1024 * MIB,
        insecureRegistries: [open.host, secured.host],
        ...overrides,
      });
    }

    function request(
      reference: string,
      tenantId = 'tenant_a',
      credentials: ImageRequest['credentials'] = null,
    ): ImageRequest {
      return { reference, tenantId, credentials };
    }

    async function refusal(promise: Promise<unknown>): Promise<ImageError> {
      try {
        await promise;
      } catch (error) {
        assert.ok(error instanceof ImageError, String(error));
        return error;
      }
      assert.fail('expected an ImageError');
    }

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hg-oci-'));
      chmodSync(dir, 0o711); // the containers' root passes through to the cache and the bundles
      [open, secured] = await Promise.all([startTestRegistry(), startTestRegistry({ auth: true })]);
      const [busybox, python] = await Promise.all([buildBusyboxImage(), buildPythonImage()]);
      busyboxDigest = await open.push(busybox, 'tools/busybox:1');
      pythonDigest = await open.push(python, 'lang/python:3.11');
      privateDigest = await secured.push(busybox, 'team-a/private:1');
    });
    after(async () => {
      await Promise.all([open?.stop(), secured?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it('runs python3 from a pulled image, recording the digest it ran', async () => {
      const images = cache();
      const executor = runcExecutorIn(dir, images, 'oci');
      const run = await captureExecution(
        executor,
        executionSpec([], {
          image: `${open.host}/lang/python:3.11`,
          command: ['python3', '-c', 'print("hello from python", 6 * 7)'],
          args: [],
          env: {},
          memoryMb: 256,
        }),
      );
      assert.equal(run.result.outcome, 'succeeded', run.stderr);
      assert.equal(run.stdout, 'hello from python 42\n');
      assert.equal(run.result.imageDigest, pythonDigest);
      // The image's Cmd is used when the job gives no command.
      const byCmd = await captureExecution(
        executor,
        executionSpec([], {
          image: `${open.host}/tools/busybox:1`,
          command: [],
          args: ['echo', 'args replace Cmd'],
          env: {},
        }),
      );
      assert.equal(byCmd.stdout, 'args replace Cmd\n', byCmd.stderr);
    });

    it('pulls once for concurrent prepares, and serves a pinned digest from the cache', async () => {
      const images = cache();
      const [a, b] = await Promise.all([
        images.prepare(request(`${open.host}/tools/busybox:1`), never),
        images.prepare(request(`${open.host}/tools/busybox:1`), never),
      ]);
      assert.equal(a.rootfs, b.rootfs);
      assert.equal(a.digest, busyboxDigest);
      assert.equal(images.usage().images, 1);
      assert.ok(existsSync(join(a.rootfs, 'bin', 'busybox')));
      const pinned = await images.prepare(request(`${open.host}/tools/busybox@${busyboxDigest}`), never);
      assert.equal(pinned.rootfs, a.rootfs);
      for (const image of [a, b, pinned]) image.release();
    });

    it('needs the tenant’s own credentials for a private image, even once it is cached', async () => {
      const images = cache();
      const reference = `${secured.host}/team-a/private:1`;
      const anonymous = await refusal(images.prepare(request(reference, 'tenant_a'), never));
      assert.equal(anonymous.code, 'unauthorized');
      assert.match(anonymous.message, /unauthorized/);
      const owner = await images.prepare(request(reference, 'tenant_a', secured.login), never);
      assert.equal(owner.digest, privateDigest);
      owner.release();
      // Cached now: tenant B, with no credentials or wrong ones, by tag or by the digest, still may not run it.
      assert.equal(
        (await refusal(images.prepare(request(reference, 'tenant_b'), never))).code,
        'unauthorized',
      );
      assert.equal(
        (
          await refusal(
            images.prepare(request(`${secured.host}/team-a/private@${privateDigest}`, 'tenant_b'), never),
          )
        ).code,
        'unauthorized',
      );
      const wrong = await refusal(
        images.prepare(request(reference, 'tenant_b', { username: 'tenant-a', password: 'guess' }), never),
      );
      assert.equal(wrong.code, 'unauthorized');
      assert.doesNotMatch(wrong.message, /guess/);
    });

    it('names the problem: not found, too large, an invalid reference', async () => {
      const images = cache({ maxImageBytes: 64 * 1024 });
      const missing = await refusal(images.prepare(request(`${open.host}/tools/nothing:1`), never));
      assert.equal(missing.code, 'not_found');
      assert.match(missing.message, /tools\/nothing:1 was not found/);
      const large = await refusal(images.prepare(request(`${open.host}/lang/python:3.11`), never));
      assert.equal(large.code, 'too_large');
      assert.match(large.message, /too large: \d+ MiB compressed, over the limit of 1 MiB/);
      assert.equal((await refusal(images.prepare(request('UPPER/Case'), never))).code, 'invalid_reference');
    });

    it('refuses a registry on a private address unless the operator listed it', async () => {
      const images = cache({ insecureRegistries: [] });
      const refused = await refusal(images.prepare(request(`${open.host}/tools/busybox:1`), never));
      assert.equal(refused.code, 'registry_not_allowed');
      assert.match(refused.message, /resolves to 127\.0\.0\.1, which is not a public address/);
      for (const host of [
        'localhost:5000',
        '10.1.2.3',
        '169.254.169.254',
        '[::1]:5000',
        '[::ffff:127.0.0.1]',
      ]) {
        assert.equal(
          (await refusal(images.prepare(request(`${host}/x/y:1`), never))).code,
          'registry_not_allowed',
          host,
        );
      }
    });

    it('refuses DNS rebinding: skopeo dials only the address the dial guard checked', async () => {
      let calls = 0;
      // Public at the early check, loopback by the time skopeo connects (through the dial guard).
      const resolve = async (): Promise<string[]> => (calls++ === 0 ? ['93.184.215.14'] : ['127.0.0.1']);
      const images = cache({ insecureRegistries: [], resolve });
      const port = open.host.split(':')[1] ?? '';
      const refused = await refusal(images.prepare(request(`rebind.test:${port}/tools/busybox:1`), never));
      assert.equal(refused.code, 'registry_not_allowed');
      assert.match(
        refused.message,
        /refused to connect: rebind\.test resolves to 127\.0\.0\.1, which is not a public address/,
      );
      assert.ok(calls >= 2);
    });

    it('evicts the least recently used unpinned image past the cache size', async () => {
      const images = cache({ maxCacheBytes: 2 * MIB });
      const busybox = await images.prepare(request(`${open.host}/tools/busybox:1`), never);
      const dirOf = join(busybox.rootfs, '..', '..');
      busybox.release();
      const python = await images.prepare(request(`${open.host}/lang/python:3.11`), never);
      assert.equal(existsSync(dirOf), false, 'busybox evicted');
      assert.ok(existsSync(python.rootfs), 'a pinned image stays, even over the size');
      python.release();
    });
  },
);
