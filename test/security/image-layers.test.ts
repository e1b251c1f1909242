// Hostile layers: tar-slip, absolute paths, writes through a symlink out of the tree, hardlinks to files
// outside. Each is refused with the entry named, before anything is unpacked, and nothing lands outside.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { OciImageCache } from '../../src/adapters/oci/oci-image-cache.js';
import { DEFAULT_CONTAINER_ID_MAP, ImageError } from '../../src/ports/images.js';
import { CAN_RUN_CONTAINERS } from '../support/container-fixtures.js';
import {
  buildHostileImage,
  HAS_IMAGE_TOOLS,
  startTestRegistry,
  type HostileLayer,
  type TestRegistry,
} from '../support/oci-fixtures.js';
import { skipUnless } from '../support/required-services.js';

describe(
  'hostile image layers',
  { skip: skipUnless(CAN_RUN_CONTAINERS && HAS_IMAGE_TOOLS, 'skopeo, umoci and docker-registry as root') },
  () => {
    let registry: TestRegistry;
    let dir: string;
    let escapeDir: string;

    before(async () => {
      registry = await startTestRegistry();
      dir = mkdtempSync(join(tmpdir(), 'hg-layers-'));
      chmodSync(dir, 0o711);
      escapeDir = mkdtempSync(join(tmpdir(), 'hg-escape-target-'));
    });
    after(async () => {
      await registry?.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(escapeDir, { recursive: true, force: true });
    });

    function cache(): OciImageCache {
      return new OciImageCache({
        cacheDir: mkdtempSync(join(dir, 'cache-')),
        idMap: DEFAULT_CONTAINER_ID_MAP,
        maxImageBytes: 1024 ** 3,
        maxCacheBytes: 10 * 1024 ** 3,
        insecureRegistries: [registry.host],
      });
    }

    const refusals: [HostileLayer, RegExp][] = [
      [
        'slip',
        /layer 2 is refused: entry "(\.\.\/)+.*hg-escape-slip" would be written outside the root filesystem/,
      ],
      [
        'absolute',
        /layer 2 is refused: entry "\/.*hg-escape-absolute" would be written outside the root filesystem/,
      ],
      [
        'symlink',
        /layer 2 is refused: entry "out\/hg-escape-symlink" is written through the symlink "out" -> ".*", which points outside the image/,
      ],
      ['hardlink', /layer 2 is refused: hardlink "passwd-link" points outside the root filesystem/],
    ];
    for (const [kind, message] of refusals) {
      it(`refuses a ${kind} layer, naming the entry, and writes nothing outside`, async () => {
        const layout = await buildHostileImage(kind, escapeDir);
        await registry.push(layout, `hostile/${kind}:1`);
        let refused: unknown = null;
        try {
          await cache().prepare(
            { reference: `${registry.host}/hostile/${kind}:1`, tenantId: 'tenant_x', credentials: null },
            new AbortController().signal,
          );
        } catch (error) {
          refused = error;
        }
        assert.ok(refused instanceof ImageError, String(refused));
        assert.equal(refused.code, 'unsafe_layer');
        assert.match(refused.message, message);
        assert.deepEqual(readdirSync(escapeDir), []);
        rmSync(layout.replace(/:image$/, ''), { recursive: true, force: true });
      });
    }

    it('follows a relative symlink that stays inside the image (usrmerge)', async () => {
      const layout = await buildHostileImage('inside-symlink', escapeDir);
      await registry.push(layout, 'hostile/inside:1');
      const image = await cache().prepare(
        { reference: `${registry.host}/hostile/inside:1`, tenantId: 'tenant_x', credentials: null },
        new AbortController().signal,
      );
      assert.ok(existsSync(join(image.rootfs, 'usr2', 'tool')));
      image.release();
      rmSync(layout.replace(/:image$/, ''), { recursive: true, force: true });
    });
  },
);
