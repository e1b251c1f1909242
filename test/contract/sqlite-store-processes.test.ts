// The Store's concurrency contract across processes, on SQLite: a child process (test/support/
// store-race-child.ts) and this one open the same database file and run the same race at the same moment,
// so their transactions really overlap — what a single process cannot show on SQLite's synchronous driver
// (store-concurrency.contract.test.ts). SQLite's single writer (BEGIN IMMEDIATE, busy_timeout) is what
// keeps the contract here; these tests fail if a write runs outside its transaction.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { TickFire } from '../../src/ports/store.js';
import { RACES, startAt, type RaceName } from '../support/store-races.js';
import { SECOND, seedBlockedRuns, seedSchedule, tickOf } from './schedule-fixtures.js';
import {
  checkCancels,
  checkClaims,
  checkFires,
  checkIdempotency,
  checkJobLimit,
  checkLeases,
  checkRateTokens,
  checkReleases,
  checkScheduleChanges,
} from './store-race-checks.js';
import { makeTenant, seedJob, seedRun, tick } from './store-fixtures.js';

const CHILD = fileURLToPath(new URL('../support/store-race-child.js', import.meta.url));
const T0 = Date.UTC(2026, 5, 1);

type Report<R extends RaceName> = Awaited<ReturnType<(typeof RACES)[R]>>;

/** Runs `race` in a child process and here at once, on the file at `path`; the reports (this one first). */
async function raceWithChild<R extends RaceName>(
  store: SqliteStore,
  path: string,
  race: R,
  plan: Parameters<(typeof RACES)[R]>[1],
): Promise<[Report<R>, Report<R>]> {
  const child = spawn(process.execPath, [CHILD], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  child.stdin.write(`${JSON.stringify({ path, race, plan, side: 'child' })}\n`);
  assert.equal((await lines.next()).value, 'ready');
  // Both start at one moment a little ahead: the child needs a moment to hear of it.
  const at = Date.now() + 100;
  child.stdin.write(`go ${at}\n`);
  await startAt(at);
  const run = RACES[race] as unknown as (
    store: SqliteStore,
    plan: unknown,
    side: string,
    start: number,
  ) => Promise<Report<R>>;
  const mine = await run(store, plan, 'parent', at);
  const line = await lines.next();
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0, 'the child process exits cleanly');
  assert.equal(typeof line.value, 'string', 'the child reports');
  return [mine, JSON.parse(line.value as string) as Report<R>];
}

/**
 * Runs a race (checked as it goes) until each side won some of it, at most three times: on a loaded machine
 * one process may be starved through a whole race, which then shows nothing about overlapping calls.
 */
async function untilBothWin(race: () => Promise<[number, number]>): Promise<void> {
  const tallies: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    const [first, second] = await race();
    if (first > 0 && second > 0) return;
    tallies.push(`${first} / ${second}`);
  }
  assert.fail(`one side won nothing in three races (${tallies.join(', ')}): they never overlapped`);
}

describe('Store concurrency contract (sqlite): two processes on one file', () => {
  let dir: string;
  let path: string;
  let store: SqliteStore;

  // A new file for each race, so one race's leftovers (live lease members) cannot steer the next.
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hourglass-store-processes-'));
    path = join(dir, 'hourglass.db');
    store = SqliteStore.open(path);
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('claims: one winner per run', async () => {
    const job = await seedJob(store);
    await untilBothWin(async () => {
      const runIds: string[] = [];
      for (let i = 0; i < 300; i++) runIds.push((await seedRun(store, job)).id);
      const [parent, child] = await raceWithChild(store, path, 'claims', { runIds });
      await checkClaims(store, job.tenantId, runIds, [
        { side: 'parent', ...parent },
        { side: 'child', ...child },
      ]);
      return [parent.won.length, child.won.length];
    });
  });

  it('a cancel racing a claim: the answer is what the run became', async () => {
    const job = await seedJob(store);
    await untilBothWin(async () => {
      const runIds: string[] = [];
      // Many: a claim lands between a cancel's read and its write only when both start within microseconds.
      for (let i = 0; i < 1000; i++) runIds.push((await seedRun(store, job)).id);
      const plan = { tenantId: job.tenantId, runIds, canceller: 'child' };
      const reports = await raceWithChild(store, path, 'cancels', plan);
      const tally = await checkCancels(store, job.tenantId, runIds, reports);
      return [tally.requested, tally.cancelled];
    });
  });

  it('plan limits: never past maxJobs', async () => {
    const tenantIds: string[] = [];
    for (let i = 0; i < 60; i++) {
      const tenant = makeTenant();
      await store.createTenant(tenant);
      tenantIds.push(tenant.id);
    }
    const plan = { tenantIds, tries: 4, maxJobs: 3 };
    await checkJobLimit(store, plan, await raceWithChild(store, path, 'jobLimit', plan));
  });

  it('Idempotency-Keys: one run per key', async () => {
    const job = await seedJob(store);
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    const plan = { tenantId: job.tenantId, jobId: job.id, keys };
    await checkIdempotency(store, plan, await raceWithChild(store, path, 'idempotency', plan));
  });

  it('schedule changes: unique and in commit order', async () => {
    const job = await seedJob(store);
    const plan = { tenantId: job.tenantId, jobId: job.id, count: 60, partitionCount: 8 };
    await checkScheduleChanges(store, plan, await raceWithChild(store, path, 'scheduleChanges', plan));
  });

  it('lease rounds: never two unexpired leases on one partition', async () => {
    const ttlMs = 150;
    const plan = { partitionCount: 8, ttlMs, durationMs: 2_000, seed: 7 };
    const [parent, child] = await raceWithChild(store, path, 'leases', plan);
    const handovers = checkLeases([...parent.events, ...child.events], ttlMs, [parent, child]);
    assert.ok(handovers >= 5, `only ${handovers} handovers: the race proved little`);
  });

  it('fired ticks: each tick one run', async () => {
    const job = await seedJob(store);
    const leases = await store.syncPartitionLeases({
      owner: 'node-a',
      partitionCount: 8,
      ttlMs: 60 * SECOND,
      now: tick(),
    });
    const ticks: TickFire[] = [];
    for (let i = 0; i < 24; i++) {
      const overlapPolicy = i % 4 === 0 ? 'buffer_one' : 'allow';
      const schedule = await seedSchedule(store, job, { overlapPolicy, partition: i % 8 });
      for (let k = 0; k < 10; k++) ticks.push(tickOf(schedule, T0 + k * SECOND));
    }
    const plan = { owner: 'node-a', leases, ticks, batchSize: 5 };
    await checkFires(store, job.tenantId, plan, await raceWithChild(store, path, 'fires', plan));
  });

  it('blocked runs: each released once', async () => {
    const job = await seedJob(store);
    const [lease] = await store.syncPartitionLeases({
      owner: 'node-a',
      partitionCount: 1,
      ttlMs: 60 * SECOND,
      now: tick(),
    });
    assert.ok(lease);
    const { blockers, blocked } = await seedBlockedRuns(store, job, 'node-a', lease, 100);
    const reports = await raceWithChild(store, path, 'releases', { blockers });
    await checkReleases(store, job.tenantId, blocked, reports);
  });

  it('rate-limit takes of one key: never more than burst + rate × elapsed', async () => {
    const plan = { key: 'runs/ten_race', perSecond: 200, burst: 20, durationMs: 1_500, callers: 1 };
    checkRateTokens(plan, await raceWithChild(store, path, 'rateTokens', plan));
  });
});
