// What follows a delivery attempt (core/webhook-retry.ts): success, 410 disabling, backoff with full jitter
// within the schedule's bounds, Retry-After honoured (seconds, HTTP date, capped) for 429 and 5xx only, and
// failure after the last attempt.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideAfterDeliveryAttempt,
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  WEBHOOK_RETRY_BOUNDS_MS,
  type AttemptAnswer,
} from '../../src/core/webhook-retry.js';

const NOW = Date.UTC(2026, 0, 1);
const status = (statusCode: number, retryAfter: string | null = null): AttemptAnswer => ({
  kind: 'response',
  statusCode,
  retryAfter,
});
const decide = (answer: AttemptAnswer, attempt = 1, random = () => 0.5) =>
  decideAfterDeliveryAttempt(answer, attempt, NOW, random);

describe('webhook retries', () => {
  it('2xx succeeds; 410 disables; other answers retry', () => {
    for (const code of [200, 201, 204, 299]) assert.equal(decide(status(code)).kind, 'succeeded');
    assert.deepEqual(decide(status(410)), { kind: 'disable', reason: 'the endpoint answered 410 Gone' });
    for (const code of [301, 302, 400, 404, 429, 500, 503]) assert.equal(decide(status(code)).kind, 'retry');
    assert.equal(decide({ kind: 'error', message: 'ECONNREFUSED' }).kind, 'retry');
  });

  it('waits a full-jitter draw of each bound, spanning about a day, then fails', () => {
    const total = WEBHOOK_RETRY_BOUNDS_MS.reduce((a, b) => a + b, 0);
    assert.ok(total > 20 * 3_600_000 && total < 36 * 3_600_000, `${total} ms`);
    assert.ok(WEBHOOK_RETRY_BOUNDS_MS.length >= 8 && WEBHOOK_RETRY_BOUNDS_MS.length <= 10);
    WEBHOOK_RETRY_BOUNDS_MS.forEach((bound, i) => {
      assert.deepEqual(
        decide(status(500), i + 1, () => 0.999999),
        {
          kind: 'retry',
          atMs: NOW + Math.floor(0.999999 * bound),
          error: 'the endpoint answered 500',
        },
      );
      assert.equal((decide(status(500), i + 1, () => 0) as { atMs: number }).atMs, NOW);
    });
    const last = WEBHOOK_RETRY_BOUNDS_MS.length + 1;
    assert.deepEqual(decide(status(500), last), { kind: 'failed', error: 'the endpoint answered 500' });
  });

  it('honours Retry-After on 429 and 5xx, not on other answers', () => {
    assert.deepEqual(decide(status(429, '120')), {
      kind: 'retry',
      atMs: NOW + 120_000,
      error: 'the endpoint answered 429',
    });
    const date = new Date(NOW + 90_000).toUTCString();
    assert.equal((decide(status(503, date)) as { atMs: number }).atMs, NOW + 90_000);
    assert.equal((decide(status(400, '120')) as { atMs: number }).atMs, NOW + Math.floor(0.5 * 5000));
  });

  it('reads Retry-After as seconds or an HTTP date, capped at a day', () => {
    assert.equal(parseRetryAfter('0', NOW), 0);
    assert.equal(parseRetryAfter(' 30 ', NOW), 30_000);
    assert.equal(parseRetryAfter('999999999', NOW), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter(new Date(NOW - 5000).toUTCString(), NOW), 0);
    assert.equal(parseRetryAfter(new Date(NOW + 10 * 86_400_000).toUTCString(), NOW), MAX_RETRY_AFTER_MS);
    for (const bad of [null, '', 'soon', '-5', '1.5'])
      assert.equal(parseRetryAfter(bad, NOW), null, String(bad));
  });
});
