// Schedules and future runs through the real server binary, API role only: what the API accepts, answers and
// refuses. Every bad request answers problem+json naming the field and leaves nothing changed. Firing is the
// scheduler's, and is tested with it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nextNewYorkFallBack } from '../support/dst-transitions.js';
import { ServerProcess } from '../support/server-process.js';

type Res = { status: number; headers: Headers; body: any; text: string };

describe('schedules API', () => {
  let server: ServerProcess;
  let key: string;
  let other: string;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    ({ key } = await server.createTenant('sched', { maxSchedules: 3, minIntervalSeconds: 5 }));
    ({ key: other } = await server.createTenant('other'));
    for (const k of [key, other]) await server.create(k, '/v1/jobs', { name: 'tick', command: ['true'] });
  });
  after(() => server.stop());

  const req = (method: string, path: string, body?: unknown, as = key): Promise<Res> =>
    server.request(method, path, { key: as, ...(body === undefined ? {} : { body }) });

  async function snapshot(): Promise<string> {
    const schedules = await req('GET', '/v1/schedules');
    const runs = await req('GET', '/v1/runs');
    return JSON.stringify([schedules.body, runs.body]);
  }

  function assertProblem(res: Res, status: number, code: string, field: string): void {
    assert.equal(res.status, status, res.text);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(res.body.code, code, res.text);
    assert.equal(res.body.field, field, res.text);
    assert.ok(res.body.detail.includes(field), `detail should name ${field}: ${res.body.detail}`);
  }

  async function deleteAll(): Promise<void> {
    const page = await req('GET', '/v1/schedules?limit=500');
    for (const s of page.body.items) assert.equal((await req('DELETE', `/v1/schedules/${s.id}`)).status, 204);
  }

  it('creates a cron schedule with every default, reads it back and lists it', async () => {
    const created = await req('POST', '/v1/jobs/tick/schedules', { cron: '*/10 * * * *' });
    assert.equal(created.status, 201, created.text);
    const s = created.body;
    assert.match(s.id, /^sch_/);
    assert.equal(s.cron, '0 */10 * * * *', 'a 5-field expression is kept as 6 fields');
    assert.equal(s.timezone, 'UTC');
    assert.equal(s.every, null);
    assert.deepEqual(
      [s.startAt, s.endAt, s.paused, s.overlapPolicy, s.jitterSeconds, s.args, s.env, s.version],
      [null, null, false, 'allow', 0, null, null, 1],
    );
    assert.deepEqual(s.catchup, { mode: 'latest', windowSeconds: 86_400, maxRuns: 10 });
    const next = Date.parse(s.nextFireAt);
    assert.ok(next > Date.now() - 5000 && next <= Date.now() + 600_000, s.nextFireAt);
    assert.equal(new Date(next).getUTCMinutes() % 10, 0);
    assert.equal(new Date(next).getUTCSeconds(), 0);

    assert.deepEqual((await req('GET', `/v1/schedules/${s.id}`)).body, s);
    const job = (await req('GET', '/v1/jobs/tick')).body;
    const byJob = await req('GET', `/v1/schedules?jobId=${job.id}`);
    assert.deepEqual(
      byJob.body.items.map((x: { id: string }) => x.id),
      [s.id],
    );
    const byName = await req('GET', '/v1/schedules?jobId=tick');
    assert.deepEqual(byName.body, byJob.body, 'a job name lists what its id does');
    // A job the tenant does not have (none, or another tenant's by id or name) is 404, never an empty page.
    const otherJob = (await req('GET', '/v1/jobs/tick', undefined, other)).body;
    for (const jobId of ['job_00000000000000000000000000', 'no-such-job', otherJob.id]) {
      assertProblem(await req('GET', `/v1/schedules?jobId=${jobId}`), 404, 'not_found', 'jobId');
    }
    await deleteAll();
  });

  it('creates an interval schedule anchored at startAt, with its policies, args and env', async () => {
    const startAt = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, '.000Z');
    const endAt = new Date(Date.parse(startAt) + 86_400_000).toISOString();
    const body = {
      every: '90s',
      startAt,
      endAt,
      overlapPolicy: 'buffer_one',
      catchup: { mode: 'all', maxRuns: 3 },
      jitterSeconds: 20,
      args: ['--fast'],
      env: { MODE: 'scheduled' },
    };
    const res = await req('POST', '/v1/jobs/tick/schedules', body);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.every, '90s');
    assert.equal(res.body.cron, null);
    assert.equal(res.body.timezone, null);
    assert.equal(res.body.nextFireAt, startAt, 'the first tick is startAt itself');
    assert.equal(res.body.endAt, endAt);
    assert.deepEqual(res.body.catchup, { mode: 'all', windowSeconds: 86_400, maxRuns: 3 });
    assert.deepEqual([res.body.args, res.body.env], [['--fast'], { MODE: 'scheduled' }]);

    const preview = await req('GET', `/v1/schedules/${res.body.id}/preview?count=3`);
    assert.equal(preview.status, 200, preview.text);
    const items = preview.body.items;
    assert.deepEqual(
      items.map((i: { at: string }) => Date.parse(i.at) - Date.parse(startAt)),
      [0, 90_000, 180_000],
    );
    for (const item of items) {
      assert.equal(item.nominalTime, item.at);
      const jitter = Date.parse(item.dueAt) - Date.parse(item.at);
      assert.ok(jitter >= 0 && jitter < 20_000, `jitter ${jitter}`);
      assert.equal(jitter, Date.parse(items[0].dueAt) - Date.parse(items[0].at), 'the same for every tick');
      assert.equal(item.dst, null);
    }
    await deleteAll();
  });

  it('patches, pauses, resumes and deletes, raising the version each time', async () => {
    const s = (await req('POST', '/v1/jobs/tick/schedules', { every: '1h', args: ['a'] })).body;
    const patched = await req('PATCH', `/v1/schedules/${s.id}`, {
      cron: '0 9 * * 1-5',
      timezone: 'Europe/Berlin',
    });
    assert.equal(patched.status, 200, patched.text);
    assert.deepEqual(
      [patched.body.cron, patched.body.timezone, patched.body.every, patched.body.version],
      ['0 0 9 * * 1-5', 'Europe/Berlin', null, 2],
    );
    assert.deepEqual(patched.body.args, ['a'], 'fields not given stay');
    const hourInBerlin = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Berlin',
      hour: '2-digit',
      hourCycle: 'h23',
    }).format(new Date(patched.body.nextFireAt));
    assert.equal(hourInBerlin, '09');

    const cleared = await req('PATCH', `/v1/schedules/${s.id}`, { args: null, overlapPolicy: 'skip' });
    assert.deepEqual(
      [cleared.body.args, cleared.body.overlapPolicy, cleared.body.version],
      [null, 'skip', 3],
    );
    assert.equal(cleared.body.nextFireAt, patched.body.nextFireAt, 'no change of timing, same next tick');

    const paused = await req('POST', `/v1/schedules/${s.id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    assert.deepEqual([paused.body.paused, paused.body.nextFireAt, paused.body.version], [true, null, 4]);
    const again = await req('POST', `/v1/schedules/${s.id}/pause`);
    assert.equal(again.body.version, 4, 'pausing a paused schedule changes nothing');
    const resumed = await req('POST', `/v1/schedules/${s.id}/resume`);
    assert.deepEqual([resumed.body.paused, resumed.body.version], [false, 5]);
    assert.equal(resumed.body.nextFireAt, patched.body.nextFireAt);

    assert.equal((await req('DELETE', `/v1/schedules/${s.id}`)).status, 204);
    assertProblem(await req('GET', `/v1/schedules/${s.id}`), 404, 'not_found', 'scheduleId');
    assertProblem(await req('DELETE', `/v1/schedules/${s.id}`), 404, 'not_found', 'scheduleId');
  });

  it('previews the fall-back night in New York: a fixed time fires once, at its first occurrence', async () => {
    const { day, startAt } = nextNewYorkFallBack();
    const s = await req('POST', '/v1/jobs/tick/schedules', {
      cron: '30 1 * * *',
      timezone: 'America/New_York',
      startAt,
    });
    assert.equal(s.status, 201, s.text);
    const res = await req('GET', `/v1/schedules/${s.body.id}/preview?count=4`);
    assert.equal(res.status, 200, res.text);
    const items = res.body.items as { at: string; localTime: string; dst: string | null }[];
    assert.equal(items.length, 4);
    const fallBack = items.find((i) => i.localTime.startsWith(day));
    assert.ok(fallBack, JSON.stringify(items));
    assert.equal(fallBack.localTime, `${day}T01:30:00-04:00`);
    assert.equal(fallBack.at, `${day}T05:30:00.000Z`);
    assert.equal(fallBack.dst, 'repeated_time_first');
    assert.equal(items.filter((i) => i.localTime.startsWith(day)).length, 1, 'not again at 01:30 EST');
    const dayAfter = items[items.indexOf(fallBack) + 1];
    assert.match(dayAfter?.localTime ?? '', /T01:30:00-05:00$/);
    assert.equal(dayAfter?.dst, null);
    for (const item of items.slice(0, items.indexOf(fallBack))) assert.match(item.localTime, /-04:00$/);

    const bounded = await req('PATCH', `/v1/schedules/${s.body.id}`, { endAt: `${day}T12:00:00Z` });
    assert.equal(bounded.status, 200, bounded.text);
    const untilEnd = await req('GET', `/v1/schedules/${s.body.id}/preview?count=10`);
    assert.equal(untilEnd.body.items.at(-1).at, `${day}T05:30:00.000Z`, 'no tick after endAt');
    assertProblem(
      await req('GET', `/v1/schedules/${s.body.id}/preview?count=101`),
      400,
      'validation_failed',
      'count',
    );
    await deleteAll();
  });

  it('takes a Quartz step from a number (0/15) as written, and ticks on it', async () => {
    const created = await req('POST', '/v1/jobs/tick/schedules', { cron: '0/15 * * * *' });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.cron, '0 0/15 * * * *');
    assert.equal(new Date(created.body.nextFireAt).getUTCMinutes() % 15, 0);
    const preview = await req('GET', `/v1/schedules/${created.body.id}/preview?count=2`);
    assert.equal(Date.parse(preview.body.items[1].at) - Date.parse(preview.body.items[0].at), 900_000);
    await deleteAll();
  });

  const longAgo = '2020-01-01T00:00:00Z';
  const badSchedules: [string, unknown, number, string, string][] = [
    ['an invalid cron', { cron: '61 * * * *' }, 400, 'validation_failed', 'cron'],
    ['a cron of 7 fields', { cron: '* * * * * * *' }, 400, 'validation_failed', 'cron'],
    ['a Quartz step of 0', { cron: '0/0 * * * *' }, 400, 'validation_failed', 'cron'],
    ['a Quartz step starting past 59', { cron: '70/5 * * * *' }, 400, 'validation_failed', 'cron'],
    [
      'an unknown time zone',
      { cron: '0 * * * *', timezone: 'Mars/Olympus' },
      400,
      'validation_failed',
      'timezone',
    ],
    ['a time zone on an interval', { every: '1m', timezone: 'UTC' }, 400, 'validation_failed', 'timezone'],
    [
      'endAt before startAt',
      { every: '1m', startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' },
      400,
      'validation_failed',
      'endAt',
    ],
    [
      'endAt equal to startAt',
      { every: '1m', startAt: '2030-01-01T00:00:00Z', endAt: '2030-01-01T00:00:00Z' },
      400,
      'validation_failed',
      'endAt',
    ],
    [
      'a startAt that is not a time',
      { every: '1m', startAt: 'tomorrow' },
      400,
      'validation_failed',
      'startAt',
    ],
    [
      'a startAt that rolls over',
      { every: '1m', startAt: '2030-02-30T00:00:00Z' },
      400,
      'validation_failed',
      'startAt',
    ],
    ['every "0s"', { every: '0s' }, 400, 'validation_failed', 'every'],
    ['every "soon"', { every: 'soon' }, 400, 'validation_failed', 'every'],
    ['an interval under the plan minimum', { every: '2s' }, 422, 'plan_limit_exceeded', 'every'],
    ['a cron under the plan minimum', { cron: '*/2 * * * * *' }, 422, 'plan_limit_exceeded', 'cron'],
    ['both cron and every', { cron: '* * * * *', every: '1m' }, 400, 'validation_failed', 'every'],
    ['neither cron nor every', { paused: true }, 400, 'validation_failed', 'body'],
    ['an empty body', {}, 400, 'validation_failed', 'body'],
    [
      'a bad overlapPolicy',
      { every: '1m', overlapPolicy: 'queue' },
      400,
      'validation_failed',
      'overlapPolicy',
    ],
    [
      'a bad catchup mode',
      { every: '1m', catchup: { mode: 'some' } },
      400,
      'validation_failed',
      'catchup.mode',
    ],
    [
      'catchup.windowSeconds 0',
      { every: '1m', catchup: { windowSeconds: 0 } },
      400,
      'validation_failed',
      'catchup.windowSeconds',
    ],
    [
      'catchup.windowSeconds over 7 days',
      { every: '1m', catchup: { windowSeconds: 604_801 } },
      400,
      'validation_failed',
      'catchup.windowSeconds',
    ],
    [
      'catchup.maxRuns 0',
      { every: '1m', catchup: { maxRuns: 0 } },
      400,
      'validation_failed',
      'catchup.maxRuns',
    ],
    [
      'catchup.maxRuns over 1000',
      { every: '1m', catchup: { maxRuns: 1001 } },
      400,
      'validation_failed',
      'catchup.maxRuns',
    ],
    [
      'an unknown catchup field',
      { every: '1m', catchup: { mode: 'all', burst: 2 } },
      400,
      'validation_failed',
      'catchup.burst',
    ],
    ['negative jitter', { every: '1m', jitterSeconds: -1 }, 400, 'validation_failed', 'jitterSeconds'],
    ['jitter over an hour', { every: '1m', jitterSeconds: 3601 }, 400, 'validation_failed', 'jitterSeconds'],
    ['fractional jitter', { every: '1m', jitterSeconds: 1.5 }, 400, 'validation_failed', 'jitterSeconds'],
    ['an unknown field', { every: '1m', colour: 'red' }, 400, 'validation_failed', 'colour'],
    ['a bad env name', { every: '1m', env: { 'BAD-NAME': '1' } }, 400, 'validation_failed', 'env.BAD-NAME'],
    ['args as a string', { every: '1m', args: 'x' }, 400, 'validation_failed', 'args'],
    [
      'endAt before startAt, both long past',
      { every: '1m', startAt: '2021-01-01T00:00:00Z', endAt: longAgo },
      400,
      'validation_failed',
      'endAt',
    ],
  ];

  for (const [label, body, status, code, field] of badSchedules) {
    it(`rejects a schedule with ${label}`, async () => {
      const before = await snapshot();
      assertProblem(await req('POST', '/v1/jobs/tick/schedules', body), status, code, field);
      assert.equal(await snapshot(), before);
    });
  }

  it('rejects bad changes and leaves the schedule as it was', async () => {
    const s = (await req('POST', '/v1/jobs/tick/schedules', { cron: '0 * * * *' })).body;
    const bad: [unknown, number, string, string][] = [
      [{ cron: 'nope' }, 400, 'validation_failed', 'cron'],
      [{ timezone: 'Nowhere/Special' }, 400, 'validation_failed', 'timezone'],
      [{ every: '1s' }, 422, 'plan_limit_exceeded', 'every'],
      [{ cron: '* * * * *', every: '1m' }, 400, 'validation_failed', 'every'],
      [{ startAt: '2030-01-02T00:00:00Z', endAt: '2030-01-01T00:00:00Z' }, 400, 'validation_failed', 'endAt'],
      [{ jitterSeconds: 4000 }, 400, 'validation_failed', 'jitterSeconds'],
      [{ version: 9 }, 400, 'validation_failed', 'version'],
    ];
    for (const [body, status, code, field] of bad) {
      assertProblem(await req('PATCH', `/v1/schedules/${s.id}`, body), status, code, field);
    }
    const empty = await req('PATCH', `/v1/schedules/${s.id}`, {});
    assert.equal(empty.status, 400, empty.text);
    assert.deepEqual((await req('GET', `/v1/schedules/${s.id}`)).body, s);
    assertProblem(await req('GET', '/v1/schedules?cursor=nope'), 400, 'validation_failed', 'cursor');
    assertProblem(await req('GET', '/v1/schedules?colour=red'), 400, 'validation_failed', 'colour');
    assertProblem(await req('GET', '/v1/schedules/not-an-id'), 404, 'not_found', 'scheduleId');
    assertProblem(await req('POST', '/v1/jobs/nope/schedules', { every: '1m' }), 404, 'not_found', 'job');
    await deleteAll();
  });

  it('enforces the plan limit on schedules, counting only live ones', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await req('POST', '/v1/jobs/tick/schedules', { every: '1m' });
      assert.equal(res.status, 201, res.text);
      ids.push(res.body.id);
    }
    const before = await snapshot();
    const over = await req('POST', '/v1/jobs/tick/schedules', { every: '1m' });
    assert.equal(over.status, 422, over.text);
    assert.equal(over.body.code, 'plan_limit_exceeded');
    assert.equal(await snapshot(), before);
    assert.equal((await req('DELETE', `/v1/schedules/${ids[0]}`)).status, 204);
    assert.equal((await req('POST', '/v1/jobs/tick/schedules', { every: '1m' })).status, 201);
    await deleteAll();
  });

  it('answers 404 for another tenant’s schedule, on every route', async () => {
    const s = (await req('POST', '/v1/jobs/tick/schedules', { every: '1m' })).body;
    const paths: [string, string, unknown?][] = [
      ['GET', `/v1/schedules/${s.id}`],
      ['PATCH', `/v1/schedules/${s.id}`, { paused: true }],
      ['POST', `/v1/schedules/${s.id}/pause`],
      ['POST', `/v1/schedules/${s.id}/resume`],
      ['GET', `/v1/schedules/${s.id}/preview`],
      ['DELETE', `/v1/schedules/${s.id}`],
    ];
    for (const [method, path, body] of paths) {
      assertProblem(await req(method, path, body, other), 404, 'not_found', 'scheduleId');
    }
    assert.deepEqual((await req('GET', '/v1/schedules', undefined, other)).body.items, []);
    assert.deepEqual((await req('GET', `/v1/schedules/${s.id}`)).body, s, 'untouched');
    await deleteAll();
  });

  it('deleting a job deletes its schedules', async () => {
    const job = await req('POST', '/v1/jobs', { name: 'doomed', command: ['true'] });
    assert.equal(job.status, 201, job.text);
    const s = (await req('POST', '/v1/jobs/doomed/schedules', { every: '1m' })).body;
    assert.equal((await req('DELETE', '/v1/jobs/doomed')).status, 204);
    assertProblem(await req('GET', `/v1/schedules/${s.id}`), 404, 'not_found', 'scheduleId');
  });

  it('creates a future run due at runAt, and filters runs by schedule', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await req('POST', '/v1/jobs/tick/runs', { runAt, args: ['later'] });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(
      [res.body.status, res.body.nominalTime, res.body.dueAt, res.body.blockedBy, res.body.lagMs],
      ['queued', runAt, runAt, null, null],
    );
    const now = await req('POST', '/v1/jobs/tick/runs', {});
    assert.equal(now.body.dueAt, now.body.nominalTime);
    assert.equal(now.body.nominalTime, now.body.createdAt);
    const filtered = await req('GET', '/v1/runs?scheduleId=sch_00000000000000000000000000');
    assert.equal(filtered.status, 404, filtered.text);
    assert.equal(filtered.body.field, 'scheduleId');
    const skipped = await req('GET', '/v1/runs?status=skipped');
    assert.equal(skipped.status, 200, skipped.text);
  });

  it('rejects a runAt that is not a time, in the past or over a year ahead', async () => {
    const before = await snapshot();
    const bad = [
      'next tuesday',
      '2030-01-01',
      new Date(Date.now() - 60_000).toISOString(),
      new Date(Date.now() + 367 * 86_400_000).toISOString(),
    ];
    for (const runAt of bad) {
      assertProblem(await req('POST', '/v1/jobs/tick/runs', { runAt }), 400, 'validation_failed', 'runAt');
    }
    assert.equal(await snapshot(), before);
  });

  it('describes schedules and future runs in the OpenAPI document', async () => {
    const doc = (await server.request('GET', '/v1/openapi.json')).body;
    for (const path of [
      '/v1/jobs/{job}/schedules',
      '/v1/schedules',
      '/v1/schedules/{scheduleId}',
      '/v1/schedules/{scheduleId}/pause',
      '/v1/schedules/{scheduleId}/resume',
      '/v1/schedules/{scheduleId}/preview',
    ]) {
      assert.ok(doc.paths[path], `${path} is documented`);
    }
    assert.ok(doc.paths['/v1/schedules/{scheduleId}'].patch);
    const runBody = doc.paths['/v1/jobs/{job}/runs'].post.requestBody.content['application/json'].schema;
    assert.ok(runBody.properties.runAt);
    const run = doc.paths['/v1/runs/{runId}'].get.responses['200'].content['application/json'].schema;
    for (const field of ['scheduleId', 'nominalTime', 'dueAt', 'blockedBy', 'lagMs']) {
      assert.ok(run.properties[field], field);
    }
  });
});
