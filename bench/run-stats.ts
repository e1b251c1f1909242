// bench/run-stats: what GET /v1/stats costs the store at a million runs in one tenant. Tenant A has `runs`
// runs finished over the last day (a steady rate, so the 1h window holds 1/24 of them), started 0 to 2 s
// after their due time, a few in each failure outcome; tenant B as many again, to show that A's cost does
// not depend on B's runs. Each store's getRunStats is timed for A's 1h and 24h windows and for the fleet's
// (both tenants), after a warm-up, and the plans of the bucket query are printed.
//
//   npm run build && node dist/bench/run-stats.js [--runs 1000000] [--repeats 10] [--stores sqlite,postgres]
//
// Rows are written straight into the tables (SQLite: one transaction; PostgreSQL: INSERT … SELECT
// generate_series, into the day partitions a 30-day retention would hold): the firing path is not what is
// measured. Ids are unique text, not real run ids (no query here parses them); id_time is the run's time.

import Database from 'better-sqlite3';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import { DAY_MS, partitionName } from '../src/adapters/postgres/postgres-partitions.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { STATS_LIST_LIMIT, statsWindowAt, type StatsWindowName } from '../src/core/run-stats.js';
import { DEFAULT_PLAN_LIMITS } from '../src/core/tenant.js';
import type { Store } from '../src/ports/store.js';
import { readRunStats } from '../src/services/stats-service.js';
import { ManualClock } from '../test/support/manual-clock.js';
import { createPostgresDatabase, postgresUrlOf } from '../test/support/store-factories.js';
import { round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '1000000' },
    repeats: { type: 'string', default: '10' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    /** Leave the PostgreSQL database behind (its name is printed), to EXPLAIN by hand. */
    keep: { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const REPEATS = Number(values.repeats);
const RECOUNTS = Math.min(REPEATS, 3);
const NOW = Date.now();
const START = NOW - DAY_MS;
const TENANTS = ['ten_bench_a', 'ten_bench_b'];

/** Run i of a tenant: finished at START + i·step, lag i mod 2000 ms, every 97th failed, 1009th timed out. */
const STATUS_SQL = (i: string) =>
  `CASE WHEN ${i} % 1009 = 0 THEN 'timed_out' WHEN ${i} % 97 = 0 THEN 'failed' ELSE 'succeeded' END`;

async function createTenants(store: Store): Promise<void> {
  for (const id of TENANTS) {
    await store.createTenant({ id, name: id, limits: { ...DEFAULT_PLAN_LIMITS }, createdAt: START });
  }
}

function seedSqlite(path: string): void {
  const db = new Database(path);
  const step = DAY_MS / RUNS;
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < @runs),
     t(tenant) AS (SELECT value FROM json_each(@tenants))
     INSERT INTO runs (id, tenant_id, job_id, status, attempt, exit_code, created_at, nominal_time, due_at,
       available_at, dispatched_at, started_at, finished_at)
     SELECT tenant || '_' || i, tenant, 'job_bench', ${STATUS_SQL('i')}, 1, 0, at, at, at, at, at,
       at + i % 2000, at + i % 2000 + 100
     FROM (SELECT tenant, i, CAST(@start + i * @step AS INTEGER) AS at FROM t, n)`,
  ).run({ runs: RUNS, tenants: JSON.stringify(TENANTS), start: START, step });
  db.exec('ANALYZE');
  db.close();
}

async function seedPostgres(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const today = Math.floor(NOW / DAY_MS) * DAY_MS;
    for (let day = today - 30 * DAY_MS; day < today; day += DAY_MS) {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName('runs', day)} PARTITION OF runs
         FOR VALUES FROM (${day}) TO (${day + DAY_MS})`,
      );
    }
    const step = DAY_MS / RUNS;
    await client.query(
      `INSERT INTO runs (id, id_time, tenant_id, job_id, status, attempt, exit_code, created_at, nominal_time,
         due_at, available_at, dispatched_at, started_at, finished_at)
       SELECT tenant || '_' || i, at, tenant, 'job_bench', ${STATUS_SQL('i')}, 1, 0, at, at, at, at, at,
         at + i % 2000, at + i % 2000 + 100
       FROM unnest($1::text[]) AS tenant, generate_series(0, $2::int - 1) AS i,
         LATERAL (SELECT ($3::bigint + i * $4::float8)::bigint AS at) AS t`,
      [TENANTS, RUNS, START, step],
    );
    await client.query('VACUUM ANALYZE runs');
  } finally {
    await client.end();
  }
}

/**
 * One window three ways: a recount of every run in it (getRunStats over the whole window, what a read cost
 * before the roll-up), the first read through the roll-up (it rolls up the tenant's last day: what a
 * tenant's first look costs), and later reads, each 10 s after the one before as the console refreshes
 * (a new minute to roll up every sixth).
 */
async function timeStats(store: Store, tenantId: string | null, name: StatsWindowName) {
  const window = statsWindowAt(name, NOW);
  const query = {
    tenantId,
    from: window.from,
    to: window.to,
    bucketMs: window.bucketMs,
    limit: STATS_LIST_LIMIT,
  };
  const counted = await store.getRunStats(query); // warm-up
  const recount: number[] = [];
  for (let i = 0; i < RECOUNTS; i++) {
    const startedAt = performance.now();
    await store.getRunStats(query);
    recount.push(performance.now() - startedAt);
  }
  const clock = new ManualClock(NOW);
  const firstStart = performance.now();
  const first = await readRunStats(store, clock, tenantId, name);
  const firstMs = performance.now() - firstStart;
  const later: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    clock.advance(10_000);
    const startedAt = performance.now();
    await readRunStats(store, clock, tenantId, name);
    later.push(performance.now() - startedAt);
  }
  const finished = counted.outcomes.reduce((sum, o) => sum + o.count, 0);
  const read = first.series.reduce((sum, b) => sum + Object.values(b.counts).reduce((x, y) => x + y, 0), 0);
  if (read !== finished) throw new Error(`the roll-up read ${read} runs where a recount finds ${finished}`);
  return {
    who: tenantId ?? 'fleet',
    window: name,
    finished,
    recountP50Ms: round(summarize(recount).p50, 1),
    firstReadMs: round(firstMs, 1),
    laterP50Ms: round(summarize(later).p50, 1),
    laterMaxMs: round(summarize(later).max, 1),
  };
}

/** Each store in a fresh database: the roll-up marks of one window's first read serve the next. */
async function measure(store: Store) {
  const rows = [];
  for (const name of ['24h', '1h'] as const) {
    rows.push(await timeStats(store, 'ten_bench_a', name));
    rows.push(await timeStats(store, null, name));
  }
  return rows;
}

async function benchSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-stats-'));
  const path = join(dir, 'hourglass.db');
  try {
    const setup = SqliteStore.open(path);
    await createTenants(setup);
    await setup.close();
    const seedStart = performance.now();
    seedSqlite(path);
    console.log(
      `sqlite: seeded ${RUNS} runs × 2 tenants in ${round((performance.now() - seedStart) / 1000)} s`,
    );
    const db = new Database(path, { readonly: true });
    const window = statsWindowAt('1h', NOW);
    const plan = db
      .prepare<[number, number, number], { detail: string }>(
        `EXPLAIN QUERY PLAN SELECT CAST((finished_at - ?) / ? AS INTEGER), status, COUNT(*) FROM runs
         WHERE tenant_id IN (SELECT value FROM json_each('["ten_bench_a"]')) AND finished_at >= ?
           AND finished_at < ${window.to} GROUP BY 1, 2`,
      )
      .all(window.from, window.bucketMs, window.from);
    db.close();
    console.log('sqlite plan:', plan.map((r) => r.detail).join(' | '));
    const store = SqliteStore.open(path);
    try {
      const rows = await measure(store);
      console.table(rows);
      return rows;
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres() {
  const database = await createPostgresDatabase();
  const url = postgresUrlOf(database.name);
  try {
    const setup = await PostgresStore.open({ connectionString: url });
    await createTenants(setup);
    await setup.close();
    const seedStart = performance.now();
    await seedPostgres(url);
    console.log(
      `postgres: seeded ${RUNS} runs × 2 tenants in ${round((performance.now() - seedStart) / 1000)} s`,
    );
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const window = statsWindowAt('1h', NOW);
    const plan = await client.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT ((finished_at - $2) / $4)::int, status, COUNT(*) FROM runs
       WHERE tenant_id = ANY($1::text[]) AND finished_at >= $2 AND finished_at < $3 GROUP BY 1, 2`,
      [['ten_bench_a'], window.from, window.to, window.bucketMs],
    );
    await client.end();
    console.log(`postgres plan:\n${plan.rows.map((r) => r['QUERY PLAN']).join('\n')}`);
    const store = await PostgresStore.open({ connectionString: url });
    try {
      const rows = await measure(store);
      console.table(rows);
      return rows;
    } finally {
      await store.close();
    }
  } finally {
    if (values.keep) console.log(`kept database ${database.name}`);
    else await database.drop();
  }
}

const stores = (values.stores ?? '').split(',');
const results: Record<string, unknown> = {};
const loadBefore = loadavg()[0];
if (stores.includes('sqlite')) results.sqlite = await benchSqlite();
if (stores.includes('postgres')) results.postgres = await benchPostgres();
const date = new Date().toISOString();
mkdirSync('bench/results', { recursive: true });
const file = `bench/results/run-stats-${RUNS >= 1e6 ? `${RUNS / 1e6}m` : `${RUNS / 1e3}k`}-${date.slice(0, 10)}.json`;
const report = { date, runs: RUNS, repeats: REPEATS, loadAverage: [loadBefore, loadavg()[0]], results };
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(`wrote ${file}`);
