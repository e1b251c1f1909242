// The uid range of runs: a uid is never held by two runs at once, comes back only after the rest of the range,
// and the range must be made of valid uids.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_RUN_UID, RunUsers } from '../../src/adapters/process/run-users.js';

describe('RunUsers', () => {
  it('hands out distinct uids from the range, round robin, and none when all are held', () => {
    const users = new RunUsers({ base: 5000, count: 4 });
    const held = [users.acquire(), users.acquire(), users.acquire(), users.acquire()];
    assert.deepEqual([...held].sort(), [5000, 5001, 5002, 5003]);
    assert.equal(users.acquire(), null);
    const freed = held[1] as number;
    users.release(freed);
    assert.equal(users.acquire(), freed);
  });

  it('gives a released uid back only after the others of the range', () => {
    const users = new RunUsers({ base: 7000, count: 3 });
    const first = users.acquire() as number;
    users.release(first);
    const next = [users.acquire(), users.acquire(), users.acquire()];
    assert.equal(next[2], first);
    assert.notEqual(next[0], first);
    assert.notEqual(next[1], first);
  });

  it('refuses a range outside valid uids', () => {
    assert.throws(() => new RunUsers({ base: 0, count: 10 }), RangeError);
    assert.throws(() => new RunUsers({ base: MAX_RUN_UID - 5, count: 10 }), RangeError);
  });
});
