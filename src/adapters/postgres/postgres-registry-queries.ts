// The registry_credentials table: a tenant's registry logins, one per host, stored sealed exactly as the
// service hands them over (this adapter never sees a password). Keyed by (tenant_id, host), so every lookup
// is scoped to its tenant by the key itself.

import { HourglassError } from '../../core/errors.js';
import type { RegistryCredentialInfo, SealedRegistryCredential } from '../../core/registry-credential.js';
import type { Sql } from './postgres-database.js';
import { lockTenantLimits } from './postgres-locks.js';

interface RegistryRow {
  tenant_id: string;
  host: string;
  username: string;
  secret: Buffer;
  nonce: Buffer;
  key_id: string;
  created_at: number;
  updated_at: number;
}

const rowToSealed = (row: RegistryRow): SealedRegistryCredential => ({
  tenantId: row.tenant_id,
  host: row.host,
  username: row.username,
  ciphertext: row.secret,
  nonce: row.nonce,
  keyId: row.key_id,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** In a transaction: a new login is counted and inserted under the tenant's plan-limit lock. */
export async function putRegistryCredential(
  sql: Sql,
  entry: SealedRegistryCredential,
  maxPerTenant: number,
): Promise<boolean> {
  await lockTenantLimits(sql, entry.tenantId);
  const existing = await sql.first('SELECT 1 FROM registry_credentials WHERE tenant_id = $1 AND host = $2', [
    entry.tenantId,
    entry.host,
  ]);
  const isNew = existing === undefined;
  if (isNew) {
    const counted = await sql.first<{ n: number }>(
      'SELECT COUNT(*) AS n FROM registry_credentials WHERE tenant_id = $1',
      [entry.tenantId],
    );
    if ((counted?.n ?? 0) >= maxPerTenant) {
      throw new HourglassError(
        'plan_limit_exceeded',
        `host: a tenant keeps at most ${maxPerTenant} registry logins; log out of one first`,
        { field: 'host', limit: 'maxRegistries' },
      );
    }
  }
  await sql.changes(
    `INSERT INTO registry_credentials
       (tenant_id, host, username, secret, nonce, key_id, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, host) DO UPDATE SET username = excluded.username, secret = excluded.secret,
       nonce = excluded.nonce, key_id = excluded.key_id, updated_at = excluded.updated_at`,
    [
      entry.tenantId,
      entry.host,
      entry.username,
      entry.ciphertext,
      entry.nonce,
      entry.keyId,
      entry.createdAt,
      entry.updatedAt,
    ],
  );
  return isNew;
}

export async function deleteRegistryCredential(sql: Sql, tenantId: string, host: string): Promise<boolean> {
  const changes = await sql.changes('DELETE FROM registry_credentials WHERE tenant_id = $1 AND host = $2', [
    tenantId,
    host,
  ]);
  return changes > 0;
}

export async function listRegistryCredentials(sql: Sql, tenantId: string): Promise<RegistryCredentialInfo[]> {
  const rows = await sql.rows<Pick<RegistryRow, 'host' | 'username' | 'created_at' | 'updated_at'>>(
    `SELECT host, username, created_at, updated_at FROM registry_credentials
     WHERE tenant_id = $1 ORDER BY host`,
    [tenantId],
  );
  return rows.map((row) => ({
    host: row.host,
    username: row.username,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }));
}

export async function getRegistryCredential(
  sql: Sql,
  tenantId: string,
  host: string,
): Promise<SealedRegistryCredential | null> {
  const row = await sql.first<RegistryRow>(
    `SELECT tenant_id, host, username, secret, nonce, key_id, created_at, updated_at
     FROM registry_credentials WHERE tenant_id = $1 AND host = $2`,
    [tenantId, host],
  );
  return row === undefined ? null : rowToSealed(row);
}
