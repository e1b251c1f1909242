// The registry side of a pull, by skopeo (OCI Distribution / Docker Registry v2: auth, manifest lists, media
// types, digest verification): resolving a reference to the linux/amd64 image manifest's digest and size,
// and copying that image into an OCI layout on disk. Credentials go in an auth file (0600, removed after),
// never on a command line, which every user of the host can read. skopeo's errors become ImageErrors that
// name the problem and never quote a secret.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { transportReference, type ImageReference } from '../../core/image-reference.js';
import { ImageError } from '../../ports/images.js';
import { startDialGuard } from './dial-guard-proxy.js';
import type { Resolver } from './registry-guard.js';

const run = promisify(execFile);

const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
/** What umoci unpacks: plain and gzip tar layers, OCI's and Docker's names for them. */
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
]);

export interface SkopeoAccess {
  insecure: boolean;
  /** The operator's insecure hosts, which skopeo reaches directly; every other connection goes through the dial guard. */
  insecureHosts: ReadonlySet<string>;
  resolve?: Resolver;
  /** An auth file (containers-auth.json(5)) holding the tenant's login, or null for anonymous. */
  authFile: string | null;
}

export interface ResolvedImage {
  /** The linux/amd64 image manifest's digest. */
  digest: string;
  /** Its layers and config, compressed: what the copy transfers. */
  compressedBytes: number;
}

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
  platform?: { os?: string; architecture?: string };
}

interface Manifest {
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

export class Skopeo {
  constructor(private readonly path = 'skopeo') {}

  /** Tag → digest (through a manifest list to linux/amd64), with the media types checked. */
  async resolve(ref: ImageReference, access: SkopeoAccess, signal: AbortSignal): Promise<ResolvedImage> {
    let raw = await this.inspectRaw(transportReference(ref), access, signal, ref);
    let manifest = parseManifest(raw, ref);
    if (INDEX_TYPES.has(manifest.mediaType ?? '') || manifest.manifests !== undefined) {
      const entry = manifest.manifests?.find(
        (m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64' && m.digest !== undefined,
      );
      if (entry?.digest === undefined) {
        throw new ImageError(
          'unsupported_media_type',
          `${display(ref)} has no linux/amd64 image in its manifest list`,
        );
      }
      raw = await this.inspectRaw(transportReference(ref, entry.digest), access, signal, ref);
      manifest = parseManifest(raw, ref);
    }
    // mediaType is optional in an OCI manifest (the registry's Content-Type carries it): a schema 2 body with a
    // config and layers is one. Docker's schema 1 (fsLayers) is not.
    const mediaType =
      manifest.mediaType ??
      (manifest.config !== undefined && manifest.layers !== undefined
        ? 'application/vnd.oci.image.manifest.v1+json'
        : undefined);
    if (!MANIFEST_TYPES.has(mediaType ?? '')) {
      throw new ImageError(
        'unsupported_media_type',
        `${display(ref)} has manifest media type ${manifest.mediaType ?? '(none)'}, which is not an image manifest Hourglass runs`,
      );
    }
    for (const layer of manifest.layers ?? []) {
      if (!LAYER_TYPES.has(layer.mediaType ?? '')) {
        throw new ImageError(
          'unsupported_media_type',
          `${display(ref)} has a layer of media type ${layer.mediaType ?? '(none)'} (supported: tar, tar+gzip)`,
        );
      }
    }
    const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    const compressedBytes = [manifest.config, ...(manifest.layers ?? [])].reduce(
      (sum, d) => sum + (d?.size ?? 0),
      0,
    );
    return { digest, compressedBytes };
  }

  /** Copies the image of that digest into an OCI layout (`dir`, tag `image`); skopeo verifies every digest. */
  async copy(
    ref: ImageReference,
    digest: string,
    dir: string,
    access: SkopeoAccess,
    signal: AbortSignal,
  ): Promise<void> {
    const args = [
      'copy',
      '--quiet',
      ...srcFlags(access),
      transportReference(ref, digest),
      `oci:${dir}:image`,
    ];
    await this.skopeo(args, signal, ref, access);
  }

  private async inspectRaw(
    transport: string,
    access: SkopeoAccess,
    signal: AbortSignal,
    ref: ImageReference,
  ): Promise<Buffer> {
    const flags = [
      ...(access.authFile === null ? ['--no-creds'] : ['--authfile', access.authFile]),
      ...(access.insecure ? ['--tls-verify=false'] : []),
    ];
    return this.skopeo(['inspect', '--raw', ...flags, transport], signal, ref, access);
  }

  /** Runs skopeo with every connection it makes through a dial guard of its own (checked at connect time). */
  private async skopeo(
    args: string[],
    signal: AbortSignal,
    ref: ImageReference,
    access: SkopeoAccess,
  ): Promise<Buffer> {
    const guard = await startDialGuard(access.insecureHosts, access.resolve);
    try {
      const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: '/nonexistent', ...guard.env };
      const { stdout } = await run(this.path, args, {
        signal,
        env,
        encoding: 'buffer',
        maxBuffer: 16 * 1024 * 1024,
        timeout: 30 * 60_000,
      });
      return stdout;
    } catch (error) {
      if (signal.aborted) throw error;
      const refusal = guard.refusal();
      if (refusal !== null) {
        throw new ImageError(
          'registry_not_allowed',
          `${display(ref)}: the worker refused to connect: ${refusal}`,
        );
      }
      throw classify(String((error as { stderr?: Buffer }).stderr ?? (error as Error).message), ref);
    } finally {
      await guard.close();
    }
  }
}

function srcFlags(access: SkopeoAccess): string[] {
  return [
    ...(access.authFile === null ? ['--src-no-creds'] : ['--src-authfile', access.authFile]),
    ...(access.insecure ? ['--src-tls-verify=false'] : []),
    '--override-os',
    'linux',
    '--override-arch',
    'amd64',
  ];
}

function parseManifest(raw: Buffer, ref: ImageReference): Manifest {
  try {
    return JSON.parse(raw.toString('utf8')) as Manifest;
  } catch {
    throw new ImageError('unsupported_media_type', `${display(ref)}'s manifest is not JSON`);
  }
}

export function display(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.digest !== null ? `@${ref.digest}` : `:${ref.tag ?? 'latest'}`}`;
}

/** skopeo's stderr → the reason a tenant is shown. Only the kind is kept, with the reference. */
export function classify(stderr: string, ref: ImageReference): ImageError {
  const text = stderr.toLowerCase();
  const name = display(ref);
  if (
    /unauthorized|authentication required|access to the requested resource is not authorized|denied/.test(
      text,
    )
  ) {
    return new ImageError(
      'unauthorized',
      `${name}: the registry refused access (unauthorized); set credentials with PUT /v1/registries/${ref.registry}`,
    );
  }
  if (/manifest unknown|name unknown|not found|no such image|404/.test(text)) {
    return new ImageError('not_found', `${name} was not found in its registry`);
  }
  if (/unsupported|media ?type|mime/.test(text)) {
    return new ImageError('unsupported_media_type', `${name} has a media type Hourglass cannot run`);
  }
  if (/x509|certificate|tls/.test(text)) {
    return new ImageError('pull_failed', `${name}: the registry's TLS certificate could not be verified`);
  }
  if (/connection refused|no such host|i\/o timeout|dial tcp/.test(text)) {
    return new ImageError('pull_failed', `${name}: could not connect to the registry ${ref.registry}`);
  }
  return new ImageError('pull_failed', `${name} could not be pulled`);
}
