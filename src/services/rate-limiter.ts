// Per-tenant token buckets for run creation. In memory per API process: with several API processes each
// enforces the limit on its own share of the traffic (documented in docs/operations.md).

export interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly monotonic: () => number) {}

  /** Takes one token; returns 0 if allowed, otherwise the milliseconds until a token is available. */
  take(key: string, perSecond: number, burst: number): number {
    const now = this.monotonic();
    const bucket = this.buckets.get(key) ?? { tokens: burst, updatedMs: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * perSecond);
    bucket.updatedMs = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
  }
}
