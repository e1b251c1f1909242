// The dispatch sweep (services/run-dispatcher.ts) on every store and queue, with a clock the test moves: what
// a restart publishes again, for a queue that forgets and for one that does not, and a lost message published
// again once its run has waited unclaimed past the bound. The sweep decides by the queue's `durable` flag
// alone, so each test shows the queue to it as the kind it is about (a durable broker shown as one that
// forgets still carries what the sweep publishes), and runs on every queue.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { REDISPATCH_AFTER_MS } from '../../src/core/dispatch.js';
import { newQueuedRun } from '../../src/core/run.js';
import type { RunQueue } from '../../src/ports/queue.js';
import type { Store } from '../../src/ports/store.js';
import { JobService } from '../../src/services/job-service.js';
import { RunDispatcher } from '../../src/services/run-dispatcher.js';
import { TenantService } from '../../src/services/tenant-service.js';
import { EACH_ADAPTER_ONCE } from '../support/adapter-pairs.js';
import { ManualClock } from '../support/manual-clock.js';
import type { QueueLocation } from '../support/queue-factories.js';
import type { DurableStoreLocation } from '../support/store-factories.js';
import { silentLogger } from '../support/worker-fixtures.js';

/** `queue` as the sweep should see it: durable or not, whatever it is. */
function seenAs(queue: RunQueue, durable: boolean): RunQueue {
  if (queue.durable === durable) return queue;
  return {
    durable,
    publish: (messages) => queue.publish(messages),
    pull: (max, waitMs, signal) => queue.pull(max, waitMs, signal),
    depth: () => queue.depth(),
    close: () => queue.close(),
  };
}

// Each store with the embedded queue, and each other queue with SQLite (adapter-pairs.ts EACH_ADAPTER_ONCE):
// the sweep reads the store and only publishes.
for (const adapters of EACH_ADAPTER_ONCE) {
  describe(`the dispatch sweep (${adapters.name})`, { skip: adapters.skip }, () => {
    let storeLocation: DurableStoreLocation;
    let queueLocation: QueueLocation;
    let store: Store;
    let clock: ManualClock;
    let queue: RunQueue;
    let runIds: string[];

    beforeEach(async () => {
      clock = new ManualClock('2026-12-02T12:00:00Z');
      storeLocation = await adapters.store.createLocation({ migrated: true });
      ({ store } = await storeLocation.open());
      queueLocation = await adapters.queue.createLocation({ clock });
      queue = await queueLocation.open();
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
      try {
        await queue.close();
        await queueLocation.destroy();
      } finally {
        await store.close();
        await storeLocation.destroy();
      }
    });

    function dispatcher(over: RunQueue): RunDispatcher {
      return new RunDispatcher(
        { store, queue: over, signals: new InProcessRunSignals(), clock, logger: silentLogger },
        60_000,
      );
    }

    /** The run ids ready in the queue now (acked, so a broker does not hand them out again later). */
    const delivered = async (): Promise<string[]> => {
      const deliveries = await queue.pull(10, 0);
      for (const delivery of deliveries) await delivery.ack();
      return deliveries.map((delivery) => delivery.message.runId).sort();
    };

    it('publishes every queued run again at start when the queue forgets', async () => {
      const sweep = dispatcher(seenAs(queue, false));
      assert.equal(await sweep.start(), 2);
      await sweep.stop();
      assert.deepEqual(await delivered(), runIds);
    });

    it('publishes none again at start when the queue is durable, until they wait unclaimed too long', async () => {
      const durable = seenAs(queue, true);
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
}
