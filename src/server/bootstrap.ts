// First start of a server on an empty store. Two modes:
// - generated (no operator key): an admin key and a `default` tenant with its key are created, so a new user
//   can begin at once. Their secrets go to the first-start credentials file (0600) before the `bootstrapped`
//   mark is set, and are printed from that file at every start until the operator removes it — so a first
//   start that fails later (the port taken) loses nothing.
// - operator (HOURGLASS_ADMIN_KEY or a key file): that key is made the only admin key at every start; no
//   tenant is created and no tenant key printed.
// A store with the mark is never bootstrapped again, in either mode.

import type { MetaStore } from '../ports/store/meta-store.js';
import type { TenantService } from '../services/tenant-service.js';
import {
  readCredentialsFile,
  writeCredentialsFile,
  type FirstStartCredentials,
} from './first-start-credentials.js';

export interface BootstrapResult {
  /** True when the operator gave the admin key. */
  operatorKey: boolean;
  credentialsPath: string;
  /** What the credentials file holds (null without one); printed at every start in generated mode. */
  credentials: FirstStartCredentials | null;
  /** Why the credentials file could not be read, when it could not. */
  credentialsProblem: string | null;
}

const MARK = 'bootstrapped_at';

export async function bootstrap(
  store: MetaStore,
  tenants: TenantService,
  options: { configuredAdminKey: string | null; credentialsPath: string; now: number },
): Promise<BootstrapResult> {
  const { configuredAdminKey, credentialsPath, now } = options;
  const bootstrapped = (await store.getMeta(MARK)) !== null;
  if (configuredAdminKey !== null) {
    await tenants.useAdminSecret(configuredAdminKey);
    if (!bootstrapped) await store.setMeta(MARK, new Date(now).toISOString());
  } else if (!bootstrapped) {
    const admin = await tenants.createAdminKey('generated at first start');
    // Host commands are a privilege; the first tenant has it so that the quick start's host command runs.
    const tenant = await tenants.createTenant('default', { allowHostCommands: true });
    const { secret } = await tenants.createTenantKey(tenant.id, 'generated at first start');
    writeCredentialsFile(credentialsPath, {
      adminKey: admin.secret,
      tenantId: tenant.id,
      tenantName: tenant.name,
      tenantKey: secret,
      writtenAt: new Date(now).toISOString(),
    });
    await store.setMeta(MARK, new Date(now).toISOString());
  }
  try {
    const credentials = readCredentialsFile(credentialsPath);
    return {
      operatorKey: configuredAdminKey !== null,
      credentialsPath,
      credentials,
      credentialsProblem: null,
    };
  } catch (error) {
    const problem = (error as Error).message;
    return {
      operatorKey: configuredAdminKey !== null,
      credentialsPath,
      credentials: null,
      credentialsProblem: problem,
    };
  }
}
