// The console's overview, runs and jobs pages in a real browser (Chromium) against a real server: a job is
// created through the form (a bad value is refused with the API's message, naming its field), run, watched
// live to success, edited and deleted; the runs list filters "Failures only" and pages with Next/Previous;
// the overview's chart is drawn and its text shows the counts GET /v1/stats gives; a long run is cancelled
// and a finished one run again with its args and env; every page fits a phone's width; another tenant sees
// none of it; and the browser reports no error but the failed loads the test provoked.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import {
  CHROMIUM,
  CHROMIUM_AVAILABLE,
  ConsoleBrowser,
  DESKTOP,
  PHONE,
  signIn,
} from '../support/console-browser.js';
import { skipUnless } from '../support/required-services.js';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

const FAILURES = 'failed,timed_out,oom_killed,lost';
const OUTCOMES = ['succeeded', 'failed', 'timed_out', 'oom_killed', 'lost', 'cancelled', 'skipped'];

describe(
  'web console: overview, runs and jobs',
  { skip: skipUnless(CHROMIUM_AVAILABLE, `Chromium at ${CHROMIUM}`) },
  () => {
    let server: ServerProcess;
    let browser: ConsoleBrowser;
    let alice: TestTenant;
    let bob: TestTenant;
    /** Made by the tests, in order, for the later ones. */
    const made = { formJobId: '', formRunId: '', failedRunIds: [] as string[], echoRunId: '' };

    before(async () => {
      server = await ServerProcess.start();
      alice = await server.createTenant('alice');
      bob = await server.createTenant('bob');
      browser = await ConsoleBrowser.launch();
    });
    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    async function signedIn(path: string, key = alice.key, viewport = DESKTOP): Promise<Page> {
      const page = await browser.newPage(viewport);
      await signIn(page, server.url + path, key);
      return page;
    }
    const runIdOf = (page: Page): string =>
      decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    const api = (path: string, key = alice.key) => server.request('GET', path, { key });

    it('creates a job through the form, refusing a bad value with the API’s message, and runs it live', async () => {
      const page = await signedIn('/jobs');
      await page.getByRole('link', { name: 'New job' }).click();
      await page.getByLabel('Name', { exact: true }).fill('form-job');
      await page.getByLabel('A host command').check();
      await page.getByLabel('Command (one argument per line)').fill('sh\n-c');
      await page
        .getByLabel('Arguments (one per line)')
        .fill('echo "first $WHO"; sleep 3; echo "second $WHO"');
      await page.getByLabel('Environment (NAME=value, one per line)').fill('WHO=form');
      const memory = page.getByLabel('Memory limit (MB)');
      await memory.fill('1');
      await page.getByRole('button', { name: 'Create job' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      const refused = await server.request('POST', '/v1/jobs', {
        key: alice.key,
        body: { name: 'form-job', command: ['true'], resources: { memoryMb: 1 } },
      });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.field, 'resources.memoryMb');
      assert.equal(await alert.textContent(), refused.body.detail);
      assert.equal(await memory.getAttribute('aria-invalid'), 'true');
      assert.equal((await api('/v1/jobs')).body.items.length, 0, 'nothing was created');

      await memory.fill('64');
      await page.getByLabel('Timeout (seconds)').fill('30');
      await page.getByRole('button', { name: 'Create job' }).click();
      const row = page.getByRole('row', { name: /form-job/ });
      await row.waitFor();
      const job = (await api('/v1/jobs/form-job')).body;
      assert.deepEqual(
        [job.command, job.args, job.env, job.resources.memoryMb, job.timeoutSeconds],
        [['sh', '-c'], ['echo "first $WHO"; sleep 3; echo "second $WHO"'], { WHO: 'form' }, 64, 30],
      );
      made.formJobId = job.id;

      await row.getByRole('button', { name: 'Run now' }).click();
      await page.waitForURL(/\/runs\/run_/);
      // The first line shows while the run still runs: the log is followed, not read at the end.
      await page.getByLabel('Log').filter({ hasText: 'first form' }).waitFor({ timeout: 20_000 });
      assert.doesNotMatch((await page.getByLabel('Log').textContent()) ?? '', /second form/);
      await page.getByTestId('run-status').filter({ hasText: 'running' }).waitFor({ timeout: 2500 });
      await page.getByTestId('run-status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
      await page.getByLabel('Log').filter({ hasText: 'second form' }).waitFor();
      made.formRunId = runIdOf(page);
      const run = (await api(`/v1/runs/${made.formRunId}`)).body;
      assert.equal(await page.getByTestId('run-exit-code').textContent(), String(run.exitCode));
      // The whole timeline is shown, one row per event.
      const timeline = page.getByRole('table', { name: 'Timeline' }).locator('tbody tr');
      assert.equal(await timeline.count(), run.timeline.length);
      assert.ok(run.timeline.length >= 3);
      await page.close();
    });

    it('edits a job and deletes another after a confirm step', async () => {
      await server.create(alice.key, '/v1/jobs', { name: 'doomed', command: ['true'] });
      const page = await signedIn('/jobs');
      await page.getByRole('link', { name: 'Edit form-job' }).click();
      const timeout = page.getByLabel('Timeout (seconds)');
      await timeout.waitFor();
      assert.equal(await timeout.inputValue(), '30');
      await timeout.fill('120');
      await page.getByRole('button', { name: 'Save job' }).click();
      await page.getByRole('row', { name: /doomed/ }).waitFor();
      assert.equal((await api('/v1/jobs/form-job')).body.timeoutSeconds, 120);

      await page.getByRole('button', { name: 'Delete doomed' }).click();
      // Nothing is deleted before the confirm.
      assert.equal((await api('/v1/jobs/doomed')).status, 200);
      await page
        .getByRole('group', { name: 'Delete doomed?' })
        .getByRole('button', { name: 'Yes, delete' })
        .click();
      await page.getByRole('row', { name: /doomed/ }).waitFor({ state: 'detached' });
      assert.equal((await api('/v1/jobs/doomed')).status, 404);
      await page.getByRole('row', { name: /form-job/ }).waitFor();
      await page.close();
    });

    it('filters the runs list to failures only and pages through them', async () => {
      const failing = await server.create(alice.key, '/v1/jobs', {
        name: 'failing',
        command: ['sh', '-c', 'exit 3'],
      });
      for (let i = 0; i < 3; i++) {
        const run = await server.create(alice.key, `/v1/jobs/${failing.id}/runs`);
        assert.equal((await server.waitForRun(alice.key, run.id)).status, 'failed');
        made.failedRunIds.unshift(run.id); // newest first, as listed
      }
      const expected = (await api(`/v1/runs?status=${FAILURES}&limit=100`)).body.items.map((r: any) => r.id);
      assert.deepEqual(expected, made.failedRunIds);

      const page = await signedIn('/runs?limit=2');
      const rows = page.getByRole('table', { name: 'Runs' }).locator('tbody tr');
      const shown = async (): Promise<string[]> =>
        Promise.all((await rows.all()).map(async (row) => (await row.getAttribute('data-run-id')) ?? ''));
      /** Waits until the table shows exactly `ids`, in order (each page loads after its click). */
      const showsRuns = async (ids: string[]): Promise<void> => {
        const deadline = Date.now() + 10_000;
        while (JSON.stringify(await shown()) !== JSON.stringify(ids)) {
          if (Date.now() > deadline) assert.deepEqual(await shown(), ids);
          await page.waitForTimeout(50);
        }
      };
      await rows.first().waitFor();
      assert.ok((await rows.count()) === 2, 'the page size comes from the URL');
      await page.getByLabel('Failures only').check();
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForURL(/failures=1/);
      await showsRuns(made.failedRunIds.slice(0, 2));
      assert.deepEqual(await page.getByRole('table', { name: 'Runs' }).locator('.status').allTextContents(), [
        'failed',
        'failed',
      ]);
      const previous = page.getByRole('button', { name: 'Previous page' });
      const next = page.getByRole('button', { name: 'Next page' });
      assert.equal(await previous.isDisabled(), true);
      await next.click();
      await page.waitForURL(/cursor=/);
      await showsRuns(made.failedRunIds.slice(2));
      assert.equal(await next.isDisabled(), true);
      // The URL reproduces the view.
      const pageTwo = page.url();
      await previous.click();
      await showsRuns(made.failedRunIds.slice(0, 2));
      assert.doesNotMatch(page.url(), /cursor=/);
      await page.goto(pageTwo);
      await showsRuns(made.failedRunIds.slice(2));

      // A time range: the failures created before the newest one.
      const newest = (await api(`/v1/runs/${made.failedRunIds[0]}`)).body;
      await page.goto(`${server.url}/runs?failures=1&to=${encodeURIComponent(newest.createdAt)}`);
      await showsRuns(made.failedRunIds.slice(1));
      await page.close();
    });

    it('draws the overview’s charts with the counts GET /v1/stats gives', async () => {
      const page = await signedIn('/');
      for (const [window, button] of [
        ['24h', 'Last day'],
        ['1h', 'Last hour'],
      ] as const) {
        await page.getByRole('button', { name: button }).click();
        await page.locator('[data-testid="outcome-chart"] canvas').waitFor();
        const stats = (await api(`/v1/stats?window=${window}`)).body;
        const totals = Object.fromEntries(
          OUTCOMES.map((o) => [o, stats.series.reduce((sum: number, b: any) => sum + b.counts[o], 0)]),
        );
        assert.ok(totals.succeeded >= 1 && totals.failed === 3, JSON.stringify(totals));
        const label = (await page.getByRole('img').first().getAttribute('aria-label')) ?? '';
        for (const outcome of OUTCOMES) {
          const cell = page.getByTestId('outcome-totals').locator(`td[data-outcome="${outcome}"]`);
          assert.equal(await cell.textContent(), String(totals[outcome]), `${window} ${outcome}`);
          assert.match(label, new RegExp(`\\b${totals[outcome]} ${outcome}\\b`));
        }
        // The canvas is drawn on (uPlot draws on the next frame): some pixel is not blank.
        await page.waitForFunction(
          `[...document.querySelectorAll('[data-testid="outcome-chart"] canvas')].some((c) =>
             c.width > 0 && c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some((v) => v !== 0))`,
          undefined,
          { timeout: 5000 },
        );
        const lagRows = page.getByTestId('lag-histogram').locator('tbody tr td:first-of-type');
        const lagCounts = (await lagRows.allTextContents()).map(Number);
        assert.deepEqual(lagCounts, stats.lag.counts);
        assert.equal(await page.getByTestId('running-now').textContent(), String(stats.runningNow));
        const failureLinks = page.getByRole('table', { name: 'Recent failures' }).getByRole('link');
        assert.deepEqual(
          await failureLinks.allTextContents(),
          stats.recentFailures.map((r: any) => r.id),
        );
      }
      // The page reads the stats again by itself (every 10 s): a run that ends now shows without a reload.
      const succeeded = page.getByTestId('outcome-totals').locator('td[data-outcome="succeeded"]');
      const before = Number(await succeeded.textContent());
      const run = await server.create(alice.key, `/v1/jobs/${made.formJobId}/runs`);
      await server.waitForRun(alice.key, run.id);
      await succeeded.filter({ hasText: new RegExp(`^${before + 1}$`) }).waitFor({ timeout: 15_000 });
      await page.close();
    });

    it('cancels a long run and runs a finished one again with its args and env', async () => {
      const sleeper = await server.create(alice.key, '/v1/jobs', {
        name: 'sleeper',
        command: ['sleep', '60'],
      });
      const long = await server.create(alice.key, `/v1/jobs/${sleeper.id}/runs`);
      const page = await signedIn(`/runs/${long.id}`);
      await page.getByTestId('run-status').filter({ hasText: 'running' }).waitFor({ timeout: 20_000 });
      assert.equal(await page.getByRole('button', { name: 'Re-run' }).count(), 0);
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await page.getByTestId('run-status').filter({ hasText: 'cancelled' }).waitFor({ timeout: 20_000 });
      assert.equal(await page.getByRole('button', { name: 'Cancel run' }).count(), 0);
      assert.equal((await api(`/v1/runs/${long.id}`)).body.status, 'cancelled');

      const echoer = await server.create(alice.key, '/v1/jobs', {
        name: 'echoer',
        command: ['sh', '-c'],
        args: ['true'],
      });
      const original = await server.create(alice.key, `/v1/jobs/${echoer.id}/runs`, {
        args: ['echo "hello $GREETING"'],
        env: { GREETING: 'bonjour' },
      });
      await server.waitForRun(alice.key, original.id);
      await page.goto(`${server.url}/runs/${original.id}`);
      await page.getByRole('button', { name: 'Re-run' }).click();
      await page.waitForURL(
        (url) => url.pathname.startsWith('/runs/run_') && !url.pathname.endsWith(original.id),
      );
      await page.getByTestId('run-status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 20_000 });
      await page.getByLabel('Log').filter({ hasText: 'hello bonjour' }).waitFor();
      const again = (await api(`/v1/runs/${runIdOf(page)}`)).body;
      assert.deepEqual([again.jobId, again.args, again.env], [echoer.id, original.args, original.env]);
      made.echoRunId = again.id;
      await page.close();
    });

    it('fits every page in a phone’s width and on a desktop', async () => {
      const paths = [
        '/',
        '/jobs',
        '/jobs/new',
        `/jobs/${made.formJobId}/edit`,
        '/runs',
        `/runs/${made.formRunId}`,
      ];
      for (const viewport of [PHONE, DESKTOP]) {
        const page = await signedIn('/', alice.key, viewport);
        for (const path of paths) {
          await page.goto(server.url + path);
          await page.getByRole('heading', { level: 1 }).waitFor();
          // Let the page's data arrive and lay out (tables, the chart) before measuring.
          await page.waitForFunction('!document.body.textContent.includes("Loading…")');
          await page.waitForTimeout(200);
          const [scrollWidth, innerWidth] = await page.evaluate<[number, number]>(
            '[document.scrollingElement.scrollWidth, window.innerWidth]',
          );
          assert.ok(
            scrollWidth <= innerWidth,
            `${path} at ${viewport.width}px: ${scrollWidth} > ${innerWidth}`,
          );
        }
        await page.close();
      }
    });

    it('shows another tenant none of these runs or jobs', async () => {
      for (const path of [`/v1/jobs/${made.formJobId}`, `/v1/runs/${made.formRunId}`]) {
        assert.equal((await api(path, bob.key)).status, 404, path);
      }
      assert.equal((await api(`/v1/runs?jobId=${made.formJobId}`, bob.key)).status, 404);
      const page = await signedIn('/runs?failures=1', bob.key);
      await page.getByText('No runs match.').waitFor();
      await page.goto(server.url + '/');
      await page.getByTestId('outcome-totals').waitFor();
      assert.deepEqual(
        await page.getByTestId('outcome-totals').locator('td').allTextContents(),
        OUTCOMES.map(() => '0'),
      );
      assert.equal(await page.getByRole('table', { name: 'Recent failures' }).count(), 0);
      await page.goto(`${server.url}/runs/${made.echoRunId}`);
      await page.getByRole('alert').waitFor();
      assert.match((await page.getByRole('alert').textContent()) ?? '', /not found|no run/i);
      await page.close();
    });

    it('ran without a browser error but the refusals it asked for', () => {
      // The 400 of the bad memory value, and the 404s of the other tenant's run, are logged as failed loads.
      browser.assertNoUnexpectedErrors(/status of 40[04]/);
    });
  },
);
