// Every error leaves the API as application/problem+json with a stable `code` and, where a request field is
// at fault, its dotted path in `field`. Fastify's own errors (validation, body limits, bad JSON) are
// translated here, so a user never sees a stack trace for bad input.

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, HourglassError, type ErrorCode } from '../core/errors.js';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  field?: string;
  errors?: { field: string; message: string }[];
}

interface AjvError {
  instancePath: string;
  /** Set on `propertyNames` errors: the offending key. */
  propertyName?: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  417: 'Expectation Failed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problem(code: ErrorCode, detail: string, extra: Partial<ProblemBody> = {}): ProblemBody {
  const status = ERROR_CODES[code];
  return {
    type: `https://hourglass.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    code,
    detail,
    ...extra,
  };
}

const PART_ROOT: Record<string, string> = {
  body: 'body',
  querystring: 'query',
  params: 'path',
  headers: 'headers',
};

/**
 * `/resources/memoryMb` in the body → `resources.memoryMb`; a query or path parameter by its own name (`limit`,
 * `runId`), the same name a service uses when it rejects the value. The names of the parts never collide.
 */
function fieldOf(error: AjvError, part: string): string {
  const path = error.instancePath.split('/').filter(Boolean);
  const extra = error.params['additionalProperty'] ?? error.params['missingProperty'] ?? error.propertyName;
  if (typeof extra === 'string') path.push(extra);
  return path.join('.') || (PART_ROOT[part] ?? 'body');
}

function messageOf(error: AjvError): string {
  if (error.keyword === 'additionalProperties') return 'unknown field';
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'type') return `must be ${String(error.params['type'])}`;
  if (error.keyword === 'pattern') return `must match ${String(error.params['pattern'])}`;
  return error.message ?? 'is invalid';
}

/** A union of literals fails once per literal: one message listing the choices says it better. */
function mergeChoices(list: { field: string; message: string; choice?: unknown }[]) {
  const merged: { field: string; message: string }[] = [];
  const choices = new Map<string, unknown[]>();
  for (const item of list) {
    if (item.choice === undefined) {
      merged.push({ field: item.field, message: item.message });
      continue;
    }
    let values = choices.get(item.field);
    if (values === undefined) {
      values = [];
      choices.set(item.field, values);
      merged.push({ field: item.field, message: '' });
    }
    values.push(item.choice);
  }
  for (const item of merged) {
    const values = choices.get(item.field);
    if (item.message === '' && values !== undefined) {
      item.message = `must be one of ${values.map((v) => String(v)).join(', ')}`;
    }
  }
  return merged;
}

function fromValidation(errors: AjvError[], part: string): ProblemBody {
  // anyOf/oneOf wrappers repeat what their branches said; keep the most specific messages.
  const useful = errors.filter((e) => !['anyOf', 'oneOf', 'propertyNames'].includes(e.keyword));
  const list = mergeChoices(
    (useful.length > 0 ? useful : errors).map((e) => ({
      field: fieldOf(e, part),
      message: messageOf(e),
      choice: e.keyword === 'const' ? e.params['allowedValue'] : undefined,
    })),
  );
  const first = list[0] ?? { field: 'body', message: 'is invalid' };
  return problem('validation_failed', `${first.field}: ${first.message}`, {
    field: first.field,
    errors: list,
  });
}

export function toProblem(error: FastifyError | HourglassError | Error): ProblemBody {
  if (error instanceof HourglassError) {
    const field = typeof error.context.field === 'string' ? error.context.field : undefined;
    return problem(error.code, error.message, field === undefined ? {} : { field });
  }
  const fastifyError = error as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fastifyError.validation)
    return fromValidation(fastifyError.validation, fastifyError.validationContext ?? 'body');
  switch (fastifyError.code) {
    case 'FST_ERR_BAD_URL':
      return problem('bad_request', 'the URL is malformed (bad percent-encoding or characters)');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return problem('uri_too_long', 'a path segment is too long');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return problem('payload_too_large', 'body: is larger than the limit of 256 KiB', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return problem('unsupported_media_type', 'send the request body as application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return problem('bad_request', 'body: is empty; send a JSON object', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return problem('bad_request', 'body: is not valid JSON', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return problem('bad_request', 'the Content-Length header does not match the body');
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    return problem(CODE_OF_STATUS[fastifyError.statusCode] ?? 'bad_request', error.message);
  }
  return problem('internal', 'an internal error occurred; it has been logged');
}

/** A client error Fastify or Node raise by status alone, to the code that says the same. */
const CODE_OF_STATUS: Partial<Record<number, ErrorCode>> = {
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  417: 'expectation_failed',
  431: 'headers_too_large',
};

/** The whole HTTP/1.1 response, for errors answered on the socket before any request object exists. */
export function rawProblemResponse(body: ProblemBody): string {
  const json = JSON.stringify(body);
  return [
    `HTTP/1.1 ${body.status} ${body.title}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(json)}`,
    'Connection: close',
    '',
    json,
  ].join('\r\n');
}

export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  return reply.code(body.status).type('application/problem+json').send(body);
}

export function errorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const body = toProblem(error);
  if (body.status >= 500) request.log.error({ err: error, url: request.url }, 'request failed');
  if (error instanceof HourglassError && typeof error.context.retryAfterMs === 'number') {
    reply.header('retry-after', String(Math.ceil(error.context.retryAfterMs / 1000)));
  }
  return sendProblem(reply, body);
}
