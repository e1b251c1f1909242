// Every error the API can produce is application/problem+json with a stable code: the ones our routes raise,
// the ones Fastify raises (bad JSON, body limits, bad URLs, unknown routes and methods), and the ones Node's
// HTTP parser answers on the socket before Fastify sees a request (headers too large, a NUL in a header, a
// request line that is not HTTP). The raw-socket rows send bytes no HTTP client would.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES } from '../../src/core/errors.js';
import { clientErrorProblem } from '../../src/api/http-edge.js';
import { rawRequest } from '../support/raw-http.js';
import { ServerProcess } from '../support/server-process.js';

interface Answer {
  status: number;
  contentType: string;
  body: string;
  allow?: string | undefined;
}

function assertProblem(answer: Answer, status: number, code: string, what: string): void {
  assert.equal(answer.status, status, `${what}: status (${answer.body})`);
  assert.match(answer.contentType, /^application\/problem\+json/, `${what}: content type`);
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  assert.equal(body['code'], code, `${what}: code (${answer.body})`);
  assert.equal(body['status'], status, `${what}: status in the body`);
  assert.equal(ERROR_CODES[code as keyof typeof ERROR_CODES], status, `${what}: ${code} is registered`);
  assert.equal(typeof body['detail'], 'string', `${what}: detail`);
  assert.equal(typeof body['title'], 'string', `${what}: title`);
  assert.equal(body['type'], `https://hourglass.dev/problems/${code}`, `${what}: type`);
}

describe('every error is problem+json', () => {
  let server: ServerProcess;
  let key: string;
  let smallKey: string;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    ({ key } = await server.createTenant('problems'));
    ({ key: smallKey } = await server.createTenant('small', { runsPerSecond: 0.001, runBurst: 1 }));
    for (const k of [key, smallKey]) await server.create(k, '/v1/jobs', { name: 'base', command: ['true'] });
  });
  after(() => server.stop());

  async function http(
    method: string,
    path: string,
    options: Parameters<ServerProcess['request']>[2] = {},
  ): Promise<Answer> {
    const res = await server.request(method, path, options);
    return {
      status: res.status,
      contentType: res.headers.get('content-type') ?? '',
      body: res.text,
      allow: res.headers.get('allow') ?? undefined,
    };
  }

  async function raw(bytes: string): Promise<Answer> {
    const res = await rawRequest(server.url, bytes);
    return { status: res.status, contentType: res.headers['content-type'] ?? '', body: res.body };
  }

  it('answers the errors of routes and of Fastify as problems', async () => {
    const big = 'x'.repeat(300 * 1024);
    const cases: [string, () => Promise<Answer>, number, string][] = [
      ['unknown route', () => http('GET', '/nope'), 404, 'not_found'],
      ['unknown /v1 route', () => http('GET', '/v1/nope', { key }), 404, 'not_found'],
      ['no key', () => http('GET', '/v1/jobs'), 401, 'unauthorized'],
      ['a bad key', () => http('GET', '/v1/jobs', { key: 'hg_nope' }), 401, 'unauthorized'],
      ['a tenant key on an admin route', () => http('GET', '/v1/tenants', { key }), 403, 'forbidden'],
      [
        'an admin key on a tenant route',
        () => http('GET', '/v1/jobs', { key: server.adminKey }),
        403,
        'forbidden',
      ],
      ['wrong method', () => http('PUT', '/v1/jobs', { key }), 405, 'method_not_allowed'],
      [
        'wrong method on a path with a parameter',
        () => http('PUT', '/v1/runs/x', { key }),
        405,
        'method_not_allowed',
      ],
      ['bad JSON', () => http('POST', '/v1/jobs', { key, rawBody: '{bad' }), 400, 'bad_request'],
      ['an empty JSON body', () => http('POST', '/v1/jobs', { key, rawBody: '' }), 400, 'bad_request'],
      [
        'a prototype key in JSON',
        () =>
          http('POST', '/v1/jobs', { key, rawBody: '{"__proto__":{"x":1},"name":"p","command":["true"]}' }),
        400,
        'bad_request',
      ],
      [
        'wrong content type',
        () => http('POST', '/v1/jobs', { key, rawBody: 'name=a', headers: { 'content-type': 'text/plain' } }),
        415,
        'unsupported_media_type',
      ],
      [
        'a form body',
        () =>
          http('POST', '/v1/jobs', {
            key,
            rawBody: 'name=a',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }),
        415,
        'unsupported_media_type',
      ],
      [
        'body too large',
        () => http('POST', '/v1/jobs', { key, rawBody: `"${big}"` }),
        413,
        'payload_too_large',
      ],
      [
        'an invalid field',
        () => http('POST', '/v1/jobs', { key, body: { name: 'A B' } }),
        400,
        'validation_failed',
      ],
      ['an unknown query field', () => http('GET', '/v1/runs?colour=red', { key }), 400, 'validation_failed'],
      ['a query out of range', () => http('GET', '/v1/runs?limit=0', { key }), 400, 'validation_failed'],
      ['a bad cursor', () => http('GET', '/v1/runs?cursor=nope', { key }), 400, 'validation_failed'],
      [
        'a path parameter too long',
        () => http('GET', `/v1/jobs/${'a'.repeat(300)}`, { key }),
        400,
        'validation_failed',
      ],
      [
        'a URL over 8 KiB',
        () => http('GET', `/v1/jobs?cursor=${'a'.repeat(9000)}`, { key }),
        414,
        'uri_too_long',
      ],
      ['a NUL in a query', () => http('GET', '/v1/runs?jobId=a%00b', { key }), 400, 'validation_failed'],
      ['an unknown job', () => http('GET', '/v1/jobs/nope', { key }), 404, 'not_found'],
      ['an unknown run', () => http('POST', '/v1/runs/nope/cancel', { key }), 404, 'not_found'],
      [
        'an unknown key id',
        () => http('DELETE', '/v1/keys/nope', { key: server.adminKey }),
        404,
        'not_found',
      ],
      [
        'a job name taken',
        () => http('POST', '/v1/jobs', { key, body: { name: 'base', command: ['true'] } }),
        409,
        'job_name_taken',
      ],
      [
        'over the plan',
        () =>
          http('POST', '/v1/jobs', {
            key,
            body: { name: 'huge', command: ['true'], resources: { memoryMb: 1_048_576 } },
          }),
        422,
        'plan_limit_exceeded',
      ],
      [
        'an Idempotency-Key too long',
        () =>
          http('POST', '/v1/jobs/base/runs', {
            key,
            body: {},
            headers: { 'idempotency-key': 'k'.repeat(201) },
          }),
        400,
        'validation_failed',
      ],
    ];
    for (const [what, send, status, code] of cases) assertProblem(await send(), status, code, what);

    const wrongMethod = await http('DELETE', '/v1/jobs', { key });
    assert.equal(wrongMethod.allow, 'GET, HEAD, POST', 'a 405 lists the methods in Allow');
  });

  it('answers the rate limit as a problem with Retry-After', async () => {
    const first = await server.request('POST', '/v1/jobs/base/runs', { key: smallKey, body: {} });
    assert.equal(first.status, 201, first.text);
    const second = await server.request('POST', '/v1/jobs/base/runs', { key: smallKey, body: {} });
    assertProblem(
      { status: second.status, contentType: second.headers.get('content-type') ?? '', body: second.text },
      429,
      'rate_limited',
      'over the rate',
    );
    assert.match(second.headers.get('retry-after') ?? '', /^\d+$/);
  });

  it('answers what Node’s parser refuses on the socket as problems', async () => {
    const host = new URL(server.url).host;
    const cases: [string, string, number, string][] = [
      [
        'headers over 16 KiB',
        `GET /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
        431,
        'headers_too_large',
      ],
      [
        'a request line over 16 KiB',
        `GET /v1/jobs?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        414,
        'uri_too_long',
      ],
      [
        'a NUL in a header value',
        `GET /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nX-A: a\0b\r\n\r\n`,
        400,
        'bad_request',
      ],
      [
        'a control character in a header name',
        `GET /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nX\x01A: b\r\n\r\n`,
        400,
        'bad_request',
      ],
      ['a NUL in the URL', `GET /v1/jobs/a\0b HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 400, 'bad_request'],
      ['a method that is not HTTP', 'GAR BAGE\r\n\r\n', 400, 'bad_request'],
      ['a bad HTTP version', `GET /v1/jobs HTTP/9.x\r\nHost: ${host}\r\n\r\n`, 400, 'bad_request'],
      [
        'a bad Content-Length',
        `POST /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nContent-Length: abc\r\n\r\n`,
        400,
        'bad_request',
      ],
      [
        'both Content-Length and chunked (a smuggling shape)',
        `POST /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
        400,
        'bad_request',
      ],
      [
        'malformed percent-encoding',
        `GET /v1/jobs/%ZZ HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
        400,
        'bad_request',
      ],
      ['no Host in HTTP/1.1', 'GET /v1/jobs HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'bad_request'],
      [
        'an Expect other than 100-continue',
        `GET /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nExpect: teapot\r\nConnection: close\r\n\r\n`,
        417,
        'expectation_failed',
      ],
      ['an unknown route over raw HTTP/1.0', 'GET /nope HTTP/1.0\r\n\r\n', 404, 'not_found'],
    ];
    for (const [what, bytes, status, code] of cases) assertProblem(await raw(bytes), status, code, what);
  });

  it('maps a request timeout and a reset connection', () => {
    const timeout = Object.assign(new Error('timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    assert.equal(clientErrorProblem(timeout)?.code, 'request_timeout');
    assert.equal(clientErrorProblem(Object.assign(new Error('reset'), { code: 'ECONNRESET' })), null);
  });

  it('still serves a good request after the bad ones', async () => {
    const res = await server.request('GET', '/v1/jobs', { key });
    assert.equal(res.status, 200);
  });
});
