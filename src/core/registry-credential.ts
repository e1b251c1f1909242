// A tenant's login to one registry host, as it is kept: the username readable (it is listed back to the
// tenant), the password sealed with the server's key (services/registry-secret-box.ts). The store holds and
// returns only this sealed form; the password is opened on the worker that pulls, and nowhere else.

/** Logins a tenant may keep at once (one per registry host). */
export const MAX_REGISTRY_CREDENTIALS_PER_TENANT = 50;
/** Registries' own limits are lower (Docker Hub tokens are ~100 characters); this only bounds the row. */
export const REGISTRY_USERNAME_MAX_CHARS = 256;
export const REGISTRY_PASSWORD_MAX_CHARS = 4096;

export interface SealedRegistryCredential {
  tenantId: string;
  /** Normalised (core/registry-host.ts). */
  host: string;
  username: string;
  /** AES-256-GCM of the password, with its 16-byte tag appended. */
  ciphertext: Buffer;
  /** The 12-byte GCM nonce, random per sealing. */
  nonce: Buffer;
  /** Which server key sealed it (a hash of the key, not the key): a row sealed by another key is told apart. */
  keyId: string;
  createdAt: number;
  updatedAt: number;
}

/** What a tenant may see of its logins. */
export interface RegistryCredentialInfo {
  host: string;
  username: string;
  createdAt: number;
  updatedAt: number;
}
