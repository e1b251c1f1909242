// The scheduler engine publishes a batch's runs while it writes the next batch (scheduler-engine.ts,
// persistInBatches): at most one publish in flight, the firing done only once the last is acknowledged, and a
// failed publish failing the firing with nothing lost or fired twice, its runs published at the next firing. The queue is the real in-process queue
// seen through a wrapper that delays or fails publishes and records when they start and end.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { HourglassError } from '../../src/core/errors.js';
import type { QueueMessage, RunQueue } from '../../src/ports/queue.js';
import type { Store } from '../../src/ports/store.js';
import { SchedulerEngine } from '../../src/services/scheduler/scheduler-engine.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';
import { SchedulerWorld, step } from '../support/scheduler-fixtures.js';
import { silentLogger } from '../support/worker-fixtures.js';

const BATCH = 10;
const SCHEDULES = 40; // four batches of one tick

/** The in-process queue whose publishes take `delayMs`, the `failing`-th of them failing; every step logged. */
class SlowQueue implements RunQueue {
  readonly durable = false;
  readonly events: string[] = [];
  readonly published: QueueMessage[] = [];
  inFlight = 0;
  maxInFlight = 0;
  private calls = 0;

  constructor(
    private readonly inner: InProcessQueue,
    private readonly delayMs: number,
    private readonly failing = 0,
  ) {}

  async publish(messages: QueueMessage[]): Promise<void> {
    const call = ++this.calls;
    this.events.push(`publish ${call}`);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await sleep(this.delayMs);
      if (call === this.failing) throw new HourglassError('unavailable', `publish ${call} refused`);
      await this.inner.publish(messages);
      this.published.push(...messages);
      this.events.push(`acked ${call}`);
    } finally {
      this.inFlight--;
    }
  }
  pull = (max: number, waitMs: number, signal?: AbortSignal) => this.inner.pull(max, waitMs, signal);
  depth = () => this.inner.depth();
  close = () => this.inner.close();
}

describe('scheduler engine: publishing while the next batch is written', () => {
  let world: SchedulerWorld;
  const closing: (() => Promise<void>)[] = [];
  beforeEach(async () => {
    world = await SchedulerWorld.open('2026-06-01T12:00:00.500Z', SQLITE_MEMORY);
    for (let i = 0; i < SCHEDULES; i++) await world.addSchedule({ cron: '0 * * * * *' });
  });
  afterEach(async () => {
    for (const close of closing.splice(0)) await close();
    await world.close();
  });

  /** An engine on the world's store whose writes are logged into the queue's events. */
  function engineWith(queue: SlowQueue): SchedulerEngine {
    let writes = 0;
    const store = new Proxy(world.store, {
      get(target, key, receiver) {
        if (key !== 'fireTicks') return Reflect.get(target, key, receiver);
        return async (...args: Parameters<Store['fireTicks']>) => {
          const result = await target.fireTicks(...args);
          queue.events.push(`written ${++writes}`);
          return result;
        };
      },
    });
    closing.push(() => queue.close());
    const deps = {
      store,
      queue,
      signals: new InProcessRunSignals(),
      changes: new InProcessScheduleChanges(),
      clock: world.clock,
      logger: silentLogger,
    };
    return new SchedulerEngine(deps, { nodeId: 'n1', leadMs: 0, batchSize: BATCH });
  }

  /** Steps the engine as its loop would, up to 12:01:00: every schedule's tick. */
  async function fireTheMinute(engine: SchedulerEngine): Promise<void> {
    await step(engine);
    world.clock.advance(59_000);
    await step(engine);
    world.clock.advance(500);
    await step(engine);
  }

  it('writes batch k+1 while batch k is published, one publish in flight, done after the last ack', async () => {
    const queue = new SlowQueue(new InProcessQueue({ clock: world.clock }), 30);
    const engine = engineWith(queue);
    await fireTheMinute(engine);
    assert.deepEqual(queue.events, [
      'written 1',
      'publish 1',
      'written 2',
      'acked 1',
      'publish 2',
      'written 3',
      'acked 2',
      'publish 3',
      'written 4',
      'acked 3',
      'publish 4',
      'acked 4',
    ]);
    assert.equal(queue.maxInFlight, 1);
    assert.equal(new Set(queue.published.map((m) => m.runId)).size, SCHEDULES, 'every run, once');
  });

  it('a failed publish fails the firing; the rest is fired next time, no run lost or made twice', async () => {
    const queue = new SlowQueue(new InProcessQueue({ clock: world.clock }), 5, 2);
    const engine = engineWith(queue);
    await assert.rejects(fireTheMinute(engine), /publish 2 refused/);
    // Batch 3 was written while publish 2 failed: it stays unpublished with it; batch 4 is kept for later.
    assert.deepEqual(queue.events.slice(-2), ['publish 2', 'written 3']);
    const written = await world.store.listRuns(world.tenant.id, { limit: 1000 });
    assert.equal(written.items.length, SCHEDULES - BATCH, 'the last batch waits for the next firing');
    await engine.fireDue();
    const runs = await world.store.listRuns(world.tenant.id, { limit: 1000 });
    assert.equal(runs.items.length, SCHEDULES, 'every tick has its run, once');
    assert.ok(runs.items.every((run) => run.status === 'queued'));
    // Batches 2 and 3 were kept and go first at that next firing, before batch 4.
    assert.deepEqual(queue.events.slice(-5), ['publish 3', 'acked 3', 'written 4', 'publish 4', 'acked 4']);
    assert.equal(new Set(queue.published.map((m) => m.runId)).size, SCHEDULES, 'every run published');
  });
});
