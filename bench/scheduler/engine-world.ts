// The scheduler engine on its own, for the benchmarks: a SQLite store in a fresh directory on disk (the same
// synchronous=FULL firing as the server), a tenant and a job, N schedules written in bulk, and one engine
// firing them into an in-process queue that a consumer drains, recording when each run was handed over.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { SCHEDULE_COLUMNS, scheduleToRow } from '../../src/adapters/sqlite/sqlite-schedule-rows.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { newId, timeOfId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { nextFireAfter } from '../../src/core/schedule-time.js';
import { newScheduleBase, partitionOf, timeSpecOf, type Schedule } from '../../src/core/schedule.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../../src/core/tenant.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import type { Store } from '../../src/ports/store.js';
import { applyScheduleInput } from '../../src/services/schedule-input.js';
import { SchedulerEngine } from '../../src/services/scheduler/scheduler-engine.js';

function doubled(from: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const to = new Float64Array(from.length * 2);
  to.set(from);
  return to;
}

/**
 * What the consumer took: each run's nominal time (read from its id) and when it was taken, in typed arrays.
 * Keeping the messages themselves kept 100k objects alive through a burst, and the GC's copying of them was the
 * bench's own cost, counted against the engine's CPU.
 */
export class TakenLog {
  length = 0;
  nominal = new Float64Array(1024);
  at = new Float64Array(1024);

  push(nominal: number, at: number): void {
    if (this.length === this.at.length) {
      this.nominal = doubled(this.nominal);
      this.at = doubled(this.at);
    }
    this.nominal[this.length] = nominal;
    this.at[this.length] = at;
    this.length++;
  }
}

export interface EngineWorld {
  dir: string;
  /** The nominal time of every schedule's first tick. */
  firstTick: number;
  store: SqliteStore;
  queue: InProcessQueue;
  engine: SchedulerEngine;
  /** The runs the consumer took: their nominal time and when. */
  consumed: TakenLog;
  stopConsumer(): Promise<void>;
  close(): Promise<void>;
}

export const LEAD_MS = 800;

/** Writes `count` schedules of one cron spec in one transaction, as the service would have made them. */
export function bulkInsertSchedules(
  dbPath: string,
  tenantId: string,
  jobId: string,
  count: number,
  cron: string,
  firstAfter: () => number = Date.now,
): number {
  const db = new Database(dbPath);
  const columns = SCHEDULE_COLUMNS.split(',').map((c) => c.trim());
  const insert = db.prepare(
    `INSERT INTO schedules (${columns.join(', ')}, change_seq) VALUES (${columns.map((c) => `@${c}`).join(', ')}, @change_seq)`,
  );
  const now = Date.now();
  // One schedule made by the service's own rules, copied under new ids: validating a cron a million times
  // would take longer than the benchmark.
  const base = { ...newScheduleBase({ id: '', tenantId, jobId, partition: 0 }, now), spec: null };
  const template = applyScheduleInput(base, { cron, timezone: 'UTC' }, DEFAULT_PLAN_LIMITS, now);
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const id = newId('schedule', now, randomBytes);
      const schedule: Schedule = { ...template, id, partition: partitionOf(id) };
      insert.run({ ...scheduleToRow(schedule), change_seq: i + 1 });
    }
  })();
  const first = nextFireAfter(timeSpecOf(template.spec), firstAfter());
  if (first === null) throw new Error(`${cron} has no tick`);
  db.prepare('UPDATE schedules SET next_fire_at = ?').run(first);
  db.close();
  return first;
}

/** A tenant with the default limits and one job of `true`, in the store: what the benches' schedules run. */
export async function seedTenantAndJob(
  store: Pick<Store, 'createTenant' | 'insertJob'>,
  now: number,
): Promise<{ tenant: Tenant; job: Job }> {
  const tenant: Tenant = {
    id: newId('tenant', now, randomBytes),
    name: 'bench',
    limits: { ...DEFAULT_PLAN_LIMITS, allowHostCommands: true },
    createdAt: now,
  };
  await store.createTenant(tenant);
  const job: Job = {
    id: newId('job', now, randomBytes),
    tenantId: tenant.id,
    name: 'tick',
    image: null,
    command: ['true'],
    args: [],
    env: {},
    resources: { memoryMb: 16 },
    timeoutSeconds: 60,
    retry: { maxAttempts: 1, backoffSeconds: 0 },
    createdAt: now,
    updatedAt: now,
  };
  await store.insertJob(job, Number.MAX_SAFE_INTEGER);
  return { tenant, job };
}

export async function openEngineWorld(options: {
  schedules: number;
  cron: string;
  /** The schedules' first tick is the cron's first after what this returns, asked once they are written. */
  firstAfter?: () => number;
  /** Instead of recording each message taken, hand it to this (the peers bench claims and times it). */
  consume?: (message: QueueMessage, store: SqliteStore) => Promise<void> | void;
}): Promise<EngineWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-scheduler-'));
  const dbPath = join(dir, 'hourglass.db');
  const store = SqliteStore.open(dbPath);
  const now = Date.now();
  const { tenant, job } = await seedTenantAndJob(store, now);
  const firstTick = bulkInsertSchedules(
    ...([dbPath, tenant.id, job.id, options.schedules, options.cron, options.firstAfter] as const),
  );

  const queue = new InProcessQueue({ clock: systemClock });
  const engine = new SchedulerEngine(
    {
      store,
      queue,
      signals: new InProcessRunSignals(),
      changes: new InProcessScheduleChanges(),
      clock: systemClock,
      logger: pino({ level: 'warn' }, pino.destination(2)),
    },
    { nodeId: 'bench', leadMs: LEAD_MS, batchSize: 5000 },
  );
  const consumed = new TakenLog();
  const stop = new AbortController();
  const consumer = (async () => {
    while (!stop.signal.aborted) {
      const deliveries = await queue.pull(100_000, 100, stop.signal);
      const at = Date.now();
      for (const delivery of deliveries) {
        if (options.consume === undefined) consumed.push(timeOfId(delivery.message.runId), at);
        else await options.consume(delivery.message, store);
        await delivery.ack();
      }
    }
  })();
  return {
    dir,
    firstTick,
    store,
    queue,
    engine,
    consumed,
    async stopConsumer() {
      stop.abort();
      await consumer;
    },
    async close() {
      stop.abort();
      await consumer;
      await engine.stop();
      await queue.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
