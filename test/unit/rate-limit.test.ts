import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { takeToken, type RateState } from '../../src/core/rate-limit.js';
import { seededRandom } from '../support/seeded-random.js';

const T0 = Date.UTC(2026, 5, 1, 12);

/** Takes at each instant in turn from a fresh bucket; the answers, and the state after the last. */
function takeAt(instants: number[], perSecond: number, burst: number) {
  let state: RateState | null = null;
  const answers: { allowed: boolean; retryAfterMs: number }[] = [];
  for (const now of instants) {
    const take = takeToken(state, now, perSecond, burst);
    answers.push({ allowed: take.allowed, retryAfterMs: take.retryAfterMs });
    state = take.nextState;
  }
  return { answers, state };
}

describe('takeToken', () => {
  it('allows a full burst at once from a bucket never taken, then refuses', () => {
    const { answers } = takeAt([T0, T0, T0, T0], 0.001, 3);
    assert.deepEqual(
      answers.map((a) => a.allowed),
      [true, true, true, false],
    );
    // One token's worth of time at 0.001/s: 1000 s.
    assert.equal(answers[3]?.retryAfterMs, 1_000_000);
  });

  it('a clock stepped back an hour costs at most a minute and one token, not an hour of refusals', () => {
    // 2/s (a token every 500 ms), burst 4, emptied at T0; then the clock reads an hour earlier.
    let state: RateState | null = null;
    for (let i = 0; i < 4; i++) state = takeToken(state, T0, 2, 4).nextState;
    const stepped = T0 - 3_600_000;
    const first = takeToken(state, stepped, 2, 4);
    assert.equal(first.allowed, true, 'one token at once');
    // From there, an empty bucket at the new clock: the next token in one interval.
    const refused = takeToken(first.nextState, stepped, 2, 4);
    assert.deepEqual([refused.allowed, refused.retryAfterMs], [false, 500]);
    assert.equal(takeToken(first.nextState, stepped + 500, 2, 4).allowed, true);
    // A state within the bucket is left alone: no token is given for being merely empty, nor to a take whose
    // `now` is a little stale (read before it waited for the store).
    assert.equal(takeToken(state, T0, 2, 4).allowed, false);
    assert.equal(takeToken(state, T0 - 30_000, 2, 4).allowed, false);
  });

  it('says how long until the next token, counting what has refilled since', () => {
    // 4/s: a token every 250 ms. Burst 1 taken at T0; at T0 + 100 the next is 150 ms away.
    const first = takeToken(null, T0, 4, 1);
    const refused = takeToken(first.nextState, T0 + 100, 4, 1);
    assert.deepEqual([refused.allowed, refused.retryAfterMs], [false, 150]);
    assert.equal(takeToken(first.nextState, T0 + 249, 4, 1).allowed, false);
    assert.equal(takeToken(first.nextState, T0 + 250, 4, 1).allowed, true);
  });

  it('rounds the wait up, and never answers a refusal with 0 ms', () => {
    const first = takeToken(null, T0, 3, 1);
    // 333.33… ms to wait: 334.
    assert.equal(takeToken(first.nextState, T0, 3, 1).retryAfterMs, 334);
    // 0.33… ms to wait: 1, not 0.
    assert.equal(takeToken(first.nextState, T0 + 333, 3, 1).retryAfterMs, 1);
  });

  it('refills at the rate, up to the burst and no further', () => {
    const first = takeAt([T0, T0], 10, 2);
    assert.deepEqual(
      first.answers.map((a) => a.allowed),
      [true, true],
    );
    // An hour idle refills 2 tokens, not 36,000.
    let state = first.state;
    const later = T0 + 3_600_000;
    const allowed: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const take = takeToken(state, later, 10, 2);
      allowed.push(take.allowed);
      state = take.nextState;
    }
    assert.deepEqual(allowed, [true, true, false]);
  });

  it('leaves the state as it was when it refuses', () => {
    const first = takeToken(null, T0, 1, 1);
    const refused = takeToken(first.nextState, T0 + 10, 1, 1);
    assert.equal(refused.allowed, false);
    assert.deepEqual(refused.nextState, first.nextState);
  });

  it('moves the state strictly later on every allowed take (a sound compare-and-set)', () => {
    let state: RateState | null = null;
    // A clock stepped back far enough is the one exception (its own test above).
    for (const now of [T0, T0, T0 - 3, T0 + 10_000, T0 + 10_000]) {
      const take = takeToken(state, now, 1000, 5);
      if (take.allowed) assert.ok(state === null || take.nextState.tat > state.tat);
      state = take.nextState;
    }
  });

  it('lands on the edge exactly at rates whose interval is not a whole number of ms', () => {
    // 3/s with a burst of 3: all three at once, though 3 × 333.33… may not sum to exactly 1000.
    for (const perSecond of [3, 7, 0.3, 1 / 7]) {
      for (const burst of [3, 7, 10]) {
        const at = T0 + 0.123;
        const { answers } = takeAt(Array<number>(burst + 1).fill(at), perSecond, burst);
        assert.deepEqual(
          answers.map((a) => a.allowed),
          [...Array<boolean>(burst).fill(true), false],
          `${perSecond}/s, burst ${burst}`,
        );
      }
    }
  });

  it('never allows more than burst + rate × elapsed in any window, and allows that much when asked', () => {
    const random = seededRandom(42);
    for (const [perSecond, burst] of [
      [5, 1],
      [50, 10],
      [0.5, 3],
      [1000, 100],
    ] as const) {
      let state: RateState | null = null;
      let now = T0;
      const allowedAt: number[] = [];
      for (let i = 0; i < 5000; i++) {
        now += random() * (2000 / perSecond) * random();
        const take = takeToken(state, now, perSecond, burst);
        if (take.allowed) allowedAt.push(now);
        else assert.ok(take.retryAfterMs >= 1);
        state = take.nextState;
      }
      // Every window between two allowed takes: (count in it) ≤ burst + rate × length (+ the edge tolerance).
      for (let from = 0; from < allowedAt.length; from += 7) {
        for (let to = from; to < allowedAt.length; to += 13) {
          const elapsedS = (allowedAt[to]! - allowedAt[from]!) / 1000;
          assert.ok(
            to - from + 1 <= burst + perSecond * elapsedS + 1e-6,
            `${perSecond}/s burst ${burst}: ${to - from + 1} in ${elapsedS} s`,
          );
        }
      }
      // And asked more often than the rate, it gives about the rate: not a rule that just refuses.
      const spanS = (now - T0) / 1000;
      assert.ok(allowedAt.length >= perSecond * spanS * 0.5, `${allowedAt.length} in ${spanS} s`);
    }
  });

  it('follows a plan change at once: a lower rate spaces the next tokens further apart', () => {
    const fast = takeToken(null, T0, 100, 1);
    // Under 1/s the token taken at 100/s is 10 ms of debt, so the next comes 10 ms later, not 1 s.
    assert.equal(takeToken(fast.nextState, T0 + 10, 1, 1).allowed, true);
    const slow = takeToken(fast.nextState, T0 + 10, 1, 1);
    assert.equal(takeToken(slow.nextState, T0 + 500, 1, 1).retryAfterMs, 510);
  });
});
