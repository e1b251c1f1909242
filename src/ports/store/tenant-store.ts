// Tenants and their plan limits: written by an admin, read wherever a limit or a privilege is checked.

import type { Tenant } from '../../core/tenant.js';

export interface TenantStore {
  /** The id is unique: of concurrent creates of one id, one commits and the others throw. */
  createTenant(tenant: Tenant): Promise<void>;
  getTenant(id: string): Promise<Tenant | null>;
  listTenants(): Promise<Tenant[]>;
  /**
   * Replaces the tenant's plan limits (an admin's change); null when there is no such tenant. One statement:
   * of concurrent replacements the last to commit wins (the limits are replaced whole, never merged here).
   */
  updateTenantLimits(id: string, limits: Tenant['limits']): Promise<Tenant | null>;
}
