// Ids are a type prefix and 26 Crockford base32 characters: 10 of creation time (ms) and 16 random.
// Sorting ids sorts by creation time, which is what cursor pagination of runs relies on.

/** Crockford's base 32, in ASCII order: ids compare as strings the way their digits compare as numbers. */
export const ID_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** Characters of the creation time at the start of an id's body. */
export const ID_TIME_DIGITS = 10;

export const ID_PREFIXES = {
  tenant: 'ten',
  apiKey: 'key',
  job: 'job',
  run: 'run',
  schedule: 'sch',
  worker: 'wrk',
  webhook: 'whk',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const ID_BODY = /^[0-9a-hjkmnp-tv-z]{26}$/;

export function encodeTime(ms: number): string {
  let out = '';
  let rest = Math.max(0, Math.floor(ms));
  for (let i = 0; i < ID_TIME_DIGITS; i++) {
    out = ID_ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

/** The creation time an id carries (for a scheduled run: its tick's nominal time). */
export function timeOfId(id: string): number {
  const body = id.slice(id.indexOf('_') + 1, id.indexOf('_') + 1 + ID_TIME_DIGITS);
  let ms = 0;
  for (const char of body) ms = ms * 32 + ID_ALPHABET.indexOf(char);
  return ms;
}

const ALPHABET_CODES = Array.from(ID_ALPHABET, (char) => char.charCodeAt(0));

/**
 * Writes the `count` lowest base-32 digits of a non-negative integer, least significant first, as character
 * codes into `codes` from `at`: a caller building an id from several numbers makes one string of them all.
 */
export function writeLowDigits(value: number, count: number, codes: number[], at: number): void {
  let rest = value;
  for (let i = 0; i < count; i++) {
    codes[at + i] = ALPHABET_CODES[rest % 32] ?? 0;
    rest = Math.floor(rest / 32);
  }
}

export function encodeRandom(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += ID_ALPHABET[byte % 32];
  return out;
}

/** A new id of the given kind; `randomBytes` is injected so the core stays free of I/O. */
export function newId(kind: IdKind, nowMs: number, randomBytes: (n: number) => Uint8Array): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(nowMs)}${encodeRandom(randomBytes(16))}`;
}

/**
 * The least id of `kind` created at `ms` or later: every id of a later time sorts at or above it, every id of
 * an earlier time below it, so a time range of ids is a range of strings.
 */
export function lowestIdAt(kind: IdKind, ms: number): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(ms)}`;
}

export function isId(kind: IdKind, value: string): boolean {
  const prefix = `${ID_PREFIXES[kind]}_`;
  return value.startsWith(prefix) && ID_BODY.test(value.slice(prefix.length));
}
