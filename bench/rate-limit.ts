// bench/rate-limit: what a run creation's rate-limit take costs in the store (RateLimitStore.takeRateToken),
// against the run insert it comes with, on SQLite (embedded mode: one file, synchronous=FULL for the run) and
// on PostgreSQL (distributed mode: a compare-and-set by the database's clock), and how many takes one key
// serves with two connections taking at once.
//
//   npm run build && node dist/bench/rate-limit.js [--takes 20000] [--pg-takes 2000]
//
// Sequential: one call at a time, the time per call (median and p99). Contended (PostgreSQL): two stores,
// eight takes in flight on each, one key, for 2 s under a limit nobody reaches: takes/s allowed.

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { newId } from '../src/core/ids.js';
import { newQueuedRun } from '../src/core/run.js';
import type { Store } from '../src/ports/store.js';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { STORE_FACTORIES } from '../test/support/store-factories.js';
import { makeTenant, seedJob } from '../test/contract/store-fixtures.js';
import { round, summarize } from './stats.js';

const { values } = parseArgs({
  options: { takes: { type: 'string', default: '20000' }, 'pg-takes': { type: 'string', default: '2000' } },
});
const OPEN = { perSecond: 1e9, burst: 1e9 };

/** Milliseconds per call of `call`, `n` times one after another. */
async function timeEach(n: number, call: (i: number) => Promise<unknown>) {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const at = performance.now();
    await call(i);
    samples.push(performance.now() - at);
  }
  const s = summarize(samples);
  return { p50Ms: round(s.p50, 3), p99Ms: round(s.p99, 3) };
}

async function measure(store: Store, n: number) {
  const job = await seedJob(store);
  const tenant = makeTenant();
  const allowed = await timeEach(n, () => store.takeRateToken(`runs/${tenant.id}`, OPEN, Date.now()));
  const refusedKey = `runs/${tenant.id}-refused`;
  await store.takeRateToken(refusedKey, { perSecond: 0.001, burst: 1 }, Date.now());
  const refused = await timeEach(n, () =>
    store.takeRateToken(refusedKey, { perSecond: 0.001, burst: 1 }, Date.now()),
  );
  const insertRun = await timeEach(n, () => {
    const now = Date.now();
    const run = newQueuedRun({
      id: newId('run', now, randomBytes),
      tenantId: job.tenantId,
      jobId: job.id,
      createdAt: now,
      idempotencyKey: null,
    });
    return store.insertRun({ run, requestHash: null });
  });
  return { allowedTake: allowed, refusedTake: refused, insertRun };
}

async function contended(a: Store, b: Store) {
  const key = `runs/contended-${randomBytes(4).toString('hex')}`;
  const until = Date.now() + 2000;
  let allowed = 0;
  const caller = async (store: Store) => {
    while (Date.now() < until) if ((await store.takeRateToken(key, OPEN, Date.now())).allowed) allowed++;
  };
  const started = Date.now();
  await Promise.all([a, b].flatMap((store) => Array.from({ length: 8 }, () => caller(store))));
  return { takesPerSecond: round((allowed * 1000) / (Date.now() - started), 0) };
}

const dir = await mkdtemp(join(tmpdir(), 'hourglass-bench-rate-'));
const sqlite = SqliteStore.open(join(dir, 'hourglass.db'));
const results: Record<string, unknown> = {};
try {
  results.sqlite = await measure(sqlite, Number(values.takes));
} finally {
  await sqlite.close();
  await rm(dir, { recursive: true, force: true });
}
const postgres = STORE_FACTORIES.find((factory) => factory.name === 'postgres');
if (postgres !== undefined) {
  const location = await postgres.createLocation();
  const a = (await location.open()).store;
  const b = (await location.open()).store;
  try {
    results.postgres = { ...(await measure(a, Number(values['pg-takes']))), ...(await contended(a, b)) };
  } finally {
    await a.close();
    await b.close();
    await location.destroy();
  }
}
console.log(JSON.stringify(results, null, 2));
