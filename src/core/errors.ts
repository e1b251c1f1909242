// One base error with a stable string code. Every code is listed once in ERROR_CODES with its HTTP status,
// so the API maps errors in one place and docs/api.md can list them (a test keeps the two in sync).

export const ERROR_CODES = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  job_name_taken: 409,
  run_already_finished: 409,
  idempotency_key_reused: 409,
  schedule_conflict: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  expectation_failed: 417,
  plan_limit_exceeded: 422,
  rate_limited: 429,
  too_many_streams: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorContext {
  /** The request field at fault, as a dotted path (`resources.memoryMb`, `limit`). */
  field?: string;
  [key: string]: unknown;
}

export class HourglassError extends Error {
  readonly code: ErrorCode;
  readonly context: ErrorContext;

  constructor(code: ErrorCode, message: string, context: ErrorContext = {}) {
    super(message);
    this.name = 'HourglassError';
    this.code = code;
    this.context = context;
  }

  get status(): number {
    return ERROR_CODES[this.code];
  }
}

export const notFound = (what: string, id: string, field?: string): HourglassError =>
  field
    ? new HourglassError('not_found', `${field}: ${what} ${JSON.stringify(id)} was not found`, { field })
    : new HourglassError('not_found', `${what} ${JSON.stringify(id)} was not found`);

export const invalid = (field: string, message: string): HourglassError =>
  new HourglassError('validation_failed', `${field}: ${message}`, { field });
