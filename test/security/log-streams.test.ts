// Denial of service through the log routes, against the real server binary: slow readers of a big log must not
// grow the server's memory with the log's size, follow streams are capped per tenant and in all (429), a
// follow stream's headers come at once, and a revoked key's streams end.
//
// The servers here have no worker (API role only): runs stay queued, and each log is written by the test
// where the file log store keeps it, standing in for the worker.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { API_ONLY, queuedRun, rssBytes, SlowReader, statusOf, writeRunLog } from '../support/log-load.js';
import { ServerProcess } from '../support/server-process.js';

const MB = 1024 * 1024;
const followPath = (runId: string) => `/v1/runs/${runId}/logs?follow=true`;
/** What would hang without the behaviour under test (headers, a revoked key's end) fails at this bound. */
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

describe('security: log follow streams', HANG, () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({ args: API_ONLY });
  });
  after(() => server.stop({ cleanup: true }));

  it('sends its headers at once, while the run has printed nothing', async () => {
    const { key } = await server.createTenant('quiet');
    const runId = await queuedRun(server, key);
    const reader = new SlowReader(server.url, followPath(runId), key);
    try {
      // The run is queued and will never print: headers that waited for output would never come.
      const head = await reader.headers;
      assert.equal(statusOf(head), 200);
      assert.match(head, /content-type: text\/plain/i);
      assert.equal(reader.body, 0);
    } finally {
      reader.destroy();
    }
  });

  it('ends a stream whose key is revoked, and only that key’s streams', async () => {
    const tenant = await server.createTenant('revoked');
    const second = await server.request('POST', `/v1/tenants/${tenant.id}/keys`, {
      key: server.adminKey,
      body: { name: 'kept' },
    });
    assert.equal(second.status, 201);
    const runId = await queuedRun(server, tenant.key);
    writeRunLog(server, runId, 1000);
    const doomed = new SlowReader(server.url, followPath(runId), tenant.key);
    const kept = new SlowReader(server.url, followPath(runId), second.body.key as string);
    try {
      assert.equal(statusOf(await doomed.headers), 200);
      assert.equal(statusOf(await kept.headers), 200);
      const revoke = await server.request('DELETE', `/v1/keys/${tenant.keyId}`, { key: server.adminKey });
      assert.equal(revoke.status, 204);
      // The server cuts the connection: no final chunk, so the client cannot take it for a complete log.
      assert.ok((await doomed.drain()) >= 1000, 'the stream sent the log before it was cut off');
      assert.equal(doomed.endedCleanly, false);
      // The other key's stream is still open: a new stream with that key is admitted next to it, and the
      // revoked key's slot is free again (the tenant's cap is 3).
      assert.equal(kept.isOpen, true);
      const again = new SlowReader(server.url, followPath(runId), second.body.key as string);
      try {
        assert.equal(statusOf(await again.headers), 200);
      } finally {
        again.destroy();
      }
      assert.equal(kept.isOpen, true);
    } finally {
      doomed.destroy();
      kept.destroy();
    }
  });
});

describe('security: log follow stream caps', HANG, () => {
  let server: ServerProcess;
  before(async () => {
    server = await ServerProcess.start({
      args: [...API_ONLY, '--max-log-follows-per-tenant', '3', '--max-log-follows', '5'],
    });
  });
  after(() => server.stop({ cleanup: true }));

  it('caps streams per tenant and in all with 429 too_many_streams, and frees a slot when one ends', async () => {
    const a = await server.createTenant('follows-a');
    const b = await server.createTenant('follows-b');
    const runA = await queuedRun(server, a.key);
    const runB = await queuedRun(server, b.key);
    const open: SlowReader[] = [];
    const openStream = async (key: string, runId: string) => {
      const reader = new SlowReader(server.url, followPath(runId), key);
      open.push(reader);
      assert.equal(statusOf(await reader.headers), 200);
      return reader;
    };
    try {
      for (let i = 0; i < 3; i++) await openStream(a.key, runA);
      const perTenant = await tryFollow(server, a.key, runA);
      assert.equal(perTenant.status, 429);
      assert.match(perTenant.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(perTenant.body?.code, 'too_many_streams');
      assert.match(perTenant.body?.detail ?? '', /this tenant has 3 log streams open/);
      // Another tenant is not held back by the first one's cap, only by the server's.
      await openStream(b.key, runB);
      await openStream(b.key, runB);
      const total = await tryFollow(server, b.key, runB);
      assert.equal(total.status, 429);
      assert.equal(total.body?.code, 'too_many_streams');
      assert.match(total.body?.detail ?? '', /the server has 5 log streams open/);
      // A whole-log read is not a stream and is not capped.
      assert.equal((await server.request('GET', `/v1/runs/${runA}/logs`, { key: a.key })).status, 200);
      // A client that goes away frees its slot.
      const gone = open.shift();
      gone?.destroy();
      await waitUntilAdmitted(server, a.key, runA, open);
    } finally {
      for (const reader of open) reader.destroy();
    }
  });
});

/** A follow request that answers at its headers: 200 (the stream, then closed by the client) or the problem. */
async function tryFollow(server: ServerProcess, key: string, runId: string) {
  const abort = new AbortController();
  const response = await fetch(server.url + followPath(runId), {
    headers: { authorization: `Bearer ${key}` },
    signal: abort.signal,
  });
  if (response.status === 200) abort.abort();
  const body = response.status === 200 ? null : ((await response.json()) as { code: string; detail: string });
  return { status: response.status, headers: response.headers, body };
}

/** Retries a follow until it is admitted (the server frees a slot once it sees the client's socket close). */
async function waitUntilAdmitted(server: ServerProcess, key: string, runId: string, open: SlowReader[]) {
  for (;;) {
    const reader = new SlowReader(server.url, followPath(runId), key);
    open.push(reader);
    const status = statusOf(await reader.headers);
    if (status === 200) return;
    assert.equal(status, 429);
    await reader.drain();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
