// The roles as processes of their own, on PostgreSQL and NATS JetStream: an api+scheduler process and two
// worker processes share a database and a stream (a namespace of the test's own). A run created through the
// API runs on a worker; a cancel reaches the worker holding the run; a schedule fires on the workers; and a
// worker SIGKILLed mid-run has its run recorded lost by the scheduler's reaper within 3 heartbeat intervals,
// then retried exactly once on the other worker.

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

const HEARTBEAT_MS = 500;

describe(
  'roles as processes on PostgreSQL and NATS',
  { skip: skipUnless(POSTGRES_AVAILABLE && NATS_AVAILABLE, 'PostgreSQL and NATS JetStream') },
  () => {
    const suffix = randomBytes(4).toString('hex');
    const database = `hg_e2e_${suffix}`;
    const namespace = `hg-e2e-${suffix}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-distributed-'));
    let api: ServerProcess;
    const workers: ServerProcess[] = [];
    let tenant: TestTenant;

    const env = (): Record<string, string> => ({
      HOURGLASS_STORE: databaseUrl(database),
      HOURGLASS_QUEUE: NATS_URL,
      HOURGLASS_NATS_NAMESPACE: namespace,
      HOURGLASS_HEARTBEAT_MS: String(HEARTBEAT_MS),
      HOURGLASS_LOG_LEVEL: 'info',
    });
    /** A worker process, with the api's admin key (an operator's key is one for the deployment). */
    const startWorker = () =>
      ServerProcess.start({
        dataDir,
        args: ['--roles', 'worker', '--port', '0'],
        env: { ...env(), HOURGLASS_ADMIN_KEY: api.adminKey, HOURGLASS_LOG_LEVEL: 'debug' },
      });
    /** The worker process whose log names the run (a worker logs each run it executes, at debug). */
    const workerOf = (runId: string): ServerProcess | undefined =>
      workers.find((worker) => worker.output.stderr.includes(runId));

    before(async () => {
      await createDatabase(database);
      api = await ServerProcess.start({
        dataDir,
        args: ['--roles', 'api,scheduler', '--port', '0'],
        env: env(),
      });
      workers.push(await startWorker(), await startWorker());
      tenant = await api.createTenant('distributed', { allowHostCommands: true });
    });
    after(async () => {
      for (const server of [...workers, api]) await server?.stop({ cleanup: false });
      await dropDatabase(database).catch(() => undefined);
      await deleteNamespaceStream(namespace);
      rmSync(dataDir, { recursive: true, force: true });
    });

    async function runJob(name: string, command: string, body: Record<string, unknown> = {}): Promise<any> {
      await api.create(tenant.key, '/v1/jobs', { name, command: ['/bin/sh', '-c', command], ...body });
      return api.create(tenant.key, `/v1/jobs/${name}/runs`);
    }

    it('runs a run created through the API on a worker process, its log readable through the API', async () => {
      const created = await runJob('hello', 'echo "hello from $HOURGLASS_RUN_ID"');
      const run = await api.waitForRun(tenant.key, created.id, undefined, 30_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      assert.ok(workerOf(run.id) !== undefined, 'a worker process ran it');
      const logs = await api.request('GET', `/v1/runs/${run.id}/logs`, { key: tenant.key });
      assert.equal(logs.text, `hello from ${run.id}\n`);
    });

    it('cancels a run held by another process at once', async (t) => {
      const created = await runJob('sleeper', 'sleep 30');
      await api.waitForRun(tenant.key, created.id, ['running'], 30_000);
      const asked = Date.now();
      await api.request('POST', `/v1/runs/${created.id}/cancel`, { key: tenant.key });
      const run = await api.waitForRun(tenant.key, created.id, undefined, 30_000);
      const tookMs = Date.now() - asked;
      assert.equal(run.status, 'cancelled');
      t.diagnostic(`cancel → cancelled across processes: ${tookMs} ms`);
      assert.ok(tookMs < 10_000);
    });

    it('fires a schedule on the worker processes, once per tick', async () => {
      await api.create(tenant.key, '/v1/jobs', { name: 'every', command: ['true'] });
      const schedule = await api.create(tenant.key, '/v1/jobs/every/schedules', { every: '1s' });
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      await api.request('POST', `/v1/schedules/${schedule.id}/pause`, { key: tenant.key });
      const runs = await api.request('GET', `/v1/runs?scheduleId=${schedule.id}&limit=100`, {
        key: tenant.key,
      });
      const ticks = (runs.body.items as { nominalTime: string }[]).map((r) => r.nominalTime);
      assert.ok(ticks.length >= 3, `${ticks.length} ticks`);
      assert.equal(new Set(ticks).size, ticks.length, 'no tick ran twice');
    });

    it('records a SIGKILLed worker’s run lost within 3 heartbeats, and retries it once elsewhere', async (t) => {
      const created = await runJob(
        'survivor',
        'if [ "$HOURGLASS_ATTEMPT" = 1 ]; then sleep 60; fi; echo "attempt $HOURGLASS_ATTEMPT"',
        { retry: { maxAttempts: 3, backoffSeconds: 0 } },
      );
      await api.waitForRun(tenant.key, created.id, ['running'], 30_000);
      for (let i = 0; i < 100 && workerOf(created.id) === undefined; i++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const victim = workerOf(created.id);
      assert.ok(victim, 'the worker process holding the run');
      const killedAt = Date.now();
      await victim.stop({ kill: true, cleanup: false });
      // Lost, with a retry: the timeline's retry_scheduled, its reason the lost heartbeat.
      let lostAt = 0;
      for (let i = 0; i < 400 && lostAt === 0; i++) {
        const current = await api.request('GET', `/v1/runs/${created.id}`, { key: tenant.key });
        const timeline = current.body.timeline as { type: string; detail?: string | null }[];
        if (timeline.some((e) => e.type === 'retry_scheduled')) lostAt = Date.now();
        else await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const run = await api.waitForRun(tenant.key, created.id, ['succeeded', 'failed', 'lost'], 30_000);
      t.diagnostic(`SIGKILL → lost observed after ${lostAt - killedAt} ms (heartbeat ${HEARTBEAT_MS} ms)`);
      assert.equal(run.status, 'succeeded', JSON.stringify(run));
      assert.equal(run.attempt, 2, 'retried exactly once');
      const survivor = workers.find((worker) => worker !== victim)!;
      assert.ok(survivor.output.stderr.includes(created.id), 'attempt 2 ran on the other worker');
      assert.ok(
        lostAt > 0 && lostAt - killedAt <= 3 * HEARTBEAT_MS + 500,
        `lost after ${lostAt - killedAt} ms`,
      );
      workers.splice(workers.indexOf(victim), 1);
    });
  },
);
