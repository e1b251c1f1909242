// Fixtures for the scheduler engine's tests: one real SQLite store shared by any number of engines (each with
// its own in-process queue, signals and change channel, as separate nodes would have), a manual clock they
// all read, a tenant and a job, and a way to make schedules as the schedule service would.

import { randomBytes } from 'node:crypto';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import type { Run } from '../../src/core/run.js';
import { newScheduleBase, partitionOf, type Schedule } from '../../src/core/schedule.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import type { Store } from '../../src/ports/store.js';
import { applyScheduleInput, type ScheduleInput } from '../../src/services/schedule-input.js';
import {
  SchedulerEngine,
  type SchedulerEngineOptions,
} from '../../src/services/scheduler/scheduler-engine.js';
import { ManualClock } from './manual-clock.js';
import { NO_JOB_LIMIT } from './store-factories.js';
import { silentLogger } from './worker-fixtures.js';

export interface SchedulerNode {
  engine: SchedulerEngine;
  queue: InProcessQueue;
  signals: InProcessRunSignals;
  changes: InProcessScheduleChanges;
  /** Every message this node's queue has been given so far (drains the queue). */
  drain(): Promise<QueueMessage[]>;
}

export class SchedulerWorld {
  readonly store = SqliteStore.open(':memory:');
  readonly tenant: Tenant;
  job!: Job;
  private readonly nodes: SchedulerNode[] = [];

  constructor(readonly clock: ManualClock) {
    this.tenant = {
      id: newId('tenant', clock.now(), randomBytes),
      name: 'acme',
      limits: { ...DEFAULT_PLAN_LIMITS, allowHostCommands: true },
      createdAt: clock.now(),
    };
  }

  static async open(start: string): Promise<SchedulerWorld> {
    const world = new SchedulerWorld(new ManualClock(start));
    await world.store.createTenant(world.tenant);
    const at = world.clock.now();
    world.job = {
      id: newId('job', at, randomBytes),
      tenantId: world.tenant.id,
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
    await world.store.insertJob(world.job, NO_JOB_LIMIT);
    return world;
  }

  /** An engine on the world's store, or on `store` (the world's store seen through a test's wrapper). */
  node(
    nodeId: string,
    options: Partial<SchedulerEngineOptions> = {},
    store: Store = this.store,
  ): SchedulerNode {
    const queue = new InProcessQueue({ clock: this.clock });
    const signals = new InProcessRunSignals();
    const changes = new InProcessScheduleChanges();
    const engine = new SchedulerEngine(
      { store, queue, signals, changes, clock: this.clock, logger: silentLogger },
      { leadMs: 0, leaseTtlMs: 10_000, ...options, nodeId },
    );
    const node: SchedulerNode = {
      engine,
      queue,
      signals,
      changes,
      async drain() {
        const messages: QueueMessage[] = [];
        for (;;) {
          const deliveries = await queue.pull(10_000, 0);
          if (deliveries.length === 0) return messages;
          for (const delivery of deliveries) {
            messages.push(delivery.message);
            await delivery.ack();
          }
        }
      },
    };
    this.nodes.push(node);
    return node;
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
    for (const node of this.nodes) await node.queue.close();
    await this.store.close();
  }
}

/** One pass of what the engine's loop does, in its order. */
export async function step(engine: SchedulerEngine): Promise<void> {
  await engine.syncLeases();
  await engine.applyChanges();
  await engine.reconcile();
  await engine.fireDue();
}
