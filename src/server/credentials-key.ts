// The server's credentials key: 32 random bytes that seal tenants' registry passwords (AES-256-GCM, see
// services/registry-secret-box.ts). Given by the operator in a key file (`--credentials-key-file`, owner-only
// like the admin key file), or else kept as DATA_DIR/registry-credentials.key, created 0600 at first start.
// The file holds the key as 64 hex digits and a newline (`openssl rand -hex 32` makes one).

import { closeSync, constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AdminKeyError, readOwnerOnlyFile } from './admin-key.js';
import { CREDENTIALS_KEY_BYTES, credentialsKeyId } from '../services/registry-secret-box.js';
import { CREDENTIALS_KEY_FILE } from './data-dir.js';

export interface CredentialsKey {
  key: Buffer;
  /** Names the key in logs and stored rows without revealing it. */
  keyId: string;
  path: string;
  /** True when this start generated it (a new data directory). */
  created: boolean;
}

/** Why the key cannot be loaded; the server refuses to start with it. */
export class CredentialsKeyError extends Error {
  override name = 'CredentialsKeyError';
}

function parseKey(text: string, path: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text.trim())) {
    throw new CredentialsKeyError(
      `the credentials key file ${path} must hold 64 hex digits (32 bytes): openssl rand -hex 32 > ${path}`,
    );
  }
  return Buffer.from(text.trim(), 'hex');
}

/** Creates the key file with O_EXCL at 0600: two servers starting at once cannot both write one. */
function createKeyFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${randomBytes(CREDENTIALS_KEY_BYTES).toString('hex')}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The operator's key file when given, else the data directory's (made on first start). */
export function loadCredentialsKey(dataDir: string, keyFile: string | null): CredentialsKey {
  const path = keyFile ?? join(dataDir, CREDENTIALS_KEY_FILE);
  const created = keyFile === null && createKeyFile(path);
  let text: string;
  try {
    text = readOwnerOnlyFile(path, 'credentials key file');
  } catch (error) {
    if (error instanceof AdminKeyError) throw new CredentialsKeyError(error.message);
    throw error;
  }
  const key = parseKey(text, path);
  return { key, keyId: credentialsKeyId(key), path, created };
}
