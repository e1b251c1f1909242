// What every system in bench/run-now shares: the workload, the result of one round, and the way a job runner
// starts the command, so each peer's worker does exactly the same work per run.

import { spawn } from 'node:child_process';
import pg from 'pg';
import type { Summary } from '../stats.js';

export const CLIENTS = 16;
export const COMMAND = ['true'];
/** PostgreSQL for pg-boss and graphile-worker (trust auth; fsync and synchronous_commit on, as installed). */
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface Workload {
  /** Sequential runs for the latency figure. */
  latencyRuns: number;
  /** Runs submitted by CLIENTS concurrent clients for the throughput figure. */
  throughputRuns: number;
}

export interface RoundResult {
  latencyMs: Summary;
  runsPerSecond: number;
}

export interface System {
  name: string;
  /** Short name for the ratio rows. */
  short: string;
  /** Sequential runs this system is measured with (fewer than the workload's for a polling peer). */
  latencyRuns: number;
  round(): Promise<RoundResult>;
}

/**
 * Starts COMMAND the way a job runner must: its own process group, stdout and stderr captured. `onSpawn` is
 * called at the child's 'spawn' event (the "process started" time); resolves with the output on exit 0.
 */
export function spawnLikeRunner(onSpawn: () => void): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const child = spawn(COMMAND[0] ?? 'true', COMMAND.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('spawn', onSpawn);
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`exit ${code}`))));
  });
}

/** Calls `submit` `total` times from CLIENTS concurrent clients, each waiting for its previous call. */
export async function submitConcurrently(total: number, submit: () => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < total) {
        next++;
        await submit();
      }
    }),
  );
}

/** Resolves with the time the `total`-th completion is counted. */
export function completionCounter(total: number): { count: () => void; allDone: Promise<number> } {
  let completed = 0;
  let done: (at: number) => void = () => {};
  const allDone = new Promise<number>((resolve) => (done = resolve));
  return {
    count: () => {
      completed++;
      if (completed === total) done(Date.now());
    },
    allDone,
  };
}

/** A schema name no earlier round used (lower case, so PostgreSQL needs no quoting). */
export function freshSchema(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now()}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
