// The create-time check of webhook URLs (core/webhook.ts, core/ip-address.ts): shape, credentials, length,
// and every literal address that is not public unicast, however the URL spells it; the operator's allow-list
// lets an exact host:port through. (The connect-time guard is tested in test/security/webhook-ssrf.test.ts.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import { hostRefusal } from '../../src/core/ip-address.js';
import { checkWebhookEvents, checkWebhookUrl } from '../../src/core/webhook.js';

const NONE = new Set<string>();
const refusedAt = (field: string) => (error: unknown) =>
  error instanceof HourglassError && error.code === 'validation_failed' && error.context.field === field;

describe('webhook URLs', () => {
  it('accepts public http(s) URLs, normalised', () => {
    assert.equal(checkWebhookUrl('https://Hooks.Example.com/a?b=1', NONE), 'https://hooks.example.com/a?b=1');
    assert.equal(checkWebhookUrl('http://93.184.216.34:8080/x', NONE), 'http://93.184.216.34:8080/x');
    assert.equal(checkWebhookUrl('https://[2606:4700::1111]/', NONE), 'https://[2606:4700::1111]/');
  });

  it('refuses other schemes, relative URLs, credentials and long URLs', () => {
    for (const url of [
      'ftp://example.com/',
      'file:///etc/passwd',
      '/relative',
      'example.com',
      'https://u:p@example.com/',
      'https://u@example.com/',
      `https://example.com/${'a'.repeat(2000)}`,
    ]) {
      assert.throws(() => checkWebhookUrl(url, NONE), refusedAt('url'), url);
    }
  });

  it('refuses loopback, private, link-local, mapped and other non-unicast literals, however spelled', () => {
    const refused = [
      'http://127.0.0.1/',
      'http://127.1/',
      'http://2130706433/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://10.0.0.1/',
      'http://172.16.5.4/',
      'http://192.168.1.1/',
      'http://169.254.169.254/latest/meta-data',
      'http://100.64.0.1/',
      'http://0.0.0.0/',
      'http://224.0.0.1/',
      'http://255.255.255.255/',
      'http://[::1]/',
      'http://[::]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:10.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://[fe80::1]/',
      'http://[fc00::1]/',
      'http://[fd12:3456::1]/',
      'http://[ff02::1]/',
      'http://[64:ff9b::a00:1]/',
      'http://localhost:8080/',
      'http://LOCALHOST./',
      'http://api.localhost/',
    ];
    for (const url of refused) assert.throws(() => checkWebhookUrl(url, NONE), refusedAt('url'), url);
  });

  it('lets the operator’s exact host:port through, and only it', () => {
    const allowed = new Set(['127.0.0.1:9999']);
    assert.equal(checkWebhookUrl('http://127.0.0.1:9999/hook', allowed), 'http://127.0.0.1:9999/hook');
    assert.throws(() => checkWebhookUrl('http://127.0.0.1:9998/hook', allowed), refusedAt('url'));
    assert.throws(() => checkWebhookUrl('http://127.0.0.1/hook', allowed), refusedAt('url'));
  });

  it('names public names and addresses acceptable', () => {
    for (const host of ['example.com', '8.8.8.8', '[2001:4860:4860::8888]'])
      assert.equal(hostRefusal(host), null, host);
  });

  it('checks events: non-empty, unique, run outcomes', () => {
    assert.deepEqual(checkWebhookEvents(['failed', 'timed_out']), ['failed', 'timed_out']);
    for (const events of [[], ['queued'], ['running'], ['failed', 'failed'], ['run.failed']]) {
      assert.throws(() => checkWebhookEvents(events), refusedAt('events'), JSON.stringify(events));
    }
  });
});
