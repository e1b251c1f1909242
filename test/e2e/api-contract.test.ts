// Bad input through the real HTTP server: every kind of mistake answers 4xx problem+json naming the field,
// and changes nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest } from '../support/raw-http.js';
import { ServerProcess } from '../support/server-process.js';

describe('API contract: bad input', () => {
  let server: ServerProcess;
  let key: string;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    ({ key } = await server.createTenant('contract'));
    await server.create(key, '/v1/jobs', { name: 'base', command: ['true'] });
  });
  after(() => server.stop());

  async function snapshot() {
    const jobs = await server.request('GET', '/v1/jobs', { key });
    const runs = await server.request('GET', '/v1/runs', { key });
    return JSON.stringify([jobs.body, runs.body]);
  }

  function assertProblem(
    res: { status: number; headers: Headers; body: any },
    status: number,
    code: string,
    field?: string,
  ) {
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, code);
    assert.equal(res.body.status, status);
    assert.equal(typeof res.body.detail, 'string');
    if (field !== undefined) {
      assert.equal(res.body.field, field);
      assert.ok(res.body.detail.includes(field), `detail should name ${field}: ${res.body.detail}`);
    }
  }

  const badJobs: [string, unknown, number, string, string][] = [
    [
      'unknown top-level field',
      { name: 'a', command: ['x'], colour: 'red' },
      400,
      'validation_failed',
      'colour',
    ],
    [
      'unknown nested field',
      { name: 'a', command: ['x'], retry: { tries: 2 } },
      400,
      'validation_failed',
      'retry.tries',
    ],
    [
      'wrong type',
      { name: 'a', command: ['x'], timeoutSeconds: '60' },
      400,
      'validation_failed',
      'timeoutSeconds',
    ],
    ['string instead of argv', { name: 'a', command: 'echo hi' }, 400, 'validation_failed', 'command'],
    ['missing name', { command: ['x'] }, 400, 'validation_failed', 'name'],
    ['bad name', { name: 'Has Spaces', command: ['x'] }, 400, 'validation_failed', 'name'],
    ['no command and no image', { name: 'a' }, 400, 'validation_failed', 'command'],
    [
      'timeout above 24 h',
      { name: 'a', command: ['x'], timeoutSeconds: 86_401 },
      400,
      'validation_failed',
      'timeoutSeconds',
    ],
    [
      'memory above the plan',
      { name: 'a', command: ['x'], resources: { memoryMb: 8192 } },
      422,
      'plan_limit_exceeded',
      'resources.memoryMb',
    ],
    [
      'bad env name',
      { name: 'a', command: ['x'], env: { 'BAD-NAME': '1' } },
      400,
      'validation_failed',
      'env.BAD-NAME',
    ],
    ['duplicate name', { name: 'base', command: ['x'] }, 409, 'job_name_taken', 'name'],
  ];

  for (const [label, body, status, code, field] of badJobs) {
    it(`rejects a job with ${label}`, async () => {
      const before = await snapshot();
      assertProblem(await server.request('POST', '/v1/jobs', { key, body }), status, code, field);
      assert.equal(await snapshot(), before);
    });
  }

  it('rejects malformed JSON and non-JSON bodies', async () => {
    const before = await snapshot();
    assertProblem(
      await server.request('POST', '/v1/jobs', { key, rawBody: '{"name": ' }),
      400,
      'bad_request',
      'body',
    );
    assertProblem(
      await server.request('POST', '/v1/jobs', { key, rawBody: '[]' }),
      400,
      'validation_failed',
      'body',
    );
    const text = await server.request('POST', '/v1/jobs', {
      key,
      rawBody: 'name=a',
      headers: { 'content-type': 'text/plain' },
    });
    assertProblem(text, 415, 'unsupported_media_type');
    assert.equal(await snapshot(), before);
  });

  it('rejects an oversized body with 413', async () => {
    const before = await snapshot();
    const body = { name: 'big', command: ['x'], env: { BIG: 'a'.repeat(300 * 1024) } };
    assertProblem(await server.request('POST', '/v1/jobs', { key, body }), 413, 'payload_too_large', 'body');
    assert.equal(await snapshot(), before);
  });

  it('rejects bad run requests and bad ids', async () => {
    const before = await snapshot();
    assertProblem(
      await server.request('POST', '/v1/jobs/base/runs', { key, body: { args: 'x' } }),
      400,
      'validation_failed',
      'args',
    );
    assertProblem(
      await server.request('POST', '/v1/jobs/base/runs', { key, body: { when: 'now' } }),
      400,
      'validation_failed',
      'when',
    );
    assertProblem(
      await server.request('POST', '/v1/jobs/nope/runs', { key, body: {} }),
      404,
      'not_found',
      'job',
    );
    assertProblem(await server.request('GET', '/v1/runs/not-a-run-id', { key }), 404, 'not_found', 'runId');
    assertProblem(
      await server.request('GET', '/v1/runs/run_0000000000000000000000000a', { key }),
      404,
      'not_found',
      'runId',
    );
    assertProblem(await server.request('POST', '/v1/runs/nope/cancel', { key }), 404, 'not_found', 'runId');
    assertProblem(
      await server.request('GET', '/v1/runs?limit=0', { key }),
      400,
      'validation_failed',
      'limit',
    );
    assertProblem(
      await server.request('GET', '/v1/runs?status=done', { key }),
      400,
      'validation_failed',
      'status',
    );
    assertProblem(
      await server.request('GET', '/v1/runs?cursor=xyz', { key }),
      400,
      'validation_failed',
      'cursor',
    );
    assertProblem(
      await server.request('GET', '/v1/runs?colour=red', { key }),
      400,
      'validation_failed',
      'colour',
    );
    assertProblem(
      await server.request('PATCH', '/v1/jobs/base', { key, body: {} }),
      400,
      'validation_failed',
    );
    assert.equal(await snapshot(), before);
  });

  it('authenticates the route the router matched, however its path is spelled', async () => {
    // `%76` is `v`: the router decodes the path, so this is /v1/jobs and needs a key like it.
    assertProblem(await server.request('GET', '/%761/jobs'), 401, 'unauthorized');
    assertProblem(await server.request('GET', '/v1/jobs/'), 401, 'unauthorized');
    assert.equal((await server.request('GET', '/%761/jobs', { key })).status, 200);
  });

  it('fits job defaults to a small plan instead of rejecting fields nobody sent', async () => {
    const small = await server.createTenant('small-plan', { maxMemoryMb: 512, maxTimeoutSeconds: 600 });
    const res = await server.request('POST', '/v1/jobs', {
      key: small.key,
      body: { name: 'j', command: ['true'] },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.resources.memoryMb, 512);
    assert.equal(res.body.timeoutSeconds, 600);
  });

  it('rejects requests without a valid key, and tenant keys on admin routes', async () => {
    assertProblem(await server.request('GET', '/v1/jobs'), 401, 'unauthorized');
    assertProblem(await server.request('GET', '/v1/jobs', { key: 'hg_not_a_real_key' }), 401, 'unauthorized');
    assertProblem(
      await server.request('POST', '/v1/tenants', { key, body: { name: 'x' } }),
      403,
      'forbidden',
    );
    assertProblem(await server.request('GET', '/v1/jobs', { key: server.adminKey }), 403, 'forbidden');
  });

  it('limits the rate of run creation per tenant with 429 and Retry-After', async () => {
    const limited = await server.createTenant('limited', { runsPerSecond: 0.001, runBurst: 2 });
    await server.request('POST', '/v1/jobs', { key: limited.key, body: { name: 'j', command: ['true'] } });
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const res = await server.request('POST', '/v1/jobs/j/runs', { key: limited.key, body: {} });
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get('retry-after');
    }
    assert.deepEqual(statuses, [201, 201, 429]);
    assert.ok(Number(retryAfter) >= 1);
    // Nothing was created by the refused request.
    assert.equal((await server.request('GET', '/v1/runs', { key: limited.key })).body.items.length, 2);
  });

  it('answers an Idempotency-Key replay with the first run even when over the rate limit', async () => {
    const limited = await server.createTenant('replays', { runsPerSecond: 0.001, runBurst: 1 });
    await server.request('POST', '/v1/jobs', { key: limited.key, body: { name: 'j', command: ['true'] } });
    const headers = { 'idempotency-key': 'once' };
    const first = await server.request('POST', '/v1/jobs/j/runs', {
      key: limited.key,
      body: { env: { A: '1', B: '2' } },
      headers,
    });
    assert.equal(first.status, 201);
    // Same request (env keys in another order): the same run, not a 429 and not a 409.
    const replay = await server.request('POST', '/v1/jobs/j/runs', {
      key: limited.key,
      body: { env: { B: '2', A: '1' } },
      headers,
    });
    assert.equal(replay.status, 200, replay.text);
    assert.equal(replay.body.id, first.body.id);
    const fresh = await server.request('POST', '/v1/jobs/j/runs', { key: limited.key, body: {} });
    assert.equal(fresh.status, 429);
  });

  it('rejects unknown fields on cancel', async () => {
    const run = await server.request('POST', '/v1/jobs/base/runs', { key, body: {} });
    assertProblem(
      await server.request('POST', `/v1/runs/${run.body.id}/cancel`, { key, body: { force: true } }),
      400,
      'validation_failed',
      'force',
    );
    assert.equal((await server.request('GET', `/v1/runs/${run.body.id}`, { key })).body.status, 'queued');
  });

  it('enforces the plan’s job limit', async () => {
    const small = await server.createTenant('small', { maxJobs: 1 });
    assert.equal(
      (await server.request('POST', '/v1/jobs', { key: small.key, body: { name: 'one', command: ['true'] } }))
        .status,
      201,
    );
    assertProblem(
      await server.request('POST', '/v1/jobs', { key: small.key, body: { name: 'two', command: ['true'] } }),
      422,
      'plan_limit_exceeded',
    );
  });

  it('updates and deletes a job; a deleted job’s name can be reused', async () => {
    const created = await server.request('POST', '/v1/jobs', {
      key,
      body: { name: 'temp', command: ['true'] },
    });
    const patched = await server.request('PATCH', '/v1/jobs/temp', {
      key,
      body: { timeoutSeconds: 5, env: { A: '1' } },
    });
    assert.equal(patched.status, 200, patched.text);
    assert.equal(patched.body.timeoutSeconds, 5);
    assert.deepEqual(patched.body.env, { A: '1' });
    assert.deepEqual(patched.body.command, ['true']);
    assert.equal((await server.request('DELETE', '/v1/jobs/temp', { key })).status, 204);
    assertProblem(await server.request('GET', `/v1/jobs/${created.body.id}`, { key }), 404, 'not_found');
    assert.equal(
      (await server.request('POST', '/v1/jobs', { key, body: { name: 'temp', command: ['true'] } })).status,
      201,
    );
  });

  it('serves an OpenAPI 3.1 document that lists every route', async () => {
    const res = await server.request('GET', '/v1/openapi.json');
    assert.equal(res.status, 200);
    assert.equal(res.body.openapi, '3.1.0');
    const paths = Object.keys(res.body.paths);
    for (const path of [
      '/v1/jobs',
      '/v1/jobs/{job}',
      '/v1/jobs/{job}/runs',
      '/v1/runs',
      '/v1/runs/{runId}',
      '/v1/runs/{runId}/cancel',
      '/v1/runs/{runId}/logs',
      '/v1/tenants',
      '/v1/tenants/{tenantId}/keys',
      '/v1/keys/{keyId}',
    ]) {
      assert.ok(paths.includes(path), `missing ${path}`);
    }
    const createJob = res.body.paths['/v1/jobs'].post;
    assert.equal(createJob.requestBody.content['application/json'].schema.additionalProperties, false);
    assert.ok(createJob.responses['400']);
  });

  it('names every operation (operationId, unique) and documents /healthz and /readyz', async () => {
    const doc = (await server.request('GET', '/v1/openapi.json')).body;
    const ids = new Map<string, string>();
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        assert.match(op.operationId ?? '', /^\w+$/, `${method} ${path} has no operationId`);
        assert.ok(!ids.has(op.operationId), `${op.operationId} twice: ${ids.get(op.operationId)}, ${path}`);
        ids.set(op.operationId, `${method} ${path}`);
      }
    }
    const named: [string, string][] = [
      ['createJob', 'post /v1/jobs'],
      ['getJob', 'get /v1/jobs/{job}'],
      ['createRun', 'post /v1/jobs/{job}/runs'],
      ['listRuns', 'get /v1/runs'],
      ['cancelRun', 'post /v1/runs/{runId}/cancel'],
      ['getRunLogs', 'get /v1/runs/{runId}/logs'],
      ['createSchedule', 'post /v1/jobs/{job}/schedules'],
      ['previewSchedule', 'get /v1/schedules/{scheduleId}/preview'],
      ['createKey', 'post /v1/tenants/{tenantId}/keys'],
      ['getHealth', 'get /healthz'],
      ['getReadiness', 'get /readyz'],
    ];
    for (const [id, route] of named) assert.equal(ids.get(id), route, id);
    const health = doc.paths['/healthz'].get.responses['200'].content['application/json'].schema;
    assert.deepEqual(health.properties.status.const, 'ok');
    const ready = doc.paths['/readyz'].get.responses;
    assert.equal(ready['200'].content['application/json'].schema.properties.status.const, 'ready');
    assert.ok(ready['503'].content['application/problem+json'], 'readiness answers 503 as a problem');
    assert.deepEqual((await server.request('GET', '/healthz')).body, { status: 'ok' });
    const readiness = (await server.request('GET', '/readyz')).body;
    assert.equal(readiness.status, 'ready');
    // No worker in this API: nothing to say of either runtime (a server's says, test/security/process-runtime-sandbox).
    assert.deepEqual(readiness.isolation, { processRuntime: null, containerRuntime: null });
  });

  it('lists the HTTP edge’s errors in the OpenAPI document, as they are answered', async () => {
    const doc = (await server.request('GET', '/v1/openapi.json')).body;
    const host = new URL(server.url).host;
    // What the edge answers before any route, sent to a documented operation (GET /v1/jobs).
    const edge: [number, string][] = [
      [414, `GET /v1/jobs?x=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`],
      [431, `GET /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
      [417, `GET /v1/jobs HTTP/1.1\r\nHost: ${host}\r\nExpect: teapot\r\nConnection: close\r\n\r\n`],
    ];
    for (const [status, bytes] of edge) {
      const res = await rawRequest(server.url, bytes);
      assert.equal(res.status, status, res.raw.slice(0, 200));
      const documented = doc.paths['/v1/jobs'].get.responses[String(status)];
      assert.ok(documented?.content?.['application/problem+json'], `GET /v1/jobs does not list ${status}`);
      assert.ok(documented.description.includes(JSON.parse(res.body).code), documented.description);
    }
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const status of ['400', '408', '414', '417', '431', '500']) {
          assert.ok(op.responses[status], `${method} ${path} does not list ${status}`);
        }
        // A public route needs no key, so it never answers 401 or 403.
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        assert.equal(op.responses['401'] === undefined, isPublic, `${method} ${path}: 401`);
      }
    }
    // 405 answers a method a path does not list, so no operation has it: the document says it once.
    const wrong = await server.request('PUT', '/v1/jobs', { key });
    assert.equal(wrong.status, 405, wrong.text);
    assert.match(doc.info.description, /405 \(method_not_allowed\) with an Allow header/);
  });

  it('queues a run for later only near its time, and takes it off hourglass_queue_depth when cancelled', async () => {
    const depth = async () => {
      const text = (await server.request('GET', '/metrics')).text;
      return Number(/^hourglass_queue_depth (\d+)$/m.exec(text)?.[1]);
    };
    const before = await depth();
    // An hour ahead: it waits in the store (the queue's outbox), not in the queue.
    const later = await server.request('POST', '/v1/jobs/base/runs', {
      key,
      body: { runAt: new Date(Date.now() + 3_600_000).toISOString() },
    });
    assert.equal(later.status, 201, later.text);
    assert.equal(later.body.dispatchedAt, null);
    assert.equal(await depth(), before);
    // Within the queue's horizon (2 s, its lead included): published at once.
    const soon = await server.request('POST', '/v1/jobs/base/runs', {
      key,
      body: { runAt: new Date(Date.now() + 2_500).toISOString() },
    });
    assert.equal(soon.status, 201, soon.text);
    assert.equal(await depth(), before + 1);
    const cancelled = await server.request('POST', `/v1/runs/${soon.body.id}/cancel`, { key });
    assert.equal(cancelled.body.status, 'cancelled', cancelled.text);
    assert.equal(await depth(), before);
    await server.request('POST', `/v1/runs/${later.body.id}/cancel`, { key });
  });

  it('answers health, readiness and metrics', async () => {
    assert.equal((await server.request('GET', '/healthz')).status, 200);
    assert.equal((await server.request('GET', '/readyz')).status, 200);
    const metrics = await server.request('GET', '/metrics');
    assert.match(metrics.text, /hourglass_queue_depth \d+/);
    assert.match(metrics.text, /hourglass_run_lag_seconds_bucket/);
  });
});
