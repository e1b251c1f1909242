// GET /v1/runs' filters through the real server: several statuses (comma-separated) and a creation time
// range, each mistake a 400 naming its field that lists nothing; the filters combine with the job, the
// schedule and the cursor; another tenant's job or schedule is a 404 whatever the other filters say.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, ServerProcess, type TestTenant } from '../support/server-process.js';

const FAILURES = 'failed,timed_out,oom_killed,lost';

describe('GET /v1/runs filters', () => {
  let server: ServerProcess;
  let alice: TestTenant;
  let bob: TestTenant;
  const ids = { ok: [] as string[], failed: [] as string[], jobOk: '', jobFail: '', schedule: '' };

  const list = async (query: string, key = alice.key) => {
    const res = await server.request('GET', `/v1/runs?${query}`, { key });
    assert.equal(res.status, 200, res.text);
    return res.body.items.map((run: { id: string }) => run.id) as string[];
  };

  before(async () => {
    server = await ServerProcess.start();
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
    ids.jobOk = (await server.create(alice.key, '/v1/jobs', { name: 'ok', command: ['true'] })).id;
    ids.jobFail = (await server.create(alice.key, '/v1/jobs', { name: 'bad', command: ['false'] })).id;
    ids.schedule = (
      await server.create(alice.key, `/v1/jobs/${ids.jobOk}/schedules`, { every: '1h', paused: true })
    ).id;
    // Interleaved, newest last: ok, bad, ok, bad, ok, bad.
    for (let i = 0; i < 3; i++) {
      for (const [jobId, into] of [
        [ids.jobOk, ids.ok],
        [ids.jobFail, ids.failed],
      ] as const) {
        const run = await server.create(alice.key, `/v1/jobs/${jobId}/runs`);
        await server.waitForRun(alice.key, run.id);
        into.unshift(run.id);
      }
    }
  });
  after(async () => {
    await server?.stop();
  });

  it('lists the runs of any of several statuses, newest first, paged by cursor', async () => {
    assert.deepEqual(await list(`status=${FAILURES}`), ids.failed);
    assert.deepEqual(await list('status=succeeded,failed'), (await list('')).slice(0, 6));
    assert.deepEqual(await list('status=succeeded'), ids.ok);
    const first = await server.request('GET', `/v1/runs?status=${FAILURES}&limit=2`, { key: alice.key });
    assert.deepEqual(
      first.body.items.map((r: { id: string }) => r.id),
      ids.failed.slice(0, 2),
    );
    const rest = await list(`status=${FAILURES}&limit=2&cursor=${first.body.nextCursor}`);
    assert.deepEqual(rest, ids.failed.slice(2));
    assert.deepEqual(await list(`status=${FAILURES}&jobId=${ids.jobOk}`), []);
    assert.deepEqual(await list(`status=${FAILURES}&jobId=bad`), ids.failed);
  });

  it('lists the runs created in [from, to)', async () => {
    const created = async (id: string) =>
      (await server.request('GET', `/v1/runs/${id}`, { key: alice.key })).body.createdAt as string;
    // From the oldest failure (inclusive) to the newest success (exclusive).
    const from = await created(ids.failed[2] ?? '');
    const to = await created(ids.ok[0] ?? '');
    const all = await list('');
    const expected = all.slice(all.indexOf(ids.ok[0] ?? '') + 1, all.indexOf(ids.failed[2] ?? '') + 1);
    assert.equal(expected.length, 3);
    assert.deepEqual(await list(`from=${from}&to=${to}`), expected);
    assert.deepEqual(
      await list(`from=${from}&to=${to}&status=${FAILURES}`),
      expected.filter((id) => ids.failed.includes(id)),
    );
    assert.deepEqual(
      await list(`from=${from}&jobId=ok`),
      all.filter((id) => ids.ok.includes(id) && all.indexOf(id) <= all.indexOf(ids.failed[2] ?? '')),
    );
    assert.deepEqual(await list(`to=${from}`), ids.ok.slice(2));
    assert.deepEqual(await list(`to=${to}&status=failed`), ids.failed.slice(1));
  });

  it('lists the same through the CLI: --status with several, --failures, --from and --to', async () => {
    const env = { PATH: process.env['PATH'] ?? '', HOURGLASS_URL: server.url, HOURGLASS_API_KEY: alice.key };
    const idsOf = async (args: string[]) => {
      const result = await runCli(['runs', 'list', '--json', ...args], env);
      assert.equal(result.code, 0, result.stderr);
      return (JSON.parse(result.stdout) as { items: { id: string }[] }).items.map((run) => run.id);
    };
    assert.deepEqual(await idsOf(['--failures']), ids.failed);
    assert.deepEqual(await idsOf(['--status', 'failed,lost']), ids.failed);
    assert.deepEqual(await idsOf(['--status', 'succeeded', '--to', '2000-01-01T00:00:00Z']), []);
    const paged = await runCli(['runs', 'list', '--failures', '--limit', '1'], env);
    assert.match(
      paged.stderr,
      /more: hourglass runs list --status failed,timed_out,oom_killed,lost --limit 1/,
    );
    const refused = await runCli(['runs', 'list', '--status', 'failed,done'], env);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /got 'done'/);
  });

  it('refuses a bad status, time or range with 400 naming the field', async () => {
    const cases: [string, string][] = [
      ['status=failed,done', 'status'],
      ['status=failed,', 'status'],
      ['status=', 'status'],
      [`status=${'failed,'.repeat(40)}`, 'status'],
      ['from=yesterday', 'from'],
      ['to=2026-02-30T00:00:00Z', 'to'],
      ['from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
      ['from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', 'from'],
    ];
    for (const [query, field] of cases) {
      const res = await server.request('GET', `/v1/runs?${query}`, { key: alice.key });
      assert.equal(res.status, 400, query);
      assert.equal(res.body.code, 'validation_failed', query);
      assert.equal(res.body.field, field, `${query}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
    }
  });

  it('answers 404 for another tenant’s job or schedule, whatever the other filters', async () => {
    for (const query of [
      `jobId=${ids.jobFail}&status=${FAILURES}`,
      `jobId=${ids.jobFail}&from=2020-01-01T00:00:00Z`,
      `scheduleId=${ids.schedule}&status=succeeded`,
    ]) {
      const res = await server.request('GET', `/v1/runs?${query}`, { key: bob.key });
      assert.equal(res.status, 404, query);
      assert.equal(res.body.field, query.startsWith('jobId') ? 'jobId' : 'scheduleId');
    }
    assert.deepEqual(await list(`status=${FAILURES}`, bob.key), []);
    assert.deepEqual(await list(`from=2020-01-01T00:00:00Z`, bob.key), []);
  });
});
