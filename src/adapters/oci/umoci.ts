// The unpacking side of a pull, by umoci: an OCI layout's image → a bundle whose rootfs is owned by the
// container id map's range (--uid-map/--gid-map), applying whiteouts and opaque directories. umoci keeps
// every path inside the rootfs (`..`, absolute paths, symlinks and hardlinks pointing out); a layer that
// tries is refused, and the error says so (test/security/image-layers.test.ts).

import { execFile } from 'node:child_process';
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ImageError, type ContainerIdMap, type ImageRunConfig } from '../../ports/images.js';

const run = promisify(execFile);

export async function unpackImage(
  umoci: string,
  layout: string,
  bundle: string,
  idMap: ContainerIdMap,
  name: string,
): Promise<void> {
  const map = `0:${idMap.hostId}:${idMap.size}`;
  try {
    await run(umoci, ['unpack', '--uid-map', map, '--gid-map', map, '--image', `${layout}:image`, bundle], {
      maxBuffer: 4 * 1024 * 1024,
      timeout: 30 * 60_000,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message);
    if (/escape|outside|unsafe|\.\.|invalid (path|hardlink|symlink)|hardlink|symlink|path/i.test(stderr)) {
      throw new ImageError(
        'unsafe_layer',
        `${name} has a layer that writes outside its root filesystem (${firstLine(stderr)}); refused`,
      );
    }
    throw new ImageError('pull_failed', `${name} could not be unpacked: ${firstLine(stderr)}`);
  }
}

function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? '';
  return line.replace(/^.*level=\w+ msg=/, '').slice(0, 300);
}

interface ImageConfigBlob {
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    WorkingDir?: string;
    User?: string;
  };
}

/** Entrypoint, Cmd, Env, WorkingDir and User from the image's config blob (index → manifest → config). */
export async function readImageRunConfig(layout: string): Promise<ImageRunConfig> {
  const blob = async (digest: string): Promise<unknown> =>
    JSON.parse(await readFile(join(layout, 'blobs', ...digest.split(':')), 'utf8'));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const manifestDigest = index.manifests[0]?.digest;
  if (manifestDigest === undefined) throw new ImageError('pull_failed', 'the pulled image has no manifest');
  const manifest = (await blob(manifestDigest)) as { config: { digest: string } };
  const { config = {} } = (await blob(manifest.config.digest)) as ImageConfigBlob;
  return {
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    env: config.Env ?? [],
    workingDir: config.WorkingDir ?? '/',
    user: config.User ?? '',
  };
}

/** Bytes of the regular files under a directory (hardlinks counted once per link: an upper bound). */
export async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await directoryBytes(path);
    else if (entry.isFile()) total += (await lstat(path)).size;
  }
  return total;
}
