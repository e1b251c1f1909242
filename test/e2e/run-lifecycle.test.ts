// Runs through the real server binary: run-now to each outcome, cancellation, and queued runs surviving a
// restart.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

/** Alive and not a zombie (this sandbox's PID 1 may not reap orphans; a zombie runs nothing). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('run lifecycle (process runtime)', () => {
  let server: ServerProcess;
  let key: string;

  before(async () => {
    server = await ServerProcess.start();
    ({ key } = await server.createTenant('lifecycle'));
  });
  after(() => server.stop());

  async function createJob(body: Record<string, unknown>) {
    const res = await server.request('POST', '/v1/jobs', { key, body });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  async function runJob(job: string, body: Record<string, unknown> = {}) {
    const res = await server.request('POST', `/v1/jobs/${job}/runs`, { key, body });
    assert.equal(res.status, 201, res.text);
    return res.body;
  }

  it('runs a command now and keeps its output', async () => {
    await createJob({ name: 'hello', command: ['sh', '-c', 'echo "hello $1 from $HOURGLASS_RUN_ID"', 'sh'] });
    const created = await runJob('hello', { args: ['world'] });
    assert.equal(created.status, 'queued');
    assert.equal(created.attempt, 1);
    assert.equal(created.nominalTime, created.createdAt);
    const run = await server.waitForRun(key, created.id);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.exitCode, 0);
    assert.ok(run.startedAt && run.finishedAt && run.dispatchedAt);
    assert.equal(run.lagMs, Date.parse(run.startedAt) - Date.parse(run.nominalTime));
    assert.deepEqual(
      run.timeline.map((e: { type: string }) => e.type),
      ['created', 'dispatched', 'claimed', 'started', 'finished'],
    );
    const logs = await server.request('GET', `/v1/runs/${created.id}/logs`, { key });
    assert.equal(logs.status, 200);
    assert.match(logs.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(logs.text, `hello world from ${created.id}\n`);
  });

  it('records a failing command as failed with its exit code', async () => {
    await createJob({ name: 'fails', command: ['sh', '-c', 'echo oops >&2; exit 3'] });
    const run = await server.waitForRun(key, (await runJob('fails')).id);
    assert.equal(run.status, 'failed');
    assert.equal(run.exitCode, 3);
    assert.match(run.reason, /code 3/);
    assert.equal((await server.request('GET', `/v1/runs/${run.id}/logs`, { key })).text, 'oops\n');
  });

  it('retries a failing run per the job policy, as attempts of the same run', async () => {
    await createJob({
      name: 'flaky',
      command: ['sh', '-c', 'exit 1'],
      retry: { maxAttempts: 2, backoffSeconds: 0 },
    });
    const run = await server.waitForRun(key, (await runJob('flaky')).id);
    assert.equal(run.status, 'failed');
    assert.equal(run.attempt, 2);
    assert.ok(run.timeline.some((e: { type: string }) => e.type === 'retry_scheduled'));
  });

  it('fails a run whose image cannot run here, without retrying it', async () => {
    // A registry on a private address (refused: SSRF) where runc is installed; no container runtime elsewhere.
    // Either way another attempt could not help (test/e2e/container-jobs.test.ts has each case on its own).
    await createJob({
      name: 'boxed',
      image: '10.0.0.1/app:1',
      retry: { maxAttempts: 3, backoffSeconds: 0 },
    });
    const run = await server.waitForRun(key, (await runJob('boxed')).id);
    assert.equal(run.status, 'failed');
    assert.equal(run.attempt, 1);
    assert.match(run.reason, /no container runtime|resolves to 10\.0\.0\.1, which is not a public address/);
  });

  it('times a run out and leaves no process of it behind', async () => {
    await createJob({
      name: 'sleeper',
      timeoutSeconds: 1,
      command: ['sh', '-c', 'echo $$; sleep 30 & echo $!; sleep 30'],
    });
    const run = await server.waitForRun(key, (await runJob('sleeper')).id);
    assert.equal(run.status, 'timed_out');
    assert.match(run.reason, /timeout/);
    const pids = (await server.request('GET', `/v1/runs/${run.id}/logs`, { key })).text
      .trim()
      .split('\n')
      .map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(processAlive(pid), false, `process ${pid} survived the timeout`);
  });

  it('cancels a running run', async () => {
    await createJob({ name: 'long', command: ['sleep', '30'] });
    const created = await runJob('long');
    await server.waitForRun(key, created.id, ['running']);
    const cancel = await server.request('POST', `/v1/runs/${created.id}/cancel`, { key });
    assert.equal(cancel.status, 202, cancel.text);
    const run = await server.waitForRun(key, created.id);
    assert.equal(run.status, 'cancelled');
    const again = await server.request('POST', `/v1/runs/${created.id}/cancel`, { key });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'run_already_finished');
  });

  it('streams logs with follow until the run ends', async () => {
    await createJob({
      name: 'ticker',
      command: ['sh', '-c', 'for i in 1 2 3; do echo tick $i; sleep 0.2; done'],
    });
    const created = await runJob('ticker');
    const res = await fetch(`${server.url}/v1/runs/${created.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'tick 1\ntick 2\ntick 3\n');
    assert.equal((await server.request('GET', `/v1/runs/${created.id}`, { key })).body.status, 'succeeded');
  });

  it('returns the same run for a replayed Idempotency-Key, and 409 for a different request', async () => {
    await createJob({ name: 'idem', command: ['true'] });
    const headers = { 'idempotency-key': 'order-42' };
    const first = await server.request('POST', '/v1/jobs/idem/runs', { key, body: {}, headers });
    const second = await server.request('POST', '/v1/jobs/idem/runs', { key, body: {}, headers });
    assert.equal(first.status, 201);
    assert.equal(second.status, 200);
    assert.equal(second.body.id, first.body.id);
    const other = await server.request('POST', '/v1/jobs/idem/runs', { key, body: { args: ['x'] }, headers });
    assert.equal(other.status, 409);
    assert.equal(other.body.code, 'idempotency_key_reused');
    const list = await server.request('GET', `/v1/runs?jobId=${first.body.jobId}`, { key });
    assert.equal(list.body.items.length, 1);
  });

  it('answers 409 for the same Idempotency-Key with the same env names but other values', async () => {
    await createJob({ name: 'idem-env', command: ['true'] });
    const headers = { 'idempotency-key': 'deploy-7' };
    const path = '/v1/jobs/idem-env/runs';
    const first = await server.request('POST', path, { key, body: { env: { TARGET: 'staging' } }, headers });
    assert.equal(first.status, 201, first.text);
    const other = await server.request('POST', path, { key, body: { env: { TARGET: 'prod' } }, headers });
    assert.equal(other.status, 409, other.text);
    assert.equal(other.body.code, 'idempotency_key_reused');
    const same = await server.request('POST', path, { key, body: { env: { TARGET: 'staging' } }, headers });
    assert.deepEqual([same.status, same.body.id], [200, first.body.id]);
  });
});

describe('a restarted server', () => {
  it('runs the runs that were queued when it stopped', async () => {
    // An API-only server queues runs that no worker takes; the next start, with a worker, must run them all.
    const first = await ServerProcess.start({ args: ['--roles', 'api'] });
    const { key } = await first.createTenant('restart', { runBurst: 100 });
    await first.request('POST', '/v1/jobs', { key, body: { name: 'echo', command: ['echo', 'survived'] } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await first.request('POST', '/v1/jobs/echo/runs', { key, body: {} })).body.id);
    }
    await first.stop({ kill: true, cleanup: false });

    const second = await ServerProcess.start({ dataDir: first.dataDir });
    try {
      for (const id of ids) {
        const run = await second.waitForRun(key, id);
        assert.equal(run.status, 'succeeded');
        assert.equal((await second.request('GET', `/v1/runs/${id}/logs`, { key })).text, 'survived\n');
      }
    } finally {
      await second.stop({ cleanup: true });
    }
  });
});
