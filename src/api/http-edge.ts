// What the HTTP edge answers before any route does, as problem+json like every other error: the errors Node's
// HTTP parser raises on the socket itself (headers too large, a request line or header that is not HTTP, a
// timeout), an `Expect` we do not support, a request line over the limit, a missing Host, and a path that
// exists only under other methods (405). Without this, Node and Fastify answer these in their own shapes
// (`{"error": …}` JSON, or an empty body).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { HourglassError } from '../core/errors.js';
import { problem, rawProblemResponse, type ProblemBody } from './problem.js';

/** The longest request target (path and query) answered; a longer one is 414. */
export const MAX_URL_CHARS = 8192;

/** How long an answered bad connection is left open for its client to read the answer. */
const CLOSE_GRACE_MS = 1000;

type ParserError = NodeJS.ErrnoException & { rawPacket?: Buffer; reason?: string };

/** The problem for an error Node's HTTP parser raised, or null when there is nobody left to answer. */
export function clientErrorProblem(error: ParserError): ProblemBody | null {
  const code = error.code ?? '';
  if (code === 'ECONNRESET' || code === 'EPIPE') return null;
  if (code.includes('TIMEOUT')) {
    return problem('request_timeout', 'the request took too long to arrive; send it again');
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    // The limit is on the whole head; when the request line alone is over ours, the URL is what is too long.
    const head = error.rawPacket ?? Buffer.alloc(0);
    const lineEnd = head.indexOf('\r\n');
    if (lineEnd === -1 || lineEnd > MAX_URL_CHARS) {
      return problem('uri_too_long', `the request line is over ${MAX_URL_CHARS} characters`);
    }
    return problem('headers_too_large', 'the request headers are over 16 KiB');
  }
  if (code === 'HPE_INVALID_HEADER_TOKEN') {
    return problem(
      'bad_request',
      'a header has an invalid name or value (a NUL or another control character)',
      { field: 'headers' },
    );
  }
  if (code === 'HPE_INVALID_URL') {
    return problem('bad_request', 'the request target has characters a URL cannot hold (a NUL, a space)');
  }
  if (code === 'HPE_INVALID_METHOD') return problem('bad_request', 'the request method is not HTTP');
  // llhttp's reasons are fixed texts ("Invalid header value char"), never a piece of the request.
  const reason = typeof error.reason === 'string' ? ` (${error.reason})` : '';
  return problem('bad_request', `the request is not valid HTTP/1.1${reason}`);
}

/** Fastify's `clientErrorHandler`: the answer is written on the socket, which is then closed. */
export function answerClientError(error: Error, socket: Duplex): void {
  const body = socket.destroyed ? null : clientErrorProblem(error as ParserError);
  // As Node does: a response already under way on this connection (a followed log, say) must not get our
  // bytes in its middle; the connection is only closed.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (body === null || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  // Ended, not destroyed at once: closing with the client's unread bytes would reset the connection, and
  // the client could lose the answer before reading it.
  socket.end(rawProblemResponse(body));
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

/** The server's `checkExpectation` event: an `Expect` other than 100-continue, which Node answers bare. */
export function answerExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const body = problem('expectation_failed', 'only `Expect: 100-continue` is supported', {
    field: 'Expect',
  });
  const json = JSON.stringify(body);
  response.writeHead(body.status, {
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    connection: 'close',
  });
  response.end(json);
}

/** Checks made on every request before routing matters: the length of its target, and its Host. */
export function checkRequestHead(url: string, httpVersion: string, host: string | undefined): void {
  if (url.length > MAX_URL_CHARS) {
    throw new HourglassError('uri_too_long', `the request target is over ${MAX_URL_CHARS} characters`);
  }
  // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400. Node does so itself, with no body,
  // unless told not to; it is told not to, so that the answer is a problem like the others.
  if (httpVersion === '1.1' && (host === undefined || host === '')) {
    throw new HourglassError('bad_request', 'Host: is required in HTTP/1.1', { field: 'Host' });
  }
}

/** The methods each registered path answers, to tell a wrong method (405) from an unknown path (404). */
export class RouteMethods {
  private readonly routes: { pattern: RegExp; method: string }[] = [];

  add(method: string | string[], url: string): void {
    const source = url
      .split('/')
      .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    for (const m of Array.isArray(method) ? method : [method]) {
      this.routes.push({ pattern: new RegExp(`^${source}/?$`), method: m });
    }
  }

  /** The methods `path` is registered under, sorted; empty when no route has this path. */
  allowed(path: string): string[] {
    const methods = new Set(this.routes.filter((r) => r.pattern.test(path)).map((r) => r.method));
    return [...methods].sort();
  }
}
