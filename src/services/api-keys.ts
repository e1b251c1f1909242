// API key secrets: 256 random bits behind a recognisable prefix. Only a SHA-256 hash is stored; a key is
// found by its hash, so checking one is a single indexed lookup.

import { createHash, randomBytes } from 'node:crypto';

export const KEY_PREFIX = 'hg_';

export function generateSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What a person sees of a key after it was shown once: enough to tell keys apart. */
export function displayPrefix(secret: string): string {
  return secret.slice(0, KEY_PREFIX.length + 6);
}
