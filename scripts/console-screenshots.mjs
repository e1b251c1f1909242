#!/usr/bin/env node
// Takes the screenshots of the web console that the README shows (docs/console/*.png): a real server on a
// fresh data directory, a tenant with a few jobs, runs (one failing, one running) and schedules, and
// Debian's Chromium driven by playwright-core signing in through the form, as a user would.
//
//   npm run build && node scripts/console-screenshots.mjs [--out docs/console]

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ConsoleBrowser, DESKTOP, PHONE, signIn } from '../dist/test/support/console-browser.js';
import { ServerProcess } from '../dist/test/support/server-process.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/console' } } });
const OUT = values.out;

const server = await ServerProcess.start();
const browser = await ConsoleBrowser.launch();
try {
  const acme = await server.createTenant('acme');
  const key = acme.key;
  const report = await server.create(key, '/v1/jobs', {
    name: 'nightly-report',
    command: ['sh', '-c', 'echo "building the report"; sleep 1; echo "42 rows written"'],
  });
  const flaky = await server.create(key, '/v1/jobs', {
    name: 'sync-invoices',
    command: ['sh', '-c', 'echo "connecting to the ledger"; echo "ledger unavailable" >&2; exit 3'],
  });
  const slow = await server.create(key, '/v1/jobs', { name: 'reindex', command: ['sleep', '120'] });
  await server.create(key, `/v1/jobs/${report.id}/schedules`, {
    cron: '0 30 2 * * *',
    timezone: 'Europe/Berlin',
  });
  await server.create(key, `/v1/jobs/${flaky.id}/schedules`, { every: '15m' });
  const runs = [];
  for (let i = 0; i < 6; i++) runs.push(await server.create(key, `/v1/jobs/${report.id}/runs`, {}));
  const failed = await server.create(key, `/v1/jobs/${flaky.id}/runs`, {});
  for (const run of [...runs, failed]) await server.waitForRun(key, run.id);
  await server.create(key, `/v1/jobs/${slow.id}/runs`, {});

  mkdirSync(OUT, { recursive: true });
  const shoot = async (viewport, path, name, signInKey = key) => {
    const page = await browser.newPage(viewport);
    await signIn(page, server.url + '/', signInKey);
    await page.waitForLoadState('networkidle');
    await page.goto(server.url + path);
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(1000); // charts and follow-ups settle
    await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
    await page.close();
    console.log(`${name}.png  ${path}`);
  };
  const schedules = await server.request('GET', '/v1/schedules', { key });
  await shoot(DESKTOP, '/', 'overview');
  await shoot(DESKTOP, '/jobs', 'jobs');
  await shoot(DESKTOP, `/runs/${failed.id}`, 'run');
  await shoot(DESKTOP, '/runs', 'runs');
  await shoot(DESKTOP, `/schedules/${schedules.body.items[0].id}`, 'schedule');
  await shoot(DESKTOP, '/admin', 'admin', server.adminKey);
  await shoot(PHONE, '/', 'overview-phone');
} finally {
  await browser.close();
  await server.stop();
}
