// Fairness when runs wait for capacity: one tenant's backlog does not hold back another tenant's runs. The
// embedded queue hands out ready runs one tenant at a time, in turn (each tenant's in its own order), and a
// worker that fits two runs at once takes them from it as slots free. Real SQLite, the in-process queue and
// real processes, on a manual clock that stands still: the order is read from what the worker launched.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { Run } from '../../src/core/run.js';
import type { Executor } from '../../src/ports/executor.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import { ManualClock } from '../support/manual-clock.js';
import {
  createJob,
  createRun,
  getRun,
  id,
  messageOf,
  waitFor,
  withWorker,
} from '../support/worker-fixtures.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';

const message = (runId: string, tenantId: string): QueueMessage => ({
  runId,
  tenantId,
  attempt: 1,
  memoryMb: 64,
  memoryRequestMb: 16,
  availableAt: 0,
});

describe('Capacity fairness', () => {
  it('the queue hands out ready runs one tenant at a time, each tenant’s in order', async () => {
    const queue = new InProcessQueue({ clock: new ManualClock(1000) });
    try {
      const flood = Array.from({ length: 6 }, (_, i) => message(`a${i}`, 'ten_a'));
      await queue.publish(flood);
      await queue.publish([message('b0', 'ten_b'), message('b1', 'ten_b'), message('c0', 'ten_c')]);
      const order: string[] = [];
      for (;;) {
        const deliveries = await queue.pull(2, 0);
        if (deliveries.length === 0) break;
        for (const delivery of deliveries) {
          order.push(delivery.message.runId);
          await delivery.ack();
        }
      }
      assert.deepEqual(order, ['a0', 'b0', 'c0', 'a1', 'b1', 'a2', 'a3', 'a4', 'a5']);
    } finally {
      await queue.close();
    }
  });

  it('a tenant’s backlog does not hold back another tenant’s runs on a full worker', async () => {
    const clock = new ManualClock('2026-12-02T08:00:00.000Z');
    const launched: string[] = [];
    const recording = (inner: Executor): Executor => ({
      runtime: inner.runtime,
      execute(spec, hooks, signal) {
        launched.push(spec.runId);
        return inner.execute(spec, hooks, signal);
      },
    });
    await withWorker(
      SQLITE_MEMORY,
      { clock, memoryMb: 2 * 64 + 32, maxRuns: 8, heartbeatIntervalMs: 60_000, wrapExecutor: recording },
      async ({ world }) => {
        const other: Tenant = {
          id: id('tenant'),
          name: 'other',
          limits: { ...DEFAULT_PLAN_LIMITS, allowHostCommands: true }, // its runs are host commands
          createdAt: clock.now(),
        };
        await world.store.createTenant(other);
        const resources = { memoryMb: 64, memoryRequestMb: 64 };
        const floodJob = await createJob(world, { command: ['true'], args: [], resources });
        const otherJob = await createJob(world, {
          tenantId: other.id,
          command: ['true'],
          args: [],
          resources,
        });
        const at = { nominalTime: clock.now(), dueAt: clock.now(), availableAt: clock.now() };
        const flood: Run[] = [];
        for (let i = 0; i < 12; i++) flood.push(await createRun(world, floodJob, at));
        const others: Run[] = [];
        for (let i = 0; i < 3; i++) others.push(await createRun(world, otherJob, at));
        // The flood first, all at once; the other tenant's runs after it.
        await world.queue.publish(flood.map((run) => messageOf(run, floodJob)));
        await world.queue.publish(others.map((run) => messageOf(run, otherJob)));
        const runs = [...flood, ...others];
        await waitFor('every run to end', async () => {
          const current = await Promise.all(runs.map((run) => getRun(world, run)));
          return current.every((run) => run.status === 'succeeded') ? true : undefined;
        });
        // Served in turn: once the worker pulls again, the other tenant's runs alternate with the flood's, so
        // all three start before the flood's last run (in one line, they would come after all twelve).
        const positions = others.map((run) => launched.indexOf(run.id));
        assert.ok(
          positions.every((position) => position >= 0 && position < flood.length),
          `the other tenant's runs were launched at ${positions.join(', ')} of ${launched.length}`,
        );
        const floodOrder = launched.filter((runId) => flood.some((run) => run.id === runId));
        assert.deepEqual(
          floodOrder,
          flood.map((run) => run.id),
          'a tenant’s own runs out of order',
        );
      },
    );
  });
});
