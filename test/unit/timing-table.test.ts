// The scheduler's timing table: schedules in typed-array slots with a min-heap by due time. Driven past
// several growths of its arrays, with schedules replaced, removed and rescheduled, against a plain list
// that says what must come out, in which order.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimingTable, type TimingEntry } from '../../src/services/scheduler/timing-table.js';
import { seededRandom as random } from '../support/seeded-random.js';

const entry = (i: number, nominal: number, jitterMs = 0): TimingEntry => ({
  scheduleId: `sch_${String(i).padStart(6, '0')}`,
  partition: i % 256,
  version: 1,
  spec: i % 7,
  nominal,
  jitterMs,
  endAt: Infinity,
});

describe('TimingTable', () => {
  it('gives back due entries earliest first through growths, replacements, removals and reschedules', () => {
    const next = random(42);
    const table = new TimingTable(16);
    const expected = new Map<string, number>(); // schedule id → due time
    for (let i = 0; i < 5000; i++) {
      const e = entry(i, Math.floor(next() * 100_000), Math.floor(next() * 1000));
      table.upsert(e);
      expected.set(e.scheduleId, e.nominal + e.jitterMs);
    }
    // Every third replaced with a new time, every fifth removed.
    for (let i = 0; i < 5000; i += 3) {
      const e = entry(i, Math.floor(next() * 100_000));
      table.upsert(e);
      expected.set(e.scheduleId, e.nominal);
    }
    for (let i = 0; i < 5000; i += 5) {
      table.remove(entry(i, 0).scheduleId);
      expected.delete(entry(i, 0).scheduleId);
    }
    assert.equal(table.size, expected.size);
    assert.deepEqual(table.get(entry(1, 0).scheduleId)?.partition, 1);

    // Moved on in batches up to a moving horizon: half of what is taken comes back a day later, half ends.
    const taken: number[] = [];
    const back = new Map<string, number>(); // schedule id → the tick it was moved on to
    let horizon = 0;
    while (taken.length < expected.size) {
      horizon += 7_919;
      table.advanceDue(horizon, 250, (e) => {
        taken.push(e.nominal + e.jitterMs);
        if (taken.length % 2 === 1) return null;
        back.set(e.scheduleId, 86_400_000 + e.nominal);
        return 86_400_000 + e.nominal;
      });
    }
    assert.deepEqual(
      taken,
      [...expected.values()].sort((a, b) => a - b),
    );
    assert.equal(table.size, back.size, 'the ended ones are gone');
    const again: number[] = [];
    const visited = table.advanceDue(Infinity, 100_000, (e) => {
      assert.equal(e.nominal, back.get(e.scheduleId));
      again.push(e.nominal + e.jitterMs);
      return e.nominal + 1000;
    });
    assert.equal(visited, back.size);
    assert.deepEqual(
      again,
      [...again].sort((a, b) => a - b),
    );
    assert.equal(
      table.peekDue(),
      Math.min(...again) + 1000,
      'each visited once, and put back at its next tick',
    );
  });

  it('reuses freed slots before its arrays grow', () => {
    const table = new TimingTable(16);
    for (let i = 0; i < 16; i++) table.upsert(entry(i, i));
    const full = table.typedArrayBytes();
    for (let i = 0; i < 8; i++) table.remove(entry(i, 0).scheduleId);
    for (let i = 100; i < 108; i++) table.upsert(entry(i, i));
    assert.equal(table.typedArrayBytes(), full);
    table.upsert(entry(200, 200));
    assert.ok(table.typedArrayBytes() > full, 'grown for the 17th');
    assert.ok(table.typedArrayBytes() <= full * 1.5 + 46, 'by half, not double');
  });
});
