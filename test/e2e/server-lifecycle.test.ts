// The server as an operator sees it: graceful stop with a log follower attached, runs interrupted by a stop
// running again after the restart, rotation of the admin key, and the first-start credentials of a server
// started without one.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

describe('server lifecycle', () => {
  it('stops gracefully with a log follower attached, and runs the interrupted run again after restart', async () => {
    const first = await ServerProcess.start();
    const { key } = await first.createTenant('ops');
    await first.request('POST', '/v1/jobs', {
      key,
      body: { name: 'slowish', command: ['sh', '-c', 'echo start; sleep 2; echo done'] },
    });
    const created = (await first.request('POST', '/v1/jobs/slowish/runs', { key, body: {} })).body;
    await first.waitForRun(key, created.id, ['running']);
    // Running means claimed; the process prints `start` a moment later (through the launcher). Stopped only
    // once it has, so that the follower has something to be given before the stop ends its stream.
    for (let i = 0; i < 100; i++) {
      const log = await first.request('GET', `/v1/runs/${created.id}/logs`, { key });
      if (log.text.startsWith('start\n')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const follow = fetch(`${first.url}/v1/runs/${created.id}/logs?follow=true`, {
      headers: { authorization: `Bearer ${key}` },
    }).then((res) => res.text());

    const stopStarted = Date.now();
    await first.stop({ cleanup: false });
    // The worker's grace is 300 ms in the harness: the stop must not wait for the run, nor hang on the follower.
    assert.ok(Date.now() - stopStarted < 5000, `stop took ${Date.now() - stopStarted} ms`);
    assert.match(await follow, /^start\n/);

    const second = await ServerProcess.start({ dataDir: first.dataDir });
    try {
      const run = await second.waitForRun(key, created.id);
      assert.equal(run.status, 'succeeded');
      assert.equal(run.attempt, 1, 'a stop releases the run without using up an attempt');
      assert.ok(run.timeline.some((e: { type: string }) => e.type === 'released'));
    } finally {
      await second.stop({ cleanup: true });
    }
  });

  it('makes a configured admin key the only one, so changing it rotates it', async () => {
    const first = await ServerProcess.start();
    const oldKey = first.adminKey;
    await first.stop({ cleanup: false });
    const second = await ServerProcess.start({ dataDir: first.dataDir });
    try {
      assert.notEqual(second.adminKey, oldKey);
      assert.equal((await second.request('GET', '/v1/tenants', { key: second.adminKey })).status, 200);
      const old = await second.request('GET', '/v1/tenants', { key: oldKey });
      assert.equal(old.status, 401);
    } finally {
      await second.stop({ cleanup: true });
    }
  });

  it('generates an admin key and a default tenant when none is configured, printed until the file is removed', async () => {
    const generated = { HOURGLASS_ADMIN_KEY: '' }; // the npm start default: no operator key
    const first = await ServerProcess.start({ env: generated });
    const adminKey = /admin key: (hg_\S+)/.exec(first.output.stdout)?.[1] ?? '';
    const tenantKey = /tenant "default" \(ten_\w+\) key: (hg_\S+)/.exec(first.output.stdout)?.[1] ?? '';
    assert.ok(adminKey !== '' && tenantKey !== '', first.output.stdout);
    assert.equal((await first.request('GET', '/v1/tenants', { key: adminKey })).status, 200);
    assert.equal((await first.request('GET', '/v1/jobs', { key: tenantKey })).status, 200);
    await first.stop({ cleanup: false });

    const second = await ServerProcess.start({ dataDir: first.dataDir, env: generated });
    assert.match(
      second.output.stdout,
      new RegExp(`admin key: ${adminKey}`),
      'printed again while the file is kept',
    );
    assert.match(second.output.stdout, new RegExp(`key: ${tenantKey}`));
    await second.stop({ cleanup: false });

    rmSync(join(first.dataDir, 'first-start-credentials.txt'));
    const third = await ServerProcess.start({ dataDir: first.dataDir, env: generated });
    try {
      assert.doesNotMatch(third.output.stdout, /hg_/, 'no key printed once the file is gone');
      assert.equal((await third.request('GET', '/v1/tenants', { key: adminKey })).status, 200);
      assert.equal((await third.request('GET', '/v1/jobs', { key: tenantKey })).status, 200);
    } finally {
      await third.stop({ cleanup: true });
    }
  });
});
