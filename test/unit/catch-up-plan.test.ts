// planResume at the edge of the catch-up window, for both kinds of spec: a tick exactly `windowSeconds` old
// is in the window (docs/api.md: "only ticks at most windowSeconds old"); a millisecond older is not.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CatchupPolicy, ScheduleSpec } from '../../src/core/schedule.js';
import type { ScheduleTiming } from '../../src/ports/store.js';
import { planResume } from '../../src/services/scheduler/catch-up.js';

const T = (iso: string) => Date.parse(iso);
const LATE_GRACE_MS = 1000;

function timing(spec: ScheduleSpec, nextFireAt: string, catchup: CatchupPolicy): ScheduleTiming {
  return {
    id: 'sch_1',
    partition: 0,
    version: 1,
    spec,
    startAt: null,
    endAt: null,
    jitterSeconds: 0,
    catchup,
    paused: false,
    deleted: false,
    nextFireAt: T(nextFireAt),
    changeSeq: 0,
  };
}

const specs: [string, ScheduleSpec][] = [
  ['cron', { kind: 'cron', cron: '*/10 * * * * *', timezone: 'UTC' }],
  ['every', { kind: 'every', every: '10s', intervalMs: 10_000, anchorAt: T('2026-06-01T12:00:00Z') }],
];

describe('catch-up window edge', () => {
  for (const [kind, spec] of specs) {
    it(`${kind}: all keeps the tick exactly windowSeconds old, and drops it a millisecond later`, () => {
      const all = timing(spec, '2026-06-01T12:00:20Z', { mode: 'all', windowSeconds: 23, maxRuns: 100 });
      const atEdge = planResume(all, T('2026-06-01T12:05:03.000Z'), LATE_GRACE_MS);
      assert.deepEqual(
        atEdge.catchup.map((at) => new Date(at).toISOString()),
        ['2026-06-01T12:04:40.000Z', '2026-06-01T12:04:50.000Z', '2026-06-01T12:05:00.000Z'],
      );
      assert.equal(atEdge.next, T('2026-06-01T12:05:10Z'));
      const past = planResume(all, T('2026-06-01T12:05:03.001Z'), LATE_GRACE_MS);
      assert.deepEqual(
        past.catchup.map((at) => new Date(at).toISOString()),
        ['2026-06-01T12:04:50.000Z', '2026-06-01T12:05:00.000Z'],
      );
    });

    it(`${kind}: latest runs the tick exactly windowSeconds old, and nothing a millisecond later`, () => {
      const latest = timing(spec, '2026-06-01T12:00:20Z', { mode: 'latest', windowSeconds: 3, maxRuns: 10 });
      assert.deepEqual(planResume(latest, T('2026-06-01T12:05:03.000Z'), LATE_GRACE_MS).catchup, [
        T('2026-06-01T12:05:00Z'),
      ]);
      assert.deepEqual(planResume(latest, T('2026-06-01T12:05:03.001Z'), LATE_GRACE_MS).catchup, []);
    });
  }
});
