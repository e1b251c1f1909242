// The metrics port (`--metrics-port`) of processes without the API, on PostgreSQL and NATS: a scheduler
// process and a worker process each serve /metrics, /healthz and /readyz on a port of their own (0: a free one,
// read from the banner), and nothing else there: no /v1 route, with a key or without. An api process beside
// them creates the run and the schedule whose metrics the others show.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createDatabase,
  databaseUrl,
  deleteNamespaceStream,
  dropDatabase,
  POSTGRES_AVAILABLE,
} from '../support/distributed-services.js';
import { NATS_AVAILABLE, NATS_URL } from '../support/hint-factories.js';
import { skipUnless } from '../support/required-services.js';
import { ServerProcess, type TestTenant } from '../support/server-process.js';

/** GETs (or `method`s) `path` on the port of `metricsUrl`. */
async function onMetricsPort(
  metricsUrl: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(new URL(path, metricsUrl), init);
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

/** The value of an unlabelled sample, or of one with exactly `labels`; undefined when it is not there. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? '' : `{${labels}}`} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe(
  'the metrics port of processes without the API',
  { skip: skipUnless(POSTGRES_AVAILABLE && NATS_AVAILABLE, 'PostgreSQL and NATS JetStream') },
  () => {
    const suffix = randomBytes(4).toString('hex');
    const database = `hg_e2e_${suffix}`;
    const namespace = `hg-e2e-${suffix}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-role-metrics-'));
    const started: ServerProcess[] = [];
    let scheduler: ServerProcess;
    let worker: ServerProcess;
    let api: ServerProcess;
    let tenant: TestTenant;

    const start = async (roles: string, adminKey?: string): Promise<ServerProcess> => {
      const server = await ServerProcess.start({
        dataDir,
        args: ['--roles', roles, '--metrics-port', '0'],
        env: {
          HOURGLASS_STORE: databaseUrl(database),
          HOURGLASS_QUEUE: NATS_URL,
          HOURGLASS_NATS_NAMESPACE: namespace,
          ...(adminKey === undefined ? {} : { HOURGLASS_ADMIN_KEY: adminKey }),
        },
      });
      started.push(server);
      return server;
    };

    before(async () => {
      await createDatabase(database);
      // The first process records its admin key; the others are started with the same one.
      api = await start('api');
      scheduler = await start('scheduler', api.adminKey);
      worker = await start('worker', api.adminKey);
      tenant = await api.createTenant('metrics', { allowHostCommands: true });
    });
    after(async () => {
      for (const server of started.reverse()) await server.stop({ cleanup: false });
      await dropDatabase(database).catch(() => undefined);
      await deleteNamespaceStream(namespace);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('prints the chosen metrics port in every banner, a port apart from the API', () => {
      for (const server of [scheduler, worker, api]) {
        assert.match(server.metricsUrl, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, server.output.stdout);
        assert.notEqual(new URL(server.metricsUrl).port, '0');
      }
      assert.match(scheduler.output.stdout, /^Hourglass is running: scheduler \(no API in this process\)\n/);
      assert.equal(scheduler.url, '');
      assert.notEqual(new URL(api.metricsUrl).port, new URL(api.url).port);
    });

    it('serves the scheduler’s metrics: the partitions it leases, the ticks it fires', async () => {
      await api.create(tenant.key, '/v1/jobs', { name: 'tick', command: ['true'] });
      await api.create(tenant.key, '/v1/jobs/tick/schedules', { every: '1s' });
      const scraped = await eventually(
        () => onMetricsPort(scheduler.metricsUrl, '/metrics'),
        (r) =>
          (sample(r.text, 'hourglass_scheduler_partitions') ?? 0) > 0 &&
          (sample(r.text, 'hourglass_scheduler_fires_total', 'outcome="queued"') ?? 0) > 0,
      );
      assert.equal(scraped.status, 200);
      assert.match(scraped.type, /^text\/plain; version=0\.0\.4/);
      // The only scheduler: it takes every partition.
      assert.equal(sample(scraped.text, 'hourglass_scheduler_partitions'), 256, scraped.text);
      assert.ok((sample(scraped.text, 'hourglass_scheduler_fires_total', 'outcome="queued"') ?? 0) > 0);
      assert.ok((sample(scraped.text, 'hourglass_scheduler_fire_delay_seconds_count') ?? 0) > 0);
      // Nothing of the worker's here: this process runs no run.
      assert.equal(sample(scraped.text, 'hourglass_run_duration_seconds_count'), 0);
    });

    it('serves the worker’s metrics: the runs it finished', async () => {
      await api.create(tenant.key, '/v1/jobs', { name: 'once', command: ['true'] });
      const created = await api.create(tenant.key, '/v1/jobs/once/runs');
      const run = await api.waitForRun(tenant.key, created.id, undefined, 30_000);
      assert.equal(run.status, 'succeeded');
      const scraped = await eventually(
        () => onMetricsPort(worker.metricsUrl, '/metrics'),
        (r) => (sample(r.text, 'hourglass_runs_finished_total', 'outcome="succeeded"') ?? 0) > 0,
      );
      assert.equal(scraped.status, 200);
      assert.ok((sample(scraped.text, 'hourglass_runs_finished_total', 'outcome="succeeded"') ?? 0) >= 1);
      assert.ok((sample(scraped.text, 'hourglass_run_duration_seconds_count') ?? 0) >= 1);
      assert.equal(sample(scraped.text, 'hourglass_scheduler_partitions'), 0, 'no scheduler here');
      // The api process counts the runs it created, on its metrics port and on its API port alike.
      const fromApi = (await onMetricsPort(api.metricsUrl, '/metrics')).text;
      assert.ok((sample(fromApi, 'hourglass_runs_created_total') ?? 0) >= 1, fromApi);
      assert.match((await api.request('GET', '/metrics')).text, /^hourglass_runs_created_total [1-9]/m);
    });

    it('answers /healthz and /readyz as the API does', async () => {
      const health = await onMetricsPort(worker.metricsUrl, '/healthz');
      assert.equal(health.status, 200);
      assert.deepEqual(JSON.parse(health.text), { status: 'ok' });
      const ready = await onMetricsPort(worker.metricsUrl, '/readyz');
      assert.equal(ready.status, 200);
      const body = JSON.parse(ready.text);
      assert.equal(body.status, 'ready');
      assert.notEqual(body.isolation.processRuntime, null, 'a worker says what its runs are confined by');
      const schedulerReady = JSON.parse((await onMetricsPort(scheduler.metricsUrl, '/readyz')).text);
      assert.deepEqual(schedulerReady.isolation, { processRuntime: null, containerRuntime: null });
    });

    it('serves nothing else: no /v1 route, with a key or without', async () => {
      const auth = { authorization: `Bearer ${tenant.key}` };
      const admin = { authorization: `Bearer ${api.adminKey}` };
      for (const server of [scheduler, worker, api]) {
        for (const [path, init] of [
          ['/v1/jobs', { headers: auth }],
          ['/v1/runs', { headers: auth }],
          ['/v1/tenants', { headers: admin }],
          ['/v1/openapi.json', {}],
          ['/', {}],
          ['/metrics/extra', {}],
          ['/metrics', { method: 'POST' }],
        ] as const) {
          const answer = await onMetricsPort(server.metricsUrl, path, init);
          assert.equal(answer.status, 404, `${init.method ?? 'GET'} ${path}: ${answer.text}`);
          assert.match(answer.type, /^application\/problem\+json/);
          assert.equal(JSON.parse(answer.text).code, 'not_found');
          assert.doesNotMatch(answer.text, new RegExp(tenant.id));
        }
      }
    });
  },
);
