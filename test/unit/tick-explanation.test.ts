// The tick explanation rule on its own: the order verdicts are tried in, and what a reason carries.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainTicks, type TickFacts, type TickRun } from '../../src/core/tick-explanation.js';

const T = (s: number): number => Date.parse('2026-06-01T12:00:00Z') + s * 1000;

function facts(over: Partial<TickFacts>): TickFacts {
  return {
    fires: [],
    runs: [],
    pauses: [],
    schedule: {
      startAt: null,
      endAt: null,
      paused: false,
      updatedAt: T(-100),
      nextFireAt: T(100),
      catchupMode: 'latest',
    },
    now: T(50),
    lateGraceMs: 1000,
    ...over,
  };
}

const run = (s: number, over: Partial<TickRun> = {}): TickRun => ({
  id: `run_${s}`,
  nominalTime: T(s),
  status: 'succeeded',
  reason: null,
  createdAt: T(s),
  firedLate: null,
  ...over,
});

describe('explainTicks', () => {
  it('lists a run of an earlier timing beside the current ticks, in tick order', () => {
    const ticks = explainTicks(
      facts({
        fires: [
          { at: T(0), dst: null },
          { at: T(20), dst: null },
        ],
        runs: [run(0), run(15)],
      }),
    );
    assert.deepEqual(
      ticks.map((t) => [t.nominalTime, t.verdict, t.runId]),
      [
        [T(0), 'fired', 'run_0'],
        [T(15), 'fired', 'run_15'],
        [T(20), 'dropped', null],
      ],
    );
  });

  it('a run says what became of it, a cancel by replace included', () => {
    const [tick] = explainTicks(
      facts({
        fires: [{ at: T(0), dst: 'moved_out_of_gap' }],
        runs: [run(0, { status: 'cancelled', reason: 'replaced by run_x' })],
      }),
    );
    assert.equal(tick?.verdict, 'fired');
    assert.equal(tick?.runStatus, 'cancelled');
    assert.match(tick?.reason ?? '', /cancelled \(replaced by run_x\)/);
    assert.equal(tick?.dst, 'moved_out_of_gap');
  });

  it('late by the stored flag, or by its creation past the grace when the row does not say', () => {
    const ticks = explainTicks(
      facts({
        fires: [0, 10, 20].map((s) => ({ at: T(s), dst: null })),
        runs: [run(0, { firedLate: true }), run(10, { createdAt: T(12) }), run(20, { createdAt: T(20.5) })],
      }),
    );
    assert.deepEqual(
      ticks.map((t) => t.verdict),
      ['fired_late', 'fired_late', 'fired'],
    );
  });

  it('a run outside startAt still counts as fired: the run is what happened', () => {
    const schedule = { ...facts({}).schedule, startAt: T(30) };
    const ticks = explainTicks(facts({ schedule, fires: [{ at: T(0), dst: null }], runs: [run(0)] }));
    assert.equal(ticks[0]?.verdict, 'fired');
  });

  it('a pause outranks pending and dropped; only its own span counts', () => {
    const ticks = explainTicks(
      facts({
        fires: [0, 10, 20].map((s) => ({ at: T(s), dst: null })),
        pauses: [{ pausedAt: T(5), resumedAt: T(10) }],
        schedule: { ...facts({}).schedule, nextFireAt: T(0) },
      }),
    );
    assert.deepEqual(
      ticks.map((t) => t.verdict),
      ['pending', 'pending', 'pending'],
      'resumedAt is exclusive: the tick at the resume is not paused',
    );
    const pauses = [{ pausedAt: T(5), resumedAt: T(10) }];
    for (const nextFireAt of [T(0), T(100)]) {
      const schedule = { ...facts({}).schedule, nextFireAt };
      const paused = explainTicks(facts({ fires: [{ at: T(7), dst: null }], pauses, schedule }));
      assert.equal(paused[0]?.verdict, 'paused');
    }
  });
});
