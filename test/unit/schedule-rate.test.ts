import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { averageTicksPerSecond, fitsRunRate } from '../../src/core/schedule-rate.js';
import { parseCron, parseEvery } from '../../src/core/schedule-time.js';

const DAYS_IN_4_YEARS = 1461;
const DAY_SECONDS = 86_400;

function assertRate(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= expected * 1e-12, `${what}: ${actual}, expected ${expected}`);
}

const cron = (expression: string, timezone = 'UTC') => averageTicksPerSecond(parseCron(expression, timezone));
const every = (text: string) => averageTicksPerSecond(parseEvery(text, 0));

describe('averageTicksPerSecond', () => {
  it('counts an interval as one tick per interval', () => {
    assertRate(every('1s'), 1, '1s');
    assertRate(every('10s'), 0.1, '10s');
    assertRate(every('1h30m'), 1 / 5400, '1h30m');
    assertRate(every('1d'), 1 / DAY_SECONDS, '1d');
  });

  it('counts a cron’s seconds field: every second, steps, lists and ranges', () => {
    assertRate(cron('* * * * * *'), 1, 'every second');
    assertRate(cron('*/5 * * * * *'), 1 / 5, 'every 5 s');
    assertRate(cron('*/7 * * * * *'), 9 / 60, 'every 7 s (0, 7, …, 56: 9 a minute)');
    assertRate(cron('0,30 * * * * *'), 2 / 60, 'seconds 0 and 30');
    assertRate(cron('10-19 * * * * *'), 10 / 60, 'seconds 10–19');
  });

  it('counts minutes and hours, and a 5-field cron as second 0', () => {
    assertRate(cron('0 * * * * *'), 1 / 60, 'every minute');
    assertRate(cron('*/15 * * * *'), 4 / 3600, '5 fields: every 15 minutes');
    assertRate(cron('0 0 * * * *'), 1 / 3600, 'hourly');
    assertRate(cron('*/10 */2 9-17 * * *'), (6 * 30 * 9) / DAY_SECONDS, 'seconds × minutes × hours');
    assertRate(cron('0 0 0 * * *'), 1 / DAY_SECONDS, 'daily');
  });

  it('averages the day fields over four years: weekdays, short months, leap days', () => {
    // 2001-01-01 is a Monday: 208 weeks and 5 days (Monday to Friday) in 1,461 days.
    const weekdays = 208 * 5 + 5;
    assertRate(cron('0 0 9 * * 1-5'), weekdays / DAYS_IN_4_YEARS / DAY_SECONDS, 'weekdays at 9');
    assertRate(cron('0 0 0 31 * *'), (7 * 4) / DAYS_IN_4_YEARS / DAY_SECONDS, 'the 31st');
    assertRate(cron('0 0 0 29 2 *'), 1 / DAYS_IN_4_YEARS / DAY_SECONDS, '29 February');
    assertRate(cron('0 0 0 1 1 *'), 4 / DAYS_IN_4_YEARS / DAY_SECONDS, 'New Year');
    assertRate(cron('* * * * 1 *'), (31 * 4 * DAY_SECONDS) / (DAYS_IN_4_YEARS * DAY_SECONDS), 'January only');
  });

  it('does not depend on the time zone', () => {
    assertRate(cron('0 30 2 * * *', 'America/New_York'), cron('0 30 2 * * *'), 'a daily tick in a DST zone');
  });
});

describe('fitsRunRate', () => {
  it('fits a sum exactly at the plan, also when float addition lands a hair over it', () => {
    assert.equal(fitsRunRate(10, 10), true);
    const sum = every('10s') + 2 * every('10s');
    assert.ok(sum > 0.3); // 0.30000000000000004
    assert.equal(fitsRunRate(sum, 0.3), true);
    assert.equal(fitsRunRate(1 + 1 / 3600, 1), false);
  });
});
