// "Why didn't it run?" through the real server binary (api and scheduler in one process): a per-second
// schedule fires, is paused, and GET /v1/schedules/{id}/ticks says of each tick what became of it; another
// tenant's schedule is 404, and a bad window names its field.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

type Res = { status: number; headers: Headers; body: any; text: string };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('schedule ticks API', () => {
  let server: ServerProcess;
  let key: string;
  let other: string;

  before(async () => {
    server = await ServerProcess.start();
    ({ key } = await server.createTenant('ticks', { minIntervalSeconds: 1 }));
    ({ key: other } = await server.createTenant('other'));
    for (const k of [key, other]) await server.create(k, '/v1/jobs', { name: 'tick', command: ['true'] });
  });
  after(() => server.stop());

  const req = (method: string, path: string, body?: unknown, as = key): Promise<Res> =>
    server.request(method, path, { key: as, ...(body === undefined ? {} : { body }) });

  function assertProblem(res: Res, status: number, code: string, field: string): void {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, code, res.text);
    assert.equal(res.body.field, field, res.text);
  }

  it('explains fired ticks with their runs, and paused ones after a pause', async () => {
    const created = await req('POST', '/v1/jobs/tick/schedules', { every: '1s' });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    await sleep(3500);
    const pausedAt = Date.now();
    assert.equal((await req('POST', `/v1/schedules/${id}/pause`)).status, 200);
    await sleep(3500); // a tick within the scheduler's lead of the pause may still have fired

    const res = await req('GET', `/v1/schedules/${id}/ticks`);
    assert.equal(res.status, 200, res.text);
    const items = res.body.items as { nominalTime: string; verdict: string; runId: string | null }[];
    const fired = items.filter((t) => t.verdict === 'fired');
    assert.ok(fired.length >= 2, res.text);
    for (const tick of fired) {
      const run = await req('GET', `/v1/runs/${tick.runId}`);
      assert.equal(run.status, 200, run.text);
      assert.equal(run.body.nominalTime, tick.nominalTime);
      assert.equal(run.body.scheduleId, id);
    }
    const paused = items.filter((t) => t.verdict === 'paused');
    assert.ok(paused.length >= 2, res.text);
    for (const tick of paused) {
      assert.ok(Date.parse(tick.nominalTime) >= pausedAt - 1000, `${tick.nominalTime} is after the pause`);
      assert.equal(tick.runId, null);
    }
    assert.ok(Date.parse(res.body.to) - Date.parse(res.body.from) === 3600_000, 'the last hour by default');
    assert.equal(res.body.nextFrom, null);

    const soon = new Date(Date.now() + 60_000).toISOString();
    const later = new Date(Date.now() + 65_000).toISOString();
    const ahead = await req('GET', `/v1/schedules/${id}/ticks?from=${soon}&to=${later}`);
    assert.deepEqual(
      new Set(ahead.body.items.map((t: { verdict: string }) => t.verdict)),
      new Set(['paused']),
      'ticks to come of a paused schedule will not fire',
    );
  });

  it('answers 404 for another tenant’s schedule, and names the field of a bad window', async () => {
    const s = (await req('POST', '/v1/jobs/tick/schedules', { every: '1m' })).body;
    assertProblem(
      await req('GET', `/v1/schedules/${s.id}/ticks`, undefined, other),
      404,
      'not_found',
      'scheduleId',
    );
    assertProblem(
      await req('GET', `/v1/schedules/${s.id}/ticks?from=yesterday`),
      400,
      'validation_failed',
      'from',
    );
    const day = '2026-06-01T';
    assertProblem(
      await req('GET', `/v1/schedules/${s.id}/ticks?from=${day}12:00:00Z&to=${day}11:00:00Z`),
      400,
      'validation_failed',
      'from',
    );
    assertProblem(
      await req('GET', `/v1/schedules/${s.id}/ticks?from=2026-06-01T00:00:00Z&to=2026-06-03T00:00:00Z`),
      400,
      'validation_failed',
      'to',
    );
  });

  it('describes the route in the OpenAPI document', async () => {
    const doc = (await server.request('GET', '/v1/openapi.json')).body;
    const op = doc.paths['/v1/schedules/{scheduleId}/ticks']?.get;
    assert.equal(op?.operationId, 'explainScheduleTicks');
    const item = op.responses['200'].content['application/json'].schema.properties.items.items;
    assert.ok(item.properties.verdict.anyOf.some((v: { const?: string }) => v.const === 'dropped'));
  });
});
