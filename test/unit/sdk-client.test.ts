// The SDK against a scripted fetch: the requests it sends (paths, query, headers, bodies) and how it reads
// answers (JSON, problem+json, plain errors, streamed logs split mid-character).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassApiError, HourglassClient, HourglassConnectionError } from '../../src/sdk/index.js';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** A client whose fetch records each request and answers with the next response of the script. */
function scripted(...responses: Response[]): { client: HourglassClient; calls: Call[] } {
  const calls: Call[] = [];
  const fetchStub: typeof fetch = async (input, init) => {
    calls.push({
      url: String(input),
      method: init?.method ?? 'GET',
      headers: { ...(init?.headers as Record<string, string>) },
      body: typeof init?.body === 'string' ? init.body : undefined,
    });
    const response = responses.shift();
    if (response === undefined) throw new Error('no more scripted responses');
    return response;
  };
  return {
    client: new HourglassClient({ baseUrl: 'http://api.test/', apiKey: 'k1', fetch: fetchStub }),
    calls,
  };
}

const json = (status: number, body: unknown): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

describe('HourglassClient', () => {
  it('sends the key, encodes path segments and skips unset query parameters', async () => {
    const { client, calls } = scripted(json(200, { id: 'j' }), json(200, { items: [], nextCursor: null }));
    await client.getJob('a/b c');
    await client.listRuns({ jobId: 'job_1', limit: 5 });
    assert.equal(calls[0]?.url, 'http://api.test/v1/jobs/a%2Fb%20c');
    assert.equal(calls[0]?.headers.authorization, 'Bearer k1');
    assert.equal(calls[1]?.url, 'http://api.test/v1/runs?jobId=job_1&limit=5');
  });

  it('sends several statuses comma-separated and times as ISO 8601', async () => {
    const page = () => json(200, { items: [], nextCursor: null });
    const { client, calls } = scripted(page(), page(), page());
    await client.listRuns({
      status: ['failed', 'lost'],
      from: new Date(Date.UTC(2026, 0, 2)),
      to: '2026-01-03T00:00:00Z',
    });
    await client.listRuns({ status: 'failed' });
    await client.listRuns({ status: [] });
    assert.deepEqual(
      calls.map((c) => decodeURIComponent(c.url.replace('http://api.test', ''))),
      [
        '/v1/runs?status=failed,lost&from=2026-01-02T00:00:00.000Z&to=2026-01-03T00:00:00Z',
        '/v1/runs?status=failed',
        '/v1/runs',
      ],
    );
  });

  it('posts a run with its idempotency key', async () => {
    const { client, calls } = scripted(json(201, { id: 'run_1' }));
    await client.createRun('hello', { args: ['x'] }, { idempotencyKey: 'once' });
    assert.equal(calls[0]?.method, 'POST');
    assert.equal(calls[0]?.url, 'http://api.test/v1/jobs/hello/runs');
    assert.equal(calls[0]?.headers['idempotency-key'], 'once');
    assert.equal(calls[0]?.body, '{"args":["x"]}');
  });

  it('turns problem+json into HourglassApiError', async () => {
    const problem = {
      type: 'about:blank',
      title: 'Validation failed',
      status: 400,
      code: 'validation_failed',
      detail: 'memoryMb must be at least 1',
      field: 'resources.memoryMb',
    };
    const { client } = scripted(
      new Response(JSON.stringify(problem), {
        status: 400,
        headers: { 'content-type': 'application/problem+json' },
      }),
    );
    await assert.rejects(client.createJob({ name: 'x', resources: { memoryMb: 0 } }), (error: unknown) => {
      assert.ok(error instanceof HourglassApiError);
      assert.equal(error.status, 400);
      assert.equal(error.code, 'validation_failed');
      assert.equal(error.field, 'resources.memoryMb');
      assert.equal(error.message, 'memoryMb must be at least 1');
      return true;
    });
  });

  it('reports a non-problem error body by its HTTP status', async () => {
    const { client } = scripted(new Response('<h1>down</h1>', { status: 502, statusText: 'Bad Gateway' }));
    await assert.rejects(client.listTenants(), { name: 'HourglassApiError', code: 'http_502', status: 502 });
  });

  it('reports an unreachable server as HourglassConnectionError', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    const client = new HourglassClient({
      baseUrl: 'http://api.test',
      apiKey: 'k',
      fetch: () => Promise.reject(new TypeError('fetch failed', { cause: refused })),
    });
    await assert.rejects(client.getRun('r'), (error: unknown) => {
      assert.ok(error instanceof HourglassConnectionError);
      assert.match(error.message, /ECONNREFUSED/);
      return true;
    });
  });

  it('sends schedule requests to their routes, and runAt and scheduleId with runs', async () => {
    const page = { items: [], nextCursor: null };
    const { client, calls } = scripted(
      json(201, { id: 'sch_1' }),
      json(200, page),
      json(200, { id: 'sch_1' }),
      json(200, { id: 'sch_1' }),
      json(200, { id: 'sch_1' }),
      json(200, { id: 'sch_1' }),
      new Response(null, { status: 204 }),
      json(200, { items: [{ at: '2026-11-01T05:30:00.000Z', dst: 'repeated_time_first' }] }),
      json(201, { id: 'run_1' }),
      json(200, page),
    );
    await client.createSchedule('night ly', { cron: '30 1 * * *', timezone: 'America/New_York' });
    await client.listSchedules({ jobId: 'job_1', limit: 2 });
    await client.getSchedule('sch_1');
    await client.updateSchedule('sch_1', { every: '5m' });
    await client.pauseSchedule('sch_1');
    await client.resumeSchedule('sch_1');
    await client.deleteSchedule('sch_1');
    const fires = await client.previewSchedule('sch_1', { count: 3 });
    await client.createRun('hello', { runAt: '2026-12-01T00:00:00Z' });
    await client.listRuns({ scheduleId: 'sch_1' });
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.url.replace('http://api.test', '')}`),
      [
        'POST /v1/jobs/night%20ly/schedules',
        'GET /v1/schedules?jobId=job_1&limit=2',
        'GET /v1/schedules/sch_1',
        'PATCH /v1/schedules/sch_1',
        'POST /v1/schedules/sch_1/pause',
        'POST /v1/schedules/sch_1/resume',
        'DELETE /v1/schedules/sch_1',
        'GET /v1/schedules/sch_1/preview?count=3',
        'POST /v1/jobs/hello/runs',
        'GET /v1/runs?scheduleId=sch_1',
      ],
    );
    assert.equal(calls[0]?.body, '{"cron":"30 1 * * *","timezone":"America/New_York"}');
    assert.equal(calls[3]?.body, '{"every":"5m"}');
    assert.equal(calls[8]?.body, '{"runAt":"2026-12-01T00:00:00Z"}');
    assert.deepEqual(fires, [{ at: '2026-11-01T05:30:00.000Z', dst: 'repeated_time_first' }]);
  });

  it('sends bulk pause/resume, a run by hand and the ticks window to their routes', async () => {
    const items = [{ id: 'sch_1', paused: true }];
    const ticks = { from: 'f', to: 't', items: [], nextFrom: null };
    const { client, calls } = scripted(
      json(200, { items }),
      json(200, { items: [] }),
      json(201, { id: 'run_1', scheduleId: 'sch/1' }),
      json(200, ticks),
    );
    assert.deepEqual(await client.pauseSchedules({ scheduleIds: ['sch_1', 'sch_2'] }), items);
    assert.deepEqual(await client.resumeSchedules({ jobId: 'nightly' }), []);
    const run = await client.runScheduleNow('sch/1', { idempotencyKey: 'k' });
    assert.equal(run.id, 'run_1');
    assert.deepEqual(await client.explainScheduleTicks('sch_1', { from: '2026-06-01T00:00:00Z' }), ticks);
    assert.deepEqual(
      calls.map((c) => `${c.method} ${c.url.replace('http://api.test', '')} ${c.body ?? ''}`.trim()),
      [
        'POST /v1/schedules/pause {"scheduleIds":["sch_1","sch_2"]}',
        'POST /v1/schedules/resume {"jobId":"nightly"}',
        'POST /v1/schedules/sch%2F1/runs {}',
        'GET /v1/schedules/sch_1/ticks?from=2026-06-01T00%3A00%3A00Z',
      ],
    );
    assert.equal(calls[2]?.headers['idempotency-key'], 'k');
  });

  it('resolves a 204 as nothing', async () => {
    const { client, calls } = scripted(new Response(null, { status: 204 }));
    assert.equal(await client.deleteJob('hello'), undefined);
    assert.equal(calls[0]?.method, 'DELETE');
  });

  it('streams logs as text, even when a chunk splits a character', async () => {
    const bytes = new TextEncoder().encode('héllo\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 2)); // 'h' and half of 'é'
        controller.enqueue(bytes.slice(2));
        controller.close();
      },
    });
    const { client, calls } = scripted(new Response(body, { status: 200 }));
    const chunks: string[] = [];
    for await (const chunk of client.followLogs('run_1')) chunks.push(chunk);
    assert.equal(chunks.join(''), 'héllo\n');
    assert.equal(calls[0]?.url, 'http://api.test/v1/runs/run_1/logs?follow=true');
  });

  it('waits for a run to reach a terminal status', async () => {
    const run = (status: string): Response => json(200, { id: 'run_1', status, timeline: [] });
    const { client, calls } = scripted(run('queued'), run('running'), run('timed_out'));
    const final = await client.waitForRun('run_1', { pollMs: 1 });
    assert.equal(final.status, 'timed_out');
    assert.equal(calls.length, 3);
  });

  it('stops waiting when its signal aborts', async () => {
    const { client } = scripted(json(200, { id: 'run_1', status: 'running', timeline: [] }));
    const controller = new AbortController();
    const waiting = client.waitForRun('run_1', { pollMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 10);
    await assert.rejects(waiting, { name: 'AbortError' });
  });

  it('creates, lists, gets and deletes webhooks, and pages their deliveries', async () => {
    const hook = { id: 'whk_1', url: 'https://h.example/', events: ['failed'], jobId: null };
    const { client, calls } = scripted(
      json(201, { ...hook, secret: 'whsec_x' }),
      json(200, { items: [hook], nextCursor: 'whk_1' }),
      json(200, hook),
      new Response(null, { status: 204 }),
      json(200, { items: [{ id: 'msg_1' }], nextCursor: null }),
    );
    const created = await client.createWebhook({ url: hook.url, events: ['failed'], jobId: 'nightly' });
    assert.equal(created.secret, 'whsec_x');
    assert.equal((await client.listWebhooks({ limit: 1 })).nextCursor, 'whk_1');
    assert.equal((await client.getWebhook('whk_1')).id, 'whk_1');
    await client.deleteWebhook('whk_1');
    assert.equal((await client.listWebhookDeliveries('whk/1', { cursor: '42' })).items[0]?.id, 'msg_1');
    assert.deepEqual(
      calls.map((c) => [c.method, c.url]),
      [
        ['POST', 'http://api.test/v1/webhooks'],
        ['GET', 'http://api.test/v1/webhooks?limit=1'],
        ['GET', 'http://api.test/v1/webhooks/whk_1'],
        ['DELETE', 'http://api.test/v1/webhooks/whk_1'],
        ['GET', 'http://api.test/v1/webhooks/whk%2F1/deliveries?cursor=42'],
      ],
    );
    assert.deepEqual(JSON.parse(calls[0]?.body ?? ''), {
      url: hook.url,
      events: ['failed'],
      jobId: 'nightly',
    });
  });
});
