// The cron dialect of src/core/cron-pattern.ts, through the public schedule-time functions: crontab(5)'s
// day-of-month/weekday rule on its own examples, and Quartz's step from a number (`0/15`) in every field.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import { parseCron, previewFires } from '../../src/core/schedule-time.js';

/** The next `count` ticks after `after`, as UTC ISO strings without milliseconds. */
const ticks = (cron: string, after: string, count: number) =>
  previewFires(parseCron(cron), Date.parse(after), count).map((f) =>
    new Date(f.at).toISOString().replace('.000Z', 'Z'),
  );

function rejectsNaming(cron: string, fieldName: string, item: string) {
  assert.throws(
    () => parseCron(cron),
    (error: unknown) => {
      assert.ok(error instanceof HourglassError);
      assert.equal(error.code, 'validation_failed');
      assert.equal(error.context.field, 'cron');
      assert.ok(error.message.startsWith(`cron: ${JSON.stringify(cron)}: `), error.message);
      assert.ok(error.message.includes(`${fieldName} field "${item}"`), error.message);
      return true;
    },
  );
}

describe('day of month and weekday, as crontab(5)', () => {
  it('"30 4 1,15 * 5" runs at 4:30 on the 1st and 15th of each month, plus every Friday', () => {
    // January 2026: Thursday the 1st, Thursday the 15th, Fridays 2, 9, 16, 23, 30; Sunday 1 February.
    const expected = [
      '2026-01-01T04:30:00Z',
      '2026-01-02T04:30:00Z',
      '2026-01-09T04:30:00Z',
      '2026-01-15T04:30:00Z',
      '2026-01-16T04:30:00Z',
      '2026-01-23T04:30:00Z',
      '2026-01-30T04:30:00Z',
      '2026-02-01T04:30:00Z',
    ];
    assert.deepEqual(ticks('30 4 1,15 * 5', '2025-12-31T12:00:00Z', 8), expected);
    assert.deepEqual(ticks('0 30 4 1,15 * 5', '2025-12-31T12:00:00Z', 8), expected, 'the same with seconds');
    assert.deepEqual(ticks('30 4 1,15 * FRI', '2025-12-31T12:00:00Z', 8), expected, 'the same by name');
  });

  it('"0 0 0 29 2 1" runs on 29 February and on every Monday of February', () => {
    // 2028 is a leap year: Mondays 7, 14, 21, 28 February, and Tuesday the 29th.
    assert.deepEqual(ticks('0 0 0 29 2 1', '2028-01-01T00:00:00Z', 6), [
      '2028-02-07T00:00:00Z',
      '2028-02-14T00:00:00Z',
      '2028-02-21T00:00:00Z',
      '2028-02-28T00:00:00Z',
      '2028-02-29T00:00:00Z',
      '2029-02-05T00:00:00Z',
    ]);
  });

  it('counts only the other field when one is *', () => {
    // Mondays only; the 1st only; every minute.
    assert.deepEqual(ticks('0 0 * * 1', '2026-01-01T00:00:00Z', 3), [
      '2026-01-05T00:00:00Z',
      '2026-01-12T00:00:00Z',
      '2026-01-19T00:00:00Z',
    ]);
    assert.deepEqual(ticks('0 0 0 1 * *', '2026-01-01T00:00:00Z', 3), [
      '2026-02-01T00:00:00Z',
      '2026-03-01T00:00:00Z',
      '2026-04-01T00:00:00Z',
    ]);
    assert.deepEqual(ticks('* * * * *', '2026-01-31T23:58:30Z', 3), [
      '2026-01-31T23:59:00Z',
      '2026-02-01T00:00:00Z',
      '2026-02-01T00:01:00Z',
    ]);
    assert.deepEqual(ticks('0 0 ? * 1', '2026-01-01T00:00:00Z', 1), ['2026-01-05T00:00:00Z'], '? is *');
  });

  it('treats a field starting with * (such as */7) as unrestricted, as Vixie cron does: both must match', () => {
    // "0 0 1-7 * */7": the first Sunday of each month (4 January, 1 February, 1 March, 5 April 2026).
    assert.deepEqual(ticks('0 0 1-7 * */7', '2026-01-01T00:00:00Z', 4), [
      '2026-01-04T00:00:00Z',
      '2026-02-01T00:00:00Z',
      '2026-03-01T00:00:00Z',
      '2026-04-05T00:00:00Z',
    ]);
    // "0 0 1-7 * +1": croner's + asks for both, here the first Monday of each month.
    assert.deepEqual(ticks('0 0 1-7 * +1', '2026-01-01T00:00:00Z', 3), [
      '2026-01-05T00:00:00Z',
      '2026-02-02T00:00:00Z',
      '2026-03-02T00:00:00Z',
    ]);
    // "0 0 */2 * 1": Mondays that fall on an odd day (5 and 19 January, 9 and 23 February 2026).
    assert.deepEqual(ticks('0 0 */2 * 1', '2026-01-01T00:00:00Z', 4), [
      '2026-01-05T00:00:00Z',
      '2026-01-19T00:00:00Z',
      '2026-02-09T00:00:00Z',
      '2026-02-23T00:00:00Z',
    ]);
  });
});

describe('a step from a number (Quartz, EventBridge)', () => {
  it('runs from the number to the end of the field, in each field', () => {
    assert.deepEqual(ticks('0/15 * * * * *', '2026-01-01T00:00:00Z', 4), [
      '2026-01-01T00:00:15Z',
      '2026-01-01T00:00:30Z',
      '2026-01-01T00:00:45Z',
      '2026-01-01T00:01:00Z',
    ]);
    assert.deepEqual(ticks('5/20 * * * *', '2026-01-01T00:00:00Z', 4), [
      '2026-01-01T00:05:00Z',
      '2026-01-01T00:25:00Z',
      '2026-01-01T00:45:00Z',
      '2026-01-01T01:05:00Z',
    ]);
    assert.deepEqual(ticks('0 3/8 * * *', '2026-01-01T00:00:00Z', 4), [
      '2026-01-01T03:00:00Z',
      '2026-01-01T11:00:00Z',
      '2026-01-01T19:00:00Z',
      '2026-01-02T03:00:00Z',
    ]);
    // Day of month starts at 1: 1, 11, 21, 31, then 1 February.
    assert.deepEqual(ticks('0 0 1/10 * *', '2025-12-31T12:00:00Z', 5), [
      '2026-01-01T00:00:00Z',
      '2026-01-11T00:00:00Z',
      '2026-01-21T00:00:00Z',
      '2026-01-31T00:00:00Z',
      '2026-02-01T00:00:00Z',
    ]);
    assert.deepEqual(ticks('0 0 1 2/5 *', '2026-01-01T00:00:00Z', 4), [
      '2026-02-01T00:00:00Z',
      '2026-07-01T00:00:00Z',
      '2026-12-01T00:00:00Z',
      '2027-02-01T00:00:00Z',
    ]);
    // Weekday: Monday, Wednesday, Friday (a step stops at 6, Saturday).
    assert.deepEqual(ticks('0 0 * * 1/2', '2026-01-04T00:00:00Z', 4), [
      '2026-01-05T00:00:00Z',
      '2026-01-07T00:00:00Z',
      '2026-01-09T00:00:00Z',
      '2026-01-12T00:00:00Z',
    ]);
  });

  it('takes names and lists, and keeps the expression as written', () => {
    assert.deepEqual(ticks('0 0 * * MON/2', '2026-01-04T00:00:00Z', 2), [
      '2026-01-05T00:00:00Z',
      '2026-01-07T00:00:00Z',
    ]);
    assert.deepEqual(ticks('0 0 1 OCT/2 *', '2026-01-01T00:00:00Z', 2), [
      '2026-10-01T00:00:00Z',
      '2026-12-01T00:00:00Z',
    ]);
    assert.deepEqual(ticks('10,40/10 * * * *', '2026-01-01T00:00:00Z', 4), [
      '2026-01-01T00:10:00Z',
      '2026-01-01T00:40:00Z',
      '2026-01-01T00:50:00Z',
      '2026-01-01T01:10:00Z',
    ]);
    assert.deepEqual(parseCron('0/15 * * * *'), {
      kind: 'cron',
      expression: '0 0/15 * * * *',
      timezone: 'UTC',
    });
  });

  it('refuses a zero or missing step and a start outside the field, naming the field', () => {
    rejectsNaming('0/0 * * * *', 'minute', '0/0');
    rejectsNaming('70/5 * * * *', 'minute', '70/5');
    rejectsNaming('60/1 * * * * *', 'second', '60/1');
    rejectsNaming('0 24/2 * * *', 'hour', '24/2');
    rejectsNaming('0 0 0/5 * *', 'day of month', '0/5');
    rejectsNaming('0 0 32/5 * *', 'day of month', '32/5');
    rejectsNaming('0 0 1 0/3 *', 'month', '0/3');
    rejectsNaming('0 0 * * 7/2', 'weekday', '7/2');
    rejectsNaming('5/x * * * *', 'minute', '5/x');
    rejectsNaming('5/ * * * *', 'minute', '5/');
  });
});
