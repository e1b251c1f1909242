// The image port: turns a tenant's image reference into a read-only root filesystem on this worker. The OCI
// adapter (src/adapters/oci) pulls with skopeo into a content-addressed store and unpacks with umoci; the
// container executor (src/adapters/container) asks it for each run and never talks to a registry itself.

/** A tenant's login to one registry host, as stored (decrypted only on the worker that pulls). */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** What the image's config says to run, honoured unless the job overrides it (OCI image-spec "config"). */
export interface ImageRunConfig {
  entrypoint: string[];
  cmd: string[];
  /** KEY=value entries, in the image's order. */
  env: string[];
  /** Absolute; "/" when the image names none. */
  workingDir: string;
  /** "", "uid", "uid:gid" or a name to be looked up in the rootfs's /etc/passwd. */
  user: string;
}

export interface PreparedImage {
  /** The manifest digest that was resolved (sha256:…): what the run records that it ran. */
  digest: string;
  /** Read-only directory: the unpacked image, owned by the container id map's range. Shared across runs. */
  rootfs: string;
  config: ImageRunConfig;
  /** Unpins the image (it may be evicted once no run holds it). Call exactly once. */
  release(): void;
  /** Another pin on the same image, released on its own: what a pre-created container holds while it waits. */
  retain(): PreparedImage;
}

export interface ImageRequest {
  /** As the job gives it: `host[:port]/path[:tag][@sha256:…]`; no host means docker.io. */
  reference: string;
  /** Whose run this is: a cached image is runnable by a tenant only once its own credentials resolved it. */
  tenantId: string;
  /** The tenant's credentials for the reference's registry host; null pulls anonymously. */
  credentials: RegistryCredentials | null;
}

export type ImageErrorCode =
  | 'invalid_reference'
  | 'registry_not_allowed'
  | 'not_found'
  | 'unauthorized'
  | 'unsupported_media_type'
  | 'too_large'
  | 'unsafe_layer'
  | 'pull_failed';

/** A reason the image cannot be prepared; its message is shown to the tenant as the run's reason. */
export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ImageError';
  }

  /** A missing or refused image will not appear by retrying; a failed transfer might. */
  get retryable(): boolean {
    return this.code === 'pull_failed';
  }
}

export interface ImageSource {
  /** Resolves, pulls and unpacks on a miss (one pull per digest at a time), and pins the result. */
  prepare(request: ImageRequest, signal: AbortSignal): Promise<PreparedImage>;
}

/**
 * The user namespace of every container: uid/gid 0..size-1 inside are hostId..hostId+size-1 outside. The
 * shared rootfs is unpacked owned by this range (umoci --uid-map/--gid-map), so it must be the same for the
 * image source and the executor.
 */
export interface ContainerIdMap {
  hostId: number;
  size: number;
}

export const DEFAULT_CONTAINER_ID_MAP: ContainerIdMap = { hostId: 100_000, size: 65_536 };
