// How each store reads a "failures only" page of a tenant with many runs: through runs_tenant_status, one
// range per status, never a scan of the tenant's history. SQLite: the plan of the statement listRuns
// compiles. PostgreSQL: EXPLAIN ANALYZE of the statement listRuns sends, counting the rows its scans read
// (returned and filtered out), which a plan that walks the tenant's runs would multiply.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { listRunsQuery } from '../../src/adapters/postgres/postgres-run-list-queries.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { knownStatuses, listStatementSql } from '../../src/adapters/sqlite/sqlite-run-list-queries.js';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import type { RunStatus } from '../../src/core/run-state.js';
import { newQueuedRun } from '../../src/core/run.js';
import { DEFAULT_PLAN_LIMITS } from '../../src/core/tenant.js';
import type { Store } from '../../src/ports/store.js';
import {
  createPostgresDatabase,
  NO_JOB_LIMIT,
  POSTGRES_SKIP,
  postgresUrlOf,
} from '../support/store-factories.js';

const FAILURES: readonly RunStatus[] = ['failed', 'timed_out', 'oom_killed', 'lost'];
const RUNS = 1500;
/** One run in 50 failed: 30 failures among 1,470 successes. */
const FAILED_EVERY = 50;
const LIMIT = 5;

/** A tenant with RUNS runs, one minute apart, ending now; every FAILED_EVERY-th failed. */
async function seedTenant(store: Store): Promise<{ tenantId: string; job: Job }> {
  const now = Date.now();
  const random = (n: number) => randomBytes(n);
  const tenantId = newId('tenant', now, random);
  await store.createTenant({ id: tenantId, name: 'big', limits: DEFAULT_PLAN_LIMITS, createdAt: now });
  const job: Job = {
    id: newId('job', now, random),
    tenantId,
    name: 'nightly',
    image: null,
    command: ['true'],
    args: [],
    env: {},
    resources: { memoryMb: 64 },
    timeoutSeconds: 60,
    retry: { maxAttempts: 1, backoffSeconds: 1 },
    createdAt: now,
    updatedAt: now,
  };
  await store.insertJob(job, NO_JOB_LIMIT);
  const inserts: Promise<unknown>[] = [];
  for (let i = 0; i < RUNS; i++) {
    const at = now - (RUNS - i) * 60_000;
    const status: RunStatus = i % FAILED_EVERY === 0 ? 'failed' : 'succeeded';
    const run = newQueuedRun({ id: newId('run', at, random), tenantId, jobId: job.id, createdAt: at });
    inserts.push(store.insertRun({ run: { ...run, status, finishedAt: at + 1000 }, requestHash: null }));
    if (inserts.length === 50) await Promise.all(inserts.splice(0));
  }
  await Promise.all(inserts);
  return { tenantId, job };
}

describe('listRuns plans (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-plans-'));
  let db: Database.Database;
  let tenantId = '';

  before(async () => {
    const store = SqliteStore.open(join(dir, 'hourglass.db'));
    ({ tenantId } = await seedTenant(store));
    await store.close();
    db = new Database(join(dir, 'hourglass.db'));
    db.exec('ANALYZE');
  });
  after(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const planOf = (sql: string, params: Record<string, unknown>): string[] =>
    db
      .prepare<[Record<string, unknown>], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(params)
      .map((row) => row.detail);
  const page = { below: '~', atOrAbove: '', limit: LIMIT + 1 };

  it('reads a failures-only page as one runs_tenant_status range per status, merged', () => {
    const plan = planOf(listStatementSql(false, false, knownStatuses(FAILURES)), { ...page, tenantId });
    const reads = plan.filter((line) => /\bruns\b/.test(line) && /^(SEARCH|SCAN)/.test(line));
    assert.equal(reads.length, FAILURES.length, plan.join('\n'));
    for (const line of reads) {
      assert.equal(
        line,
        'SEARCH runs USING INDEX runs_tenant_status (tenant_id=? AND status=? AND id>? AND id<?)',
      );
    }
    assert.ok(plan.includes('MERGE (UNION ALL)'), plan.join('\n'));
    assert.ok(!plan.some((line) => line.includes('TEMP B-TREE')), plan.join('\n'));
    const rows = db
      .prepare(listStatementSql(false, false, knownStatuses(FAILURES)))
      .all({ ...page, tenantId });
    assert.equal(rows.length, LIMIT + 1);
  });

  it('reads a job’s page through runs_job, in order', () => {
    const plan = planOf(listStatementSql(true, false, knownStatuses(FAILURES)), {
      ...page,
      tenantId,
      jobId: 'x',
    });
    assert.deepEqual(plan, ['SEARCH runs USING INDEX runs_job (job_id=? AND id>? AND id<?)']);
  });
});

describe('listRuns plans (PostgreSQL)', { skip: POSTGRES_SKIP }, () => {
  let database: { name: string; drop(): Promise<void> } | undefined;
  let client: pg.Client | undefined;
  let tenantId = '';

  before(async () => {
    database = await createPostgresDatabase();
    const store = await PostgresStore.open({
      connectionString: postgresUrlOf(database.name),
      partitionDaysAhead: 1,
      maintenanceIntervalMs: 0,
      poolSize: 4,
      leaseClock: 'caller',
    });
    try {
      ({ tenantId } = await seedTenant(store));
    } finally {
      await store.close();
    }
    client = new pg.Client({ connectionString: postgresUrlOf(database.name) });
    await client.connect();
    await client.query('ANALYZE');
  });
  after(async () => {
    await client?.end();
    await database?.drop();
  });

  interface PlanNode {
    'Node Type': string;
    'Relation Name'?: string;
    'Index Name'?: string;
    'Actual Rows'?: number;
    'Actual Loops'?: number;
    'Rows Removed by Filter'?: number;
    Plans?: PlanNode[];
  }
  const scansOf = (node: PlanNode): PlanNode[] => [
    ...(node['Relation Name']?.startsWith('runs') ? [node] : []),
    ...(node.Plans ?? []).flatMap(scansOf),
  ];

  it('reads a failures-only page as one runs_tenant_status range per status', async () => {
    const query = listRunsQuery(tenantId, { statuses: FAILURES, limit: LIMIT });
    assert.ok(query !== null && client !== undefined);
    const explained = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${query.text}`,
      query.values,
    );
    const root = explained.rows[0]?.['QUERY PLAN'][0].Plan;
    assert.ok(root);
    const scans = scansOf(root);
    // Rows each scan read: those it returned and those it read and dropped.
    const read = scans.reduce(
      (sum, scan) =>
        sum +
        ((scan['Actual Rows'] ?? 0) + (scan['Rows Removed by Filter'] ?? 0)) * (scan['Actual Loops'] ?? 1),
      0,
    );
    const detail = JSON.stringify(
      scans.map((s) => [
        s['Node Type'],
        s['Relation Name'],
        s['Index Name'],
        s['Actual Rows'],
        s['Rows Removed by Filter'],
      ]),
    );
    assert.ok(read <= FAILURES.length * (LIMIT + 1), `read ${read} rows of ${RUNS}: ${detail}`);
    assert.ok(
      scans.some(
        (scan) => scan['Actual Rows'] !== 0 && (scan['Index Name'] ?? '').includes('tenant_id_status_id'),
      ),
      detail,
    );
    const page = await client.query(query.text, query.values);
    assert.equal(page.rows.length, LIMIT + 1);
  });
});
