import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideAfterAttempt, isTerminal } from '../../src/core/run-state.js';

describe('decideAfterAttempt', () => {
  const policy = { maxAttempts: 3, backoffSeconds: 10 };

  it('retries retryable outcomes while attempts remain, doubling the backoff', () => {
    assert.deepEqual(decideAfterAttempt(policy, 1, 'failed', 1000), { retry: true, retryAtMs: 11_000 });
    assert.deepEqual(decideAfterAttempt(policy, 2, 'timed_out', 1000), { retry: true, retryAtMs: 21_000 });
    assert.deepEqual(decideAfterAttempt(policy, 2, 'lost', 0), { retry: true, retryAtMs: 20_000 });
    assert.deepEqual(decideAfterAttempt(policy, 1, 'oom_killed', 0), { retry: true, retryAtMs: 10_000 });
  });

  it('stops at maxAttempts, and never retries a success or a cancel', () => {
    assert.deepEqual(decideAfterAttempt(policy, 3, 'failed', 0), { retry: false });
    assert.deepEqual(decideAfterAttempt(policy, 1, 'succeeded', 0), { retry: false });
    assert.deepEqual(decideAfterAttempt(policy, 1, 'cancelled', 0), { retry: false });
    assert.deepEqual(decideAfterAttempt({ maxAttempts: 1, backoffSeconds: 10 }, 1, 'failed', 0), {
      retry: false,
    });
  });

  it('caps the backoff at one hour', () => {
    const long = { maxAttempts: 20, backoffSeconds: 3600 };
    assert.deepEqual(decideAfterAttempt(long, 5, 'failed', 0), { retry: true, retryAtMs: 3_600_000 });
  });

  it('knows which statuses are terminal', () => {
    assert.equal(isTerminal('queued'), false);
    assert.equal(isTerminal('running'), false);
    for (const s of ['succeeded', 'failed', 'timed_out', 'oom_killed', 'cancelled', 'lost'] as const) {
      assert.equal(isTerminal(s), true);
    }
  });
});
