// The first-start credentials file: the generated admin key and the `default` tenant's key, kept in the data
// directory (mode 0600) so that a first start that fails after creating them (the port taken, say) loses
// nothing, and printed at every start until the operator removes the file. It is written whole to a
// temporary name, synced and renamed, so it is either absent or complete.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FirstStartCredentials {
  adminKey: string;
  tenantId: string;
  tenantName: string;
  tenantKey: string;
  writtenAt: string;
}

const FIELDS = {
  adminKey: 'HOURGLASS_ADMIN_KEY',
  tenantId: 'HOURGLASS_TENANT_ID',
  tenantName: 'HOURGLASS_TENANT_NAME',
  tenantKey: 'HOURGLASS_API_KEY',
  writtenAt: 'WRITTEN_AT',
} as const satisfies Record<keyof FirstStartCredentials, string>;

export function writeCredentialsFile(path: string, credentials: FirstStartCredentials): void {
  const text = [
    '# Hourglass first-start credentials. `hourglass server` prints them at every start until this file is',
    '# removed: store them somewhere safe, then delete it. Recovering access: docs/operations.md.',
    ...Object.entries(FIELDS).map(([field, name]) => `${name}=${credentials[field as keyof typeof FIELDS]}`),
    '',
  ].join('\n');
  const temporary = `${path}.tmp`;
  // A leftover temporary file (a crash here before) would keep its own mode if opened again: start afresh.
  rmSync(temporary, { force: true });
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir); // the rename itself survives a power loss
  } finally {
    closeSync(dir);
  }
}

/** The file's credentials; null when there is no file. Throws with what is wrong when it cannot be read. */
export function readCredentialsFile(path: string): FirstStartCredentials | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], match[2]);
  }
  const read = (field: keyof typeof FIELDS): string => {
    const value = values.get(FIELDS[field]);
    if (value === undefined || value === '') throw new Error(`${path} has no ${FIELDS[field]} line`);
    return value;
  };
  return {
    adminKey: read('adminKey'),
    tenantId: read('tenantId'),
    tenantName: read('tenantName'),
    tenantKey: read('tenantKey'),
    writtenAt: read('writtenAt'),
  };
}
