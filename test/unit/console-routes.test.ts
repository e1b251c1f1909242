// The console's routes on a bare Fastify app: the built app's index.html on each client-side route, its
// assets, the CSP on both, and a clear answer (not a crash) when the console was not built.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Fastify from 'fastify';
import { CONSOLE_CSP, registerConsoleRoutes } from '../../src/api/routes/console.js';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function appOver(build: (dir: string) => void): Promise<ReturnType<typeof Fastify>> {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-console-'));
  dirs.push(dir);
  build(dir);
  const app = Fastify();
  app.get('/v1/jobs', async () => ({ items: [] }));
  await registerConsoleRoutes(app, dir);
  await app.ready();
  return app;
}

describe('console routes', () => {
  it('answers index.html on its routes and its assets, with the CSP', async () => {
    const app = await appOver((dir) => {
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
      mkdirSync(join(dir, 'assets'));
      writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)');
    });
    for (const url of [
      '/',
      '/jobs',
      '/jobs/nightly',
      '/runs',
      '/runs/run_1',
      '/schedules',
      '/schedules/sch_1',
      '/admin',
      '/admin/keys',
    ]) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 200, url);
      assert.match(res.body, /<title>console<\/title>/, url);
      assert.match(String(res.headers['content-type']), /^text\/html/, url);
      assert.equal(res.headers['content-security-policy'], CONSOLE_CSP, url);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', url);
    }
    const asset = await app.inject({ url: '/assets/index-abc.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.body, 'console.log(1)');
    assert.equal(asset.headers['content-security-policy'], CONSOLE_CSP);
    assert.equal(asset.headers['x-content-type-options'], 'nosniff');
    // The API keeps its own routes, and no unknown path becomes the app.
    assert.deepEqual((await app.inject({ url: '/v1/jobs' })).json(), { items: [] });
    assert.equal((await app.inject({ url: '/v1/nope' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/nope' })).statusCode, 404);
    assert.equal((await app.inject({ url: '/assets/missing.js' })).statusCode, 404);
    await app.close();
  });

  it('says how to build the console when it was not built', async () => {
    const app = await appOver(() => {});
    for (const url of ['/', '/jobs']) {
      const res = await app.inject({ url });
      assert.equal(res.statusCode, 503, url);
      assert.match(res.body, /console is not built/, url);
      assert.match(res.body, /npm run build:console/, url);
    }
    assert.equal((await app.inject({ url: '/v1/jobs' })).statusCode, 200);
    await app.close();
  });

  it('keeps the policy strict: same origin only, no inline script, never framed', () => {
    assert.match(CONSOLE_CSP, /default-src 'self'/);
    assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval|\*|https?:/);
  });
});
