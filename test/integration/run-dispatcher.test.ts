// The dispatch sweep (services/run-dispatcher.ts) on a real SQLite file with the in-process queue and a clock
// the test moves: what a restart publishes again, for a queue that forgets and for one that does not, and a
// lost message published again once its run has waited unclaimed past the bound.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { REDISPATCH_AFTER_MS } from '../../src/core/dispatch.js';
import { newQueuedRun } from '../../src/core/run.js';
import type { RunQueue } from '../../src/ports/queue.js';
import { RunDispatcher } from '../../src/services/run-dispatcher.js';
import { TenantService } from '../../src/services/tenant-service.js';
import { JobService } from '../../src/services/job-service.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { ManualClock } from '../support/manual-clock.js';
import { silentLogger } from '../support/worker-fixtures.js';

describe('the dispatch sweep', () => {
  let dir: string;
  let store: SqliteStore;
  let clock: ManualClock;
  let queue: InProcessQueue;
  let runIds: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hourglass-dispatch-'));
    store = SqliteStore.open(join(dir, 'hourglass.db'));
    clock = new ManualClock('2026-12-02T12:00:00Z');
    queue = new InProcessQueue({ clock });
    const signals = new InProcessRunSignals();
    const tenant = await new TenantService(store, clock).createTenant('acme', { allowHostCommands: true });
    const job = await new JobService(store, signals, clock, new InProcessScheduleChanges()).createJob(
      tenant,
      {
        name: 'j',
        command: ['true'],
      },
    );
    runIds = [];
    // Two runs dispatched a second ago (their messages were in a queue that is gone now).
    for (const n of [1, 2]) {
      const run = newQueuedRun({
        id: `run_${n}`,
        tenantId: tenant.id,
        jobId: job.id,
        createdAt: clock.now(),
      });
      await store.insertRun({ run, requestHash: null });
      await store.markDispatched([run.id], clock.now());
      runIds.push(run.id);
    }
    clock.advance(1_000);
  });

  afterEach(async () => {
    await queue.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function dispatcher(over: RunQueue = queue): RunDispatcher {
    return new RunDispatcher(
      { store, queue: over, signals: new InProcessRunSignals(), clock, logger: silentLogger },
      60_000,
    );
  }

  const delivered = async (): Promise<string[]> =>
    (await queue.pull(10, 0)).map((delivery) => delivery.message.runId).sort();

  it('publishes every queued run again at start when the queue forgets (in-process)', async () => {
    const sweep = dispatcher();
    assert.equal(await sweep.start(), 2);
    await sweep.stop();
    assert.deepEqual(await delivered(), runIds);
  });

  it('publishes none again at start when the queue is durable, until they wait unclaimed too long', async () => {
    const durable: RunQueue = {
      durable: true,
      publish: (messages) => queue.publish(messages),
      pull: (max, waitMs, signal) => queue.pull(max, waitMs, signal),
      depth: () => queue.depth(),
      close: () => queue.close(),
    };
    const sweep = dispatcher(durable);
    assert.equal(await sweep.start(), 0);
    await sweep.stop();
    assert.deepEqual(await delivered(), []);
    // Past the bound, a sweep that checks for lost messages publishes them again (claims are fenced, so a
    // copy that was not lost after all is harmless).
    clock.advance(REDISPATCH_AFTER_MS);
    const later = dispatcher(durable);
    assert.equal(await later.sweep(false), 2);
    assert.deepEqual(await delivered(), runIds);
    assert.equal(await later.sweep(false), 0, 'and not at the next sweep');
  });
});
