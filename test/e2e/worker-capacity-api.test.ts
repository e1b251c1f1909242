// A job's memory request through the real HTTP server: its default (a quarter of the limit, following the
// limit), setting it, putting it back to the default, and the refusals (above the limit, below the minimum)
// that name the field and change nothing. Also the CLI flag and the server's overcommit setting.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildJobFields } from '../../src/cli/job-spec.js';
import { ConfigError, resolveConfig } from '../../src/server/config.js';
import { ServerProcess } from '../support/server-process.js';

describe('Job memory requests', () => {
  let server: ServerProcess;
  let key: string;

  before(async () => {
    server = await ServerProcess.start({ args: ['--roles', 'api'] });
    ({ key } = await server.createTenant('requests'));
  });
  after(() => server.stop());

  const createJob = (name: string, resources?: object) =>
    server.request('POST', '/v1/jobs', { key, body: { name, command: ['true'], resources } });
  const patchJob = (name: string, resources: object) =>
    server.request('PATCH', `/v1/jobs/${name}`, { key, body: { resources } });
  const getJob = async (name: string) => (await server.request('GET', `/v1/jobs/${name}`, { key })).body;

  it('defaults the request to a quarter of the limit, and follows the limit while unset', async () => {
    const created = await createJob('plain');
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.resources, { memoryMb: 1024, memoryRequestMb: 256 });
    const grown = await patchJob('plain', { memoryMb: 2048 });
    assert.deepEqual(grown.body.resources, { memoryMb: 2048, memoryRequestMb: 512 });
    const small = await createJob('small', { memoryMb: 32 });
    assert.deepEqual(small.body.resources, { memoryMb: 32, memoryRequestMb: 16 }, 'never below 16 MB');
  });

  it('keeps a request once set, until null puts it back to the default', async () => {
    const created = await createJob('pinned', { memoryMb: 1024, memoryRequestMb: 64 });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.resources, { memoryMb: 1024, memoryRequestMb: 64 });
    const grown = await patchJob('pinned', { memoryMb: 4096 });
    assert.deepEqual(grown.body.resources, { memoryMb: 4096, memoryRequestMb: 64 });
    const reset = await patchJob('pinned', { memoryRequestMb: null });
    assert.deepEqual(reset.body.resources, { memoryMb: 4096, memoryRequestMb: 1024 });
    assert.deepEqual((await getJob('pinned')).resources, { memoryMb: 4096, memoryRequestMb: 1024 });
  });

  it('refuses a request above the limit or below 16 MB, naming the field and changing nothing', async () => {
    await createJob('strict', { memoryMb: 512, memoryRequestMb: 128 });
    const before = await getJob('strict');
    const cases: [string, () => ReturnType<typeof patchJob>][] = [
      ['create above the limit', () => createJob('too-big', { memoryMb: 512, memoryRequestMb: 1024 })],
      ['update above the limit', () => patchJob('strict', { memoryRequestMb: 513 })],
      ['a limit lowered under the request', () => patchJob('strict', { memoryMb: 64 })],
      ['below the minimum', () => patchJob('strict', { memoryRequestMb: 8 })],
    ];
    for (const [what, send] of cases) {
      const res = await send();
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.equal(res.body.code, 'validation_failed', what);
      assert.equal(res.body.field, 'resources.memoryRequestMb', what);
      assert.ok(String(res.body.detail).includes('resources.memoryRequestMb'), `${what}: ${res.body.detail}`);
    }
    assert.deepEqual(await getJob('strict'), before);
    assert.equal((await server.request('GET', '/v1/jobs/too-big', { key })).status, 404);
  });

  it('takes the request from the CLI flag --memory-request-mb', () => {
    assert.deepEqual(buildJobFields({ 'memory-request-mb': '64' }, null), {
      resources: { memoryRequestMb: 64 },
    });
    assert.deepEqual(buildJobFields({ 'memory-mb': '512', 'memory-request-mb': '128' }, null), {
      resources: { memoryMb: 512, memoryRequestMb: 128 },
    });
    assert.throws(() => buildJobFields({ 'memory-request-mb': '8' }, null), /--memory-request-mb/);
  });

  it('reads the worker overcommit bound from --worker-memory-overcommit (default 4, at least 1)', () => {
    assert.equal(resolveConfig({ flags: {}, env: {} }).worker.memoryOvercommit, 4);
    const one = resolveConfig({ flags: { 'worker-memory-overcommit': '1' }, env: {} });
    assert.equal(one.worker.memoryOvercommit, 1);
    assert.throws(
      () => resolveConfig({ flags: { 'worker-memory-overcommit': '0' }, env: {} }),
      (error: unknown) => error instanceof ConfigError && /--worker-memory-overcommit/.test(error.message),
    );
  });
});
