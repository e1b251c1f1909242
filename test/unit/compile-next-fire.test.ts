// compileNextFire, the scheduler engine's own "next tick" (src/services/scheduler/spec-table.ts), across both
// DST transitions of 2026 in America/New_York and Europe/Berlin: chained as the engine chains it, each answer
// fed back as the next question. It must agree with the DST rule that nextFireAfter and preview follow.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileNextFire, nextFireAfter, parseCron } from '../../src/core/schedule-time.js';

/** `count` ticks after `after`, each from the one before, through one compiled function. */
function chain(cron: string, timezone: string, after: string, count: number): string[] {
  const next = compileNextFire(parseCron(cron, timezone));
  const ticks: string[] = [];
  for (let at = next(Date.parse(after)); at !== null && ticks.length < count; at = next(at)) {
    ticks.push(new Date(at).toISOString());
  }
  return ticks;
}

describe('compileNextFire across DST', () => {
  it('spring forward: a fixed time in the gap fires once at its end, then on its own time', () => {
    assert.deepEqual(chain('0 30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 3), [
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
    assert.deepEqual(chain('0 30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2), [
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('spring forward: a stepped minute skips the missing hour, firing the gap’s end once', () => {
    assert.deepEqual(chain('0 */30 * * * *', 'America/New_York', '2026-03-08T06:00:00Z', 3), [
      '2026-03-08T06:30:00.000Z',
      '2026-03-08T07:00:00.000Z',
      '2026-03-08T07:30:00.000Z',
    ]);
  });

  it('fall back: a fixed time fires once, at its first occurrence, never again in the repeated hour', () => {
    // 01:30 EDT is 05:30Z; 01:30 EST (06:30Z) must not fire.
    assert.deepEqual(chain('0 30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 3), [
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
      '2026-11-03T06:30:00.000Z',
    ]);
    assert.deepEqual(chain('0 30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2), [
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
    // Asked from inside the repeated hour (the engine's tick just after the first 01:30): the next day.
    const next = compileNextFire(parseCron('0 30 1 * * *', 'America/New_York'));
    assert.equal(next(Date.parse('2026-11-01T06:10:00Z')), Date.parse('2026-11-02T06:30:00Z'));
  });

  it('fall back: a stepped minute fires in both occurrences of the repeated hour', () => {
    assert.deepEqual(chain('0 */30 1 * * *', 'America/New_York', '2026-11-01T04:50:00Z', 5), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
      '2026-11-02T06:00:00.000Z',
    ]);
  });

  it('agrees with nextFireAfter at every step, and answers a repeated question the same', () => {
    const cases: [string, string, string][] = [
      ['0 30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z'],
      ['0 0,30 1 * * *', 'America/New_York', '2026-10-31T00:00:00Z'],
      ['0 */20 0-3 * * *', 'Europe/Berlin', '2026-10-24T20:00:00Z'],
      ['0 15 2 * * *', 'America/New_York', '2026-03-07T00:00:00Z'],
      ['0/30 59 1 * * *', 'America/New_York', '2026-03-07T00:00:00Z'],
    ];
    for (const [cron, timezone, after] of cases) {
      const spec = parseCron(cron, timezone);
      const next = compileNextFire(spec);
      let at: number | null = Date.parse(after);
      for (let i = 0; i < 12 && at !== null; i++) {
        const expected = nextFireAfter(spec, at);
        assert.equal(next(at), expected, `${cron} ${timezone} after ${new Date(at).toISOString()}`);
        assert.equal(next(at), expected, 'the remembered answer');
        at = expected;
      }
    }
  });
});
