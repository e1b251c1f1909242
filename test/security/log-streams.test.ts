// Denial of service through the log routes, against the real server binary: slow readers of a big log must not
// grow the server's memory with the log's size.
//
// The servers here have no worker (API role only): runs stay queued, and each log is written by the test
// where the file log store keeps it, standing in for the worker.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_ONLY, queuedRun, rssBytes, SlowReader, statusOf, writeRunLog } from '../support/log-load.js';
import { ServerProcess } from '../support/server-process.js';

const MB = 1024 * 1024;
/** What would hang without the behaviour under test fails at this bound. */
const HANG = { timeout: 120_000 };

describe('security: whole-log reads are streamed', HANG, () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ args: API_ONLY });
  });
  after(() => server.stop({ cleanup: true }));

  it('200 concurrent slow readers of a 10 MiB log grow the server by less than 100 MB', async () => {
    const { key } = await server.createTenant('readers');
    const runId = await queuedRun(server, key);
    const log = writeRunLog(server, runId, 10 * MB);
    const path = `/v1/runs/${runId}/logs`;
    // A fast reader gets every byte, with its length up front; it also warms the route before the baseline.
    const whole = await server.request('GET', path, { key });
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(log.length));
    assert.ok(whole.text === log.toString('latin1'), 'the streamed log differs from the file');
    const baseline = rssBytes(server.pid);

    const readers = Array.from({ length: 200 }, () => new SlowReader(server.url, path, key));
    try {
      const heads = await Promise.all(readers.map((reader) => reader.headers));
      assert.deepEqual(new Set(heads.map(statusOf)), new Set([200]));
      // Buffering the log per request shows once every request is answered; streaming, as readers take more.
      let peak = rssBytes(server.pid);
      for (let round = 0; round < 4; round++) {
        for (const reader of readers) await reader.readSome(256 * 1024);
        peak = Math.max(peak, rssBytes(server.pid));
      }
      const growthMb = (peak - baseline) / MB;
      assert.ok(growthMb < 100, `RSS grew by ${growthMb.toFixed(1)} MB with 200 slow readers`);
      // Slow, not stuck: one of them reads the rest of its log.
      const [first] = readers;
      assert.ok(first !== undefined);
      assert.ok((await first.drain()) >= log.length, 'a slow reader did not get the whole log');
    } finally {
      for (const reader of readers) reader.destroy();
    }
  });

  it('reads an empty log and a missing one as empty', async () => {
    const { key } = await server.createTenant('empty-logs');
    const runId = await queuedRun(server, key);
    const missing = await server.request('GET', `/v1/runs/${runId}/logs`, { key });
    assert.equal(missing.status, 200);
    assert.equal(missing.text, '');
    writeRunLog(server, runId, 0);
    const empty = await server.request('GET', `/v1/runs/${runId}/logs`, { key });
    assert.equal(empty.status, 200);
    assert.equal(empty.headers.get('content-length'), '0');
    assert.equal(empty.text, '');
  });
});
