// Tenants' registry logins: kept (sealed with the server's credentials key), listed without secrets, removed,
// and opened for the worker that pulls a tenant's image. The password leaves this module only toward the
// worker's image source; no error, log line or answer carries it.

import { invalid, notFound } from '../core/errors.js';
import {
  MAX_REGISTRY_CREDENTIALS_PER_TENANT,
  REGISTRY_PASSWORD_MAX_CHARS,
  REGISTRY_USERNAME_MAX_CHARS,
  type RegistryCredentialInfo,
} from '../core/registry-credential.js';
import { normalizeRegistryHost, registryHostOf } from '../core/registry-host.js';
import type { Clock } from '../ports/clock.js';
import type { RegistryCredentials } from '../ports/images.js';
import type { RegistryCredentialStore } from '../ports/store/registry-credential-store.js';
import { openPassword, sealPassword, SecretBoxError } from './registry-secret-box.js';

export interface RegistryLogin {
  username: string;
  password: string;
}

/** Why a stored login could not be used; its message is the run's reason (no secret in it). */
export class RegistryCredentialError extends Error {
  override name = 'RegistryCredentialError';
}

function hasControlCharacter(text: string): boolean {
  return [...text].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
}

function checkLogin(login: RegistryLogin): void {
  // The schema bounds them too; this is the rule for callers that are not the API.
  if (login.username.length === 0 || login.username.length > REGISTRY_USERNAME_MAX_CHARS) {
    throw invalid('username', `must be 1 to ${REGISTRY_USERNAME_MAX_CHARS} characters`);
  }
  if (login.username.includes(':') || hasControlCharacter(login.username)) {
    // `user:password` is how registries take basic auth: a colon would split it elsewhere.
    throw invalid('username', 'must not contain a colon or control characters');
  }
  if (login.password.length === 0 || login.password.length > REGISTRY_PASSWORD_MAX_CHARS) {
    throw invalid('password', `must be 1 to ${REGISTRY_PASSWORD_MAX_CHARS} characters`);
  }
  if (/[\0\r\n]/.test(login.password)) throw invalid('password', 'must not contain NUL or line breaks');
}

export class RegistryCredentialService {
  constructor(
    private readonly store: RegistryCredentialStore,
    private readonly clock: Clock,
    /** The server's credentials key (32 bytes); see src/server/credentials-key.ts. */
    private readonly key: Buffer,
  ) {}

  /** Creates or replaces the tenant's login for `host`; true when it was new. */
  async putLogin(
    tenantId: string,
    rawHost: string,
    login: RegistryLogin,
  ): Promise<{ host: string; created: boolean }> {
    const host = normalizeRegistryHost(rawHost, 'host');
    checkLogin(login);
    const sealed = sealPassword(this.key, { tenantId, host, username: login.username }, login.password);
    const now = this.clock.now();
    const created = await this.store.putRegistryCredential(
      { tenantId, host, username: login.username, ...sealed, createdAt: now, updatedAt: now },
      MAX_REGISTRY_CREDENTIALS_PER_TENANT,
    );
    return { host, created };
  }

  async deleteLogin(tenantId: string, rawHost: string): Promise<void> {
    const host = normalizeRegistryHost(rawHost, 'host');
    if (!(await this.store.deleteRegistryCredential(tenantId, host))) {
      throw notFound('registry login', host, 'host');
    }
  }

  listLogins(tenantId: string): Promise<RegistryCredentialInfo[]> {
    return this.store.listRegistryCredentials(tenantId);
  }

  /**
   * The tenant's login for the registry of `imageReference`, opened; null when it has none (the pull is
   * anonymous). Throws RegistryCredentialError when one is stored but cannot be opened.
   */
  async credentialsForImage(tenantId: string, imageReference: string): Promise<RegistryCredentials | null> {
    const host = registryHostOf(imageReference);
    if (host === null) return null;
    const row = await this.store.getRegistryCredential(tenantId, host);
    if (row === null) return null;
    try {
      const password = openPassword(this.key, { tenantId, host, username: row.username }, row);
      return { username: row.username, password };
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      throw new RegistryCredentialError(
        `the registry login for ${host} cannot be used: it was ${error.message}; log in to ${host} again ` +
          '(hourglass registries login)',
      );
    }
  }
}
