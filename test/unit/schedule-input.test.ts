// The pure rules of schedule requests: strict ISO instants, the plan's minimum interval for crons and
// intervals, and how a PATCH combines with the current schedule.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PLAN_LIMITS } from '../../src/core/tenant.js';
import { parseInstant } from '../../src/services/input-time.js';
import { newScheduleBase } from '../../src/core/schedule.js';
import { applyScheduleInput, type ScheduleInput } from '../../src/services/schedule-input.js';

const NOW = Date.parse('2026-06-01T10:00:00.400Z');
const base = {
  ...newScheduleBase({ id: 'sch_x', tenantId: 't', jobId: 'j', partition: 0 }, NOW),
  spec: null,
};
const create = (input: ScheduleInput, limits = DEFAULT_PLAN_LIMITS) =>
  applyScheduleInput(base, input, limits, NOW);

function throwsField(fn: () => unknown, code: string, field: string): void {
  assert.throws(fn, (error: { code?: string; context?: { field?: string } }) => {
    assert.equal(error.code, code);
    assert.equal(error.context?.field, field);
    return true;
  });
}

describe('parseInstant', () => {
  it('takes ISO 8601 with Z or an offset, with or without seconds and fractions', () => {
    assert.equal(parseInstant('t', '2026-11-01T01:30:00-04:00'), Date.parse('2026-11-01T05:30:00Z'));
    assert.equal(parseInstant('t', '2026-11-01T05:30Z'), Date.parse('2026-11-01T05:30:00Z'));
    assert.equal(parseInstant('t', '2026-11-01T05:30:00.123456Z'), Date.parse('2026-11-01T05:30:00.123Z'));
  });

  it('refuses dates alone, other formats, missing offsets and days that roll over', () => {
    for (const text of [
      '2026-11-01',
      'Nov 1 2026',
      '2026-11-01T05:30:00',
      '2026-02-30T00:00:00Z',
      '2026-11-01T24:00:00Z',
      '',
    ]) {
      throwsField(() => parseInstant('startAt', text), 'validation_failed', 'startAt');
    }
  });
});

describe('applyScheduleInput', () => {
  it('holds a cron to the plan’s minimum interval by its closest ticks', () => {
    const limits = { ...DEFAULT_PLAN_LIMITS, minIntervalSeconds: 3600 };
    assert.equal(create({ cron: '0 * * * *' }, limits).spec.kind, 'cron');
    throwsField(() => create({ cron: '0,30 * * * *' }, limits), 'plan_limit_exceeded', 'cron');
    throwsField(
      () => create({ cron: '0 9,10 * * *' }, { ...limits, minIntervalSeconds: 7200 }),
      'plan_limit_exceeded',
      'cron',
    );
    throwsField(() => create({ every: '59m' }, limits), 'plan_limit_exceeded', 'every');
  });

  it('applies a PATCH over the current schedule', () => {
    const hourly = create({ cron: '0 * * * *', timezone: 'Europe/Berlin' });
    const moved = applyScheduleInput(hourly, { timezone: 'Asia/Kolkata' }, DEFAULT_PLAN_LIMITS, NOW);
    assert.deepEqual(moved.spec, { kind: 'cron', cron: '0 0 * * * *', timezone: 'Asia/Kolkata' });
    assert.equal(moved.nextFireAt, Date.parse('2026-06-01T10:30:00Z'), 'Kolkata is UTC+05:30');
    const interval = applyScheduleInput(hourly, { every: '10m' }, DEFAULT_PLAN_LIMITS, NOW);
    assert.deepEqual(interval.spec, {
      kind: 'every',
      every: '10m',
      intervalMs: 600_000,
      anchorAt: Date.parse('2026-06-01T10:00:00Z'),
    });
    throwsField(
      () => applyScheduleInput(interval, { timezone: 'UTC' }, DEFAULT_PLAN_LIMITS, NOW),
      'validation_failed',
      'timezone',
    );
    const bounded = applyScheduleInput(interval, { endAt: '2026-06-01T10:05:00Z' }, DEFAULT_PLAN_LIMITS, NOW);
    assert.equal(bounded.nextFireAt, null, 'its next tick would be after endAt');
    throwsField(
      () => applyScheduleInput(bounded, { startAt: '2026-06-02T00:00:00Z' }, DEFAULT_PLAN_LIMITS, NOW),
      'validation_failed',
      'endAt',
    );
  });

  it('refuses a cron that never fires', () => {
    throwsField(() => create({ cron: '0 0 0 30 2 *' }), 'validation_failed', 'cron');
  });
});
