// The registry_credentials table: a tenant's registry logins, one per host, stored sealed exactly as the
// service hands them over (this adapter never sees a password). Keyed by (tenant_id, host), so every lookup
// is scoped to its tenant by the key itself.

import type Database from 'better-sqlite3';
import { HourglassError } from '../../core/errors.js';
import type { RegistryCredentialInfo, SealedRegistryCredential } from '../../core/registry-credential.js';

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

type InfoRow = Pick<RegistryRow, 'host' | 'username' | 'created_at' | 'updated_at'>;

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

export function compileRegistryQueries(db: Database.Database) {
  const exists = db
    .prepare<[string, string], number>('SELECT 1 FROM registry_credentials WHERE tenant_id = ? AND host = ?')
    .pluck();
  const count = db
    .prepare<[string], number>('SELECT COUNT(*) FROM registry_credentials WHERE tenant_id = ?')
    .pluck();
  const upsert = db.prepare<[RegistryRow]>(`INSERT INTO registry_credentials
      (tenant_id, host, username, secret, nonce, key_id, created_at, updated_at)
    VALUES (@tenant_id, @host, @username, @secret, @nonce, @key_id, @created_at, @updated_at)
    ON CONFLICT (tenant_id, host) DO UPDATE SET username = excluded.username, secret = excluded.secret,
      nonce = excluded.nonce, key_id = excluded.key_id, updated_at = excluded.updated_at`);
  const remove = db.prepare<[string, string]>(
    'DELETE FROM registry_credentials WHERE tenant_id = ? AND host = ?',
  );
  const list = db.prepare<[string], InfoRow>(`SELECT host, username, created_at, updated_at
    FROM registry_credentials WHERE tenant_id = ? ORDER BY host`);
  const get = db.prepare<[string, string], RegistryRow>(`SELECT tenant_id, host, username, secret, nonce,
    key_id, created_at, updated_at FROM registry_credentials WHERE tenant_id = ? AND host = ?`);

  const put = db.transaction((entry: SealedRegistryCredential, maxPerTenant: number): boolean => {
    const isNew = exists.get(entry.tenantId, entry.host) === undefined;
    if (isNew && count.get(entry.tenantId)! >= maxPerTenant) {
      throw new HourglassError(
        'plan_limit_exceeded',
        `host: a tenant keeps at most ${maxPerTenant} registry logins; log out of one first`,
        { field: 'host', limit: 'maxRegistries' },
      );
    }
    upsert.run({
      tenant_id: entry.tenantId,
      host: entry.host,
      username: entry.username,
      secret: entry.ciphertext,
      nonce: entry.nonce,
      key_id: entry.keyId,
      created_at: entry.createdAt,
      updated_at: entry.updatedAt,
    });
    return isNew;
  });

  return {
    put: (entry: SealedRegistryCredential, maxPerTenant: number) => put.immediate(entry, maxPerTenant),
    remove: (tenantId: string, host: string) => remove.run(tenantId, host).changes > 0,
    list: (tenantId: string): RegistryCredentialInfo[] =>
      list.all(tenantId).map((row) => ({
        host: row.host,
        username: row.username,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
      })),
    get: (tenantId: string, host: string): SealedRegistryCredential | null => {
      const row = get.get(tenantId, host);
      return row === undefined ? null : rowToSealed(row);
    },
  };
}

export type RegistryQueries = ReturnType<typeof compileRegistryQueries>;
