// bench/log-readers: the server's resident memory while N slow clients read one big run log
// (GET /v1/runs/{id}/logs, no follow). The real binary with the API role only; each reader is a raw socket
// that sends its request and then takes 256 KiB at a time, a round of all readers at a time.
//
//   npm run build && node dist/bench/log-readers.js [--readers 200] [--log-mib 10] [--rounds 3] [--tag after]
//
// Baseline: VmRSS after one full read of the log (the route warmed up). Peak: the highest VmRSS sampled
// once every reader has its response headers and after each trickle round. Growth = peak − baseline.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  API_ONLY,
  queuedRun,
  rssBytes,
  SlowReader,
  statusOf,
  writeRunLog,
} from '../test/support/log-load.js';
import { REPO_ROOT, ServerProcess } from '../test/support/server-process.js';
import { median, round } from './stats.js';

const { values } = parseArgs({
  options: {
    readers: { type: 'string', default: '200' },
    'log-mib': { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
    tag: { type: 'string', default: 'after' },
  },
});
const READERS = Number(values.readers);
const LOG_BYTES = Number(values['log-mib']) * 1024 * 1024;
const ROUNDS = Number(values.rounds);
const TRICKLES = 4;
const MB = 1024 * 1024;

interface RoundResult {
  baselineMb: number;
  peakMb: number;
  growthMb: number;
  /** Time from the first request to the last reader's response headers. */
  allHeadersMs: number;
}

async function oneRound(): Promise<RoundResult> {
  const server = await ServerProcess.start({ args: API_ONLY });
  const readers: SlowReader[] = [];
  try {
    const { key } = await server.createTenant('bench');
    const runId = await queuedRun(server, key);
    writeRunLog(server, runId, LOG_BYTES);
    const path = `/v1/runs/${runId}/logs`;
    const warm = await server.request('GET', path, { key });
    if (warm.text.length !== LOG_BYTES) throw new Error(`warm-up read ${warm.text.length} bytes`);
    const baseline = rssBytes(server.pid);
    let peak = baseline;
    const started = Date.now();
    for (let i = 0; i < READERS; i++) readers.push(new SlowReader(server.url, path, key));
    const heads = await Promise.all(readers.map((r) => r.headers));
    const allHeadersMs = Date.now() - started;
    if (heads.some((h) => statusOf(h) !== 200))
      throw new Error(`a reader got ${heads.find((h) => statusOf(h) !== 200)}`);
    peak = Math.max(peak, rssBytes(server.pid));
    for (let t = 0; t < TRICKLES; t++) {
      for (const reader of readers) await reader.readSome(256 * 1024);
      peak = Math.max(peak, rssBytes(server.pid));
    }
    return {
      baselineMb: round(baseline / MB, 1),
      peakMb: round(peak / MB, 1),
      growthMb: round((peak - baseline) / MB, 1),
      allHeadersMs,
    };
  } finally {
    for (const reader of readers) reader.destroy();
    await server.stop({ cleanup: true });
  }
}

async function main(): Promise<void> {
  const rounds: RoundResult[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const result = await oneRound();
    console.log(`round ${i + 1}: ${JSON.stringify(result)}`);
    rounds.push(result);
  }
  const summary = {
    readers: READERS,
    logBytes: LOG_BYTES,
    baselineMb: median(rounds.map((r) => r.baselineMb)),
    peakMb: median(rounds.map((r) => r.peakMb)),
    growthMb: median(rounds.map((r) => r.growthMb)),
    allHeadersMs: median(rounds.map((r) => r.allHeadersMs)),
  };
  const date = new Date().toISOString();
  const out = { bench: 'log-readers', tag: values.tag, date, node: process.version, summary, rounds };
  const file = join(REPO_ROOT, 'bench/results', `log-readers-${values.tag}-${date.slice(0, 10)}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(JSON.stringify(summary));
  console.log(`wrote ${file}`);
}

await main();
