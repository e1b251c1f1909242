// Prometheus metrics. One registry per server, so tests can run several servers in one process.
// Histograms are in seconds, as Prometheus convention asks.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  runsCreated: Counter;
  runsFinished: Counter<'outcome'>;
  runLag: Histogram;
  runDuration: Histogram;
  schedulerFires: Counter<'outcome'>;
  schedulerFireDelay: Histogram;
  schedulerPartitions: Gauge;
  schedulerSchedules: Gauge;
  /** Fleet-wide runs due to start within 1m, 5m and 15m (services/runs-due-gauge.ts). */
  runsDue: Gauge<'within'>;
  /** Webhook delivery attempts by what came of them (services/webhooks/webhook-deliverer.ts). */
  webhookAttempts: Counter<'outcome'>;
  /** Called on scrape: how many runs wait in the queue. */
  setQueueDepthSource(read: () => Promise<number>): void;
  render(): Promise<string>;
}

const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const DURATION_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

export function createMetrics(): Metrics {
  const registry = new Registry();
  // Node's own metrics under our prefix: hourglass_process_cpu_seconds_total, hourglass_nodejs_heap_size_used_bytes…
  collectDefaultMetrics({ register: registry, prefix: 'hourglass_' });
  let readDepth: () => Promise<number> = async () => 0;
  new Gauge({
    name: 'hourglass_queue_depth',
    help: 'Runs waiting in the queue (ready, delayed or being handed to a worker)',
    registers: [registry],
    async collect() {
      this.set(await readDepth());
    },
  });
  return {
    registry,
    runsCreated: new Counter({
      name: 'hourglass_runs_created_total',
      help: 'Runs created through the API',
      registers: [registry],
    }),
    runsFinished: new Counter({
      name: 'hourglass_runs_finished_total',
      help: 'Attempts that ended, by outcome (succeeded, failed, timed_out, oom_killed, cancelled, lost)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    runLag: new Histogram({
      name: 'hourglass_run_lag_seconds',
      help: 'startedAt − dueAt (the nominal time, plus a schedule’s jitter): how late a run’s process began',
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    runDuration: new Histogram({
      name: 'hourglass_run_duration_seconds',
      help: 'How long an attempt ran, from process start to its end',
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
    webhookAttempts: new Counter({
      name: 'hourglass_webhook_attempts_total',
      help: 'Webhook delivery attempts, by what came of them (succeeded, retry, failed, disable)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    schedulerFires: new Counter({
      name: 'hourglass_scheduler_fires_total',
      help: 'Ticks fired by this node, by what became of them (queued, skipped, blocked, duplicate, stale)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    schedulerFireDelay: new Histogram({
      name: 'hourglass_scheduler_fire_delay_seconds',
      help: 'How late a batch of ticks was fired against its planned time (due − lead); ≤ 0 is on time',
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    schedulerPartitions: new Gauge({
      name: 'hourglass_scheduler_partitions',
      help: 'Partitions this node holds leases on',
      registers: [registry],
    }),
    schedulerSchedules: new Gauge({
      name: 'hourglass_scheduler_schedules',
      help: 'Schedules this node holds in memory',
      registers: [registry],
    }),
    runsDue: new Gauge({
      name: 'hourglass_runs_due',
      help: 'Runs due to start within the next 1m, 5m or 15m, fleet-wide: schedules and runs queued for later',
      labelNames: ['within'],
      registers: [registry],
    }),
    setQueueDepthSource(read) {
      readDepth = read;
    },
    render: () => registry.metrics(),
  };
}
