// Broken object-level authorization, route by route: tenant B's key with tenant A's ids (jobs by id and by
// name, runs, schedules, keys, registry logins, webhooks, the tenant itself) on every route of the API answers 404 (403 on admin routes),
// shows nothing of A's, and changes nothing of A's. The route list is read from the served OpenAPI document,
// and the matrix below must name every route in it: a route added without a row here fails this test.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

/** What B's request must get. `list`: 200, with none of A's objects in it. `own`: B acting in its own tenant. */
type Expect = 404 | 403 | 'list' | 'public' | 'own';

interface Probe {
  expect: Expect;
  query?: string;
  body?: unknown;
}

// One row per route of the OpenAPI document. Path parameters are filled with each of A's values for them
// (a job by id and by name), so every probe runs once per value.
const MATRIX: Record<string, Probe[]> = {
  'GET /healthz': [{ expect: 'public' }],
  'GET /readyz': [{ expect: 'public' }],
  'POST /v1/tenants': [{ expect: 403, body: { name: 'intruder' } }],
  'GET /v1/tenants': [{ expect: 403 }],
  'PATCH /v1/tenants/{tenantId}': [{ expect: 403, body: { limits: { allowHostCommands: true } } }],
  'POST /v1/tenants/{tenantId}/keys': [{ expect: 403, body: {} }],
  'DELETE /v1/keys/{keyId}': [{ expect: 403 }],
  'GET /v1/keys': [{ expect: 403 }, { expect: 403, query: 'tenantId={tenantId}' }],
  'POST /v1/jobs': [{ expect: 'own', body: { name: 'bobs-own', command: ['true'] } }],
  'GET /v1/jobs': [{ expect: 'list' }],
  'GET /v1/jobs/{job}': [{ expect: 404 }],
  'PATCH /v1/jobs/{job}': [
    { expect: 404, body: { timeoutSeconds: 5 } },
    { expect: 404, body: { env: { STOLEN: '1' } } },
  ],
  'DELETE /v1/jobs/{job}': [{ expect: 404 }],
  'POST /v1/jobs/{job}/runs': [
    { expect: 404, body: {} },
    { expect: 404, body: { args: ['x'] } },
  ],
  'POST /v1/jobs/{job}/schedules': [{ expect: 404, body: { every: '1h' } }],
  'GET /v1/runs': [
    { expect: 'list' },
    { expect: 'list', query: 'status=queued' },
    { expect: 404, query: 'jobId={job}' },
    { expect: 404, query: 'jobId={job}&status=queued' },
    { expect: 404, query: 'scheduleId={scheduleId}' },
    { expect: 404, query: 'jobId={job}&scheduleId={scheduleId}' },
  ],
  'GET /v1/runs/{runId}': [{ expect: 404 }],
  'POST /v1/runs/{runId}/cancel': [{ expect: 404, body: {} }],
  'GET /v1/runs/{runId}/logs': [{ expect: 404 }, { expect: 404, query: 'follow=true' }],
  'GET /v1/stats': [
    { expect: 'own' },
    { expect: 'own', query: 'window=24h' },
    { expect: 403, query: 'tenantId={tenantId}' },
  ],
  'GET /v1/schedules': [{ expect: 'list' }, { expect: 404, query: 'jobId={job}' }],
  'GET /v1/schedules/{scheduleId}': [{ expect: 404 }],
  'PATCH /v1/schedules/{scheduleId}': [
    { expect: 404, body: { every: '1m' } },
    { expect: 404, body: { paused: true } },
  ],
  'DELETE /v1/schedules/{scheduleId}': [{ expect: 404 }],
  'POST /v1/schedules/{scheduleId}/pause': [{ expect: 404, body: {} }],
  'POST /v1/schedules/{scheduleId}/resume': [{ expect: 404, body: {} }],
  'POST /v1/schedules/{scheduleId}/runs': [{ expect: 404, body: {} }],
  // Bodies name A's ids too: `{name}` in a body is A's first value of it.
  'POST /v1/schedules/pause': [
    { expect: 404, body: { scheduleIds: ['{scheduleId}'] } },
    { expect: 404, body: { jobId: '{job}' } },
  ],
  'POST /v1/schedules/resume': [
    { expect: 404, body: { scheduleIds: ['{scheduleId}'] } },
    { expect: 404, body: { jobId: '{job}' } },
  ],
  'GET /v1/schedules/{scheduleId}/preview': [{ expect: 404 }, { expect: 404, query: 'count=5' }],
  'GET /v1/schedules/{scheduleId}/ticks': [
    { expect: 404 },
    { expect: 404, query: 'from=2026-01-01T00:00:00Z&to=2026-01-01T01:00:00Z' },
  ],
  // Counts only: that B's counts leave out A's schedules is test/integration/load-forecast.test.ts.
  'GET /v1/forecast': [{ expect: 'list' }, { expect: 'list', query: 'stepSeconds=600' }],
  // In this order: B's own login for A's host (the PUT) would make a later DELETE delete B's own.
  'GET /v1/registries': [{ expect: 'list' }],
  'DELETE /v1/registries/{host}': [{ expect: 404 }],
  'PUT /v1/registries/{host}': [{ expect: 'own', body: { username: 'bob', password: 'bobs-own' } }],
  'POST /v1/webhooks': [{ expect: 'own', body: { url: 'https://bob.example/hook', events: ['failed'] } }],
  'GET /v1/webhooks': [{ expect: 'list' }, { expect: 'list', query: 'limit=1' }],
  'GET /v1/webhooks/{webhook}': [{ expect: 404 }],
  'DELETE /v1/webhooks/{webhook}': [{ expect: 404 }],
  'GET /v1/webhooks/{webhook}/deliveries': [{ expect: 404 }, { expect: 404, query: 'limit=5' }],
};

describe('BOLA matrix: every route with another tenant’s ids', () => {
  const secret = `alice-secret-${randomBytes(8).toString('hex')}`;
  let server: ServerProcess;
  let alice: TestTenant;
  let bob: TestTenant;
  /** A's values for each path parameter name. */
  let values: Record<string, string[]>;
  /** Every id of A's objects: none may show up in what B gets. */
  let aliceIds: string[];

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
    const key = alice.key;
    const env = { SECRET: secret };
    const job = await server.create(key, '/v1/jobs', { name: 'payroll', command: ['true'], env });
    const schedule = await server.create(key, '/v1/jobs/payroll/schedules', { every: '1h', env });
    const run = await server.create(key, '/v1/jobs/payroll/runs', { env });
    const registryUser = `alice-robot-${randomBytes(4).toString('hex')}`;
    const login = await server.request('PUT', '/v1/registries/registry.alice.example', {
      key,
      body: { username: registryUser, password: secret },
    });
    assert.equal(login.status, 201, login.text);
    const webhook = await server.create(key, '/v1/webhooks', {
      url: 'https://alice.example/hook',
      events: ['failed'],
    });
    values = {
      job: [job.id, 'payroll'],
      runId: [run.id],
      scheduleId: [schedule.id],
      tenantId: [alice.id],
      keyId: [alice.keyId],
      host: ['registry.alice.example'],
      webhook: [webhook.id],
    };
    aliceIds = [alice.id, alice.keyId, job.id, run.id, schedule.id, registryUser, webhook.id, webhook.secret];
  });
  after(() => server.stop());

  /** Everything of A's that a route could change, read with A's key (and the admin's, for the tenant). */
  async function aliceState(): Promise<string> {
    const key = alice.key;
    const reads = [
      '/v1/jobs',
      '/v1/jobs/payroll',
      '/v1/runs',
      `/v1/runs/${values['runId']?.[0]}`,
      `/v1/runs/${values['runId']?.[0]}/logs`,
      '/v1/schedules',
      `/v1/schedules/${values['scheduleId']?.[0]}`,
      '/v1/registries',
      '/v1/webhooks',
      `/v1/webhooks/${values['webhook']?.[0]}/deliveries`,
    ];
    const answers = await Promise.all(reads.map((path) => server.request('GET', path, { key })));
    for (const [i, res] of answers.entries()) assert.equal(res.status, 200, `${reads[i]}: ${res.text}`);
    const tenants = await server.request('GET', '/v1/tenants', { key: server.adminKey });
    const mine = tenants.body.items.filter((t: { id: string }) => t.id === alice.id);
    return JSON.stringify([...answers.map((a) => a.text), mine]);
  }

  /** Each path (and query) with its parameters filled by every combination of A's values. */
  function expand(template: string): string[] {
    const names = [...template.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] ?? '');
    let paths = [template];
    for (const name of new Set(names)) {
      const options = values[name];
      assert.ok(options !== undefined, `no value of tenant A for the parameter {${name}} of ${template}`);
      paths = paths.flatMap((path) =>
        options.map((value) => path.replaceAll(`{${name}}`, encodeURIComponent(value))),
      );
    }
    return paths;
  }

  /** The body with each `{name}` string replaced by A's first value of it. */
  function fillBody(body: unknown): unknown {
    if (body === undefined) return undefined;
    const text = JSON.stringify(body).replace(/"\{([A-Za-z]+)\}"/g, (_, name: string) => {
      const value = values[name]?.[0];
      assert.ok(value !== undefined, `no value of tenant A for {${name}} in a body`);
      return JSON.stringify(value);
    });
    return JSON.parse(text);
  }

  it('covers every route of the OpenAPI document, and only those', async () => {
    const doc = await server.request('GET', '/v1/openapi.json');
    assert.equal(doc.status, 200);
    const routes = Object.entries(doc.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const missing = routes.filter((route) => !(route in MATRIX));
    assert.deepEqual(missing, [], `routes with no row in the BOLA matrix: ${missing.join(', ')}`);
    const stale = Object.keys(MATRIX).filter((route) => !routes.includes(route));
    assert.deepEqual(stale, [], `rows for routes that no longer exist: ${stale.join(', ')}`);
  });

  it('answers 404 (403 on admin routes) with tenant A’s ids, shows nothing of A’s and changes nothing', async () => {
    const before = await aliceState();
    let probes = 0;
    for (const [route, list] of Object.entries(MATRIX)) {
      const [method = '', template = ''] = route.split(' ');
      for (const probe of list) {
        const target = probe.query === undefined ? template : `${template}?${probe.query}`;
        for (const path of expand(target)) {
          const body = fillBody(probe.body);
          const what = `${method} ${path} ${JSON.stringify(body ?? null)}`;
          const res = await server.request(method, path, { key: bob.key, body });
          probes++;
          assert.ok(!res.text.includes(secret), `${what}: shows A's secret`);
          if (probe.expect === 404 || probe.expect === 403) {
            assert.equal(res.status, probe.expect, `${what}: ${res.text}`);
            assert.equal(res.body.code, probe.expect === 404 ? 'not_found' : 'forbidden', what);
            assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
            if (method === 'GET') {
              // Fastify answers HEAD on every GET route, outside the OpenAPI document.
              const head = await server.request('HEAD', path, { key: bob.key });
              assert.equal(head.status, probe.expect, `HEAD ${path}`);
            }
          } else if (probe.expect === 'list') {
            assert.equal(res.status, 200, `${what}: ${res.text}`);
            assert.ok(Array.isArray(res.body.items), what);
            for (const id of aliceIds) assert.ok(!res.text.includes(id), `${what}: lists A's ${id}`);
          } else if (probe.expect === 'own') {
            assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.text}`);
            for (const id of aliceIds) assert.ok(!res.text.includes(id), `${what}: shows A's ${id}`);
          } else {
            assert.equal(res.status, 200, `${what}: ${res.text}`);
          }
        }
      }
    }
    assert.ok(probes >= 40, `only ${probes} probes ran`);
    assert.equal(await aliceState(), before, 'a request with B’s key changed something of A’s');
    // A's key still works, and A's run is still queued, uncancelled.
    const run = await server.request('GET', `/v1/runs/${values['runId']?.[0]}`, { key: alice.key });
    assert.deepEqual([run.status, run.body.status], [200, 'queued']);
  });

  it('lets A list its own runs by job id, by job name and by schedule', async () => {
    const key = alice.key;
    const byId = await server.request('GET', `/v1/runs?jobId=${values['job']?.[0]}`, { key });
    const byName = await server.request('GET', '/v1/runs?jobId=payroll', { key });
    assert.equal(byId.status, 200, byId.text);
    assert.equal(byName.text, byId.text);
    assert.deepEqual(
      byId.body.items.map((r: { id: string }) => r.id),
      values['runId'],
    );
    const bySchedule = await server.request('GET', `/v1/runs?scheduleId=${values['scheduleId']?.[0]}`, {
      key,
    });
    assert.deepEqual([bySchedule.status, bySchedule.body.items], [200, []]);
    const unknown = await server.request('GET', '/v1/runs?jobId=no-such-job', { key });
    assert.deepEqual([unknown.status, unknown.body.code, unknown.body.field], [404, 'not_found', 'jobId']);
  });

  it('lets A list its own schedules by job id and by job name', async () => {
    const key = alice.key;
    for (const job of values['job'] ?? []) {
      const res = await server.request('GET', `/v1/schedules?jobId=${job}`, { key });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.body.items.map((s: { id: string }) => s.id),
        values['scheduleId'],
        job,
      );
    }
    const unknown = await server.request('GET', '/v1/schedules?jobId=no-such-job', { key });
    assert.deepEqual([unknown.status, unknown.body.code, unknown.body.field], [404, 'not_found', 'jobId']);
  });
});
