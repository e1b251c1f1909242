// bench/process-sandbox: what the process runtime's confinement costs a start now, in the executor alone (no
// server): sequential runs of `date +%s%N`, each measured from execute() to the time the command itself printed
// (the wrapper shell and its cgroup entry included) and to onStarted (the start the run records), for:
//   none          — no confinement (runs as this process's user, no memory limit: a direct spawn);
//   address-space — the RLIMIT_AS wrapper shell only (what a non-root server gets);
//   sandbox       — what this host allows (as root: a uid and a memory cgroup per run).
// And the cgroup v1 operations themselves, synchronously: create (mkdir and the two limits), a process
// entering (its pid into cgroup.procs) and the rmdir.
//
//   npm run build && node dist/bench/process-sandbox.js [--runs 200] [--rounds 3] [--out FILE]

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MemoryCgroup, findMemoryCgroupRoot } from '../src/adapters/process/memory-cgroup.js';
import { ProcessExecutor } from '../src/adapters/process/process-executor.js';
import {
  NO_SANDBOX,
  probeProcessSandbox,
  type ProcessSandbox,
} from '../src/adapters/process/process-sandbox.js';
import { DEFAULT_RUN_UID_BASE } from '../src/adapters/process/run-users.js';
import { systemClock } from '../src/adapters/system/system-clock.js';
import { median, round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string' },
  },
});
const RUNS = Number(values.runs);
const ROUNDS = Number(values.rounds);
const WARMUP = 20;
const preciseNow = (): number => performance.timeOrigin + performance.now();

const MODES: Record<string, () => ProcessSandbox> = {
  none: () => NO_SANDBOX,
  'address-space': () => ({ runUsers: null, memory: { kind: 'address-space' } }),
  sandbox: () => probeProcessSandbox({ runUidBase: DEFAULT_RUN_UID_BASE }),
};

async function startsNow(sandbox: ProcessSandbox): Promise<{ command: number[]; started: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-sandbox-'));
  const executor = new ProcessExecutor({
    clock: systemClock,
    scratchRoot: join(dir, 'scratch'),
    killGraceMs: 200,
    sandbox,
  });
  const command: number[] = [];
  const started: number[] = [];
  for (let i = 0; i < RUNS + WARMUP; i++) {
    const from = preciseNow();
    let at = 0;
    let out = '';
    await executor.execute(
      {
        runId: `run_bench_sandbox_${i}`,
        attempt: 1,
        tenantId: 'tenant_bench',
        argv: ['date', '+%s%N'],
        command: ['date', '+%s%N'],
        args: [],
        registryCredentials: null,
        env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
        image: null,
        memoryMb: 64,
        timeoutMs: 30_000,
        startAt: null,
      },
      { onStarted: (t) => (at = t), onOutput: (_s, chunk) => (out += chunk.toString()) },
      new AbortController().signal,
    );
    if (i < WARMUP) continue;
    command.push(Number(BigInt(out.trim()) / 1000n) / 1000 - from);
    started.push(at - from);
  }
  await executor.close();
  rmSync(dir, { recursive: true, force: true });
  return { command, started };
}

async function cgroupOps(root: string): Promise<Record<string, number[]>> {
  const ops: Record<string, number[]> = { create: [], enter: [], rmdir: [] };
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    const cgroup = MemoryCgroup.create(root, `bench-ops-${process.pid}-${i}`, 64);
    ops['create']?.push(performance.now() - t);
    const child = spawn('/bin/sh', ['-c', 'read _ <&3'], { stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
    t = performance.now();
    writeFileSync(cgroup.procsFile, String(child.pid));
    ops['enter']?.push(performance.now() - t);
    const gate = child.stdio[3] as NodeJS.WritableStream;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    gate.end('\n');
    await exited;
    t = performance.now();
    await cgroup.destroy();
    ops['rmdir']?.push(performance.now() - t);
  }
  return ops;
}

const show = (samples: number[]): Record<string, number> => {
  const s = summarize(samples);
  return { p50: round(s.p50), p90: round(s.p90), p99: round(s.p99) };
};

async function main(): Promise<void> {
  const rounds: Record<string, { command: Record<string, number>; started: Record<string, number> }[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, sandbox] of Object.entries(MODES)) {
      const { command, started } = await startsNow(sandbox());
      (rounds[name] ??= []).push({ command: show(command), started: show(started) });
    }
  }
  const root = findMemoryCgroupRoot();
  const ops = root === null ? null : await cgroupOps(root);
  const medians = Object.fromEntries(
    Object.entries(rounds).map(([name, list]) => [
      name,
      Object.fromEntries(
        (['command', 'started'] as const).map((k) => [
          k,
          Object.fromEntries(
            ['p50', 'p90', 'p99'].map((p) => [p, round(median(list.map((x) => x[k][p] ?? NaN)))]),
          ),
        ]),
      ),
    ]),
  );
  const result = {
    date: new Date().toISOString(),
    cpus: cpus().length,
    loadAverage: loadavg().map((l) => round(l)),
    runs: RUNS,
    rounds: ROUNDS,
    sandbox: probeProcessSandbox({ runUidBase: DEFAULT_RUN_UID_BASE }),
    startNowMs: { medianOfRounds: medians, perRound: rounds },
    cgroupOpsMs: ops === null ? null : Object.fromEntries(Object.entries(ops).map(([k, v]) => [k, show(v)])),
  };
  console.log(JSON.stringify(result, null, 2));
  if (values.out !== undefined) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
