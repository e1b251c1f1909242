// A tenant's recent tag → digest resolutions. Resolving a tag is a registry round trip (a skopeo process
// and an HTTPS request: ~30 ms warm on loopback, more over a real network), which a run-now of a hot tag
// would otherwise wait for every time. A resolution is reused for its tenant, reference and login for
// `ttlMs`; past half of it, the next run still uses it and resolves again in the background, so a tag run
// steadily never waits. What this bounds: a tag pushed anew, or access revoked at the registry, is seen
// within `ttlMs`. A changed login is a new key (its fingerprint is part of it), so it resolves at once.

import { createHash } from 'node:crypto';
import type { RegistryCredentials } from '../../ports/images.js';

interface Resolution {
  digest: string;
  at: number;
}

export interface TagHit {
  digest: string;
  /** Older than half the TTL: resolve again in the background. */
  stale: boolean;
}

const MAX_ENTRIES = 10_000;

export class TagResolutions {
  private readonly entries = new Map<string, Resolution>();
  private readonly refreshing = new Set<string>();

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** The cache key of a tenant's reference under a login (the login only as a hash, never kept itself). */
  static keyOf(tenantId: string, reference: string, credentials: RegistryCredentials | null): string {
    const login =
      credentials === null
        ? ''
        : createHash('sha256').update(`${credentials.username}\0${credentials.password}`).digest('base64url');
    return `${tenantId}\0${reference}\0${login}`;
  }

  lookup(key: string): TagHit | null {
    const entry = this.entries.get(key);
    if (entry === undefined) return null;
    const age = this.now() - entry.at;
    if (age >= this.ttlMs || age < 0) {
      this.entries.delete(key);
      return null;
    }
    return { digest: entry.digest, stale: age >= this.ttlMs / 2 };
  }

  remember(key: string, digest: string): void {
    if (this.ttlMs <= 0) return;
    this.entries.delete(key); // re-inserted last: the map's order is the eviction order
    this.entries.set(key, { digest, at: this.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets every resolution to this digest (its image left the cache). */
  forgetDigest(digest: string): void {
    for (const [key, entry] of this.entries) if (entry.digest === digest) this.entries.delete(key);
  }

  /** Runs `refresh` for the key unless one is already running; a failed refresh forgets the key. */
  refreshOnce(key: string, refresh: () => Promise<string>): void {
    if (this.refreshing.has(key)) return;
    this.refreshing.add(key);
    refresh()
      .then(
        (digest) => this.remember(key, digest),
        () => this.forget(key),
      )
      .finally(() => this.refreshing.delete(key));
  }
}
