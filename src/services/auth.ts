// Resolves the bearer key of a request to a principal. Unknown and malformed keys answer the same 401, so a
// caller learns nothing about which keys exist; a revoked key says so (only its holder can present it).
// A key's last use is recorded to the minute: a write only when the stored one is a minute old or more, so a
// key used a thousand times a second costs one small write a minute, and a check reads nothing extra.

import { HourglassError } from '../core/errors.js';
import type { Principal } from '../core/tenant.js';
import type { ApiKeyStore } from '../ports/store/api-key-store.js';
import { hashSecret } from './api-keys.js';

export function unauthorized(message = 'a valid API key is required (Authorization: Bearer <key>)') {
  return new HourglassError('unauthorized', message);
}

/** How stale a key's recorded last use may get before a request writes it again. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export async function authenticate(
  store: ApiKeyStore,
  authorization: string | undefined,
  now: number,
): Promise<Principal> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const secret = match?.[1];
  if (secret === undefined) throw unauthorized();
  const key = await store.findApiKeyByHash(hashSecret(secret));
  if (key === null) throw unauthorized();
  if (key.revokedAt !== null) throw unauthorized('this API key has been revoked');
  if (key.lastUsedAt === null || now - key.lastUsedAt >= LAST_USED_RESOLUTION_MS) {
    // Conditional in the store too: of requests racing here, one writes. A failed write (a locked database)
    // must not refuse a valid key: the next request tries again.
    await store.recordApiKeyUse(key.id, now, now - LAST_USED_RESOLUTION_MS).catch(() => undefined);
  }
  if (key.scope === 'admin') return { scope: 'admin', keyId: key.id };
  if (key.tenantId === null) throw unauthorized();
  return { scope: 'tenant', keyId: key.id, tenantId: key.tenantId };
}

// Both take the principal as possibly missing: a route that somehow escaped authentication answers 401,
// never a crash and never data.
export function requireAdmin(principal: Principal | null): void {
  if (principal === null) throw unauthorized();
  if (principal.scope !== 'admin') throw new HourglassError('forbidden', 'this route needs an admin key');
}

export function requireTenant(principal: Principal | null): string {
  if (principal === null) throw unauthorized();
  if (principal.scope !== 'tenant') {
    throw new HourglassError(
      'forbidden',
      'this route needs a tenant key; admin keys manage tenants and keys',
    );
  }
  return principal.tenantId;
}
