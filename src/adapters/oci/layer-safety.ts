// A layer that tries to write outside the image's root is refused before anything is unpacked. umoci keeps
// every path inside the rootfs, but silently: `../x` and `/x` land inside it, a write through a symlink to
// `/` lands under the rootfs's own `/`. A tenant is better told that its image is malformed (or hostile), and
// an operator should see the attempt; so every layer's tar headers are read first (tar-stream) and these are
// refused with the entry named:
//
// - a path with a `..` component, or an absolute path (tar-slip);
// - an entry under a path that an earlier entry (of this or a lower layer) made a symlink pointing out of the
//   tree: absolute, or climbing above the root from where it is (a write through it). A relative symlink that
//   stays inside (usrmerge's bin -> usr/bin) is followed as the image means it;
// - a hardlink whose target has `..` or is absolute (it would link a file outside the rootfs).
//
// Whiteouts (.wh.*) are names like any other here; umoci applies them.

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar-stream';
import { ImageError } from '../../ports/images.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
}

/** Checks every layer of the layout's image (tag `image`), lowest first; throws `unsafe_layer`. */
export async function checkLayers(layout: string, name: string): Promise<void> {
  const blobPath = (digest: string): string => join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifestDigest = index.manifests[0]?.digest;
  if (manifestDigest === undefined) return;
  const manifest = JSON.parse(await readFile(blobPath(manifestDigest), 'utf8')) as { layers?: Descriptor[] };
  const symlinks = new Map<string, string>();
  for (const [n, layer] of (manifest.layers ?? []).entries()) {
    const problem = await scanLayer(
      blobPath(layer.digest),
      (layer.mediaType ?? '').endsWith('gzip'),
      symlinks,
    );
    if (problem !== null) {
      throw new ImageError('unsafe_layer', `${name}: layer ${n + 1} is refused: ${problem}`);
    }
  }
}

/** Normalises a tar name to a relative path without `.` parts; null when it climbs or is absolute. */
function relative(name: string): string | null {
  if (name.startsWith('/')) return null;
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return null;
  return parts.join('/');
}

/** A symlink at `link` to `target` leaves the tree: absolute, or above the root from the link's directory. */
function escapes(link: string, target: string): boolean {
  if (target.startsWith('/')) return true;
  const parts = link.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '..') {
      if (parts.length === 0) return true;
      parts.pop();
    } else if (part !== '' && part !== '.') parts.push(part);
  }
  return false;
}

async function scanLayer(
  path: string,
  gzipped: boolean,
  symlinks: Map<string, string>,
): Promise<string | null> {
  const tar = extract();
  let problem: string | null = null;
  tar.on('entry', (header, stream, next) => {
    stream.resume();
    stream.on('end', next);
    if (problem !== null) return;
    const name = relative(header.name);
    if (name === null) {
      problem = `entry ${JSON.stringify(header.name)} would be written outside the root filesystem (an absolute path or ..)`;
      return;
    }
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      const target = symlinks.get(parent);
      if (target !== undefined && escapes(parent, target)) {
        problem = `entry ${JSON.stringify(header.name)} is written through the symlink ${JSON.stringify(parent)} -> ${JSON.stringify(target)}, which points outside the image`;
        return;
      }
    }
    if (header.type === 'symlink') symlinks.set(name, header.linkname ?? '');
    else symlinks.delete(name); // replaced (or whited out) by a file or directory
    if (header.type === 'link' && relative(header.linkname ?? '') === null) {
      problem = `hardlink ${JSON.stringify(header.name)} points outside the root filesystem (${JSON.stringify(header.linkname)})`;
    }
  });
  const source = createReadStream(path);
  await (gzipped ? pipeline(source, createGunzip(), tar) : pipeline(source, tar));
  return problem;
}
