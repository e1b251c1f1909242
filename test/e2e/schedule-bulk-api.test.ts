// Bulk pause/resume and a schedule's run by hand through the real server binary (API role): the routes, their
// problem+json refusals naming the field, and that a refusal or another tenant's ids change nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

type Res = { status: number; headers: Headers; body: any; text: string };

describe('schedules API: bulk pause/resume and run now', () => {
  let server: ServerProcess;
  let key: string;
  let other: string;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    // 0.25 runs/s: three 10 s schedules (0.3) do not fit together, two do; a burst of 3 run creations.
    ({ key } = await server.createTenant('bulk', { runsPerSecond: 0.25, runBurst: 3, maxSchedules: 50 }));
    ({ key: other } = await server.createTenant('bulk-other'));
    for (const k of [key, other]) await server.create(k, '/v1/jobs', { name: 'tick', command: ['true'] });
  });
  after(() => server.stop());

  const req = (method: string, path: string, body?: unknown, as = key, headers?: Record<string, string>) =>
    server.request(method, path, {
      key: as,
      ...(body === undefined ? {} : { body }),
      ...(headers ? { headers } : {}),
    }) as Promise<Res>;

  function assertProblem(res: Res, status: number, code: string, field: string): void {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, code, res.text);
    assert.equal(res.body.field, field, res.text);
    assert.ok(res.body.detail.includes(field), `detail should name ${field}: ${res.body.detail}`);
  }

  const schedulesOf = async (as = key): Promise<string> =>
    (await req('GET', '/v1/schedules', undefined, as)).text;

  async function make(every: string, paused = false, as = key): Promise<{ id: string }> {
    const res = await req('POST', '/v1/jobs/tick/schedules', { every, paused }, as);
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  it('pauses listed schedules and all of a job’s, nextFireAt gone, and resumes them', async () => {
    const a = await make('1h');
    const b = await make('1h');
    const paused = await req('POST', '/v1/schedules/pause', { scheduleIds: [b.id, a.id] });
    assert.equal(paused.status, 200, paused.text);
    assert.deepEqual(
      paused.body.items.map((s: any) => [s.id, s.paused, s.nextFireAt]),
      [
        [b.id, true, null],
        [a.id, true, null],
      ],
    );
    const resumed = await req('POST', '/v1/schedules/resume', { jobId: 'tick' });
    assert.equal(resumed.status, 200, resumed.text);
    assert.ok(resumed.body.items.length >= 2);
    assert.ok(resumed.body.items.every((s: any) => s.paused === false && s.nextFireAt !== null));
    const again = await req('POST', '/v1/schedules/pause', { jobId: 'tick' });
    assert.ok(again.body.items.every((s: any) => s.paused === true));
    // The single routes still answer; a GET of the static segment is a schedule not found.
    assert.equal((await req('POST', `/v1/schedules/${a.id}/resume`)).status, 200);
    assertProblem(await req('GET', '/v1/schedules/pause'), 404, 'not_found', 'scheduleId');
  });

  it('refuses bad bodies naming the field, and changes nothing', async () => {
    const s = await make('1h');
    const before = await schedulesOf();
    const cases: [unknown, string][] = [
      [{}, 'scheduleIds'],
      [{ scheduleIds: [] }, 'scheduleIds'],
      [{ scheduleIds: [s.id, s.id] }, 'scheduleIds'],
      [{ scheduleIds: Array.from({ length: 501 }, (_, i) => `sch_${i}`) }, 'scheduleIds'],
      [{ scheduleIds: [s.id], jobId: 'tick' }, 'jobId'],
      [{ scheduleIds: 'all' }, 'scheduleIds'],
      [{ jobId: '' }, 'jobId'],
      [{ scheduleIds: [s.id], extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      for (const action of ['pause', 'resume']) {
        assertProblem(await req('POST', `/v1/schedules/${action}`, body), 400, 'validation_failed', field);
      }
    }
    assert.equal(await schedulesOf(), before);
  });

  it('answers 404 naming scheduleIds for another tenant’s id among its own, and changes neither', async () => {
    const mine = await make('1h');
    const theirs = await make('1h', false, other);
    const [mineBefore, theirsBefore] = [await schedulesOf(), await schedulesOf(other)];
    for (const action of ['pause', 'resume']) {
      const res = await req('POST', `/v1/schedules/${action}`, { scheduleIds: [mine.id, theirs.id] });
      assertProblem(res, 404, 'not_found', 'scheduleIds');
      assert.ok(!res.text.includes('bulk-other'));
    }
    const theirJob = (await req('GET', '/v1/jobs/tick', undefined, other)).body.id;
    assertProblem(await req('POST', '/v1/schedules/pause', { jobId: theirJob }), 404, 'not_found', 'jobId');
    assert.equal(await schedulesOf(), mineBefore);
    assert.equal(await schedulesOf(other), theirsBefore);
    assertProblem(await req('POST', `/v1/schedules/${theirs.id}/runs`, {}), 404, 'not_found', 'scheduleId');
    assert.equal(
      (await req('GET', `/v1/runs?scheduleId=${theirs.id}`, undefined, other)).body.items.length,
      0,
    );
  });

  it('refuses a resume over the plan’s runsPerSecond with 422, and resumes none', async () => {
    const three = [await make('10s', true), await make('10s', true), await make('10s', true)];
    const before = await schedulesOf();
    const res = await req('POST', '/v1/schedules/resume', { scheduleIds: three.map((s) => s.id) });
    assertProblem(res, 422, 'plan_limit_exceeded', 'scheduleIds');
    assert.equal(await schedulesOf(), before);
    for (const s of three) assert.equal((await req('DELETE', `/v1/schedules/${s.id}`)).status, 204);
  });

  it('runs a schedule now: 201, its args and env, nextFireAt unchanged; replays a key; 429 past the burst', async () => {
    const created = await req('POST', '/v1/jobs/tick/schedules', {
      every: '1h',
      args: ['--by-hand'],
      env: { FROM: 'schedule' },
    });
    const s = created.body;
    const run = await req('POST', `/v1/schedules/${s.id}/runs`, {}, key, { 'idempotency-key': 'once' });
    assert.equal(run.status, 201, run.text);
    assert.deepEqual(
      [run.body.scheduleId, run.body.args, run.body.env, run.body.status],
      [s.id, ['--by-hand'], { FROM: 'schedule' }, 'queued'],
    );
    const replay = await req('POST', `/v1/schedules/${s.id}/runs`, undefined, key, {
      'idempotency-key': 'once',
    });
    assert.equal(replay.status, 200, replay.text);
    assert.equal(replay.body.id, run.body.id);
    assert.equal((await req('GET', `/v1/schedules/${s.id}`)).body.nextFireAt, s.nextFireAt);
    assertProblem(
      await req('POST', `/v1/schedules/${s.id}/runs`, { args: ['x'] }),
      400,
      'validation_failed',
      'args',
    );
    let limited: Res | undefined;
    for (let i = 0; i < 5 && limited === undefined; i++) {
      const res = await req('POST', `/v1/schedules/${s.id}/runs`);
      if (res.status === 429) limited = res;
      else assert.equal(res.status, 201, res.text);
    }
    assert.ok(limited, 'a burst of 3 is spent within 5 requests');
    assert.equal(limited.body.code, 'rate_limited');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });
});
