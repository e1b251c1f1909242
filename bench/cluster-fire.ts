// bench/cluster-fire: 3 scheduler processes (`--roles scheduler`, PostgreSQL store, NATS JetStream queue) firing
// N per-second schedules (`* * * * * *`, default 100,000, spread over 10 tenants). Measured over a window of
// whole seconds after a warm-up:
//
// - fires/s: runs the schedulers created in the window's wall-clock time (created_at), per second;
// - per tick of the window: runs created for it by the end (the window plus 5 s): `unfired` = N × seconds −
//   the ticks with a run — ticks the schedulers had not reached yet when they fall behind, or missed — and
//   `duplicates` = runs − distinct (schedule, tick);
// - lateness, dispatch after due: a plain NATS subscriber on one tenant's subject (a tenth of the runs) gets
//   every message JetStream stores, and records its arrival − the run's due time (its nominal time: no jitter).
//   Negative is early: the scheduler publishes up to its lead (800 ms) before the due time, and the worker
//   holds the run until then. Also, from the store, the firing's own clock: dispatched_at − due_at.
//
// No workers: the stream is purged every second, so that 100k messages a second do not fill the disk.
//
//   npm run build && node dist/bench/cluster-fire.js [--schedules 100000] [--warmup 10] [--seconds 30] [--out FILE]
//     [--cpu-prof DIR]   (each scheduler's CPU profile, for a look at where the time goes)
//
// Needs PostgreSQL on 127.0.0.1:5432 (trust) and NATS with JetStream on 127.0.0.1:4222.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import pg from 'pg';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { timeOfId } from '../src/core/ids.js';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { createBenchDatabase, seedSchedules } from './cluster/postgres-world.js';
import { round, sleepUntil, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '30' },
    out: { type: 'string' },
    /** A directory for each scheduler's CPU profile (node --cpu-prof), written when it stops. */
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.schedules);
const WARMUP_S = Number(values.warmup);
const SECONDS = Number(values.seconds);
const NATS_URL = 'nats://127.0.0.1:4222';
const SCHEDULERS = 3;
const profileDir = values['cpu-prof'];
/** Time for the schedulers to start and load their partitions before the first tick. */
const START_MARGIN_MS = 20_000;

const namespace = `hourglass-bench-fire-${randomBytes(3).toString('hex')}`;
const stream = `${namespace.toUpperCase().replace(/-/g, '_')}_RUNS`;
const database = await createBenchDatabase('hourglass_bench_fire');
const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-bench-fire-'));
const nc = await connect({ servers: NATS_URL });
const schedulers: ServerProcess[] = [];
let purging: NodeJS.Timeout | undefined;
try {
  const store = await PostgresStore.open({ connectionString: database.url, maintenanceIntervalMs: 0 });
  const seeded = await seedSchedules(store, database.url, {
    tenants: 10,
    count: N,
    cron: '* * * * * *',
    firstAfter: () => Date.now() + START_MARGIN_MS,
  });
  await store.close();
  console.log(`${N} schedules seeded; first tick ${new Date(seeded.firstTick).toISOString()}`);

  const sampledTenant = seeded.jobs[0]?.tenantId ?? '';
  const arrivals: { nominal: number; lateMs: number }[] = [];
  const subscription = nc.subscribe(`${namespace}.runs.${sampledTenant}`, {
    callback: (error, msg) => {
      if (error !== null) return;
      const at = Date.now();
      const { runId } = msg.json<{ runId: string }>();
      const nominal = timeOfId(runId);
      arrivals.push({ nominal, lateMs: at - nominal });
    },
  });

  const adminKey = `hg_bench_admin_${randomBytes(16).toString('hex')}`;
  const env = {
    HOURGLASS_STORE: database.url,
    HOURGLASS_QUEUE: NATS_URL,
    HOURGLASS_NATS_NAMESPACE: namespace,
    HOURGLASS_ADMIN_KEY: adminKey,
    HOURGLASS_LOG_LEVEL: 'error',
  };
  for (let i = 0; i < SCHEDULERS; i++)
    schedulers.push(
      await ServerProcess.start({
        dataDir: join(dataDir, `s${i}`),
        args: ['--roles', 'scheduler'],
        env,
        nodeArgs: profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`],
      }),
    );
  const jsm = await nc.jetstreamManager();
  purging = setInterval(() => void jsm.streams.purge(stream).catch(() => undefined), 1000);

  const windowFrom = seeded.firstTick + WARMUP_S * 1000;
  const windowTo = windowFrom + SECONDS * 1000;
  await sleepUntil(windowTo + 5_000); // the window's last ticks, and a margin to fire what is late
  subscription.unsubscribe();
  const pool = new pg.Pool({ connectionString: database.url, max: 2 });
  const created = await pool.query<{ n: number }>(
    'SELECT COUNT(*)::integer AS n FROM runs WHERE created_at >= $1 AND created_at < $2',
    [windowFrom, windowTo],
  );
  const perTick = await pool.query<{ n: number; distinct_schedules: number }>(
    `SELECT COUNT(*)::integer AS n, COUNT(DISTINCT (schedule_id, nominal_time))::integer AS distinct_schedules
     FROM runs WHERE nominal_time >= $1 AND nominal_time < $2`,
    [windowFrom, windowTo],
  );
  const recorded = await pool.query<{ p50: number; p99: number; max: number }>(
    `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY dispatched_at - due_at)::integer AS p50,
       percentile_disc(0.99) WITHIN GROUP (ORDER BY dispatched_at - due_at)::integer AS p99,
       MAX(dispatched_at - due_at)::integer AS max
     FROM runs WHERE nominal_time >= $1 AND nominal_time < $2`,
    [windowFrom, windowTo],
  );
  await pool.end();
  const expected = N * SECONDS;
  const runs = perTick.rows[0]?.n ?? 0;
  const distinct = perTick.rows[0]?.distinct_schedules ?? 0;
  const sampled = arrivals
    .filter((a) => a.nominal >= windowFrom && a.nominal < windowTo)
    .map((a) => a.lateMs);
  const lateness = summarize(sampled);
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => round(l)) },
    schedules: N,
    schedulers: SCHEDULERS,
    windowSeconds: SECONDS,
    firesPerSecond: Math.round((created.rows[0]?.n ?? 0) / SECONDS),
    ticks: { expected, runs, unfired: expected - distinct, duplicates: runs - distinct },
    dispatchAfterDueMs: {
      sampled: lateness.n,
      p50: round(lateness.p50),
      p99: round(lateness.p99),
      max: round(lateness.max),
    },
    recordedDispatchAfterDueMs: recorded.rows[0] ?? null,
  };
  console.log(JSON.stringify(result, null, 2));
  const out =
    values.out ?? join(REPO_ROOT, 'bench', 'results', `cluster-fire-${result.at.slice(0, 10)}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  if (purging !== undefined) clearInterval(purging);
  for (const scheduler of schedulers) await scheduler.stop({ cleanup: true });
  await (await nc.jetstreamManager()).streams.delete(stream).catch(() => undefined);
  await nc.close();
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
