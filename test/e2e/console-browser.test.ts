// The web console in a real browser (Debian's Chromium driven by playwright-core) against a real server: a
// wrong key is refused with the API's message, a tenant signs in, sees its job, runs it and watches it
// succeed with its log; another tenant sees none of it; sign-out and a revoked key return to the sign-in form.
// The key is kept in sessionStorage only. Every console response carries the CSP, and the app runs under it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_AVAILABLE, ConsoleBrowser } from '../support/console-browser.js';
import { skipUnless } from '../support/required-services.js';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

const LOG_LINE = 'hello from the console';

describe('web console', { skip: skipUnless(CHROMIUM_AVAILABLE, `Chromium at ${CHROMIUM}`) }, () => {
  let server: ServerProcess;
  let browser: ConsoleBrowser;
  let alice: TestTenant;
  let bob: TestTenant;

  before(async () => {
    server = await ServerProcess.start();
    alice = await server.createTenant('alice');
    bob = await server.createTenant('bob');
    await server.create(alice.key, '/v1/jobs', { name: 'greet', command: ['echo', LOG_LINE] });
    browser = await ConsoleBrowser.launch();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const newPage = (): Promise<Page> => browser.newPage();

  async function signIn(page: Page, key: string): Promise<void> {
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('sends a strict Content-Security-Policy with the console', async () => {
    for (const path of ['/', '/jobs', '/runs/run_x']) {
      const res = await server.request('GET', path);
      assert.equal(res.status, 200, path);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /script-src 'self'(;|$)/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/, path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.doesNotMatch(res.text, /<script(?![^>]*\ssrc=)[^>]*>/, 'no inline script');
    }
    const unknown = await server.request('GET', '/v1/no-such-route', { key: alice.key });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.code, 'not_found');
  });

  it('refuses a wrong key with the API’s message', async () => {
    const refused = await server.request('GET', '/v1/jobs', { key: 'hg_not_a_real_key' });
    assert.equal(refused.status, 401);
    const page = await newPage();
    await page.goto(server.url + '/');
    await signIn(page, 'hg_not_a_real_key');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(await alert.textContent(), refused.body.detail);
    assert.equal(await page.evaluate<number>('sessionStorage.length'), 0);
    await page.close();
  });

  it('runs a job from the console and shows it succeed with its log; another tenant sees none of it', async () => {
    const page = await newPage();
    await page.goto(server.url + '/jobs');
    await signIn(page, alice.key);
    const row = page.getByRole('row', { name: /greet/ });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', new RegExp(`echo ${LOG_LINE}`));
    // The key is in this tab's sessionStorage, and nowhere a cookie or localStorage would keep it.
    assert.equal(await page.evaluate<number>('localStorage.length'), 0);
    assert.deepEqual(await page.context().cookies(), []);
    assert.equal(await page.evaluate<string>('Object.values(sessionStorage).join()'), alice.key);

    await row.getByRole('button', { name: 'Run now' }).click();
    await page.waitForURL(/\/runs\/[^/]+$/);
    await page.getByTestId('run-status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
    await page.getByLabel('Log').filter({ hasText: LOG_LINE }).waitFor();
    const runId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    const run = await server.request('GET', `/v1/runs/${runId}`, { key: alice.key });
    assert.equal(run.body.status, 'succeeded');

    // Back on the jobs page, the job's last run is the one just made.
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByRole('row', { name: /greet/ }).getByText('succeeded').waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal(await page.evaluate<number>('sessionStorage.length'), 0);

    await signIn(page, bob.key);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByText('No jobs yet.').waitFor();
    assert.equal(await page.getByText('greet').count(), 0);
    await page.goto(`${server.url}/runs/${runId}`);
    await page.getByRole('alert').waitFor();
    assert.match((await page.getByRole('alert').textContent()) ?? '', /not found|no run/i);
    assert.equal(await page.getByText(LOG_LINE).count(), 0);
    await page.close();
  });

  it('returns to sign-in with a message when the key is revoked', async () => {
    const carol = await server.createTenant('carol');
    const page = await newPage();
    await page.goto(server.url + '/jobs');
    await signIn(page, carol.key);
    await page.getByText('No jobs yet.').waitFor();
    const revoked = await server.request('DELETE', `/v1/keys/${carol.keyId}`, { key: server.adminKey });
    assert.equal(revoked.status, 204, revoked.text);
    await page.reload();
    await page.getByLabel('API key').waitFor();
    await page.getByText(/Your session has ended/).waitFor();
    assert.equal(await page.evaluate<number>('sessionStorage.length'), 0);
    await page.close();
  });

  it('ran without a browser error (a CSP violation would be one)', () => {
    // The 401 and 404 answers the tests asked for are logged by the browser as failed loads; nothing else is.
    browser.assertNoUnexpectedErrors();
  });
});
