// Registry logins: sealed by the service, stored and returned sealed (core/registry-credential.ts).

import type { RegistryCredentialInfo, SealedRegistryCredential } from '../../core/registry-credential.js';

export interface RegistryCredentialStore {
  /**
   * Creates or replaces the tenant's login for its host (a replacement keeps createdAt); true when created.
   * A new one beyond `maxPerTenant` throws `plan_limit_exceeded`, checked in the same transaction.
   * Concurrency: like every plan limit, never exceeded by concurrent puts of one tenant in any process (count
   * and insert serialized per tenant); of concurrent puts of one new host, one reports it created.
   */
  putRegistryCredential(entry: SealedRegistryCredential, maxPerTenant: number): Promise<boolean>;
  /** False when the tenant had no login for that host. */
  deleteRegistryCredential(tenantId: string, host: string): Promise<boolean>;
  /** The tenant's logins in host order, without their sealed passwords. */
  listRegistryCredentials(tenantId: string): Promise<RegistryCredentialInfo[]>;
  getRegistryCredential(tenantId: string, host: string): Promise<SealedRegistryCredential | null>;
}
