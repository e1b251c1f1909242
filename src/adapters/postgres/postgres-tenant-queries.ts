// Meta values, tenants and API keys: single statements, each atomic on its own (autocommit).

import type { ApiKey, Tenant } from '../../core/tenant.js';
import type { Sql } from './postgres-database.js';
import {
  API_KEY_COLUMNS,
  apiKeyParams,
  rowToApiKey,
  rowToTenant,
  TENANT_COLUMNS,
  tenantParams,
  type ApiKeyRow,
  type TenantRow,
} from './postgres-rows.js';

export async function getMeta(sql: Sql, key: string): Promise<string | null> {
  const row = await sql.first<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key]);
  return row?.value ?? null;
}

export async function setMeta(sql: Sql, key: string, value: string): Promise<void> {
  await sql.changes(
    'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    [key, value],
  );
}

export async function createTenant(sql: Sql, tenant: Tenant): Promise<void> {
  await sql.changes(`INSERT INTO tenants (${TENANT_COLUMNS}) VALUES ($1, $2, $3, $4)`, tenantParams(tenant));
}

export async function getTenant(sql: Sql, id: string): Promise<Tenant | null> {
  const row = await sql.first<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return row ? rowToTenant(row) : null;
}

export async function listTenants(sql: Sql): Promise<Tenant[]> {
  const rows = await sql.rows<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY id`);
  return rows.map(rowToTenant);
}

export async function updateTenantLimits(
  sql: Sql,
  id: string,
  limits: Tenant['limits'],
): Promise<Tenant | null> {
  const row = await sql.first<TenantRow>(
    `UPDATE tenants SET limits = $1 WHERE id = $2 RETURNING ${TENANT_COLUMNS}`,
    [JSON.stringify(limits), id],
  );
  return row ? rowToTenant(row) : null;
}

export async function createApiKey(sql: Sql, key: ApiKey): Promise<void> {
  await sql.changes(
    `INSERT INTO api_keys (${API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    apiKeyParams(key),
  );
}

export async function findApiKeyByHash(sql: Sql, secretHash: string): Promise<ApiKey | null> {
  const row = await sql.first<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE secret_hash = $1`, [
    secretHash,
  ]);
  return row ? rowToApiKey(row) : null;
}

export async function getApiKey(sql: Sql, id: string): Promise<ApiKey | null> {
  const row = await sql.first<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = $1`, [id]);
  return row ? rowToApiKey(row) : null;
}

export async function listApiKeys(sql: Sql, tenantId: string | null): Promise<ApiKey[]> {
  const rows =
    tenantId === null
      ? await sql.rows<ApiKeyRow>(`SELECT ${API_KEY_COLUMNS} FROM api_keys ORDER BY id`)
      : await sql.rows<ApiKeyRow>(
          `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY id`,
          [tenantId],
        );
  return rows.map(rowToApiKey);
}

export async function recordApiKeyUse(
  sql: Sql,
  id: string,
  at: number,
  unlessUsedAfter: number,
): Promise<void> {
  await sql.changes(
    'UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at <= $3)',
    [at, id, unlessUsedAfter],
  );
}

export async function revokeApiKey(sql: Sql, id: string, at: number): Promise<void> {
  await sql.changes('UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
}

export async function revokeOtherAdminKeys(sql: Sql, keepKeyId: string, at: number): Promise<number> {
  return sql.changes(
    "UPDATE api_keys SET revoked_at = $1 WHERE scope = 'admin' AND id <> $2 AND revoked_at IS NULL",
    [at, keepKeyId],
  );
}
