// bench/runs-list-tenancy: whether `GET /v1/runs?jobId=` costs depend on another tenant's data. Tenant A has
// one job with a few runs; tenant B one job with many. A lists runs by its own job's id, by B's job's id (a
// foreign id) and by an id nobody has, through the real server (HTTP, API role only), interleaved, and the
// response times are compared. A foreign id must cost what an unknown one does.
//
//   npm run build && node dist/bench/runs-list-tenancy.js [--other-runs 300000] [--requests 300]
//
// The runs are written straight into the store's SQLite file before the server starts (the server's own
// insert path fsyncs each run: seeding hundreds of thousands would take minutes, and is not what is measured).

import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { newId } from '../src/core/ids.js';
import { JOB_DEFAULTS, type Job } from '../src/core/job.js';
import { DEFAULT_PLAN_LIMITS, type Tenant } from '../src/core/tenant.js';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    'other-runs': { type: 'string', default: '300000' },
    'own-runs': { type: 'string', default: '100' },
    requests: { type: 'string', default: '300' },
    out: { type: 'string' },
  },
});
const OTHER_RUNS = Number(values['other-runs']);
const OWN_RUNS = Number(values['own-runs']);
const REQUESTS = Number(values.requests);

function tenant(name: string, at: number): Tenant {
  return { id: newId('tenant', at, randomBytes), name, limits: { ...DEFAULT_PLAN_LIMITS }, createdAt: at };
}

function job(tenantId: string, name: string, at: number): Job {
  return {
    id: newId('job', at, randomBytes),
    tenantId,
    name,
    image: null,
    command: ['true'],
    args: [],
    env: {},
    resources: { memoryMb: 64 },
    timeoutSeconds: JOB_DEFAULTS.timeoutSeconds,
    retry: { maxAttempts: 1, backoffSeconds: 0 },
    createdAt: at,
    updatedAt: at,
  };
}

function seedRuns(path: string, of: Job, count: number, start: number): void {
  const db = new Database(path);
  const insert = db.prepare(`INSERT INTO runs (id, tenant_id, job_id, status, attempt, exit_code, created_at,
    nominal_time, due_at, available_at, dispatched_at, started_at, finished_at)
    VALUES (?, ?, ?, 'succeeded', 1, 0, ?, ?, ?, ?, ?, ?, ?)`);
  db.transaction(() => {
    for (let i = 0; i < count; i++) {
      const at = start + i;
      insert.run(newId('run', at, randomBytes), of.tenantId, of.id, at, at, at, at, at, at, at + 5);
    }
  })();
  db.close();
}

function queryPlan(path: string, tenantId: string, jobId: string): string[] {
  const db = new Database(path, { readonly: true });
  const rows = db
    .prepare<[string, string], { detail: string }>(
      `EXPLAIN QUERY PLAN SELECT id FROM runs WHERE tenant_id = ? AND id < 'run_~' AND job_id = ?
       ORDER BY id DESC LIMIT 51`,
    )
    .all(tenantId, jobId);
  db.close();
  return rows.map((r) => r.detail);
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-bench-tenancy-'));
  const dbPath = join(dataDir, 'hourglass.db');
  const now = Date.now() - 86_400_000;
  const a = tenant('small', now);
  const b = tenant('large', now);
  const jobA = job(a.id, 'mine', now);
  const jobB = job(b.id, 'theirs', now);
  const store = SqliteStore.open(dbPath);
  await store.createTenant(a);
  await store.createTenant(b);
  await store.insertJob(jobA, 1000);
  await store.insertJob(jobB, 1000);
  await store.close();
  const seedStart = performance.now();
  seedRuns(dbPath, jobB, OTHER_RUNS, now);
  seedRuns(dbPath, jobA, OWN_RUNS, now + OTHER_RUNS);
  console.log(`seeded ${OTHER_RUNS} + ${OWN_RUNS} runs in ${round(performance.now() - seedStart)} ms`);
  const plan = queryPlan(dbPath, a.id, jobB.id);
  console.log('query plan of a job-filtered list:', plan.join(' | '));

  const server = await ServerProcess.start({ dataDir, args: ['--roles', 'api'] });
  try {
    const created = await server.request('POST', `/v1/tenants/${a.id}/keys`, {
      key: server.adminKey,
      body: {},
    });
    const key = created.body.key as string;
    const kinds = {
      own: jobA.id,
      foreign: jobB.id,
      unknown: newId('job', now, randomBytes),
    } as const;
    const samples: Record<keyof typeof kinds, number[]> = { own: [], foreign: [], unknown: [] };
    const statuses: Record<string, number> = {};
    const measure = async (kind: keyof typeof kinds, record: boolean) => {
      const startedAt = performance.now();
      const res = await server.request('GET', `/v1/runs?jobId=${kinds[kind]}`, { key });
      const ms = performance.now() - startedAt;
      statuses[`${kind} ${res.status}`] = (statuses[`${kind} ${res.status}`] ?? 0) + 1;
      if (record) samples[kind].push(ms);
    };
    for (let i = 0; i < 20; i++) for (const kind of Object.keys(kinds)) await measure(kind as 'own', false);
    for (let i = 0; i < REQUESTS; i++) {
      for (const kind of Object.keys(kinds)) await measure(kind as 'own', true);
    }
    const result = {
      date: new Date().toISOString(),
      otherRuns: OTHER_RUNS,
      ownRuns: OWN_RUNS,
      requests: REQUESTS,
      queryPlan: plan,
      statuses,
      ms: Object.fromEntries(
        Object.entries(samples).map(([kind, list]) => {
          const s = summarize(list);
          return [
            kind,
            { p50: round(s.p50, 2), p90: round(s.p90, 2), p99: round(s.p99, 2), max: round(s.max, 2) },
          ];
        }),
      ),
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.out !== undefined)
      writeFileSync(join(REPO_ROOT, values.out), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
