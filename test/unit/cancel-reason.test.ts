import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CANCELLED_BY_JOB_DELETION,
  CANCELLED_BY_REQUEST,
  cancelEffectOf,
  endWithoutRetry,
  replacedBy,
} from '../../src/core/cancel-reason.js';
import { RUN_STATUSES, type RunStatus } from '../../src/core/run-state.js';

describe('cancel reasons', () => {
  // Stored with each cancelled run and shown by the API: runs cancelled before and after a release, or by
  // either store, must read the same.
  it('are the recorded words', () => {
    assert.equal(CANCELLED_BY_REQUEST, 'cancelled by request');
    assert.equal(CANCELLED_BY_JOB_DELETION, 'job deleted');
    assert.equal(replacedBy('run-2'), 'replaced by run-2');
  });
});

describe('cancelEffectOf', () => {
  it('cancels a queued run, asks a running one to stop, and finds every other status finished', () => {
    const expected: Record<RunStatus, string> = {
      queued: 'cancelled',
      running: 'requested',
      succeeded: 'already_finished',
      failed: 'already_finished',
      timed_out: 'already_finished',
      oom_killed: 'already_finished',
      cancelled: 'already_finished',
      lost: 'already_finished',
      skipped: 'already_finished',
    };
    for (const status of RUN_STATUSES) assert.equal(cancelEffectOf(status), expected[status], status);
  });
});

describe('endWithoutRetry', () => {
  it('keeps the attempt’s outcome and reason when no retry was due', () => {
    assert.deepEqual(endWithoutRetry('succeeded', null, false), { status: 'succeeded', reason: null });
    assert.deepEqual(endWithoutRetry('failed', 'exited with code 2', false), {
      status: 'failed',
      reason: 'exited with code 2',
    });
    assert.deepEqual(endWithoutRetry('cancelled', 'cancelled', false), {
      status: 'cancelled',
      reason: 'cancelled',
    });
  });

  it('ends the run cancelled by request when a retry was due but refused, whatever the attempt ended with', () => {
    for (const outcome of ['failed', 'timed_out', 'oom_killed', 'lost'] as const) {
      assert.deepEqual(endWithoutRetry(outcome, 'some reason', true), {
        status: 'cancelled',
        reason: CANCELLED_BY_REQUEST,
      });
    }
  });
});
