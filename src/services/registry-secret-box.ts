// Sealing of registry passwords at rest: AES-256-GCM under the server's credentials key, a random 96-bit
// nonce per sealing, and the row's identity (tenant, host, username) as additional authenticated data, so a
// ciphertext copied into another tenant's row, another host's or under another username fails to open. The
// key id stored with each row is a hash of the key, so a row sealed under another key says so rather than
// failing as tampered. Errors never carry the plaintext or the key.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const CREDENTIALS_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const AAD_VERSION = 'hourglass/registry-credential/v1';

export interface RowIdentity {
  tenantId: string;
  host: string;
  username: string;
}

export interface Sealed {
  ciphertext: Buffer;
  nonce: Buffer;
  keyId: string;
}

/** Why a sealed password cannot be opened: `other_key` (sealed under a key this server lacks) or `tampered`. */
export class SecretBoxError extends Error {
  override name = 'SecretBoxError';
  constructor(
    readonly reason: 'other_key' | 'tampered',
    message: string,
  ) {
    super(message);
  }
}

/** 16 hex digits of SHA-256 over the key: names the key in rows and messages without revealing it. */
export function credentialsKeyId(key: Buffer): string {
  return createHash('sha256').update('hourglass/credentials-key-id\0').update(key).digest('hex').slice(0, 16);
}

/** Each field length-prefixed, so no two identities encode alike whatever their characters. */
function aadOf(identity: RowIdentity): Buffer {
  const fields = [AAD_VERSION, identity.tenantId, identity.host, identity.username].map((field) => {
    const bytes = Buffer.from(field, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  });
  return Buffer.concat(fields);
}

function checkKey(key: Buffer): void {
  if (key.length !== CREDENTIALS_KEY_BYTES) throw new Error('the credentials key must be 32 bytes');
}

export function sealPassword(key: Buffer, identity: RowIdentity, password: string): Sealed {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aadOf(identity));
  const body = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
  return { ciphertext: Buffer.concat([body, cipher.getAuthTag()]), nonce, keyId: credentialsKeyId(key) };
}

export function openPassword(key: Buffer, identity: RowIdentity, sealed: Sealed): string {
  checkKey(key);
  const keyId = credentialsKeyId(key);
  if (sealed.keyId !== keyId) {
    throw new SecretBoxError(
      'other_key',
      `sealed under another server credentials key (key id ${sealed.keyId}; this server's is ${keyId})`,
    );
  }
  if (sealed.nonce.length !== NONCE_BYTES || sealed.ciphertext.length < TAG_BYTES) {
    throw new SecretBoxError('tampered', 'the stored credential is damaged');
  }
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aadOf(identity));
  decipher.setAuthTag(sealed.ciphertext.subarray(-TAG_BYTES));
  try {
    const body = sealed.ciphertext.subarray(0, -TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    // OpenSSL's message says nothing useful; ours says what it means.
    throw new SecretBoxError('tampered', 'the stored credential does not authenticate (altered or moved)');
  }
}
