// Schedule time on real transitions of 2026: the DST rule of src/core/schedule-time.ts, checked instant by
// instant (expected values worked out from each zone's offsets, in UTC).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import {
  nextFireAfter,
  offsetMinutes,
  parseCron,
  parseEvery,
  previewFires,
  type Fire,
} from '../../src/core/schedule-time.js';

const iso = (fires: Fire[]) => fires.map((f) => [new Date(f.at).toISOString(), f.dst]);
const preview = (cron: string, timezone: string, after: string, count: number) =>
  iso(previewFires(parseCron(cron, timezone), Date.parse(after), count));

function rejects(fn: () => unknown, field: string) {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HourglassError);
    assert.equal(error.code, 'validation_failed');
    assert.equal(error.context.field, field);
    assert.ok(error.message.startsWith(`${field}: `), error.message);
    return true;
  });
}

describe('cron specs', () => {
  it('takes 6 fields with seconds, and 5 fields as second 0', () => {
    assert.deepEqual(preview('*/1 * * * * *', 'UTC', '2026-03-07T12:00:00Z', 3), [
      ['2026-03-07T12:00:01.000Z', null],
      ['2026-03-07T12:00:02.000Z', null],
      ['2026-03-07T12:00:03.000Z', null],
    ]);
    assert.deepEqual(parseCron('*/15 * * * *'), {
      kind: 'cron',
      expression: '0 */15 * * * *',
      timezone: 'UTC',
    });
    assert.equal(
      nextFireAfter(parseCron('*/15 * * * *'), Date.parse('2026-03-07T12:00:00Z')),
      Date.parse('2026-03-07T12:15:00Z'),
    );
  });

  it('rejects bad expressions and unknown zones, naming the field', () => {
    rejects(() => parseCron('61 * * * *'), 'cron');
    rejects(() => parseCron('* * *'), 'cron');
    rejects(() => parseCron('* * * * * * * *'), 'cron');
    rejects(() => parseCron('* * * * *', 'Mars/Olympus_Mons'), 'timezone');
  });

  it('keeps Asia/Kolkata (+05:30, no DST) on the same instant every day', () => {
    assert.deepEqual(preview('0 30 2 * * *', 'Asia/Kolkata', '2026-03-07T12:00:00Z', 2), [
      ['2026-03-07T21:00:00.000Z', null],
      ['2026-03-08T21:00:00.000Z', null],
    ]);
  });
});

describe('DST rule: spring forward', () => {
  it('fires a tick inside the gap at the first instant after it (America/New_York, 2026-03-08)', () => {
    // 02:00 EST → 03:00 EDT: 02:30 does not exist; it fires at 03:00 EDT (07:00Z), then 02:30 EDT again.
    assert.deepEqual(preview('0 30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 2), [
      ['2026-03-08T07:00:00.000Z', 'moved_out_of_gap'],
      ['2026-03-09T06:30:00.000Z', null],
    ]);
  });

  it('fires ticks that land on one instant once', () => {
    // */30: 02:00 and 02:30 do not exist; 03:00 is itself a tick and fires once.
    assert.deepEqual(preview('0 */30 * * * *', 'America/New_York', '2026-03-08T06:00:00Z', 3), [
      ['2026-03-08T06:30:00.000Z', null],
      ['2026-03-08T07:00:00.000Z', null],
      ['2026-03-08T07:30:00.000Z', null],
    ]);
  });

  it('does the same in Europe/Berlin (2026-03-29) and for Lord Howe’s 30-minute shift (2026-10-04)', () => {
    assert.deepEqual(preview('0 30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00:00Z', 2), [
      ['2026-03-29T01:00:00.000Z', 'moved_out_of_gap'],
      ['2026-03-30T00:30:00.000Z', null],
    ]);
    // 02:00 (+10:30) → 02:30 (+11:00): 02:15 fires at 02:30 +11:00.
    assert.deepEqual(preview('0 15 2 * * *', 'Australia/Lord_Howe', '2026-10-03T00:00:00Z', 2), [
      ['2026-10-03T15:30:00.000Z', 'moved_out_of_gap'],
      ['2026-10-04T15:15:00.000Z', null],
    ]);
  });
});

describe('DST rule: fall back', () => {
  it('fires a fixed time once, at its first occurrence (America/New_York, 2026-11-01)', () => {
    assert.deepEqual(preview('0 30 1 * * *', 'America/New_York', '2026-10-31T12:00:00Z', 2), [
      ['2026-11-01T05:30:00.000Z', 'repeated_time_first'],
      ['2026-11-02T06:30:00.000Z', null],
    ]);
  });

  it('fires a stepped minute in both occurrences of the repeated hour', () => {
    assert.deepEqual(preview('0 */30 1 * * *', 'America/New_York', '2026-11-01T04:50:00Z', 5), [
      ['2026-11-01T05:00:00.000Z', 'repeated_time_first'],
      ['2026-11-01T05:30:00.000Z', 'repeated_time_first'],
      ['2026-11-01T06:00:00.000Z', 'repeated_time_second'],
      ['2026-11-01T06:30:00.000Z', 'repeated_time_second'],
      ['2026-11-02T06:00:00.000Z', null],
    ]);
  });

  it('does the same in Europe/Berlin (2026-10-25) and Australia/Lord_Howe (2026-04-05, 30 minutes)', () => {
    assert.deepEqual(preview('0 30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00:00Z', 2), [
      ['2026-10-25T00:30:00.000Z', 'repeated_time_first'],
      ['2026-10-26T01:30:00.000Z', null],
    ]);
    // 02:00 (+11:00) → 01:30 (+10:30): 01:45 happens twice; it fires at the first.
    assert.deepEqual(preview('0 45 1 * * *', 'Australia/Lord_Howe', '2026-04-04T00:00:00Z', 2), [
      ['2026-04-04T14:45:00.000Z', 'repeated_time_first'],
      ['2026-04-05T15:15:00.000Z', null],
    ]);
  });

  it('counts lists and ranges as fixed times: once at fall back, moved out of the gap in spring', () => {
    // 01:30 EDT (05:30Z) fires; 01:30 EST (06:30Z) does not; 13:30 EST (18:30Z) does.
    assert.deepEqual(preview('0 30 1,13 * * *', 'America/New_York', '2026-11-01T04:00:00Z', 3), [
      ['2026-11-01T05:30:00.000Z', 'repeated_time_first'],
      ['2026-11-01T18:30:00.000Z', null],
      ['2026-11-02T06:30:00.000Z', null],
    ]);
    assert.deepEqual(preview('0 30 1-2 * * *', 'America/New_York', '2026-11-01T04:00:00Z', 2), [
      ['2026-11-01T05:30:00.000Z', 'repeated_time_first'],
      ['2026-11-01T07:30:00.000Z', null],
    ]);
    // 02:30 does not exist on 2026-03-08: it fires at 03:00 EDT (07:00Z), as a single value would.
    assert.deepEqual(preview('0 30 2,14 * * *', 'America/New_York', '2026-03-08T04:00:00Z', 2), [
      ['2026-03-08T07:00:00.000Z', 'moved_out_of_gap'],
      ['2026-03-08T18:30:00.000Z', null],
    ]);
  });

  it('skips a periodic tick in the spring gap (15 past every hour)', () => {
    // 02:15 EST does not exist: 01:15 EST (06:15Z), then 03:15 EDT (07:15Z).
    assert.deepEqual(preview('15 * * * *', 'America/New_York', '2026-03-08T06:00:00Z', 2), [
      ['2026-03-08T06:15:00.000Z', null],
      ['2026-03-08T07:15:00.000Z', null],
    ]);
  });

  it('reads zone offsets, including half hours', () => {
    assert.equal(offsetMinutes('America/New_York', Date.parse('2026-01-15T12:00:00Z')), -300);
    assert.equal(offsetMinutes('America/New_York', Date.parse('2026-07-15T12:00:00Z')), -240);
    assert.equal(offsetMinutes('Asia/Kolkata', Date.parse('2026-07-15T12:00:00Z')), 330);
    assert.equal(offsetMinutes('Australia/Lord_Howe', Date.parse('2026-07-15T12:00:00Z')), 630);
    assert.equal(offsetMinutes('UTC', Date.parse('2026-07-15T12:00:00Z')), 0);
  });
});

describe('interval specs', () => {
  it('parses durations and keeps ticks on the grid of their anchor', () => {
    const anchor = Date.parse('2026-03-07T12:00:00Z');
    const spec = parseEvery('1h30m', anchor);
    assert.deepEqual(spec, { kind: 'every', intervalMs: 5_400_000, anchorMs: anchor });
    assert.equal(nextFireAfter(spec, anchor - 1), anchor);
    assert.equal(nextFireAfter(spec, anchor), anchor + 5_400_000);
    assert.equal(nextFireAfter(spec, anchor + 5_400_000 * 3 + 7), anchor + 5_400_000 * 4);
    assert.deepEqual(parseEvery('30s', 0), { kind: 'every', intervalMs: 30_000, anchorMs: 0 });
    assert.deepEqual(parseEvery('2d', 0), { kind: 'every', intervalMs: 172_800_000, anchorMs: 0 });
  });

  it('ignores DST: an interval is absolute time', () => {
    const spec = parseEvery('1h', Date.parse('2026-03-08T05:00:00Z'));
    assert.deepEqual(iso(previewFires(spec, Date.parse('2026-03-08T05:00:00Z'), 3)), [
      ['2026-03-08T06:00:00.000Z', null],
      ['2026-03-08T07:00:00.000Z', null],
      ['2026-03-08T08:00:00.000Z', null],
    ]);
  });

  it('stops a preview at its end', () => {
    const spec = parseEvery('10s', 0);
    assert.deepEqual(
      previewFires(spec, 0, 10, 35_000).map((f) => f.at),
      [10_000, 20_000, 30_000],
    );
  });

  it('rejects bad intervals, naming the field', () => {
    for (const bad of ['', '0.5s', '500ms', '0s', '5', 'often', '367d'])
      rejects(() => parseEvery(bad, 0), 'every');
  });
});
