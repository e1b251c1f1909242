// bench/log-follows: what open log follow streams cost other tenants. The real binary (API role only, so the
// followed runs stay queued and their streams stay open); a "victim" tenant reads one of its runs
// (GET /v1/runs/{id}) with 2 concurrent clients while others hold follow streams open on raw sockets (each
// followed run has printed one line, then nothing: the streams sit polling).
//
//   npm run build && node dist/bench/log-follows.js [--requests 300] [--rounds 3] [--tag after]
//
// Also the server's CPU time per second over 5 s with the streams open and nothing else asked of it.
// Loads, each measured on a fresh server: none; one tenant asking for 3,000 streams (what is admitted is
// counted); 20 tenants asking for 50 each (1,000, the default server-wide cap: the most the caps allow).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { API_ONLY, queuedRun, SlowReader, statusOf, writeRunLog } from '../test/support/log-load.js';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { median, round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    rounds: { type: 'string', default: '3' },
    tag: { type: 'string', default: 'after' },
  },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const CLIENTS = 2;
const IDLE_WINDOW_MS = 5000;
const TICKS_PER_S = 100; // USER_HZ on Linux

/** User + system CPU time of a process so far (/proc/<pid>/stat), in ms. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / TICKS_PER_S) * 1000;
}

interface Load {
  name: string;
  tenants: number;
  streamsPerTenant: number;
}

const LOADS: Load[] = [
  { name: 'no streams', tenants: 0, streamsPerTenant: 0 },
  { name: '1 tenant asks for 3,000 streams', tenants: 1, streamsPerTenant: 3000 },
  { name: '20 tenants ask for 50 streams each', tenants: 20, streamsPerTenant: 50 },
];

interface LoadResult {
  load: string;
  asked: number;
  admitted: number;
  refused: number;
  /** The server's CPU time per second with the streams open and no other requests. */
  idleCpuMsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function measure(load: Load): Promise<LoadResult> {
  const server = await ServerProcess.start({ args: API_ONLY });
  const streams: SlowReader[] = [];
  try {
    const victim = await server.createTenant('victim');
    const victimRun = await queuedRun(server, victim.key);
    let admitted = 0;
    for (let t = 0; t < load.tenants; t++) {
      const { key } = await server.createTenant(`follower-${t}`);
      const runId = await queuedRun(server, key);
      // A line of output, so that a version which sends headers only with the first output answers too.
      writeRunLog(server, runId, 116);
      // 100 connections at a time: thousands at once would overflow the listen backlog.
      for (let opened = 0; opened < load.streamsPerTenant; opened += 100) {
        const batch = Array.from(
          { length: Math.min(100, load.streamsPerTenant - opened) },
          () => new SlowReader(server.url, `/v1/runs/${runId}/logs?follow=true`, key),
        );
        streams.push(...batch);
        for (const reader of batch) {
          // A refused stream's connection closes after its 429; an admitted one stays open.
          const status = statusOf(await reader.headers);
          if (status === 200) admitted++;
          else void reader.drain();
        }
      }
    }
    // Let the streams settle into their polling, then take what they cost the server on their own.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const cpuBefore = cpuMs(server.pid);
    await new Promise((resolve) => setTimeout(resolve, IDLE_WINDOW_MS));
    const idleCpuMsPerS = ((cpuMs(server.pid) - cpuBefore) / IDLE_WINDOW_MS) * 1000;
    const latencies: number[] = [];
    let next = 0;
    const client = async () => {
      while (next < REQUESTS) {
        next++;
        const started = performance.now();
        const response = await server.request('GET', `/v1/runs/${victimRun}`, { key: victim.key });
        latencies.push(performance.now() - started);
        if (response.status !== 200) throw new Error(`victim got ${response.status}: ${response.text}`);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, client));
    const summary = summarize(latencies);
    const asked = load.tenants * load.streamsPerTenant;
    return {
      load: load.name,
      asked,
      admitted,
      refused: asked - admitted,
      idleCpuMsPerS: round(idleCpuMsPerS, 0),
      p50Ms: round(summary.p50, 1),
      p99Ms: round(summary.p99, 1),
      maxMs: round(summary.max, 1),
    };
  } finally {
    for (const reader of streams) reader.destroy();
    await server.stop({ cleanup: true });
  }
}

async function main(): Promise<void> {
  const rounds: LoadResult[][] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const results: LoadResult[] = [];
    for (const load of LOADS) {
      const result = await measure(load);
      console.log(`round ${i + 1}: ${JSON.stringify(result)}`);
      results.push(result);
    }
    rounds.push(results);
  }
  const summary = LOADS.map((load, k) => {
    const of = (pick: (r: LoadResult) => number) => median(rounds.map((r) => pick(r[k] as LoadResult)));
    return {
      load: load.name,
      admitted: of((r) => r.admitted),
      refused: of((r) => r.refused),
      idleCpuMsPerS: of((r) => r.idleCpuMsPerS),
      p50Ms: of((r) => r.p50Ms),
      p99Ms: of((r) => r.p99Ms),
      maxMs: of((r) => r.maxMs),
    };
  });
  const date = new Date().toISOString();
  const out = {
    bench: 'log-follows',
    tag: values.tag,
    date,
    node: process.version,
    requests: REQUESTS,
    summary,
    rounds,
  };
  const file = join(REPO_ROOT, 'bench/results', `log-follows-${values.tag}-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  for (const row of summary) console.log(JSON.stringify(row));
  console.log(`wrote ${file}`);
}

await main();
