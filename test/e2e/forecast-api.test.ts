// GET /v1/forecast through the real server binary: each tenant's forecast counts its own schedules only, an
// admin key sees the fleet, bad windows answer problem+json naming the field, and /metrics has the runs-due
// gauge. Agreement with the previews, on every store, is test/integration/load-forecast.test.ts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

type Res = { status: number; headers: Headers; body: any; text: string };

describe('forecast API', () => {
  let server: ServerProcess;
  let a: TestTenant;
  let b: TestTenant;
  // A minute ahead, so that no tick of the window passes before the server answers.
  const from = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
  const to = new Date(from.getTime() + 600_000);
  const window = `from=${from.toISOString()}&to=${to.toISOString()}&stepSeconds=60`;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    a = await server.createTenant('fa', { minIntervalSeconds: 1 });
    b = await server.createTenant('fb', { minIntervalSeconds: 1 });
    const resources = { memoryMb: 512, memoryRequestMb: 100 };
    for (const t of [a, b])
      await server.create(t.key, '/v1/jobs', { name: 'tick', command: ['true'], resources });
    await server.create(a.key, '/v1/jobs/tick/schedules', { cron: '*/10 * * * * *' });
    await server.create(a.key, '/v1/jobs/tick/schedules', { every: '30s' });
    await server.create(a.key, '/v1/jobs/tick/schedules', { cron: '* * * * * *', paused: true });
    await server.create(b.key, '/v1/jobs/tick/schedules', { cron: '0 * * * * *', timezone: 'Europe/Berlin' });
  });
  after(() => server.stop());

  const get = (query: string, key: string | null): Promise<Res> =>
    server.request('GET', `/v1/forecast?${query}`, { key });
  const total = (res: Res, field: 'runs' | 'memoryMb') =>
    res.body.items.reduce((sum: number, step: Record<string, number>) => sum + (step[field] ?? 0), 0);

  it("counts a tenant's own schedules only, and the fleet's with an admin key", async () => {
    const ofA = await get(window, a.key);
    assert.equal(ofA.status, 200, ofA.text);
    assert.equal(ofA.body.items.length, 10);
    assert.equal(ofA.body.items[0].at, from.toISOString());
    assert.equal(ofA.body.items[9].at, new Date(from.getTime() + 540_000).toISOString());
    assert.equal(total(ofA, 'runs'), 60 + 20, 'six a minute, and two; the paused one none');
    assert.equal(total(ofA, 'memoryMb'), 80 * 100);
    const ofB = await get(window, b.key);
    assert.deepEqual(
      ofB.body.items.map((step: { runs: number }) => step.runs),
      new Array(10).fill(1),
    );
    const fleet = await get(window, server.adminKey);
    assert.equal(fleet.status, 200, fleet.text);
    assert.deepEqual(
      fleet.body.items.map((step: { runs: number }) => step.runs),
      ofA.body.items.map((step: { runs: number }, i: number) => step.runs + ofB.body.items[i].runs),
    );
  });

  it('defaults to the next hour at one-minute steps', async () => {
    const res = await get('', a.key);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items.length, 60);
  });

  it('refuses bad windows as problem+json naming the field', async () => {
    const cases: [string, string][] = [
      [`from=${to.toISOString()}&to=${from.toISOString()}`, 'to'],
      [`from=${from.toISOString()}&to=${new Date(from.getTime() + 8 * 86_400_000).toISOString()}`, 'to'],
      [`${window.replace('stepSeconds=60', 'stepSeconds=0')}`, 'stepSeconds'],
      [
        `from=${from.toISOString()}&to=${new Date(from.getTime() + 86_400_000).toISOString()}&stepSeconds=1`,
        'stepSeconds',
      ],
      ['from=yesterday', 'from'],
    ];
    for (const [query, field] of cases) {
      const res = await get(query, a.key);
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
      assert.equal(res.body.field, field, `${query}: ${res.text}`);
    }
    assert.equal((await get(window, null)).status, 401);
  });

  it('serves the runs-due gauge on /metrics', async () => {
    const metrics = await server.request('GET', '/metrics');
    for (const within of ['1m', '5m', '15m']) {
      assert.match(metrics.text, new RegExp(`^hourglass_runs_due\\{within="${within}"\\} \\d+$`, 'm'));
    }
  });
});
