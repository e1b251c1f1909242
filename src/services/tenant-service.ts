// Tenants and their API keys (admin operations), and the first-start bootstrap of an embedded server.

import { randomBytes } from 'node:crypto';
import { HourglassError, notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { withPlanDefaults, type ApiKey, type PlanLimits, type Tenant } from '../core/tenant.js';
import type { Clock } from '../ports/clock.js';
import type { ApiKeyStore } from '../ports/store/api-key-store.js';
import type { TenantStore } from '../ports/store/tenant-store.js';
import { displayPrefix, generateSecret, hashSecret } from './api-keys.js';

export interface CreatedKey {
  key: ApiKey;
  secret: string;
}

export class TenantService {
  constructor(
    private readonly store: TenantStore & ApiKeyStore,
    private readonly clock: Clock,
  ) {}

  async createTenant(name: string, limits: Partial<PlanLimits> = {}): Promise<Tenant> {
    const now = this.clock.now();
    const tenant: Tenant = {
      id: newId('tenant', now, randomBytes),
      name,
      limits: withPlanDefaults(limits),
      createdAt: now,
    };
    await this.store.createTenant(tenant);
    return tenant;
  }

  /** A tenant stored before a plan limit existed reads with that limit's default. */
  async getTenant(tenantId: string): Promise<Tenant | null> {
    const tenant = await this.store.getTenant(tenantId);
    return tenant === null ? null : { ...tenant, limits: withPlanDefaults(tenant.limits) };
  }

  async listTenants(): Promise<Tenant[]> {
    return (await this.store.listTenants()).map((t) => ({ ...t, limits: withPlanDefaults(t.limits) }));
  }

  /** An admin's change of some plan limits; the others keep their values. */
  async updateTenantLimits(tenantId: string, limits: Partial<PlanLimits>): Promise<Tenant> {
    const current = await this.getTenant(tenantId);
    if (current === null) throw notFound('tenant', tenantId, 'tenantId');
    const updated = await this.store.updateTenantLimits(tenantId, { ...current.limits, ...limits });
    if (updated === null) throw notFound('tenant', tenantId, 'tenantId');
    return { ...updated, limits: withPlanDefaults(updated.limits) };
  }

  async createTenantKey(tenantId: string, name: string | null): Promise<CreatedKey> {
    if ((await this.store.getTenant(tenantId)) === null) throw notFound('tenant', tenantId, 'tenantId');
    return this.createKey('tenant', tenantId, name);
  }

  /**
   * Makes a configured secret (HOURGLASS_ADMIN_KEY) the one admin key: stored if new, and every other admin key
   * (generated at first start, or an earlier HOURGLASS_ADMIN_KEY) revoked, so rotating it is changing it.
   */
  async useAdminSecret(secret: string): Promise<{ revoked: number }> {
    const existing = await this.store.findApiKeyByHash(hashSecret(secret));
    if (existing !== null && existing.scope !== 'admin') {
      throw new HourglassError('forbidden', 'HOURGLASS_ADMIN_KEY is a tenant key; choose a new secret');
    }
    if (existing !== null && existing.revokedAt !== null) {
      throw new HourglassError('forbidden', 'HOURGLASS_ADMIN_KEY was revoked before; choose a new one');
    }
    const keyId = existing?.id ?? (await this.insertKey('admin', null, 'HOURGLASS_ADMIN_KEY', secret)).key.id;
    return { revoked: await this.store.revokeOtherAdminKeys(keyId, this.clock.now()) };
  }

  createAdminKey(name: string): Promise<CreatedKey> {
    return this.createKey('admin', null, name);
  }

  /** Every key, or one tenant's (404 for an unknown tenant); callers render them without secret or hash. */
  async listKeys(tenantId: string | null): Promise<ApiKey[]> {
    if (tenantId !== null && (await this.store.getTenant(tenantId)) === null) {
      throw notFound('tenant', tenantId, 'tenantId');
    }
    return this.store.listApiKeys(tenantId);
  }

  async revokeKey(keyId: string): Promise<void> {
    const key = await this.store.getApiKey(keyId);
    if (key === null) throw notFound('API key', keyId, 'keyId');
    if (key.scope === 'admin') {
      throw new HourglassError('forbidden', 'admin keys cannot be revoked through the API', {
        field: 'keyId',
      });
    }
    await this.store.revokeApiKey(keyId, this.clock.now());
  }

  private createKey(
    scope: ApiKey['scope'],
    tenantId: string | null,
    name: string | null,
  ): Promise<CreatedKey> {
    return this.insertKey(scope, tenantId, name, generateSecret());
  }

  private async insertKey(
    scope: ApiKey['scope'],
    tenantId: string | null,
    name: string | null,
    secret: string,
  ): Promise<CreatedKey> {
    const now = this.clock.now();
    const key: ApiKey = {
      id: newId('apiKey', now, randomBytes),
      tenantId,
      scope,
      prefix: displayPrefix(secret),
      secretHash: hashSecret(secret),
      name,
      createdAt: now,
      revokedAt: null,
      lastUsedAt: null,
    };
    await this.store.createApiKey(key);
    return { key, secret };
  }
}
