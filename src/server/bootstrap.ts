// First start of a server on an empty store: an admin key (unless HOURGLASS_ADMIN_KEY gives one) and a first
// tenant with its key, so a new user can begin at once. Their secrets are returned to be printed once; later
// starts find the `bootstrapped` mark and create nothing. A configured HOURGLASS_ADMIN_KEY is made the only
// admin key at every start.

import type { Store } from '../ports/store.js';
import type { TenantService } from '../services/tenant-service.js';

export interface BootstrapResult {
  /** Present only on the start that generated it. */
  adminKey: string | null;
  firstTenant: { id: string; name: string; key: string } | null;
}

const MARK = 'bootstrapped_at';

export async function bootstrap(
  store: Store,
  tenants: TenantService,
  configuredAdminKey: string | null,
  now: number,
): Promise<BootstrapResult> {
  if (configuredAdminKey !== null) await tenants.useAdminSecret(configuredAdminKey);
  if ((await store.getMeta(MARK)) !== null) return { adminKey: null, firstTenant: null };

  const admin = configuredAdminKey === null ? await tenants.createAdminKey('generated at first start') : null;
  // Host commands are a privilege; the first tenant has it so that the quick start's host command runs.
  const tenant = await tenants.createTenant('default', { allowHostCommands: true });
  const { secret } = await tenants.createTenantKey(tenant.id, 'generated at first start');
  await store.setMeta(MARK, new Date(now).toISOString());
  return { adminKey: admin?.secret ?? null, firstTenant: { id: tenant.id, name: tenant.name, key: secret } };
}
