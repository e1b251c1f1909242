// Debian's Chromium driven by playwright-core, for the console's browser tests: one browser per suite, pages
// that record every browser error (a CSP violation is one), and signing in as a user would.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_AVAILABLE = existsSync(CHROMIUM);
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
];

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

export class ConsoleBrowser {
  /** What the browser reported as errors, across all pages of the suite. */
  readonly errors: string[] = [];

  private constructor(private readonly browser: Browser) {}

  static async launch(): Promise<ConsoleBrowser> {
    return new ConsoleBrowser(await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }));
  }

  async newPage(viewport: { width: number; height: number } = DESKTOP): Promise<Page> {
    const page = await this.browser.newPage({ viewport });
    page.on('console', (message) => {
      if (message.type() === 'error') this.errors.push(message.text());
    });
    page.on('pageerror', (error) => this.errors.push(error.message));
    return page;
  }

  /**
   * Fails on any browser error but the failed loads the test asked for: by default the 401 and 404 answers
   * a test provoked, which the browser logs as "the server responded with a status of 40x".
   */
  assertNoUnexpectedErrors(expected: RegExp = /status of 40[14]/): void {
    assert.deepEqual(
      this.errors.filter((text) => !expected.test(text)),
      [],
    );
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Opens the console at `url` and signs in with `key` through the sign-in form. */
export async function signIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
