// The console's calls of the admin routes (docs/api.md "## Authentication"): tenants and their limits, and
// API keys (a new key's secret is in the answer that creates it, and never again).

import { getJson, postJson, send, type ApiKey, type ApiKeyInfo, type Tenant, type TenantLimits } from './api';

export async function listTenants(key: string): Promise<Tenant[]> {
  return (await getJson<{ items: Tenant[] }>(key, '/v1/tenants')).items;
}

export const createTenant = (key: string, name: string): Promise<Tenant> =>
  postJson(key, '/v1/tenants', { name });

export async function updateLimits(
  key: string,
  tenantId: string,
  limits: Partial<TenantLimits>,
): Promise<Tenant> {
  const response = await send(key, 'PATCH', `/v1/tenants/${encodeURIComponent(tenantId)}`, { limits });
  return (await response.json()) as Tenant;
}

export async function listKeys(key: string, tenantId: string): Promise<ApiKeyInfo[]> {
  const path = `/v1/keys?tenantId=${encodeURIComponent(tenantId)}`;
  return (await getJson<{ items: ApiKeyInfo[] }>(key, path)).items;
}

export const createKey = (key: string, tenantId: string, name: string): Promise<ApiKey> =>
  postJson(key, `/v1/tenants/${encodeURIComponent(tenantId)}/keys`, name === '' ? {} : { name });

export async function revokeKey(key: string, keyId: string): Promise<void> {
  await send(key, 'DELETE', `/v1/keys/${encodeURIComponent(keyId)}`);
}
