import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decideOverlap,
  overlapLooksAtUnfinished,
  type UnfinishedRun,
} from '../../src/core/overlap-policy.js';
import { OVERLAP_POLICIES } from '../../src/core/schedule.js';

const TICK = 'run-tick';
const running = (id: string): UnfinishedRun => ({ id, status: 'running', blockedBy: null });
const queued = (id: string, blockedBy: string | null = null): UnfinishedRun => ({
  id,
  status: 'queued',
  blockedBy,
});
const QUEUED_AT_ONCE = { status: 'queued', reason: null, blockedBy: null, replaced: null };

describe('overlapLooksAtUnfinished', () => {
  it('is false for allow only: the store reads unfinished runs for the other policies', () => {
    const looking = OVERLAP_POLICIES.filter(overlapLooksAtUnfinished);
    assert.deepEqual(looking, ['skip', 'buffer_one', 'replace']);
  });
});

describe('decideOverlap', () => {
  it('allow queues the tick at once, whatever is unfinished', () => {
    assert.deepEqual(decideOverlap('allow', TICK, []), QUEUED_AT_ONCE);
    assert.deepEqual(decideOverlap('allow', TICK, [running('r2'), queued('r1')]), QUEUED_AT_ONCE);
  });

  it('every policy queues the tick at once when nothing of the schedule is unfinished', () => {
    for (const policy of OVERLAP_POLICIES) {
      assert.deepEqual(decideOverlap(policy, TICK, []), QUEUED_AT_ONCE, policy);
    }
  });

  it('skip records the tick skipped, naming the newest unfinished run and its status', () => {
    assert.deepEqual(decideOverlap('skip', TICK, [running('r2'), queued('r1')]), {
      status: 'skipped',
      reason: 'previous run r2 is still running',
      blockedBy: null,
      replaced: null,
    });
    assert.equal(
      decideOverlap('skip', TICK, [queued('r3'), running('r2')]).reason,
      'previous run r3 is still queued',
    );
  });

  it('buffer_one queues the tick blocked by the newest unfinished run when none waits', () => {
    assert.deepEqual(decideOverlap('buffer_one', TICK, [running('r2'), running('r1')]), {
      status: 'queued',
      reason: null,
      blockedBy: 'r2',
      replaced: null,
    });
    assert.equal(decideOverlap('buffer_one', TICK, [queued('r1')]).blockedBy, 'r1');
  });

  it('buffer_one skips the tick while a run already waits, naming that one even if it is not the newest', () => {
    assert.deepEqual(decideOverlap('buffer_one', TICK, [queued('r3', 'r2'), running('r2')]), {
      status: 'skipped',
      reason: 'a run is already waiting: r3',
      blockedBy: null,
      replaced: null,
    });
    const olderWaits = [running('r4'), queued('r3', 'r2'), queued('r1')];
    assert.equal(decideOverlap('buffer_one', TICK, olderWaits).reason, 'a run is already waiting: r3');
  });

  it('replace cancels the queued runs, stops the running ones, and waits for the newest running', () => {
    const unfinished = [queued('r4', 'r3'), running('r3'), queued('r2'), running('r1')];
    assert.deepEqual(decideOverlap('replace', TICK, unfinished), {
      status: 'queued',
      reason: null,
      blockedBy: 'r3',
      replaced: { cancel: ['r4', 'r2'], stop: ['r3', 'r1'], reason: `replaced by ${TICK}` },
    });
  });

  it('replace runs the tick at once when every earlier run was only queued', () => {
    assert.deepEqual(decideOverlap('replace', TICK, [queued('r2', 'r1'), queued('r1')]), {
      status: 'queued',
      reason: null,
      blockedBy: null,
      replaced: { cancel: ['r2', 'r1'], stop: [], reason: `replaced by ${TICK}` },
    });
  });

  it('replace with only running runs stops them all and waits for the newest', () => {
    assert.deepEqual(decideOverlap('replace', TICK, [running('r2'), running('r1')]), {
      status: 'queued',
      reason: null,
      blockedBy: 'r2',
      replaced: { cancel: [], stop: ['r2', 'r1'], reason: `replaced by ${TICK}` },
    });
  });
});
