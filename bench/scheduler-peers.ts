// bench/scheduler-peers: the scheduler workload of issue 3 — N schedules firing every second — on Hourglass and
// on BullMQ job schedulers (Redis 7), in the same invocation and interleaved round by round, so drift in the
// machine's load affects both alike.
//
//   npm run build && node dist/bench/scheduler-peers.js [--schedules 10000] [--seconds 60] [--warmup 5]
//     [--rounds 3] [--only hourglass|bullmq] [--bullmq-kind pattern|every|both] [--bullmq-concurrency 100]
//     [--bullmq-workers 2] [--out name]
//
// Per system and round: the schedules are created, then after --warmup seconds a window of --seconds opens.
// fires/s = fires whose processing began inside the window / its length; lag = processing began − nominal
// tick, over the ticks whose nominal time is inside the window; missed = (schedule, second) slots of the window
// never fired; duplicates = extra fires in a slot. See bench/stats.ts (createTickLedger) and, for how BullMQ
// computes its ticks, bench/peers/bullmq-schedulers.ts.

import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/support/server-process.js';
import { runBullmqSchedulers, type BullmqScheduleKind } from './peers/bullmq-schedulers.js';
import { runHourglassSchedulers } from './scheduler/hourglass-schedulers.js';
import { median, round, type SchedulerPeerOptions, type SchedulerPeerResult } from './stats.js';

const { values } = parseArgs({
  options: {
    schedules: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    /** Name of the results file under bench/results (without .json); default by size and date. */
    out: { type: 'string' },
    only: { type: 'string' },
    'bullmq-kind': { type: 'string', default: 'pattern' },
    'bullmq-concurrency': { type: 'string', default: '100' },
    'bullmq-workers': { type: 'string', default: '2' },
  },
});

const WORKLOAD: SchedulerPeerOptions = {
  schedules: positiveInteger('schedules'),
  seconds: positiveInteger('seconds'),
  warmupSeconds: positiveInteger('warmup'),
};
const ROUNDS = positiveInteger('rounds');
const BULLMQ_CONCURRENCY = positiveInteger('bullmq-concurrency');
const BULLMQ_WORKERS = positiveInteger('bullmq-workers');

function positiveInteger(flag: keyof typeof values): number {
  const value = Number(values[flag]);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${flag} must be a positive integer`);
  return value;
}

interface System {
  short: string;
  round(): Promise<SchedulerPeerResult>;
}

function systems(): System[] {
  const only = values.only;
  if (only !== undefined && only !== 'hourglass' && only !== 'bullmq') {
    throw new Error('--only must be hourglass or bullmq');
  }
  const kindFlag = values['bullmq-kind'];
  if (kindFlag !== 'pattern' && kindFlag !== 'every' && kindFlag !== 'both') {
    throw new Error('--bullmq-kind must be pattern, every or both');
  }
  const kinds: BullmqScheduleKind[] = kindFlag === 'both' ? ['pattern', 'every'] : [kindFlag];
  const list: System[] = [];
  if (only !== 'bullmq') list.push({ short: 'Hourglass', round: () => runHourglassSchedulers(WORKLOAD) });
  if (only !== 'hourglass') {
    for (const kind of kinds) {
      list.push({
        short: kinds.length > 1 ? `BullMQ ${kind}` : 'BullMQ',
        round: () =>
          runBullmqSchedulers({
            ...WORKLOAD,
            kind,
            concurrency: BULLMQ_CONCURRENCY,
            workers: BULLMQ_WORKERS,
          }),
      });
    }
  }
  return list;
}

/** One round's result with the machine's 1-minute load average around it (this 2-core box is shared). */
type Round = SchedulerPeerResult & { loadAverage: { before: number; after: number } };

function report(system: System, rounds: Round[]) {
  const mid = (pick: (r: SchedulerPeerResult) => number, digits = 1) =>
    round(median(rounds.map(pick)), digits);
  return {
    system: rounds[0]?.system ?? system.short,
    short: system.short,
    rounds: rounds.length,
    firesPerSecond: mid((r) => r.firesPerSecond, 0),
    lagP50Ms: mid((r) => r.lagMs.p50),
    lagP99Ms: mid((r) => r.lagMs.p99),
    lagMaxMs: mid((r) => r.lagMs.max),
    missed: mid((r) => r.missed, 0),
    duplicates: mid((r) => r.duplicates, 0),
    perRound: rounds,
  };
}

async function main() {
  const list = systems();
  const rounds = list.map((): Round[] => []);
  for (let i = 0; i < ROUNDS; i++) {
    for (const [k, system] of list.entries()) {
      const before = round(loadavg()[0] ?? NaN);
      const result = await system.round();
      rounds[k]?.push({ ...result, loadAverage: { before, after: round(loadavg()[0] ?? NaN) } });
      process.stderr.write(
        `round ${i + 1}/${ROUNDS}: ${system.short}: ${round(result.firesPerSecond, 0)} fires/s, ` +
          `lag p99 ${result.lagMs.p99} ms, missed ${result.missed}, load ${before} (${result.notes})\n`,
      );
    }
  }
  const results = list.map((system, k) => report(system, rounds[k] ?? []));
  const out = {
    benchmark: 'scheduler-peers',
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    workload: { ...WORKLOAD, everySeconds: 1, rounds: ROUNDS },
    results,
  };
  const name = `${values.out ?? `scheduler-peers-${WORKLOAD.schedules}-${out.date.slice(0, 10)}`}.json`;
  const file = join(REPO_ROOT, 'bench/results', name);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');

  console.log('| system | fires/s sustained | lag p50 | p99 | max | missed ticks | duplicate fires |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.system} | ${r.firesPerSecond} | ${r.lagP50Ms} ms | ${r.lagP99Ms} ms | ${r.lagMaxMs} ms | ` +
        `${r.missed} | ${r.duplicates} |`,
    );
  }
  // Hourglass / peer: below 1× Hourglass lags less; above 1× it sustains more fires per second.
  const own = results.find((r) => r.short === 'Hourglass');
  const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : `${(a / b).toFixed(2)}×`);
  for (const peer of results) {
    if (!own || peer === own) continue;
    console.log(
      `| **ratio Hourglass / ${peer.short}** | ${ratio(own.firesPerSecond, peer.firesPerSecond)} | ` +
        `${ratio(own.lagP50Ms, peer.lagP50Ms)} | ${ratio(own.lagP99Ms, peer.lagP99Ms)} | ` +
        `${ratio(own.lagMaxMs, peer.lagMaxMs)} | | |`,
    );
  }
  console.log(
    `(${WORKLOAD.schedules} schedules every second, ${WORKLOAD.seconds} s window after ${WORKLOAD.warmupSeconds} s ` +
      `warm-up; medians of ${ROUNDS} rounds; raw results in ${file})`,
  );
}

await main();
