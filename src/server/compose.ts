// The composition root of `hourglass server`: the only place that constructs adapters. Embedded mode: a
// SQLite store and log files under the data directory, an in-process queue rebuilt from the store, and the
// roles asked for (API, scheduler, worker; the reaper and the release of blocked runs always) in this one
// process.

import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { newId } from '../core/ids.js';
import { FileLogStore } from '../adapters/files/file-log-store.js';
import { InProcessQueue } from '../adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../adapters/in-process/in-process-schedule-changes.js';
import { LauncherExecutor } from '../adapters/process/launcher-executor.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { systemClock } from '../adapters/system/system-clock.js';
import { buildApi } from '../api/app.js';
import { createMetrics } from '../observability/metrics.js';
import { BlockedRunReleaser } from '../services/blocked-runs.js';
import { JobService } from '../services/job-service.js';
import { rebuildQueue } from '../services/queue-rebuild.js';
import { Reaper } from '../services/reaper.js';
import { RunService } from '../services/run-service.js';
import { ScheduleService } from '../services/schedule-service.js';
import { SchedulerEngine, type SchedulerMetrics } from '../services/scheduler/scheduler-engine.js';
import { TenantService } from '../services/tenant-service.js';
import { WorkerAgent } from '../services/worker/worker-agent.js';
import type { WorkerMetrics } from '../services/worker/worker-metrics.js';
import { bootstrap, type BootstrapResult } from './bootstrap.js';
import type { ServerConfig } from './config.js';

export interface RunningServer {
  url: string;
  bootstrap: BootstrapResult;
  stop(): Promise<void>;
}

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export async function startServer(config: Readonly<ServerConfig>): Promise<RunningServer> {
  const logger = pino({ level: config.logLevel, base: { service: 'hourglass' } }, pino.destination(2));
  mkdirSync(config.dataDir, { recursive: true });
  const clock = systemClock;
  const store = SqliteStore.open(join(config.dataDir, 'hourglass.db'));
  const queue = new InProcessQueue({ clock });
  const signals = new InProcessRunSignals();
  const scheduleChanges = new InProcessScheduleChanges();
  const logs = new FileLogStore({ root: join(config.dataDir, 'logs'), maxBytes: config.worker.logMaxBytes });
  const metrics = createMetrics();
  metrics.setQueueDepthSource(() => queue.depth());

  const tenants = new TenantService(store, clock);
  const jobs = new JobService(store, signals, clock, scheduleChanges);
  const runs = new RunService(store, queue, jobs, signals, clock, {
    preDispatchLeadMs: config.scheduler.leadMs,
  });
  const schedules = new ScheduleService(store, jobs, scheduleChanges, clock);
  const boot = await bootstrap(store, tenants, config.adminKey, clock.now());
  // The in-process queue lives in memory: fill it again with every run the store has queued.
  await rebuildQueue(store, queue);

  let ready = false;
  let api: FastifyInstance | null = null;
  let url = '';
  if (config.roles.includes('api')) {
    api = await buildApi({
      store,
      logs,
      signals,
      clock,
      tenants,
      jobs,
      runs,
      schedules,
      metrics,
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      version: VERSION,
      isReady: () => ready,
    });
    url = await api.listen({ host: config.host, port: config.port });
  }

  const runMetrics: WorkerMetrics = {
    runFinished(outcome, durationMs, lag) {
      metrics.runsFinished.inc({ outcome });
      metrics.runDuration.observe(durationMs / 1000);
      if (lag !== null) metrics.runLag.observe(lag / 1000);
    },
  };
  let worker: WorkerAgent | null = null;
  let processExecutor: LauncherExecutor | null = null;
  if (config.roles.includes('worker')) {
    // The process runtime in a launcher process: forks and start times off this event loop.
    processExecutor = new LauncherExecutor({
      scratchRoot: join(config.dataDir, 'scratch'),
      killGraceMs: config.worker.killGraceMs,
    });
    const workerId = newId('worker', clock.now(), randomBytes);
    worker = new WorkerAgent(
      {
        store,
        queue,
        executors: { process: processExecutor },
        logStore: logs,
        signals,
        clock,
        logger: logger.child({ role: 'worker', workerId, host: hostname() }),
        metrics: runMetrics,
      },
      {
        workerId,
        memoryMb: config.worker.memoryMb,
        memoryOvercommit: config.worker.memoryOvercommit,
        maxRuns: config.worker.maxRuns,
        heartbeatIntervalMs: config.worker.heartbeatIntervalMs,
        hostPath: process.env['PATH'] ?? null,
      },
    );
    worker.start();
  }
  const blockedRuns = new BlockedRunReleaser({
    store,
    queue,
    signals,
    clock,
    logger: logger.child({ role: 'blocked-runs' }),
  });
  blockedRuns.start();
  let scheduler: SchedulerEngine | null = null;
  if (config.roles.includes('scheduler')) {
    const nodeId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    const schedulerMetrics: SchedulerMetrics = {
      fired: (outcome, count) => {
        if (count > 0) metrics.schedulerFires.inc({ outcome }, count);
      },
      fireDelay: (ms) => metrics.schedulerFireDelay.observe(ms / 1000),
      owned: (partitions, scheduleCount) => {
        metrics.schedulerPartitions.set(partitions);
        metrics.schedulerSchedules.set(scheduleCount);
      },
    };
    scheduler = new SchedulerEngine(
      { store, queue, signals, changes: scheduleChanges, clock, logger, metrics: schedulerMetrics },
      {
        nodeId,
        leadMs: config.scheduler.leadMs,
        leaseTtlMs: config.scheduler.leaseTtlMs,
        catchupPerSecond: config.scheduler.catchupPerSecond,
      },
    );
    await scheduler.start();
  }
  const reaper = new Reaper({
    store,
    queue,
    clock,
    logger: logger.child({ role: 'reaper' }),
    signals,
    metrics: runMetrics,
    intervalMs: config.reaper.intervalMs,
    staleAfterMs: config.reaper.staleAfterMs,
  });
  reaper.start();
  ready = true;
  logger.info({ url, roles: config.roles, dataDir: config.dataDir, version: VERSION }, 'hourglass started');

  return {
    url,
    bootstrap: boot,
    async stop() {
      ready = false;
      // New requests are refused from here (503). The scheduler stops firing and gives its partitions back;
      // the worker stops next: its runs are released back to the queue for the next start. Then the API
      // closes, ending open log streams, and the store last.
      await scheduler?.stop();
      await worker?.stop();
      await processExecutor?.close(); // its launcher process
      await blockedRuns.stop();
      await reaper.stop();
      await api?.close();
      await queue.close();
      await store.close();
      logger.info({}, 'hourglass stopped');
      logger.flush();
    },
  };
}
