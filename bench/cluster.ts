// bench/cluster: a run-now through the local cluster (nginx → 2 api processes; 3 schedulers and 2 workers on
// PostgreSQL and NATS JetStream; scripts/cluster.mjs) against the embedded server (one process: SQLite and the
// in-process queue), interleaved in the same invocation on the same machine. The latency is the client clock
// before POST /v1/jobs/{id}/runs → the run's startedAt (the worker started the process; same host clock).
//
//   npm run build && node dist/bench/cluster.js [--runs 200] [--out FILE]
//
// Needs PostgreSQL on 127.0.0.1:5432 (trust), NATS with JetStream on 127.0.0.1:4222 and nginx.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import pg from 'pg';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { round, summarize } from './stats.js';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '200' }, out: { type: 'string' } },
});
const RUNS = Number(values.runs);
const WARMUP = 10;
const BASE_PORT = 18_430;

interface Target {
  name: string;
  url: string;
  key: string;
}

/** The fields of the API's answers this bench reads. */
interface Answer {
  id: string;
  key: string;
  startedAt: string | null;
}

async function call(target: Target, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${target.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${target.key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${target.name} ${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as Answer;
}

/** One run-now: ms from before the request to the run's startedAt. */
async function runNow(target: Target): Promise<number> {
  const from = Date.now();
  const run = await call(target, 'POST', '/v1/jobs/bench/runs', {});
  for (;;) {
    const current = await call(target, 'GET', `/v1/runs/${run.id}`);
    if (current.startedAt !== null) return Date.parse(current.startedAt) - from;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const summary = (samples: number[]) => {
  const s = summarize(samples.slice(WARMUP));
  return { n: s.n, p50: round(s.p50), p90: round(s.p90), p99: round(s.p99), max: round(s.max) };
};

const clusterDir = mkdtempSync(join(tmpdir(), 'hourglass-bench-cluster-'));
const cluster = (...args: string[]) =>
  spawnSync(
    process.execPath,
    [join(REPO_ROOT, 'scripts/cluster.mjs'), '--dir', clusterDir, '--base-port', String(BASE_PORT), ...args],
    { encoding: 'utf8', cwd: REPO_ROOT, timeout: 120_000 },
  );
const embedded = await ServerProcess.start({ env: { HOURGLASS_LOG_LEVEL: 'error' } });
try {
  const started = cluster();
  if (started.status !== 0) throw new Error(`the cluster did not start: ${started.stderr}${started.stdout}`);
  const tenant = await embedded.createTenant('bench', { runsPerSecond: 1_000, runBurst: 1_000 });
  // A tenant of the bench's own on the cluster, with room for the runs (as on the embedded server).
  const clusterUrl = `http://127.0.0.1:${BASE_PORT}`;
  const clusterAdmin: Target = {
    name: 'cluster',
    url: clusterUrl,
    key: readFileSync(join(clusterDir, 'admin.key'), 'utf8').trim(),
  };
  const created = await call(clusterAdmin, 'POST', '/v1/tenants', {
    name: 'bench',
    limits: { allowHostCommands: true, runsPerSecond: 1_000, runBurst: 1_000 },
  });
  const clusterKey = await call(clusterAdmin, 'POST', `/v1/tenants/${created.id}/keys`, {});
  const targets: Target[] = [
    { name: 'embedded', url: embedded.url, key: tenant.key },
    { name: 'cluster', url: clusterUrl, key: clusterKey.key },
  ];
  for (const target of targets) await call(target, 'POST', '/v1/jobs', { name: 'bench', command: ['true'] });
  const samples: Record<string, number[]> = { embedded: [], cluster: [] };
  // Interleaved, so both see the same machine.
  for (let i = 0; i < RUNS + WARMUP; i++)
    for (const target of targets) samples[target.name]!.push(await runNow(target));
  const results = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((l) => round(l)) },
    runs: RUNS,
    runNowEmbeddedMs: summary(samples['embedded']!),
    runNowClusterMs: summary(samples['cluster']!),
  };
  const text = JSON.stringify(results, null, 2);
  process.stdout.write(`${text}\n`);
  if (values.out !== undefined) writeFileSync(values.out, `${text}\n`);
} finally {
  cluster('--stop');
  await embedded.stop();
  const client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS hourglass_cluster_${BASE_PORT} WITH (FORCE)`);
  await client.end();
  const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
  await (
    await nc.jetstreamManager()
  ).streams
    .delete(`HOURGLASS_CLUSTER_${BASE_PORT}_RUNS`)
    .catch(() => undefined);
  await nc.close();
  rmSync(clusterDir, { recursive: true, force: true });
}
