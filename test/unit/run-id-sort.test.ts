// sortByRunId must give exactly the comparator's order (byRunId): for a burst of scheduled run ids, for ids
// that share the digits its numeric keys look at, for many nominal times, and for ids of any other shape.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { byRunId, scheduledRunId } from '../../src/core/schedule.js';
import { sortByRunId } from '../../src/services/scheduler/run-id-sort.js';
import { seededRandom as random } from '../support/seeded-random.js';

type Tick = { runId: string; nominalTime: number };

function ticksOf(count: number, nominals: number[], next: () => number): Tick[] {
  return Array.from({ length: count }, (_, i) => {
    const nominalTime = nominals[Math.floor(next() * nominals.length)] ?? 0;
    return { runId: scheduledRunId(`sch_${i}`, nominalTime), nominalTime };
  });
}

function assertSortsLikeTheComparator(ticks: Tick[]): void {
  const expected = [...ticks].sort(byRunId);
  const sorted = sortByRunId(ticks);
  assert.equal(sorted, ticks, 'in place');
  assert.deepEqual(sorted, expected);
}

describe('sortByRunId', () => {
  const base = Date.UTC(2026, 10, 26, 12, 0, 0);

  it('orders a burst on one second, and on several, as byRunId does', () => {
    const next = random(7);
    assertSortsLikeTheComparator(ticksOf(20_000, [base], next));
    assertSortsLikeTheComparator(ticksOf(20_000, [base, base + 1000, base + 2000, base - 5000], next));
  });

  it('orders ids that share the digits of their keys, and ids of any other shape', () => {
    const next = random(11);
    const shared = Array.from({ length: 500 }, (_, i) => ({
      runId: `run_0000000000abcdef${String(Math.floor(next() * 1e9)).padStart(10, '0')}${i}`,
      nominalTime: 0,
    }));
    assertSortsLikeTheComparator([...shared, ...ticksOf(500, [0], next)]);
    const odd = Array.from({ length: 300 }, (_, i) => ({
      runId: i % 3 === 0 ? `x${Math.floor(next() * 1e6)}` : `run_ZZ${i}`,
      nominalTime: base,
    }));
    assertSortsLikeTheComparator(odd);
  });

  it('falls back to the comparator past 64 nominal times', () => {
    const next = random(13);
    const nominals = Array.from({ length: 100 }, (_, k) => base + k * 1000);
    assertSortsLikeTheComparator(ticksOf(5000, nominals, next));
    assertSortsLikeTheComparator([]);
  });
});
