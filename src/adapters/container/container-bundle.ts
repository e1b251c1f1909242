// One run's OCI bundle on disk: <bundleRoot>/<id>/{config.json, rootfs (overlay mount), upper, work}. The
// image's rootfs is the overlay's read-only lower layer, shared by every run of the image; the run writes
// only to its own upper layer, which goes with the bundle. Mounting uses mount(8): Node has no mount(2).

import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerIdMap } from '../../ports/images.js';

/** The file in the bundle that an egress container sees as /etc/resolv.conf. */
export const RESOLV_CONF = 'resolv.conf';

const run = promisify(execFile);

export interface ContainerBundle {
  dir: string;
  rootfs: string;
}

/**
 * Makes the bundle directory and mounts the run's overlay. The upper layer is owned by the container's root
 * (the id map's host base), so the run may write there, and /tmp is made 1777 in it: a tmpfs's mode= is ignored
 * when the image's mountpoint has another mode.
 */
export async function createBundle(
  bundleRoot: string,
  id: string,
  imageRootfs: string,
  idMap: ContainerIdMap,
  spec: Record<string, unknown>,
  resolvConf?: string,
): Promise<ContainerBundle> {
  const dir = join(bundleRoot, id);
  const upper = join(dir, 'upper');
  const work = join(dir, 'work');
  const rootfs = join(dir, 'rootfs');
  await mkdir(dir, { mode: 0o711 });
  await Promise.all([mkdir(upper), mkdir(work), mkdir(rootfs)]);
  await chmod(dir, 0o711); // the mapped root must pass through to its rootfs (umask 077 made it 0700)
  await mkdir(join(upper, 'tmp'), { mode: 0o1777 });
  await chmod(join(upper, 'tmp'), 0o1777);
  await Promise.all([upper, work, join(upper, 'tmp')].map((path) => chown(path, idMap.hostId, idMap.hostId)));
  await writeFile(join(dir, 'config.json'), JSON.stringify(spec), { mode: 0o600 });
  // Bound read-only at /etc/resolv.conf (runtime-spec.ts): readable by the container's users.
  if (resolvConf !== undefined) await writeFile(join(dir, RESOLV_CONF), resolvConf, { mode: 0o644 });
  const options = `lowerdir=${imageRootfs},upperdir=${upper},workdir=${work}`;
  await run('mount', ['-t', 'overlay', 'overlay', '-o', options, rootfs]);
  return { dir, rootfs };
}

/** Unmounts the overlay (lazily if it is still busy) and removes the bundle. Idempotent. */
export async function removeBundle(dir: string): Promise<void> {
  const rootfs = join(dir, 'rootfs');
  try {
    await run('umount', [rootfs]);
  } catch {
    await run('umount', ['-l', rootfs]).catch(() => undefined); // not mounted (or already gone)
  }
  await rm(dir, { recursive: true, force: true });
}

/** Every bundle under the root: at worker start, none is a live run's (they died with the last worker). */
export async function listBundles(bundleRoot: string): Promise<string[]> {
  try {
    return (await readdir(bundleRoot)).map((name) => join(bundleRoot, name));
  } catch {
    return [];
  }
}
