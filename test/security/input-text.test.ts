// Text that must not reach a process, a file or a log: NUL bytes and lone surrogates in any string field of
// any route are refused with 400 naming the field, and change nothing. And env values are secrets: no run's
// reason, timeline, error answer or server log line ever shows one, however the run fails.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ProcessExecutor } from '../../src/adapters/process/process-executor.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { captureExecution, executionSpec } from '../support/executor-fixtures.js';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

const NUL = 'a\u0000b';
const LONE = 'a\ud800b';

describe('NUL bytes and lone surrogates are refused everywhere', () => {
  let server: ServerProcess;
  let tenant: TestTenant;
  let scheduleId: string;
  let runId: string;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    tenant = await server.createTenant('texts');
    const { key } = tenant;
    await server.create(key, '/v1/jobs', { name: 'base', command: ['true'] });
    scheduleId = (await server.create(key, '/v1/jobs/base/schedules', { every: '1h', paused: true })).id;
    runId = (await server.create(key, '/v1/jobs/base/runs')).id;
  });
  after(() => server.stop());

  async function state(): Promise<string> {
    const { key } = tenant;
    const parts = await Promise.all([
      server.request('GET', '/v1/jobs', { key }),
      server.request('GET', '/v1/runs', { key }),
      server.request('GET', '/v1/schedules', { key }),
      server.request('GET', '/v1/tenants', { key: server.adminKey }),
    ]);
    return JSON.stringify(parts.map((p) => p.body));
  }

  it('answers 400 naming the field, for every string field, and changes nothing', async () => {
    const before = await state();
    const job = (extra: Record<string, unknown>) => ({ name: 'fresh', command: ['true'], ...extra });
    const cases: [string, string, unknown, string][] = [];
    for (const [label, bad] of [
      ['NUL', NUL],
      ['lone surrogate', LONE],
    ] as const) {
      cases.push(
        ['POST', '/v1/jobs', job({ name: bad }), 'name'],
        ['POST', '/v1/jobs', job({ command: ['true', bad] }), 'command[1]'],
        ['POST', '/v1/jobs', job({ command: [bad] }), 'command[0]'],
        ['POST', '/v1/jobs', job({ args: ['x', 'y', bad] }), 'args[2]'],
        ['POST', '/v1/jobs', job({ env: { FOO: bad } }), 'env.FOO'],
        ['POST', '/v1/jobs', job({ env: { [`F${bad}`]: 'x' } }), 'env'],
        ['POST', '/v1/jobs', job({ image: bad }), 'image'],
        ['PATCH', '/v1/jobs/base', { env: { FOO: bad } }, 'env.FOO'],
        ['PATCH', '/v1/jobs/base', { args: [bad] }, 'args[0]'],
        ['PATCH', '/v1/jobs/base', { command: ['true', bad] }, 'command[1]'],
        ['POST', '/v1/jobs/base/runs', { args: [bad] }, 'args[0]'],
        ['POST', '/v1/jobs/base/runs', { env: { SECRET: bad } }, 'env.SECRET'],
        ['POST', '/v1/jobs/base/schedules', { every: '1h', env: { S: bad } }, 'env.S'],
        ['POST', '/v1/jobs/base/schedules', { every: '1h', args: [bad] }, 'args[0]'],
        ['POST', '/v1/jobs/base/schedules', { cron: `0 * * * * ${bad}` }, 'cron'],
        ['POST', '/v1/jobs/base/schedules', { cron: '0 * * * *', timezone: bad }, 'timezone'],
        ['PATCH', `/v1/schedules/${scheduleId}`, { env: { S: bad } }, 'env.S'],
        ['PATCH', `/v1/schedules/${scheduleId}`, { args: ['ok', bad] }, 'args[1]'],
        ['POST', '/v1/tenants', { name: bad }, 'name'],
        ['POST', `/v1/tenants/${tenant.id}/keys`, { name: bad }, 'name'],
      );
      void label;
    }
    // A URL is UTF-8, which cannot hold a lone surrogate: only NULs reach a query or path parameter.
    cases.push(
      ['GET', '/v1/runs?jobId=a%00b', undefined, 'jobId'],
      ['GET', '/v1/runs?scheduleId=a%00b', undefined, 'scheduleId'],
      ['GET', '/v1/jobs/a%00b', undefined, 'job'],
      ['POST', '/v1/runs/a%00b/cancel', {}, 'runId'],
      ['GET', '/v1/schedules?jobId=a%00b', undefined, 'jobId'],
    );
    for (const [method, path, body, field] of cases) {
      const admin = path.startsWith('/v1/tenants');
      const res = await server.request(method, path, { key: admin ? server.adminKey : tenant.key, body });
      const what = `${method} ${path} ${JSON.stringify(body)}`;
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
      assert.equal(res.body.code, 'validation_failed', what);
      assert.equal(res.body.field, field, `${what}: ${res.text}`);
      assert.ok(
        res.body.detail.startsWith(`${field}: `),
        `${what}: detail names the field: ${res.body.detail}`,
      );
      assert.ok(!res.text.includes('\\u0000') && !/\\ud800/i.test(res.text), `${what}: echoes the bad text`);
    }
    // A surrogate's UTF-8-like encoding is a malformed URL in a path, and stays undecoded text in a query.
    const inPath = await server.request('GET', '/v1/jobs/a%ED%A0%80b', { key: tenant.key });
    assert.deepEqual([inPath.status, inPath.body.code], [400, 'bad_request'], inPath.text);
    const inQuery = await server.request('GET', '/v1/runs?jobId=a%ED%A0%80b', { key: tenant.key });
    assert.deepEqual([inQuery.status, inQuery.body.field], [404, 'jobId'], inQuery.text);
    assert.equal(await state(), before, 'a refused request changed something');
    // The run and the schedule are untouched too.
    const run = await server.request('GET', `/v1/runs/${runId}`, { key: tenant.key });
    assert.equal(run.body.status, 'queued');
  });

  it('still accepts text that is valid Unicode, astral characters included', async () => {
    const res = await server.request('POST', '/v1/jobs', {
      key: tenant.key,
      body: { name: 'emoji', command: ['echo', 'caf\u00e9 \ud83d\ude00'], env: { GREETING: '\ud83d\udc4b' } },
    });
    assert.equal(res.status, 201, res.text);
    assert.deepEqual(res.body.command, ['echo', 'caf\u00e9 \ud83d\ude00']);
  });
});

describe('env values never appear in reasons, answers or logs', () => {
  const secret = `s3cr3t-${randomBytes(12).toString('hex')}`;
  let server: ServerProcess;
  let key: string;

  before(async () => {
    server = await ServerProcess.start({ env: { HOURGLASS_LOG_LEVEL: 'debug' } });
    ({ key } = await server.createTenant('secrets'));
  });
  after(() => server.stop());

  async function runOf(name: string, job: Record<string, unknown>, runBody: Record<string, unknown> = {}) {
    const created = await server.request('POST', '/v1/jobs', {
      key,
      body: { name, env: { SECRET: secret, PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...job },
    });
    assert.equal(created.status, 201, created.text);
    const run = await server.request('POST', `/v1/jobs/${name}/runs`, { key, body: runBody });
    assert.equal(run.status, 201, run.text);
    return run.body.id as string;
  }

  async function waitForFirstRun(scheduleId: string): Promise<string> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const page = await server.request('GET', `/v1/runs?scheduleId=${scheduleId}`, { key });
      const first = page.body.items[0] as { id: string } | undefined;
      if (first !== undefined) return first.id;
      if (Date.now() > deadline) throw new Error(`schedule ${scheduleId} fired nothing in 20 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('fails runs in every way with a secret in their env, and shows it nowhere', async () => {
    const withSecretOverride = { env: { OTHER: secret } };
    const runs = [
      await runOf('not-found', { command: ['no-such-command-xyz'] }),
      await runOf('not-executable', { command: ['/etc/hostname'] }),
      await runOf('exits', { command: ['sh', '-c', 'exit 3'], retry: { maxAttempts: 2, backoffSeconds: 0 } }),
      await runOf('signalled', { command: ['sh', '-c', 'kill -9 $$'] }),
      await runOf('times-out', { command: ['sleep', '30'], timeoutSeconds: 1 }),
      await runOf('override', { command: ['sh', '-c', 'exit 1'] }, withSecretOverride),
      await runOf('directory', { command: ['/tmp'] }),
    ];
    const cancelled = await runOf('cancelled', { command: ['sleep', '30'] });
    await server.waitForRun(key, cancelled, ['running']);
    assert.equal((await server.request('POST', `/v1/runs/${cancelled}/cancel`, { key })).status, 202);
    runs.push(cancelled);

    // A scheduled run, its env from the schedule: the scheduler's path, fired and failed.
    const scheduled = await server.request('POST', '/v1/jobs/exits/schedules', {
      key,
      body: { every: '1s', env: { FROM_SCHEDULE: secret } },
    });
    assert.equal(scheduled.status, 201, scheduled.text);
    const fired = await waitForFirstRun(scheduled.body.id);
    assert.equal(
      (await server.request('POST', `/v1/schedules/${scheduled.body.id}/pause`, { key, body: {} })).status,
      200,
    );
    runs.push(fired);

    const seen: string[] = [];
    for (const id of runs) {
      const run = await server.waitForRun(key, id);
      assert.notEqual(run.status, 'succeeded', `${id} should have failed`);
      const full = await server.request('GET', `/v1/runs/${id}`, { key });
      seen.push(
        String(full.body.reason),
        ...full.body.timeline.map((e: { detail: unknown }) => String(e.detail)),
      );
    }
    // Answers to requests that carry a secret and are refused for another field.
    const refused = [
      await server.request('POST', '/v1/jobs', {
        key,
        body: { name: 'bad', command: ['true'], env: { SECRET: secret }, timeoutSeconds: 'soon' },
      }),
      await server.request('POST', '/v1/jobs', {
        key,
        body: { name: 'bad', command: ['true'], env: { SECRET: secret.repeat(2000) } },
      }),
      await server.request('POST', '/v1/jobs/exits/runs', {
        key,
        body: { env: { S: secret }, runAt: 'later' },
      }),
      await server.request('POST', '/v1/jobs/exits/runs', { key, body: { env: { S: `${secret}\u0000` } } }),
    ];
    for (const res of refused) {
      assert.equal(res.status, 400, res.text);
      seen.push(res.text);
    }
    for (const text of seen) assert.ok(!text.includes(secret), `a secret shows: ${text}`);
    // The reasons are about the failure: they are not empty, so the check above is not vacuous.
    assert.ok(seen.some((text) => text.includes('command not found')));
    assert.ok(seen.some((text) => text.includes('exited with code 3')));

    await server.stop();
    const logs = server.output.stderr + server.output.stdout;
    assert.ok(logs.includes('attempt finished'), 'the debug log was captured');
    assert.ok(!logs.includes(secret), 'a secret shows in the server log');
  });
});

describe('a spawn Node refuses does not quote its env', () => {
  let scratchRoot: string;
  let executor: ProcessExecutor;

  before(() => {
    scratchRoot = mkdtempSync(join(tmpdir(), 'hourglass-input-'));
    executor = new ProcessExecutor({ clock: systemClock, scratchRoot, killGraceMs: 200 });
  });
  after(async () => {
    await executor.close();
    rmSync(scratchRoot, { recursive: true, force: true });
  });

  // The API refuses NULs; a row stored before it did, or a path around it, must still not leak.
  it('fails with a reason that names neither the value nor the argument', async () => {
    const secret = `s3cr3t-${randomBytes(8).toString('hex')}`;
    const inEnv = await captureExecution(
      executor,
      executionSpec(['true'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', S: `${secret}\u0000` } }),
    );
    const inArgs = await captureExecution(executor, executionSpec(['true', `${secret}\u0000`]));
    for (const { result } of [inEnv, inArgs]) {
      assert.equal(result.outcome, 'failed');
      assert.ok(result.reason !== null && !result.reason.includes(secret), `reason: ${result.reason}`);
    }
  });
});
