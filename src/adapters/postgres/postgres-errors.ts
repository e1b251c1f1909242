// Driver errors at the edge of the PostgreSQL store. Three kinds matter to callers:
//
//   retryable    serialization failure (40001) or deadlock (40P01): the transaction was rolled back whole,
//                so running it again is safe (postgres-database.ts does, a bounded number of times);
//   unavailable  the server cannot be reached or will not serve (connection refused or lost, shutting down,
//                too many connections, a read-only standby after a failover): HourglassError 'unavailable'
//                (503), whose outcome the caller cannot know if it was a commit;
//   a unique     violation of a named constraint, which each query file turns into the project's error
//                (job_name_taken, …) where the SQLite adapter throws the same.
//
// Anything else is a bug or a damaged database, and goes up as it is (an internal error to the API).

import { HourglassError } from '../../core/errors.js';

/** The fields of a pg DatabaseError (or a Node socket error) this module looks at. */
interface DriverErrorFields {
  code?: unknown;
  constraint?: unknown;
  message?: unknown;
}

const fieldsOf = (error: unknown): DriverErrorFields =>
  typeof error === 'object' && error !== null ? (error as DriverErrorFields) : {};

const RETRYABLE_CODES = new Set(['40001', '40P01']);

/** SQLSTATEs of a server that is going away, not answering, or not writable (a standby). */
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '25006']);

/** Node's socket errors: the connection could not be made or was lost. */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** What pg says, without a code, when a connection broke or the pool could not give one in time. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Cannot use a pool after calling end on the pool',
];

export function isRetryable(error: unknown): boolean {
  return RETRYABLE_CODES.has(fieldsOf(error).code as string);
}

export function isConnectionError(error: unknown): boolean {
  const { code, message } = fieldsOf(error);
  if (typeof code === 'string') {
    if (code.startsWith('08') || UNAVAILABLE_CODES.has(code) || SOCKET_CODES.has(code)) return true;
  }
  return typeof message === 'string' && CONNECTION_MESSAGES.some((text) => message.includes(text));
}

/** A unique violation of this constraint (or index) name. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const fields = fieldsOf(error);
  return fields.code === '23505' && fields.constraint === constraint;
}

/** The error a caller of the store sees for a driver error (HourglassErrors pass through unchanged). */
export function translateDriverError(error: unknown): unknown {
  if (error instanceof HourglassError) return error;
  if (isConnectionError(error)) {
    const detail = error instanceof Error ? error.message : String(error);
    return new HourglassError('unavailable', `the store is unavailable: ${detail}`, { store: 'postgres' });
  }
  return error;
}
