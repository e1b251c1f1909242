// GET /v1/stats through a real server: runs that ran show up in the current bucket by outcome, with their
// lags and failures; a future run is upcoming; the window is checked by name; a tenant sees only its own
// runs and may not name a tenant; an admin sees the fleet, or one tenant, and an unknown tenant is 404.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

describe('stats API', () => {
  let server: ServerProcess;
  let alice: TestTenant;
  let bob: TestTenant;
  let failedId = '';
  let futureId = '';

  /** The sum of one outcome over the series. */
  const total = (stats: { series: { counts: Record<string, number> }[] }, outcome: string) =>
    stats.series.reduce((sum, entry) => sum + (entry.counts[outcome] ?? 0), 0);

  async function stats(key: string, query = '') {
    const res = await server.request('GET', `/v1/stats${query}`, { key });
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  before(async () => {
    server = await ServerProcess.start();
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
    await server.create(alice.key, '/v1/jobs', { name: 'ok', command: ['true'] });
    await server.create(alice.key, '/v1/jobs', { name: 'bad', command: ['sh', '-c', 'exit 3'] });
    await server.create(bob.key, '/v1/jobs', { name: 'ok', command: ['true'] });
    const runs = [
      await server.create(alice.key, '/v1/jobs/ok/runs'),
      await server.create(alice.key, '/v1/jobs/ok/runs'),
      await server.create(alice.key, '/v1/jobs/bad/runs'),
      await server.create(bob.key, '/v1/jobs/ok/runs'),
    ];
    failedId = runs[2].id;
    await server.waitForRun(alice.key, runs[0].id);
    await server.waitForRun(alice.key, runs[1].id);
    await server.waitForRun(alice.key, runs[2].id);
    await server.waitForRun(bob.key, runs[3].id);
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    futureId = (await server.create(alice.key, '/v1/jobs/ok/runs', { runAt })).id;
  });
  after(() => server.stop());

  it('counts a tenant’s runs by outcome, with lags, failures and upcoming runs', async () => {
    const body = await stats(alice.key, '?window=1h');
    assert.equal(body.window, '1h');
    assert.equal(body.bucketSeconds, 60);
    assert.equal(body.series.length, 60);
    assert.equal(Date.parse(body.to) - Date.parse(body.from), 3_600_000);
    assert.equal(total(body, 'succeeded'), 2);
    assert.equal(total(body, 'failed'), 1);
    assert.equal(body.lag.count, 3);
    assert.equal(body.lag.counts.length, body.lag.edgesMs.length + 1);
    assert.ok(body.lag.p50Ms !== null && body.lag.p99Ms >= body.lag.p50Ms, JSON.stringify(body.lag));
    assert.equal(body.runningNow, 0);
    assert.deepEqual(
      body.recentFailures.map((r: { id: string; status: string }) => [r.id, r.status]),
      [[failedId, 'failed']],
    );
    assert.match(body.recentFailures[0].reason, /code 3/);
    assert.equal(body.recentFailures[0].exitCode, 3);
    assert.deepEqual(
      body.upcoming.map((r: { id: string }) => r.id),
      [futureId],
    );
  });

  it('gives the day in 15-minute buckets', async () => {
    const body = await stats(alice.key, '?window=24h');
    assert.equal(body.bucketSeconds, 900);
    assert.equal(body.series.length, 96);
    assert.equal(total(body, 'succeeded'), 2);
  });

  it('refuses a window it does not know, naming window', async () => {
    const res = await server.request('GET', '/v1/stats?window=7d', { key: alice.key });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.field, 'window');
    assert.match(res.body.detail, /1h/);
  });

  it('shows a tenant none of another’s runs, and lets only an admin name a tenant', async () => {
    const body = await stats(bob.key);
    assert.equal(total(body, 'succeeded'), 1);
    assert.equal(total(body, 'failed'), 0);
    assert.deepEqual([body.recentFailures, body.upcoming], [[], []]);
    const named = await server.request('GET', `/v1/stats?tenantId=${alice.id}`, { key: bob.key });
    assert.equal(named.status, 403, named.text);
    assert.equal(named.body.field, 'tenantId');
    assert.equal((await server.request('GET', '/v1/stats')).status, 401);
  });

  it('shows an admin the fleet, or one tenant', async () => {
    const fleet = await stats(server.adminKey);
    assert.equal(total(fleet, 'succeeded'), 3);
    assert.equal(total(fleet, 'failed'), 1);
    assert.equal(fleet.lag.count, 4);
    const one = await stats(server.adminKey, `?tenantId=${bob.id}&window=24h`);
    assert.equal(total(one, 'succeeded'), 1);
    const unknown = await server.request('GET', '/v1/stats?tenantId=ten_nope', { key: server.adminKey });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(unknown.body.field, 'tenantId');
  });
});
