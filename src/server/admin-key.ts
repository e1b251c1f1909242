// The operator's admin key: read from a key file that only its owner can read, and checked for strength.
//
// Strength is an estimate, not a measurement: nothing can tell a random key from one a person made up to look
// random. The estimate (documented in docs/security.md, "Secrets and first start") is the key's length times
// log2 of the size of the alphabet it draws from, after stripping the `hg_` prefix every Hourglass key has;
// the alphabet is judged by the classes of characters present (hex, lower case, upper case, digits, other).
// On top of that, keys that are obviously not random are refused whatever their length: few distinct
// characters, a shorter string repeated, much of it repeated (3-character pieces), or a run of six
// characters each one step on from the last.

import { closeSync, fstatSync, openSync, readFileSync, constants } from 'node:fs';
import { KEY_PREFIX } from '../services/api-keys.js';

export const MIN_ADMIN_KEY_BITS = 128;

/** Why a key file or key cannot be used; the caller turns it into its own error type. */
export class AdminKeyError extends Error {
  override name = 'AdminKeyError';
}

/**
 * The key in `path`: a regular file (a symbolic link to one is followed, as secret mounts use them) owned by
 * this process's user or root, with no permission for group or others (0600, 0400 or stricter). The mode is
 * checked on the opened file, so what is read is what was checked. One trailing newline is dropped.
 */
export function readAdminKeyFile(path: string): string {
  return readOwnerOnlyFile(path, 'admin key file');
}

/** A secret file checked as readAdminKeyFile says; `what` names it in errors ("admin key file"). */
export function readOwnerOnlyFile(path: string, what: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (error) {
    throw new AdminKeyError(`cannot open the ${what} ${path}: ${(error as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new AdminKeyError(`the ${what} ${path} is not a regular file`);
    const loose = stat.mode & 0o077;
    if (loose !== 0) {
      throw new AdminKeyError(
        `the ${what} ${path} has mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}: ` +
          `its group and others must have no access (chmod 600 ${path})`,
      );
    }
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid && stat.uid !== 0) {
      throw new AdminKeyError(
        `the ${what} ${path} belongs to uid ${stat.uid}: it must belong to this user (uid ${uid}) or root`,
      );
    }
    const text = readFileSync(fd, 'utf8').replace(/\r?\n$/, '');
    if (text === '') throw new AdminKeyError(`the ${what} ${path} is empty`);
    return text;
  } finally {
    closeSync(fd);
  }
}

/** The estimate of the key's entropy in bits described above (0 for a key that is plainly not random). */
export function estimateKeyBits(key: string): number {
  const body = stripPrefix(key);
  if (body.length === 0 || notRandomBecause(body) !== null) return 0;
  return body.length * Math.log2(alphabetSize(body));
}

/** Throws unless `key` can be an admin key: printable ASCII without spaces, and strong enough. */
export function checkAdminKey(key: string, source: string): void {
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new AdminKeyError(
      `${source} must be printable ASCII without spaces (it is sent as a bearer token)`,
    );
  }
  const advice = `at least ${MIN_ADMIN_KEY_BITS} bits of entropy are needed (make a key with: openssl rand -hex 32)`;
  const reason = notRandomBecause(stripPrefix(key));
  if (reason !== null) throw new AdminKeyError(`${source} is too weak: it ${reason}; ${advice}`);
  const bits = estimateKeyBits(key);
  if (bits < MIN_ADMIN_KEY_BITS) {
    throw new AdminKeyError(`${source} is too weak: about ${Math.floor(bits)} bits of entropy; ${advice}`);
  }
}

function stripPrefix(key: string): string {
  return key.startsWith(KEY_PREFIX) ? key.slice(KEY_PREFIX.length) : key;
}

function alphabetSize(body: string): number {
  if (/^[0-9a-f]+$/.test(body) || /^[0-9A-F]+$/.test(body)) return 16;
  let size = 0;
  if (/[a-z]/.test(body)) size += 26;
  if (/[A-Z]/.test(body)) size += 26;
  if (/[0-9]/.test(body)) size += 10;
  if (/[^a-zA-Z0-9]/.test(body)) size += 33;
  return size;
}

/**
 * What makes `body` plainly not random, or null: patterns that a random key of 128 bits or more shows with a
 * probability below about one in ten thousand.
 */
function notRandomBecause(body: string): string | null {
  if (new Set(body).size < 8) return 'has fewer than 8 distinct characters';
  for (let period = 1; period <= body.length / 2; period++) {
    if (body.slice(period) === body.slice(0, -period)) return 'is a shorter string repeated';
  }
  const trigrams = body.length - 2;
  if (
    trigrams > 0 &&
    new Set(Array.from({ length: trigrams }, (_, i) => body.slice(i, i + 3))).size < trigrams * 0.75
  ) {
    return 'repeats itself (fewer than 3 in 4 of its 3-character pieces are distinct)';
  }
  let run = 1;
  for (let i = 2; i < body.length; i++) {
    const step = body.charCodeAt(i) - body.charCodeAt(i - 1);
    const previous = body.charCodeAt(i - 1) - body.charCodeAt(i - 2);
    run = Math.abs(step) <= 1 && step === previous ? run + 1 : 1;
    // Five equal steps: six characters such as aaaaaa, abcdef, 987654.
    if (run >= 5) return 'has a run of 6 repeated or consecutive characters';
  }
  return null;
}
