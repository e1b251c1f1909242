// The image cache of one worker, content-addressed by manifest digest: <cacheDir>/images/<hex>/ holds the OCI
// layout skopeo copied (layout/) and the bundle umoci unpacked from it (bundle/rootfs, owned by the container
// id map's range, the overlay's shared read-only lower layer). A prepare:
//
//   checked (registry host allowed) ─▶ resolved (tag → digest with the tenant's own credentials)
//     ─▶ cached? ── no ──▶ pulled (skopeo copy) ─▶ unpacked (umoci, path-safe) ─▶ ready ─▶ pinned
//
// One pull per digest at a time (single flight). A tenant may run a cached image only once its own access
// resolved the same digest: a pinned digest skips the registry only for tenants that resolved it before, so
// a private image cached for tenant A is not runnable by B. A tag's resolution is reused by its tenant for a
// few seconds (tag-resolutions.ts), so that a hot tag's runs do not wait for the registry. Past the cache's size, unpinned images are
// evicted least recently used first. Nothing but the directories is kept: after a restart the cache starts
// cold for tenants (each resolves again), warm for bytes (a resolved digest on disk is not pulled again).

import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseImageReference, type ImageReference } from '../../core/image-reference.js';
import {
  ImageError,
  type ContainerIdMap,
  type ImageRequest,
  type ImageRunConfig,
  type ImageSource,
  type PreparedImage,
  type RegistryCredentials,
} from '../../ports/images.js';
import { checkLayers } from './layer-safety.js';
import { RegistryGuard, type Resolver } from './registry-guard.js';
import { display, Skopeo, type SkopeoAccess } from './skopeo.js';
import { TagResolutions } from './tag-resolutions.js';
import { directoryBytes, readImageRunConfig, unpackImage } from './umoci.js';

export interface OciImageCacheOptions {
  cacheDir: string;
  idMap: ContainerIdMap;
  /** Larger images are refused (compressed, before the pull; unpacked, after). */
  maxImageBytes: number;
  /** Unpinned images are evicted past this total (unpacked bytes). */
  maxCacheBytes: number;
  insecureRegistries: readonly string[];
  skopeoPath?: string;
  umociPath?: string;
  /** A tag's resolution is reused this long for its tenant (tag-resolutions.ts); 0 resolves every run. */
  tagTtlMs?: number;
  /** How registry hosts are resolved, for the guard and the dial guard; the system's by default. */
  resolve?: Resolver;
}

const DEFAULT_TAG_TTL_MS = 10_000;

interface CachedImage {
  digest: string;
  config: ImageRunConfig;
  dir: string;
  bytes: number;
  pins: number;
  lastUsed: number;
}

export class OciImageCache implements ImageSource {
  private readonly guard: RegistryGuard;
  private readonly skopeo: Skopeo;
  private readonly images = new Map<string, CachedImage>();
  private readonly pulls = new Map<string, Promise<CachedImage>>();
  /** digest → the tenants whose own access resolved it. */
  private readonly resolvedBy = new Map<string, Set<string>>();
  private readonly tags: TagResolutions;

  constructor(private readonly options: OciImageCacheOptions) {
    this.guard = new RegistryGuard(options.insecureRegistries, options.resolve);
    this.tags = new TagResolutions(options.tagTtlMs ?? DEFAULT_TAG_TTL_MS);
    // A worker killed mid-pull leaves its auth files (a tenant's login, base64) and half-pulled images.
    rmSync(join(options.cacheDir, 'auth'), { recursive: true, force: true });
    rmSync(join(options.cacheDir, 'staging'), { recursive: true, force: true });
    this.skopeo = new Skopeo(options.skopeoPath);
  }

  async prepare(request: ImageRequest, signal: AbortSignal): Promise<PreparedImage> {
    let ref: ImageReference;
    try {
      ref = parseImageReference(request.reference);
    } catch (error) {
      throw new ImageError(
        'invalid_reference',
        `image ${JSON.stringify(request.reference)}: ${(error as Error).message}`,
      );
    }
    const access = await this.guard.check(ref.registry);
    if (ref.digest !== null && this.isRunnableBy(ref.digest, request.tenantId))
      return this.pin(this.images.get(ref.digest)!);
    const tagKey = TagResolutions.keyOf(request.tenantId, request.reference, request.credentials);
    const hit = ref.digest === null ? this.tags.lookup(tagKey) : null;
    if (hit !== null && this.isRunnableBy(hit.digest, request.tenantId)) {
      if (hit.stale) {
        this.tags.refreshOnce(tagKey, () =>
          this.withAccess(ref, request, access, (skopeoAccess) =>
            this.resolve(ref, request.tenantId, skopeoAccess, new AbortController().signal),
          ),
        );
      }
      return this.pin(this.images.get(hit.digest)!);
    }
    return this.withAccess(ref, request, access, async (skopeoAccess) => {
      const digest = await this.resolve(ref, request.tenantId, skopeoAccess, signal);
      const image = await this.pull(ref, digest, skopeoAccess, signal);
      if (ref.digest === null) this.tags.remember(tagKey, digest);
      return this.pin(image);
    });
  }

  /** The digest is cached and this tenant's own access resolved it. */
  private isRunnableBy(digest: string, tenantId: string): boolean {
    return this.resolvedBy.get(digest)?.has(tenantId) === true && this.images.has(digest);
  }

  /** Tag (or digest) → digest with the tenant's access, size-checked, and the tenant authorized for it. */
  private async resolve(
    ref: ImageReference,
    tenantId: string,
    access: SkopeoAccess,
    signal: AbortSignal,
  ): Promise<string> {
    const resolved = await this.skopeo.resolve(ref, access, signal);
    if (resolved.compressedBytes > this.options.maxImageBytes)
      throw tooLarge(ref, resolved.compressedBytes, this.options.maxImageBytes);
    this.authorize(resolved.digest, tenantId);
    return resolved.digest;
  }

  /** Runs `work` with skopeo's access for this request: the tenant's login in an auth file while it runs. */
  private async withAccess<T>(
    ref: ImageReference,
    request: ImageRequest,
    access: { insecure: boolean },
    work: (skopeoAccess: SkopeoAccess) => Promise<T>,
  ): Promise<T> {
    const authFile = await this.writeAuthFile(ref.registry, request.credentials);
    try {
      return await work({
        insecure: access.insecure,
        authFile,
        insecureHosts: this.guard.insecureHosts,
        ...(this.options.resolve === undefined ? {} : { resolve: this.options.resolve }),
      });
    } finally {
      if (authFile !== null) await rm(authFile, { force: true });
    }
  }

  /** How many images are on disk and their bytes, for metrics and tests. */
  usage(): { images: number; bytes: number } {
    let bytes = 0;
    for (const image of this.images.values()) bytes += image.bytes;
    return { images: this.images.size, bytes };
  }

  private authorize(digest: string, tenantId: string): void {
    let tenants = this.resolvedBy.get(digest);
    if (tenants === undefined) this.resolvedBy.set(digest, (tenants = new Set()));
    tenants.add(tenantId);
  }

  private pull(
    ref: ImageReference,
    digest: string,
    access: SkopeoAccess,
    signal: AbortSignal,
  ): Promise<CachedImage> {
    const cached = this.images.get(digest);
    if (cached !== undefined) return Promise.resolve(cached);
    let pulling = this.pulls.get(digest);
    if (pulling === undefined) {
      // Not the caller's signal: a pull others wait on goes on when the run that started it is cancelled.
      pulling = this.pullOnce(ref, digest, access).finally(() => this.pulls.delete(digest));
      this.pulls.set(digest, pulling);
    }
    return abortable(pulling, signal);
  }

  private async pullOnce(ref: ImageReference, digest: string, access: SkopeoAccess): Promise<CachedImage> {
    const hex = digest.slice('sha256:'.length);
    const dir = join(this.options.cacheDir, 'images', hex);
    if (!existsSync(join(dir, 'ready'))) {
      const staging = join(this.options.cacheDir, 'staging', `${hex}-${randomBytes(4).toString('hex')}`);
      await mkdir(staging, { recursive: true, mode: 0o700 });
      try {
        await this.skopeo.copy(ref, digest, join(staging, 'layout'), access, new AbortController().signal);
        await checkLayers(join(staging, 'layout'), display(ref));
        await unpackImage(
          this.options.umociPath ?? 'umoci',
          join(staging, 'layout'),
          join(staging, 'bundle'),
          this.options.idMap,
          display(ref),
        );
        const bytes = await directoryBytes(join(staging, 'bundle', 'rootfs'));
        if (bytes > this.options.maxImageBytes)
          throw tooLarge(ref, bytes, this.options.maxImageBytes, 'unpacked');
        await writeFile(join(staging, 'ready'), `${bytes}\n`);
        await rm(dir, { recursive: true, force: true });
        await mkdir(join(this.options.cacheDir, 'images'), { recursive: true, mode: 0o711 });
        // The containers' root (an unprivileged host uid) passes through to the rootfs; it lists nothing.
        for (const path of [
          this.options.cacheDir,
          join(this.options.cacheDir, 'images'),
          staging,
          join(staging, 'bundle'),
        ]) {
          await chmod(path, 0o711);
        }
        await rename(staging, dir);
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    }
    const bytes = Number((await readFile(join(dir, 'ready'), 'utf8')).trim());
    // Read once, when the image enters the cache: every run of it needs the config.
    const config = await readImageRunConfig(join(dir, 'layout'));
    const image: CachedImage = { digest, dir, bytes, config, pins: 0, lastUsed: Date.now() };
    this.images.set(digest, image);
    return image;
  }

  private async pin(image: CachedImage): Promise<PreparedImage> {
    const handle = this.handle(image);
    await this.evict(); // pinned, so never this one
    return handle;
  }

  /** One pin of the image, its own to release. */
  private handle(image: CachedImage): PreparedImage {
    image.pins++;
    image.lastUsed = Date.now();
    let released = false;
    return {
      digest: image.digest,
      rootfs: join(image.dir, 'bundle', 'rootfs'),
      config: image.config,
      release: () => {
        if (released) return;
        released = true;
        image.pins--;
        void this.evict();
      },
      retain: () => this.handle(image),
    };
  }

  /** Least recently used unpinned images go until the cache fits. */
  private async evict(): Promise<void> {
    let { bytes } = this.usage();
    const candidates = [...this.images.values()]
      .filter((i) => i.pins === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const image of candidates) {
      if (bytes <= this.options.maxCacheBytes) break;
      this.images.delete(image.digest);
      this.resolvedBy.delete(image.digest);
      this.tags.forgetDigest(image.digest);
      bytes -= image.bytes;
      await rm(image.dir, { recursive: true, force: true });
    }
  }

  /** containers-auth.json(5) with the tenant's login, 0600 in the cache's own directory; null when anonymous. */
  private async writeAuthFile(
    registry: string,
    credentials: RegistryCredentials | null,
  ): Promise<string | null> {
    if (credentials === null) return null;
    const dir = join(this.options.cacheDir, 'auth');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${randomBytes(8).toString('hex')}.json`);
    const auth = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    await writeFile(path, JSON.stringify({ auths: { [registry]: { auth } } }), { mode: 0o600 });
    return path;
  }
}

function tooLarge(ref: ImageReference, bytes: number, max: number, what = 'compressed'): ImageError {
  const mb = (n: number): string => `${Math.ceil(n / 1024 / 1024)} MiB`;
  return new ImageError(
    'too_large',
    `${display(ref)} is too large: ${mb(bytes)} ${what}, over the limit of ${mb(max)}`,
  );
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
