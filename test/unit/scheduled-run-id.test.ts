// The run id of a schedule's tick. It must never change for a given tick: a tick fired before an upgrade and
// fired again after it must be the same run, so the ids are pinned here, not just compared with themselves.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeOfId } from '../../src/core/ids.js';
import { scheduledRunId } from '../../src/core/schedule.js';

describe('scheduledRunId', () => {
  it('gives the ids it always gave', () => {
    const pinned: [string, number, string][] = [
      ['sch_01jgz8c2v0a1b2c3d4e5f6g7h8', 1767225600000, 'run_01kdvdna004h5m8efexmpqb61k'],
      ['sch_zzzzzzzzzzzzzzzzzzzzzzzzzz', 0, 'run_0000000000q5za43fg96y6k904'],
      ['x', 1800000000123, 'run_01mcc5rm3vm7pnr4jhw8k1hqb6'],
    ];
    // Twice, and interleaved, so no id depends on the one asked before it.
    for (const [scheduleId, nominal, id] of [...pinned, ...pinned.reverse()]) {
      assert.equal(scheduledRunId(scheduleId, nominal), id);
    }
  });

  it('leads with the nominal time and differs by schedule and by tick', () => {
    const nominal = Date.UTC(2026, 10, 26, 12, 0, 0);
    const ids = new Set<string>();
    for (let s = 0; s < 1000; s++) {
      for (const tick of [nominal, nominal + 1000]) {
        const id = scheduledRunId(`sch_${String(s).padStart(26, '0')}`, tick);
        assert.equal(timeOfId(id), tick);
        ids.add(id);
      }
    }
    assert.equal(ids.size, 2000);
  });
});
