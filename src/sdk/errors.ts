// Errors the client throws. HourglassApiError is a response from the server that says no (a problem+json
// body, or any non-2xx); HourglassConnectionError is a request that never got an answer.

import type { Problem } from './types.js';

export class HourglassApiError extends Error {
  override readonly name = 'HourglassApiError';
  readonly status: number;
  /** Stable machine-readable code (`not_found`, `validation_failed`, …). */
  readonly code: string;
  /** The request field at fault, as a dotted path, when the server names one. */
  readonly field?: string;
  readonly detail: string;
  readonly errors?: { field: string; message: string }[];

  constructor(problem: Pick<Problem, 'status' | 'code' | 'detail' | 'field' | 'errors'>) {
    super(problem.detail);
    this.status = problem.status;
    this.code = problem.code;
    this.detail = problem.detail;
    if (problem.field !== undefined) this.field = problem.field;
    if (problem.errors !== undefined) this.errors = problem.errors;
  }
}

export class HourglassConnectionError extends Error {
  override readonly name = 'HourglassConnectionError';
  readonly url: string;

  constructor(url: string, cause: unknown, what = 'cannot reach') {
    super(`${what} ${url}: ${describeCause(cause)}`, { cause });
    this.url = url;
  }
}

/** Builds the error for a non-2xx response, whatever its body. */
export async function errorFromResponse(response: Response): Promise<HourglassApiError> {
  const text = await response.text().catch(() => '');
  const problem = parseProblem(text);
  if (problem !== null) return new HourglassApiError({ ...problem, status: response.status });
  const snippet = text.trim().slice(0, 200);
  const detail = `HTTP ${response.status} ${response.statusText}` + (snippet === '' ? '' : `: ${snippet}`);
  return new HourglassApiError({ status: response.status, code: `http_${response.status}`, detail });
}

function parseProblem(text: string): Omit<Problem, 'status' | 'type' | 'title'> | null {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof body !== 'object' || body === null) return null;
  const { code, detail, title, field, errors } = body as Record<string, unknown>;
  if (typeof code !== 'string') return null;
  const message = typeof detail === 'string' ? detail : typeof title === 'string' ? title : code;
  return {
    code,
    detail: message,
    ...(typeof field === 'string' ? { field } : {}),
    ...(Array.isArray(errors) ? { errors: errors as Problem['errors'] } : {}),
  };
}

function describeCause(cause: unknown): string {
  // fetch() wraps the socket error: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED', … } }).
  const inner = cause instanceof Error && cause.cause !== undefined ? cause.cause : cause;
  if (typeof inner === 'object' && inner !== null) {
    const { code, message } = inner as { code?: unknown; message?: unknown };
    if (typeof message === 'string' && message !== '') return message;
    if (typeof code === 'string') return code;
  }
  return String(inner);
}
