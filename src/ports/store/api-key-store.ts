// API keys, stored by the hash of their secret only (core/tenant.ts): authentication looks a key up by that
// hash; admins create, list and revoke them.

import type { ApiKey } from '../../core/tenant.js';

// Concurrency: every method is one statement. The id and the secret hash are unique.

export interface ApiKeyStore {
  createApiKey(key: ApiKey): Promise<void>;
  findApiKeyByHash(secretHash: string): Promise<ApiKey | null>;
  getApiKey(id: string): Promise<ApiKey | null>;
  /** Revoking a revoked key keeps its first revocation time. */
  revokeApiKey(id: string, at: number): Promise<void>;
  /** Every API key (admin and tenant) in id order, or one tenant's; revoked ones included. */
  listApiKeys(tenantId: string | null): Promise<ApiKey[]>;
  /**
   * Sets the key's lastUsedAt to `at`, unless it was last used after `unlessUsedAfter`: a conditional write,
   * so of concurrent requests with one key, within the resolution, one writes and the others change nothing.
   */
  recordApiKeyUse(id: string, at: number, unlessUsedAfter: number): Promise<void>;
  /** Revokes every admin key not revoked yet, except `keepKeyId`; returns how many it revoked. */
  revokeOtherAdminKeys(keepKeyId: string, at: number): Promise<number>;
}
