// Tenants cannot see or touch each other: every route given another tenant's ids answers 404, and a revoked
// key answers 401.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

describe('tenant isolation', () => {
  let server: ServerProcess;
  let alice: TestTenant;
  let bob: TestTenant;
  let job: any;
  let run: any;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
    job = await server.create(alice.key, '/v1/jobs', { name: 'secret', command: ['true'] });
    run = await server.create(alice.key, '/v1/jobs/secret/runs');
  });
  after(() => server.stop());

  it('answers 404 on every route for another tenant’s job and run ids', async () => {
    const routes: [string, string, unknown?][] = [
      ['GET', `/v1/jobs/${job.id}`],
      ['GET', '/v1/jobs/secret'],
      ['PATCH', `/v1/jobs/${job.id}`, { timeoutSeconds: 5 }],
      ['DELETE', `/v1/jobs/${job.id}`],
      ['POST', `/v1/jobs/${job.id}/runs`, {}],
      ['POST', '/v1/jobs/secret/runs', {}],
      ['GET', `/v1/runs/${run.id}`],
      ['POST', `/v1/runs/${run.id}/cancel`],
      ['GET', `/v1/runs/${run.id}/logs`],
      ['GET', `/v1/runs/${run.id}/logs?follow=true`],
    ];
    for (const [method, path, body] of routes) {
      const res = await server.request(method, path, { key: bob.key, body });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.code, 'not_found');
    }
    const list = await server.request('GET', `/v1/runs?jobId=${job.id}`, { key: bob.key });
    assert.equal(list.status, 404, list.text);
    assert.equal(list.body.field, 'jobId');
    assert.deepEqual((await server.request('GET', '/v1/jobs', { key: bob.key })).body.items, []);
    // Nothing of alice's changed.
    const still = await server.request('GET', `/v1/runs/${run.id}`, { key: alice.key });
    assert.equal(still.body.status, 'queued');
    assert.equal(
      (await server.request('GET', '/v1/jobs/secret', { key: alice.key })).body.timeoutSeconds,
      3600,
    );
  });

  it('lets bob use the same job name as alice', async () => {
    const res = await server.request('POST', '/v1/jobs', {
      key: bob.key,
      body: { name: 'secret', command: ['true'] },
    });
    assert.equal(res.status, 201);
    assert.notEqual(res.body.id, job.id);
  });

  it('answers 401 for a revoked key, and 404 for revoking an unknown key', async () => {
    const extra = await server.request('POST', `/v1/tenants/${alice.id}/keys`, {
      key: server.adminKey,
      body: { name: 'ci' },
    });
    assert.equal(extra.status, 201);
    assert.match(extra.body.key, /^hg_/);
    assert.equal((await server.request('GET', '/v1/jobs', { key: extra.body.key })).status, 200);
    assert.equal(
      (await server.request('DELETE', `/v1/keys/${extra.body.id}`, { key: server.adminKey })).status,
      204,
    );
    const revoked = await server.request('GET', '/v1/jobs', { key: extra.body.key });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.code, 'unauthorized');
    assert.equal((await server.request('GET', '/v1/jobs', { key: alice.key })).status, 200);
    const unknown = await server.request('DELETE', '/v1/keys/key_nope', { key: server.adminKey });
    assert.equal(unknown.status, 404);
    const noTenant = await server.request('POST', '/v1/tenants/ten_nope/keys', {
      key: server.adminKey,
      body: {},
    });
    assert.equal(noTenant.status, 404);
  });
});
