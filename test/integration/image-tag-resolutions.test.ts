// A tag's resolution reused by its tenant (tag-resolutions.ts), against a real docker-registry: what the
// registry is asked is counted by a skopeo wrapper that logs each command before running the real one.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OciImageCache } from '../../src/adapters/oci/oci-image-cache.js';
import { DEFAULT_CONTAINER_ID_MAP, ImageError, type ImageRequest } from '../../src/ports/images.js';
import { CAN_RUN_CONTAINERS } from '../support/container-fixtures.js';
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
  'tag resolutions reused by their tenant',
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
    let busybox: string;
    let python: string;
    let sequence = 0;

    /** A cache whose skopeo logs its subcommand (inspect, copy) to a file of its own; and that count. */
    function countingCache(tagTtlMs: number): { images: OciImageCache; inspects(): number } {
      const n = sequence++;
      const log = join(dir, `skopeo-${n}.log`);
      const wrapper = join(dir, `skopeo-${n}`);
      writeFileSync(wrapper, `#!/bin/sh\necho "$1" >> ${log}\nexec /usr/bin/skopeo "$@"\n`, { mode: 0o755 });
      const images = new OciImageCache({
        cacheDir: mkdtempSync(join(dir, 'cache-')),
        idMap: DEFAULT_CONTAINER_ID_MAP,
        maxImageBytes: 1024 * MIB,
        maxCacheBytes: 10 * 1024 * MIB,
        insecureRegistries: [open.host, secured.host],
        skopeoPath: wrapper,
        tagTtlMs,
      });
      const inspects = (): number =>
        existsSync(log)
          ? readFileSync(log, 'utf8')
              .split('\n')
              .filter((l) => l === 'inspect').length
          : 0;
      return { images, inspects };
    }

    async function digestOf(images: OciImageCache, request: ImageRequest): Promise<string> {
      const image = await images.prepare(request, never);
      image.release();
      return image.digest;
    }

    async function until(condition: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(condition(), what);
    }

    /** What `attempt` gives once `done` holds of it (or `equals` it), tried for a few seconds. */
    async function eventually<T>(attempt: () => Promise<T>, done: T | ((value: T) => boolean)): Promise<T> {
      const holds = typeof done === 'function' ? (done as (value: T) => boolean) : (v: T) => v === done;
      let value = await attempt();
      for (let i = 0; i < 100 && !holds(value); i++) {
        await new Promise((r) => setTimeout(r, 50));
        value = await attempt();
      }
      return value;
    }

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hg-tags-'));
      chmodSync(dir, 0o711);
      [open, secured] = await Promise.all([startTestRegistry(), startTestRegistry({ auth: true })]);
      [busybox, python] = await Promise.all([buildBusyboxImage(), buildPythonImage()]);
    });
    after(async () => {
      await Promise.all([open?.stop(), secured?.stop()]);
      rmSync(dir, { recursive: true, force: true });
    });

    it('asks the registry once per tenant within the TTL, and sees a re-pushed tag after it', async () => {
      const { images, inspects } = countingCache(3_000);
      const reference = `${open.host}/tools/moving:1`;
      const first = await open.push(busybox, 'tools/moving:1');
      assert.equal(await digestOf(images, { reference, tenantId: 'tenant_a', credentials: null }), first);
      const resolvedAt = Date.now();
      assert.equal(await digestOf(images, { reference, tenantId: 'tenant_a', credentials: null }), first);
      assert.equal(inspects(), 1, 'the second run of the tag used the first resolution');
      // Another tenant's run is not served by tenant A's resolution.
      assert.equal(await digestOf(images, { reference, tenantId: 'tenant_b', credentials: null }), first);
      assert.equal(inspects(), 2);

      const second = await open.push(python, 'tools/moving:1');
      assert.notEqual(second, first);
      // Past half the TTL: this run still gets the digest it had, and the tag is resolved in the background.
      await new Promise((r) => setTimeout(r, Math.max(0, resolvedAt + 1_600 - Date.now())));
      assert.equal(await digestOf(images, { reference, tenantId: 'tenant_a', credentials: null }), first);
      await until(() => inspects() === 3, 'a background resolution');
      // Once it is back, the next run learns of the new digest, pulls it and runs it.
      assert.equal(
        await eventually(
          () => digestOf(images, { reference, tenantId: 'tenant_a', credentials: null }),
          second,
        ),
        second,
      );
    });

    it('resolves at every run with a TTL of 0', async () => {
      const { images, inspects } = countingCache(0);
      const reference = `${open.host}/tools/busybox-ttl0:1`;
      await open.push(busybox, 'tools/busybox-ttl0:1');
      for (let i = 0; i < 3; i++)
        await digestOf(images, { reference, tenantId: 'tenant_a', credentials: null });
      assert.equal(inspects(), 3);
    });

    it('forgets a resolution its background refresh could not repeat (the tag is gone)', async () => {
      const { images, inspects } = countingCache(3_000);
      const reference = `${open.host}/tools/deleted:1`;
      const digest = await open.push(busybox, 'tools/deleted:1');
      await digestOf(images, { reference, tenantId: 'tenant_a', credentials: null });
      const resolvedAt = Date.now();
      const deleted = await fetch(`http://${open.host}/v2/tools/deleted/manifests/${digest}`, {
        method: 'DELETE',
      });
      assert.equal(deleted.status, 202);
      await new Promise((r) => setTimeout(r, Math.max(0, resolvedAt + 1_600 - Date.now())));
      await digestOf(images, { reference, tenantId: 'tenant_a', credentials: null }); // stale: refreshes
      await until(() => inspects() === 2, 'a background resolution');
      // Once it failed, the next run resolves the tag again, and fails.
      const refused = await eventually(
        () =>
          digestOf(images, { reference, tenantId: 'tenant_a', credentials: null }).then(
            () => null,
            (error: unknown) => error,
          ),
        (outcome) => outcome !== null,
      );
      assert.ok(Date.now() - resolvedAt < 3_000, 'refused before the resolution would have expired');
      assert.ok(refused instanceof ImageError, String(refused));
      assert.equal(refused.code, 'not_found');
    });

    it('resolves again when the tenant’s login changes', async () => {
      const { images, inspects } = countingCache(60_000);
      const reference = `${secured.host}/team-a/private:1`;
      await secured.push(busybox, 'team-a/private:1');
      await digestOf(images, { reference, tenantId: 'tenant_a', credentials: secured.login });
      await digestOf(images, { reference, tenantId: 'tenant_a', credentials: secured.login });
      assert.equal(inspects(), 1);
      const wrong = { username: secured.login!.username, password: 'changed' };
      const refused = await images
        .prepare({ reference, tenantId: 'tenant_a', credentials: wrong }, never)
        .then(
          () => null,
          (error: unknown) => error,
        );
      assert.ok(refused instanceof ImageError);
      assert.equal(refused.code, 'unauthorized');
      assert.equal(inspects(), 2);
    });
  },
);
