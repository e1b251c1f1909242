// Scheduler nodes as processes on PostgreSQL and NATS: 3 scheduler processes share 1,000 per-second schedules
// (catch-up `all`), and one of them is SIGKILLed every 10 s for a minute, a new one started in its place.
// Every tick of every schedule in the window must have exactly one run: none missed, none twice. The figures
// (ticks, the longest and the p99 wait of a tick, which is the takeover) are printed.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
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

const SCHEDULES = 1_000;
const KILLS = 6;
const KILL_EVERY_MS = 10_000;
const LEASE_TTL_MS = 2_000;

describe(
  'scheduler processes killed one by one',
  { skip: skipUnless(POSTGRES_AVAILABLE && NATS_AVAILABLE, 'PostgreSQL and NATS JetStream') },
  () => {
    const suffix = randomBytes(4).toString('hex');
    const database = `hg_failover_${suffix}`;
    const namespace = `hg-failover-${suffix}`;
    const storeUrl = databaseUrl(database);
    const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-failover-'));
    let api: ServerProcess;
    let schedulers: ServerProcess[] = [];
    let tenant: TestTenant;

    const env = (): Record<string, string> => ({
      HOURGLASS_STORE: storeUrl,
      HOURGLASS_QUEUE: NATS_URL,
      HOURGLASS_NATS_NAMESPACE: namespace,
      HOURGLASS_SCHEDULER_LEASE_TTL_MS: String(LEASE_TTL_MS),
    });
    const startScheduler = () =>
      ServerProcess.start({
        dataDir,
        args: ['--roles', 'scheduler', '--port', '0'],
        env: { ...env(), HOURGLASS_ADMIN_KEY: api.adminKey },
      });

    before(async () => {
      await createDatabase(database);
      api = await ServerProcess.start({ dataDir, args: ['--roles', 'api', '--port', '0'], env: env() });
      schedulers = [await startScheduler(), await startScheduler(), await startScheduler()];
      tenant = await api.createTenant('failover', { runsPerSecond: 5_000, maxSchedules: SCHEDULES });
    });
    after(async () => {
      for (const server of [...schedulers, api]) await server?.stop({ cleanup: false });
      await dropDatabase(database).catch(() => undefined);
      await deleteNamespaceStream(namespace);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it(
      'misses no tick and runs none twice while a node is SIGKILLed every 10 s',
      { timeout: 180_000 },
      async (t) => {
        await api.create(tenant.key, '/v1/jobs', { name: 'tick', command: ['true'] });
        const queue = Array.from({ length: SCHEDULES }, (_, n) => n);
        await Promise.all(
          Array.from({ length: 8 }, async () => {
            while (queue.pop() !== undefined) {
              await api.create(tenant.key, '/v1/jobs/tick/schedules', {
                every: '1s',
                catchup: { mode: 'all', windowSeconds: 600, maxRuns: 100 },
              });
            }
          }),
        );
        // From the second whole second on: every schedule is in some node's partitions by then.
        const from = (Math.floor(Date.now() / 1000) + 3) * 1000;
        const kills: number[] = [];
        for (let k = 0; k < KILLS; k++) {
          await new Promise((resolve) => setTimeout(resolve, KILL_EVERY_MS));
          const victim = schedulers[k % schedulers.length]!;
          kills.push(Date.now());
          await victim.stop({ kill: true, cleanup: false });
          schedulers[k % schedulers.length] = await startScheduler();
        }
        // The last kill's partitions are taken over (lease TTL) and caught up before the window closes.
        await new Promise((resolve) => setTimeout(resolve, LEASE_TTL_MS + 4_000));
        const to = (Math.floor(kills[kills.length - 1]! / 1000) + 1) * 1000;
        const store = new pg.Client({ connectionString: storeUrl });
        await store.connect();
        try {
          const ticks = (to - from) / 1000;
          const perSchedule = await store.query<{ n: string; distinct_ticks: string }>(
            `SELECT count(*) AS n, count(DISTINCT nominal_time) AS distinct_ticks FROM runs
           WHERE schedule_id IS NOT NULL AND nominal_time >= $1 AND nominal_time < $2 GROUP BY schedule_id`,
            [from, to],
          );
          const waits = await store.query<{ p99: number; max: number; late: string }>(
            `SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY created_at - nominal_time) AS p99,
             max(created_at - nominal_time) AS max, count(*) FILTER (WHERE created_at - nominal_time > 1000) AS late
           FROM runs WHERE schedule_id IS NOT NULL AND nominal_time >= $1 AND nominal_time < $2`,
            [from, to],
          );
          const total = perSchedule.rows.reduce((sum, row) => sum + Number(row.n), 0);
          const missed =
            SCHEDULES * ticks - perSchedule.rows.reduce((s, r) => s + Number(r.distinct_ticks), 0);
          const duplicates = total - perSchedule.rows.reduce((s, r) => s + Number(r.distinct_ticks), 0);
          t.diagnostic(
            `${SCHEDULES} schedules × ${ticks} ticks, ${KILLS} kills: ${total} runs, missed ${missed}, duplicates ${duplicates}; ` +
              `tick wait p99 ${Math.round(Number(waits.rows[0]!.p99))} ms, max ${waits.rows[0]!.max} ms (takeover), ` +
              `${waits.rows[0]!.late} ticks over 1 s late`,
          );
          assert.equal(perSchedule.rows.length, SCHEDULES, 'every schedule fired');
          assert.equal(missed, 0, 'no tick missed');
          assert.equal(duplicates, 0, 'no tick fired twice');
        } finally {
          await store.end();
        }
      },
    );
  },
);
