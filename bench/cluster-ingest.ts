// bench/cluster-ingest: run-record ingest into PostgreSQL — the firing path's own write (PostgresStore.fireTicks,
// batches of 2,000 ticks in run id order, as the scheduler engine sends them) against raw COPY of the same rows
// into the same `runs` table, in the same run on the same server, round after round (A B, B A, …).
//
//   npm run build && node dist/bench/cluster-ingest.js [--schedules 100000] [--rounds 6] [--nodes 3] [--out FILE]
//
// Per round, every one of N per-second schedules fires one tick: Hourglass fires it through `--nodes` scheduler
// nodes at once (each holding its fair share of the 256 partitions, as 3 scheduler processes would), and COPY
// writes N rows of another tick, built the same way (id, tenant, job, schedule, times, args, env), in one
// stream. Both are timed from their first write to their last commit; the ticks and the CSV are built before.
// Needs PostgreSQL on 127.0.0.1:5432 (trust), or HOURGLASS_BENCH_POSTGRES_URL.

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { idTimeOf } from '../src/adapters/postgres/postgres-rows.js';
import { PostgresStore } from '../src/adapters/postgres/postgres-store.js';
import type { Job } from '../src/core/job.js';
import { byRunId, PARTITION_COUNT, scheduledRunId } from '../src/core/schedule.js';
import type { PartitionLease, TickFire } from '../src/ports/store.js';
import { REPO_ROOT } from '../test/support/server-process.js';
import { createBenchDatabase, seedSchedules, type SeededSchedules } from './cluster/postgres-world.js';
import { median, round } from './stats.js';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '6' },
    nodes: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const N = Number(values.schedules);
const ROUNDS = Number(values.rounds);
const NODES = Number(values.nodes);
const ENGINE_BATCH = 2_000;
const COPY_COLUMNS =
  'id, id_time, tenant_id, job_id, schedule_id, status, attempt, args, env, created_at, nominal_time, due_at, available_at, dispatched_at, fired_late';

/** The ticks of `nominal` for the schedules of one node's partitions, in run id order. */
function ticksOf(seeded: SeededSchedules, partitions: ReadonlySet<number>, nominal: number): TickFire[] {
  return seeded.schedules
    .filter((s) => partitions.has(s.partition))
    .map((s) => ({
      scheduleId: s.id,
      partition: s.partition,
      version: s.version,
      nominalTime: nominal,
      dueAt: nominal,
      nextFireAt: nominal + 1000,
      runId: scheduledRunId(s.id, nominal),
      late: false,
    }))
    .sort(byRunId);
}

/** The CSV COPY is given: the rows fireTicks would insert for `nominal`, in run id order. */
function csvOf(seeded: SeededSchedules, jobOf: Map<string, Job>, nominal: number, now: number): Buffer {
  const lines: string[] = [];
  const schedules = [...seeded.schedules]
    .map((s) => ({ s, runId: scheduledRunId(s.id, nominal) }))
    .sort((a, b) => (a.runId < b.runId ? -1 : 1));
  for (const { s, runId } of schedules) {
    const job = jobOf.get(s.id) as Job;
    lines.push(
      `${runId},${idTimeOf(runId)},${job.tenantId},${job.id},${s.id},queued,1,[],{},${now},${nominal},${nominal},${nominal},${now},f`,
    );
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function copyRows(pool: pg.Pool, csv: Buffer): Promise<void> {
  const client = await pool.connect();
  try {
    await pipeline(
      Readable.from([csv]),
      client.query(copyFrom(`COPY runs (${COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv)`)),
    );
  } finally {
    client.release();
  }
}

async function fireAll(store: PostgresStore, nodes: NodeTicks[]): Promise<number> {
  let fired = 0;
  await Promise.all(
    nodes.map(async (node) => {
      for (let at = 0; at < node.ticks.length; at += ENGINE_BATCH) {
        const result = await store.fireTicks(
          node.owner,
          node.leases,
          node.ticks.slice(at, at + ENGINE_BATCH),
          Date.now(),
        );
        fired += result.queued.length;
      }
    }),
  );
  return fired;
}

interface NodeTicks {
  owner: string;
  leases: PartitionLease[];
  ticks: TickFire[];
}

const database = await createBenchDatabase('hourglass_bench_ingest');
const store = await PostgresStore.open({
  connectionString: database.url,
  maintenanceIntervalMs: 0,
  poolSize: 10,
});
const pool = new pg.Pool({ connectionString: database.url, max: 2 });
try {
  const seeded = await seedSchedules(store, database.url, { tenants: 10, count: N, cron: '* * * * * *' });
  const jobs = new Map(seeded.jobs.map((job) => [job.tenantId, job]));
  const jobOfSchedule = new Map<string, Job>();
  {
    const rows = await pool.query<{ id: string; tenant_id: string }>('SELECT id, tenant_id FROM schedules');
    for (const row of rows.rows) jobOfSchedule.set(row.id, jobs.get(row.tenant_id) as Job);
  }
  // The nodes' lease rounds: each a member first, then each takes its fair share.
  const owners = Array.from({ length: NODES }, (_, i) => `bench-node-${i + 1}`);
  const leaseRound = (owner: string) =>
    store.syncPartitionLeases({ owner, partitionCount: PARTITION_COUNT, ttlMs: 3_600_000, now: Date.now() });
  for (const owner of owners) await leaseRound(owner);
  const held = new Map<string, PartitionLease[]>();
  for (const owner of owners) held.set(owner, await leaseRound(owner));

  const hourglass: number[] = [];
  const copy: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const fireAt = seeded.firstTick + r * 1000;
    const copyAt = seeded.firstTick + (r + 10_000) * 1000; // a tick no firing reaches: other run ids
    const nodes = owners.map((owner) => {
      const leases = held.get(owner) ?? [];
      return { owner, leases, ticks: ticksOf(seeded, new Set(leases.map((l) => l.partition)), fireAt) };
    });
    const csv = csvOf(seeded, jobOfSchedule, copyAt, Date.now());
    const measureFire = async () => {
      const from = performance.now();
      const fired = await fireAll(store, nodes);
      const rate = fired / ((performance.now() - from) / 1000);
      if (fired !== N) throw new Error(`round ${r}: fired ${fired} of ${N}`);
      hourglass.push(rate);
    };
    const measureCopy = async () => {
      const from = performance.now();
      await copyRows(pool, csv);
      copy.push(N / ((performance.now() - from) / 1000));
    };
    if (r % 2 === 0) {
      await measureFire();
      await measureCopy();
    } else {
      await measureCopy();
      await measureFire();
    }
    console.log(
      `round ${r + 1}: fireTicks ${Math.round(hourglass[r] ?? 0)} rows/s, COPY ${Math.round(copy[r] ?? 0)} rows/s`,
    );
  }
  const counted = await pool.query<{ n: number }>('SELECT COUNT(*)::integer AS n FROM runs');
  if (counted.rows[0]?.n !== 2 * N * ROUNDS)
    throw new Error(`runs holds ${counted.rows[0]?.n}, not ${2 * N * ROUNDS}`);
  const result = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, loadAverage: loadavg().map((l) => round(l)) },
    schedules: N,
    rounds: ROUNDS,
    nodes: NODES,
    fireTicksRowsPerSecond: { median: Math.round(median(hourglass)), samples: hourglass.map(Math.round) },
    copyRowsPerSecond: { median: Math.round(median(copy)), samples: copy.map(Math.round) },
    ratio: round(median(hourglass) / median(copy), 3),
  };
  console.log(JSON.stringify(result, null, 2));
  const out =
    values.out ?? join(REPO_ROOT, 'bench', 'results', `cluster-ingest-${result.at.slice(0, 10)}.json`);
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await pool.end();
  await store.close();
  await database.drop();
}
