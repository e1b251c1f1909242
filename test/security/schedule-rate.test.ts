// Schedules count against the tenant's run rate, through the real server: a tenant's live schedules may make
// at most the plan's runsPerSecond on average. Without the rule, 40 `every: 1s` schedules made about 41
// runs/s against a plan of 10/s. The server here has the API role only: the rule is the API's, and no
// scheduler needs to fire for it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_ONLY } from '../support/log-load.js';
import { ServerProcess } from '../support/server-process.js';

describe('security: schedules count against the plan’s run rate', () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ args: API_ONLY });
  });
  after(() => server.stop({ cleanup: true }));

  async function tenantWithJob(name: string, limits: Record<string, number> = {}) {
    const tenant = await server.createTenant(name, limits);
    const job = await server.request('POST', '/v1/jobs', {
      key: tenant.key,
      body: { name: 'tick', image: 'busybox:1' },
    });
    assert.equal(job.status, 201, job.text);
    const schedule = (body: Record<string, unknown>) =>
      server.request('POST', '/v1/jobs/tick/schedules', { key: tenant.key, body });
    const live = async () =>
      (await server.request('GET', '/v1/schedules?limit=100', { key: tenant.key })).body.items as {
        id: string;
        paused: boolean;
      }[];
    return { ...tenant, schedule, live };
  }

  it('admits 10 `every: 1s` schedules on the default plan of 10 runs/s, and refuses the 11th', async () => {
    const tenant = await tenantWithJob('default-plan');
    for (let i = 0; i < 10; i++) assert.equal((await tenant.schedule({ every: '1s' })).status, 201);
    const refused = await tenant.schedule({ every: '1s' });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.code, 'plan_limit_exceeded');
    assert.equal(refused.body.field, 'every');
    assert.match(
      refused.body.detail,
      /makes 1 runs\/s .* other live schedules 10 runs\/s; .* runsPerSecond of 10/,
    );
    assert.equal((await tenant.live()).length, 10, 'the refused schedule was stored');
  });

  it('counts cron ticks (with seconds) and intervals together; a paused schedule counts for nothing', async () => {
    const tenant = await tenantWithJob('mixed', { runsPerSecond: 2 });
    const fast = await tenant.schedule({ every: '1s' }); // 1/s
    assert.equal(fast.status, 201);
    assert.equal((await tenant.schedule({ cron: '*/2 * * * * *' })).status, 201); // 0.5/s
    const slow = await tenant.schedule({ every: '4s' }); // 0.25/s
    assert.equal(slow.status, 201);
    assert.equal((await tenant.schedule({ cron: '*/4 * * * * *' })).status, 201); // 0.25/s: 2/s in all
    const over = await tenant.schedule({ cron: '0 * * * * *' });
    assert.equal(over.status, 422);
    assert.equal(over.body.field, 'cron');

    // A paused schedule is created (it makes no runs), and its resume is checked.
    const paused = await tenant.schedule({ every: '1s', paused: true });
    assert.equal(paused.status, 201);
    const resume = await server.request('POST', `/v1/schedules/${paused.body.id}/resume`, {
      key: tenant.key,
    });
    assert.equal(resume.status, 422);
    assert.equal(resume.body.code, 'plan_limit_exceeded');
    const still = await server.request('GET', `/v1/schedules/${paused.body.id}`, { key: tenant.key });
    assert.equal(still.body.paused, true, 'a refused resume changed the schedule');

    // Pausing frees its share: the other resumes in its place.
    const pause = await server.request('POST', `/v1/schedules/${fast.body.id}/pause`, { key: tenant.key });
    assert.equal(pause.status, 200);
    const resumed = await server.request('POST', `/v1/schedules/${paused.body.id}/resume`, {
      key: tenant.key,
    });
    assert.equal(resumed.status, 200, resumed.text);
  });

  it('checks a change to a faster timing, and lets a slower one or any other edit through', async () => {
    const tenant = await tenantWithJob('changes', { runsPerSecond: 1 });
    const a = await tenant.schedule({ every: '2s' });
    const b = await tenant.schedule({ every: '2s' });
    assert.equal(a.status, 201);
    assert.equal(b.status, 201);
    const faster = await server.request('PATCH', `/v1/schedules/${a.body.id}`, {
      key: tenant.key,
      body: { every: '1s' },
    });
    assert.equal(faster.status, 422);
    assert.equal(faster.body.field, 'every');
    const unchanged = await server.request('GET', `/v1/schedules/${a.body.id}`, { key: tenant.key });
    assert.equal(unchanged.body.every, '2s');
    const slower = await server.request('PATCH', `/v1/schedules/${b.body.id}`, {
      key: tenant.key,
      body: { cron: '0 * * * * *' },
    });
    assert.equal(slower.status, 200, slower.text);
    const edited = await server.request('PATCH', `/v1/schedules/${a.body.id}`, {
      key: tenant.key,
      body: { jitterSeconds: 5 },
    });
    assert.equal(edited.status, 200, edited.text);
    // Deleting frees a schedule's share too.
    assert.equal((await tenant.schedule({ every: '2s' })).status, 422);
    await server.request('DELETE', `/v1/schedules/${b.body.id}`, { key: tenant.key });
    assert.equal((await tenant.schedule({ every: '2s' })).status, 201);
  });

  it('is per tenant: one tenant’s schedules do not use another’s rate', async () => {
    const first = await tenantWithJob('rate-a', { runsPerSecond: 1 });
    const second = await tenantWithJob('rate-b', { runsPerSecond: 1 });
    assert.equal((await first.schedule({ every: '1s' })).status, 201);
    assert.equal((await second.schedule({ every: '1s' })).status, 201);
  });
});
