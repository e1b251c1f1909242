// What the server says to an operator: the error when a port of its is taken, its log lines, its metrics.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

describe('server output', () => {
  let server: ServerProcess;

  before(async () => {
    server = await ServerProcess.start({ env: { HOURGLASS_LOG_LEVEL: 'info' } });
  });
  after(() => server.stop());

  it('says how to choose another port when its port is taken', async () => {
    const port = new URL(server.url).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-test-'));
    try {
      await assert.rejects(ServerProcess.start({ dataDir, args: ['--port', port] }), (error: Error) => {
        assert.match(error.message, /^server exited with 1: /);
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
        assert.match(error.message, /--port N or HOURGLASS_PORT=N/);
        assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace');
        return true;
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says which flag chooses another metrics port when that one is taken', async () => {
    const port = new URL(server.url).port; // taken: the first server's API listens there
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-test-'));
    try {
      await assert.rejects(
        ServerProcess.start({ dataDir, args: ['--metrics-port', port] }),
        (error: Error) => {
          assert.match(error.message, /^server exited with 1: /);
          assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`));
          assert.match(error.message, /--metrics-port N or HOURGLASS_METRICS_PORT=N/);
          assert.doesNotMatch(error.message, /\n\s+at /, 'no stack trace');
          return true;
        },
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('writes workerId once per log line', () => {
    const lines = server.output.stderr.split('\n').filter((line) => line.includes('"workerId"'));
    assert.ok(lines.length > 0, `no worker log line at info: ${server.output.stderr}`);
    for (const line of lines) assert.equal(line.split('"workerId"').length - 1, 1, line);
  });

  it("names Node's metrics hourglass_process_… and hourglass_nodejs_…, without a doubled prefix", async () => {
    const text = (await server.request('GET', '/metrics')).text;
    assert.match(text, /^hourglass_process_cpu_seconds_total /m);
    assert.match(text, /^hourglass_nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /hourglass_process_process_|hourglass_process_nodejs_/);
  });
});
