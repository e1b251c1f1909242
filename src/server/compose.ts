// The composition root of `hourglass server`: the only place that constructs adapters. Embedded mode: a
// SQLite store and log files under the data directory, an in-process queue filled from the store, and the
// roles asked for (API, scheduler, worker; the reaper and the release of blocked runs always) in this one
// process; and, with --metrics-port, a port of its own for the operations endpoints whatever the roles.

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { HourglassError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import { FileLogStore } from '../adapters/files/file-log-store.js';
import { EgressNetworks } from '../adapters/container/egress-network.js';
import { RuncExecutor } from '../adapters/container/runc-executor.js';
import { probeContainerRuntime } from '../adapters/container/runtime-probe.js';
import { OciImageCache } from '../adapters/oci/oci-image-cache.js';
import { LauncherExecutor } from '../adapters/process/launcher-executor.js';
import { probeProcessSandbox } from '../adapters/process/process-sandbox.js';
import { systemClock } from '../adapters/system/system-clock.js';
import { WebhookHttpClient } from '../adapters/http/webhook-http-client.js';
import { buildApi } from '../api/app.js';
import { renderRun } from '../api/render.js';
import { buildOpsApi } from '../api/ops-app.js';
import { createMetrics } from '../observability/metrics.js';
import { BlockedRunReleaser } from '../services/blocked-runs.js';
import { JobService } from '../services/job-service.js';
import { RunDispatcher } from '../services/run-dispatcher.js';
import { Reaper } from '../services/reaper.js';
import { RunService } from '../services/run-service.js';
import { ForecastService } from '../services/forecast-service.js';
import { RunsDueGauge } from '../services/runs-due-gauge.js';
import { StatsRoller } from '../services/stats-roller.js';
import { ScheduleService } from '../services/schedule-service.js';
import { SchedulerEngine, type SchedulerMetrics } from '../services/scheduler/scheduler-engine.js';
import { RegistryCredentialService } from '../services/registry-credentials.js';
import { TenantService } from '../services/tenant-service.js';
import { WebhookDeliverer } from '../services/webhooks/webhook-deliverer.js';
import { WebhookService } from '../services/webhook-service.js';
import { WorkerAgent } from '../services/worker/worker-agent.js';
import type { WorkerMetrics } from '../services/worker/worker-metrics.js';
import { bootstrap, type BootstrapResult } from './bootstrap.js';
import { CredentialsKeyError, loadCredentialsKey, type CredentialsKey } from './credentials-key.js';
import type { Clock } from '../ports/clock.js';
import type { ContainerRuntimeStatus } from '../ports/executor.js';
import { DEFAULT_CONTAINER_ID_MAP } from '../ports/images.js';
import type { ServerConfig } from './config.js';
import { CREDENTIALS_FILE, LOGS_DIR, prepareDataDir, tightenDataFiles } from './data-dir.js';
import { describeStore, openBackends } from './backends.js';
import { API_PORT, listenOn, METRICS_PORT } from './listen.js';

export interface RunningServer {
  /** The API's URL; empty when this process runs no api role. */
  url: string;
  /** `http://host:port/metrics` on the metrics port (`--metrics-port`); empty when there is none. */
  metricsUrl: string;
  roles: readonly string[];
  /** Where the store and the queue are, for the banner (a PostgreSQL password hidden). */
  backends: string;
  bootstrap: BootstrapResult;
  /** Whether this process's worker can run containers; null when it runs no worker. */
  containerRuntime: ContainerRuntimeStatus | null;
  stop(): Promise<void>;
}

export const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Fields never written to the log, at any of the first two levels of a line's objects. */
const LOG_REDACTIONS = ['password', '*.password', 'registryCredentials', '*.registryCredentials'];

function credentialsKeyOf(config: Readonly<ServerConfig>): CredentialsKey {
  try {
    return loadCredentialsKey(config.dataDir, config.credentialsKeyFile);
  } catch (error) {
    if (error instanceof CredentialsKeyError) throw new HourglassError('unavailable', error.message);
    throw error;
  }
}

/**
 * The container runtime of this worker: an image cache and a runc executor under the container directory.
 * Whatever a previous worker on the same directory left (it died mid-run) is removed first.
 */
async function startContainerRuntime(
  config: Readonly<ServerConfig>,
  clock: Clock,
  logger: Logger,
): Promise<RuncExecutor> {
  const { container } = config;
  await mkdir(container.dir, { recursive: true, mode: 0o711 });
  await chmod(container.dir, 0o711); // the containers' root passes through it to their rootfs
  const images = new OciImageCache({
    cacheDir: container.imageCacheDir,
    idMap: DEFAULT_CONTAINER_ID_MAP,
    maxImageBytes: container.maxImageMb * 1024 * 1024,
    maxCacheBytes: container.imageCacheMb * 1024 * 1024,
    tagTtlMs: container.imageTagTtlMs,
    insecureRegistries: container.insecureRegistries,
  });
  const hash = createHash('sha256').update(container.dir).digest('hex');
  // Named by the container directory, so that a restarted worker finds its own leftovers (and only those).
  const networks =
    container.egressPool === null
      ? undefined
      : new EgressNetworks({ prefix: `hg${hash.slice(0, 6)}`, pool: container.egressPool });
  const executor = new RuncExecutor({
    clock,
    runtimePath: container.runtimePath,
    stateRoot: join(container.dir, 'runc'),
    bundleRoot: join(container.dir, 'bundles'),
    images,
    idMap: DEFAULT_CONTAINER_ID_MAP,
    killGraceMs: config.worker.killGraceMs,
    cgroupParent: `/hourglass-${hash.slice(0, 12)}`,
    warmContainers: container.warmContainers,
    onWarmError: (error) => logger.warn({ err: error }, 'a warm container could not be made or removed'),
    ...(networks === undefined ? {} : { networks }),
  });
  await executor.removeOrphans();
  return executor;
}

export async function startServer(config: Readonly<ServerConfig>): Promise<RunningServer> {
  const logger = pino(
    // No code path logs a registry password; the redaction is for one that someday would (a logged spec).
    { level: config.logLevel, base: { service: 'hourglass' }, redact: LOG_REDACTIONS },
    pino.destination(2),
  );
  const dataDirWasLoose = prepareDataDir(config.dataDir); // 0700 before anything in it is opened
  const clock = systemClock;
  const backends = await openBackends(config, clock, (error) =>
    logger.warn({ err: error }, 'partition maintenance failed; it is tried again at the next interval'),
  );
  const { store, queue, signals, scheduleChanges } = backends;
  const logs = new FileLogStore({
    root: join(config.dataDir, LOGS_DIR),
    maxBytes: config.worker.logMaxBytes,
  });
  const tightened = tightenDataFiles(config.dataDir, dataDirWasLoose);
  const credentialsKey = credentialsKeyOf(config);
  const metrics = createMetrics();
  metrics.setQueueDepthSource(() => queue.depth());
  // A run that ends before its time (cancelled) leaves the queue at once, not when it comes due.
  signals.on((signal) => {
    if (signal.type === 'finished') void queue.discard?.([signal.runId]);
  });

  const tenants = new TenantService(store, clock);
  const jobs = new JobService(store, signals, clock, scheduleChanges);
  const runs = new RunService(store, queue, jobs, signals, clock, {
    preDispatchLeadMs: config.scheduler.leadMs,
  });
  const schedules = new ScheduleService(store, jobs, scheduleChanges, clock);
  const registries = new RegistryCredentialService(store, clock, credentialsKey.key);
  const webhooks = new WebhookService(store, clock, randomBytes, new Set(config.webhooks.allowHosts));
  const forecast = new ForecastService(store, clock);
  const boot = await bootstrap(store, tenants, {
    configuredAdminKey: config.adminKey,
    credentialsPath: join(config.dataDir, CREDENTIALS_FILE),
    now: clock.now(),
  });
  // The process runtime in a launcher process: forks and start times off this event loop. Made before the API
  // so that /readyz and job responses can say what it confines.
  const processExecutor = config.roles.includes('worker')
    ? new LauncherExecutor({
        scratchRoot: join(config.dataDir, 'scratch'),
        killGraceMs: config.worker.killGraceMs,
        sandbox: probeProcessSandbox({ runUidBase: config.worker.runUidBase }),
      })
    : null;
  const containerRuntime = config.roles.includes('worker')
    ? await probeContainerRuntime(config.container.runtimePath, process.getuid?.() === 0)
    : null;
  const containerExecutor =
    containerRuntime !== null && containerRuntime.unavailableReason === null
      ? await startContainerRuntime(config, clock, logger.child({ role: 'containers' }))
      : null;
  // The store is the queue's outbox: runs come within the queue's horizon, or their message was lost, are
  // published by this sweep. The in-process queue starts empty, so the first sweep fills it again.
  // One process (the in-process queue) sweeps and reaps for itself. Where processes share a queue, the
  // scheduler node that holds partition 0 does, so that the work is done somewhere definite and once.
  let scheduler: SchedulerEngine | null = null;
  const leads = (): boolean =>
    config.queue.kind === 'memory' || (scheduler?.ownedPartitions().includes(0) ?? false);
  const dispatcher = new RunDispatcher({
    store,
    queue,
    signals,
    clock,
    logger: logger.child({ role: 'dispatcher' }),
    active: leads,
  });
  await dispatcher.start();

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
      forecast,
      registries,
      webhooks,
      metrics,
      logger,
      bodyLimitBytes: config.bodyLimitBytes,
      followLimits: config.logFollows,
      version: VERSION,
      isReady: () => ready,
      processIsolation: processExecutor?.isolation ?? null,
      containerRuntime,
    });
  }
  // The metrics port, whatever the roles: the only HTTP a scheduler or worker without the API serves.
  const opsApi =
    config.metricsPort === null
      ? null
      : await buildOpsApi({
          store,
          metrics,
          logger,
          isReady: () => ready,
          processIsolation: processExecutor?.isolation ?? null,
          containerRuntime,
        });
  // Every process that serves /metrics keeps the fleet's runs-due gauge, for an autoscaler to read.
  const runsDue =
    api !== null || opsApi !== null
      ? new RunsDueGauge(forecast, metrics.runsDue, clock, logger.child({ role: 'forecast' }))
      : null;
  // Every api process keeps the overview's counts of recently read tenants rolled up between their reads.
  const statsRoller = api !== null ? new StatsRoller(store, clock, logger.child({ role: 'stats' })) : null;
  let metricsUrl = '';
  try {
    if (api !== null) url = await listenOn(api, config.host, config.port, API_PORT);
    if (opsApi !== null && config.metricsPort !== null)
      metricsUrl = `${await listenOn(opsApi, config.host, config.metricsPort, METRICS_PORT)}/metrics`;
  } catch (error) {
    // A port taken, say: nothing is left open, and the first-start credentials stay in their file.
    await api?.close();
    await opsApi?.close();
    await dispatcher.stop();
    await processExecutor?.close(); // its launcher process would keep this one alive
    await containerExecutor?.close(); // its warm containers
    await backends.close();
    throw error;
  }

  const runMetrics: WorkerMetrics = {
    runFinished(outcome, durationMs, lag) {
      metrics.runsFinished.inc({ outcome });
      metrics.runDuration.observe(durationMs / 1000);
      if (lag !== null) metrics.runLag.observe(lag / 1000);
    },
  };
  let worker: WorkerAgent | null = null;
  if (processExecutor !== null) {
    const workerId = newId('worker', clock.now(), randomBytes);
    worker = new WorkerAgent(
      {
        store,
        queue,
        executors: {
          process: processExecutor,
          ...(containerExecutor === null ? {} : { container: containerExecutor }),
        },
        logStore: logs,
        signals,
        clock,
        logger: logger.child({ role: 'worker', host: hostname() }), // the agent adds its workerId
        metrics: runMetrics,
        registryCredentials: (tenantId, image) => registries.credentialsForImage(tenantId, image),
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
    active: leads,
  });
  reaper.start();
  // Webhook deliveries go out from the API's processes (embedded mode has one): they already face the
  // network, scale out with it, and claims with leases keep several from sending one delivery at once.
  const deliverer = config.roles.includes('api')
    ? new WebhookDeliverer({
        store,
        sender: new WebhookHttpClient({ allowHosts: config.webhooks.allowHosts }),
        clock,
        logger: logger.child({ role: 'webhooks' }),
        hmac: (key, message) => createHmac('sha256', key).update(message).digest(),
        renderRun,
        // Kept as long as the runs they report on are (a PostgreSQL store's retention).
        keepSettledMs: config.retentionDays * 86_400_000,
        onAttempt: (outcome) => metrics.webhookAttempts.inc({ outcome }),
      })
    : null;
  deliverer?.start();
  ready = true;
  runsDue?.start();
  statsRoller?.start();
  if (tightened > 0)
    logger.warn({ dataDir: config.dataDir, files: tightened }, 'data files had loose modes: tightened');
  logger.info(
    {
      url,
      ...(metricsUrl === '' ? {} : { metricsUrl }),
      roles: config.roles,
      dataDir: config.dataDir,
      store: describeStore(config.store),
      version: VERSION,
    },
    'hourglass started',
  );
  if (credentialsKey.created) {
    logger.warn(
      { path: credentialsKey.path, keyId: credentialsKey.keyId },
      'generated the registry credentials key: back it up apart from the data directory',
    );
  }

  return {
    url,
    metricsUrl,
    roles: config.roles,
    backends: `Store: ${describeStore(config.store)}; queue: ${
      config.queue.kind === 'memory' ? 'in-process' : `NATS JetStream at ${config.queue.servers.join(',')}`
    }`,
    bootstrap: boot,
    containerRuntime,
    async stop() {
      ready = false;
      // New requests are refused from here (503). The scheduler stops firing and gives its partitions back;
      // the worker stops next: its runs are released back to the queue for the next start. Then the API
      // closes, ending open log streams, then the metrics port, and the store last.
      await scheduler?.stop();
      await dispatcher.stop();
      await worker?.stop();
      await processExecutor?.close(); // its launcher process
      await containerExecutor?.close(); // its warm containers
      await blockedRuns.stop();
      await reaper.stop();
      await deliverer?.stop();
      await runsDue?.stop();
      await statsRoller?.stop();
      await api?.close();
      await opsApi?.close(); // after the roles have stopped: scrapes see them stop
      await backends.close();
      logger.info({}, 'hourglass stopped');
      logger.flush();
    },
  };
}
