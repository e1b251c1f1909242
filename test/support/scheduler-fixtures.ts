// Fixtures for the scheduler engine's tests: one store and one queue from the factories of an adapter pair
// (adapter-pairs.ts), shared by any number of engines (each with its own signals and change channel, as
// separate nodes would have), a manual clock they all read (the queue too), a tenant and a job, and a way to
// make schedules as the schedule service would. The engines only publish; the test drains what they did.

import { randomBytes } from 'node:crypto';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import type { Run } from '../../src/core/run.js';
import { newScheduleBase, partitionOf, type Schedule } from '../../src/core/schedule.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { QueueMessage, RunQueue } from '../../src/ports/queue.js';
import type { Store } from '../../src/ports/store.js';
import { applyScheduleInput, type ScheduleInput } from '../../src/services/schedule-input.js';
import {
  SchedulerEngine,
  type SchedulerEngineOptions,
} from '../../src/services/scheduler/scheduler-engine.js';
import type { AdapterPair } from './adapter-pairs.js';
import { ManualClock } from './manual-clock.js';
import type { QueueLocation } from './queue-factories.js';
import { NO_JOB_LIMIT, type DurableStoreLocation } from './store-factories.js';
import { silentLogger } from './worker-fixtures.js';

export interface SchedulerNode {
  engine: SchedulerEngine;
  signals: InProcessRunSignals;
  changes: InProcessScheduleChanges;
}

interface OpenedAdapters {
  store: Store;
  queue: RunQueue;
  storeLocation: DurableStoreLocation;
  queueLocation: QueueLocation;
}

export class SchedulerWorld {
  readonly store: Store;
  /** The queue every node publishes to. */
  readonly queue: RunQueue;
  readonly tenant: Tenant;
  job!: Job;
  private readonly nodes: SchedulerNode[] = [];

  private constructor(
    readonly clock: ManualClock,
    private readonly adapters: OpenedAdapters,
  ) {
    this.store = adapters.store;
    this.queue = adapters.queue;
    this.tenant = {
      id: newId('tenant', clock.now(), randomBytes),
      name: 'acme',
      limits: { ...DEFAULT_PLAN_LIMITS, allowHostCommands: true },
      createdAt: clock.now(),
    };
  }

  /** A world on `adapters` whose clock starts at `start`; close() removes what it opened. */
  static async open(start: string, adapters: AdapterPair): Promise<SchedulerWorld> {
    const clock = new ManualClock(start);
    const storeLocation = await adapters.store.createLocation({ migrated: true });
    const { store } = await storeLocation.open();
    const queueLocation = await adapters.queue.createLocation({ clock });
    const queue = await queueLocation.open();
    const world = new SchedulerWorld(clock, { store, queue, storeLocation, queueLocation });
    try {
      await world.seed();
    } catch (error) {
      await world.close();
      throw error;
    }
    return world;
  }

  private async seed(): Promise<void> {
    await this.store.createTenant(this.tenant);
    const at = this.clock.now();
    this.job = {
      id: newId('job', at, randomBytes),
      tenantId: this.tenant.id,
      name: 'tick',
      image: null,
      command: ['true'],
      args: [],
      env: {},
      resources: { memoryMb: 64 },
      timeoutSeconds: 60,
      retry: { maxAttempts: 1, backoffSeconds: 0 },
      createdAt: at,
      updatedAt: at,
    };
    await this.store.insertJob(this.job, NO_JOB_LIMIT);
  }

  /** An engine on the world's store, or on `store` (the world's store seen through a test's wrapper). */
  node(
    nodeId: string,
    options: Partial<SchedulerEngineOptions> = {},
    store: Store = this.store,
  ): SchedulerNode {
    const signals = new InProcessRunSignals();
    const changes = new InProcessScheduleChanges();
    const engine = new SchedulerEngine(
      { store, queue: this.queue, signals, changes, clock: this.clock, logger: silentLogger },
      { leadMs: 0, leaseTtlMs: 10_000, ...options, nodeId },
    );
    const node: SchedulerNode = { engine, signals, changes };
    this.nodes.push(node);
    return node;
  }

  /** Every message the nodes have published since the last drain, in the queue's order (acked). */
  async drain(): Promise<QueueMessage[]> {
    const messages: QueueMessage[] = [];
    for (;;) {
      const deliveries = await this.queue.pull(10_000, 0);
      if (deliveries.length === 0) return messages;
      for (const delivery of deliveries) {
        messages.push(delivery.message);
        await delivery.ack();
      }
    }
  }

  /** A schedule as the schedule service makes one (its own rules): next tick at or after now and startAt. */
  async addSchedule(input: ScheduleInput): Promise<Schedule> {
    const now = this.clock.now();
    const id = newId('schedule', now, randomBytes);
    const ids = { id, tenantId: this.tenant.id, jobId: this.job.id, partition: partitionOf(id) };
    const schedule = applyScheduleInput(
      { ...newScheduleBase(ids, now), spec: null },
      input,
      this.tenant.limits,
      now,
    );
    await this.store.insertSchedule(schedule, Number.MAX_SAFE_INTEGER);
    return schedule;
  }

  /** The schedule's runs, oldest tick first. */
  async runsOf(scheduleId: string): Promise<Run[]> {
    const page = await this.store.listRuns(this.tenant.id, { scheduleId, limit: 1000 });
    return page.items.sort((a, b) => a.nominalTime - b.nominalTime);
  }

  /** Nominal times of the schedule's runs, as ISO strings (optionally only those in a status). */
  async ticksOf(scheduleId: string, status?: Run['status']): Promise<string[]> {
    const runs = await this.runsOf(scheduleId);
    return runs
      .filter((run) => status === undefined || run.status === status)
      .map((run) => new Date(run.nominalTime).toISOString());
  }

  /** Moves the clock in steps, letting every node sync, reconcile and fire at each one. */
  async runFor(ms: number, stepMs = 250, nodes: SchedulerNode[] = this.nodes): Promise<void> {
    const end = this.clock.now() + ms;
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(stepMs, end - this.clock.now()));
      for (const node of nodes) await step(node.engine);
    }
  }

  async close(): Promise<void> {
    const { store, queue, storeLocation, queueLocation } = this.adapters;
    try {
      await queue.close();
      await queueLocation.destroy();
    } finally {
      await store.close();
      await storeLocation.destroy();
    }
  }
}

/** One pass of what the engine's loop does, in its order. */
export async function step(engine: SchedulerEngine): Promise<void> {
  await engine.syncLeases();
  await engine.applyChanges();
  await engine.reconcile();
  await engine.fireDue();
}
