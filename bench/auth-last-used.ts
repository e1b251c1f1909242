// bench/auth-last-used: what recording a key's last use adds to authenticating a request.
//
//   npm run build && node dist/bench/auth-last-used.js [--rounds 7] [--calls 20000]
//
// On a real SQLite store (a file, WAL, as the server opens it), per round and interleaved:
//   lookup    — what authenticate did before: hash the bearer secret, find the key by its hash;
//   recorded  — authenticate now, on a key used within the minute (the usual case: nothing is written);
//   every     — authenticate with the clock a minute on at each call, so that every call writes (the worst
//               case, which the once-a-minute rule keeps from happening more than once a minute per key).
// Reported: the median over rounds of the mean time per call, in microseconds.
// Also what the start-time tightening of the data directory costs with --log-files N run logs in it: with the
// directories loose and every log world-readable (each is chmod'ed), with the directories loose and the logs
// already 0600 (each is only lstat'ed), and with everything tight (the logs are not walked).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteStore } from '../src/adapters/sqlite/sqlite-store.js';
import { systemClock } from '../src/adapters/system/system-clock.js';
import { tightenDataFiles } from '../src/server/data-dir.js';
import { hashSecret } from '../src/services/api-keys.js';
import { authenticate } from '../src/services/auth.js';
import { TenantService } from '../src/services/tenant-service.js';
import { median, round } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '7' },
    calls: { type: 'string', default: '20000' },
    'log-files': { type: 'string', default: '100000' },
  },
});
const rounds = Number(values.rounds);
const calls = Number(values.calls);

const dir = mkdtempSync(join(tmpdir(), 'hourglass-bench-auth-'));
const store = SqliteStore.open(join(dir, 'hourglass.db'));
let now = Date.now();
const tenants = new TenantService(store, { ...systemClock, now: () => now });
const tenant = await tenants.createTenant('bench');
const { secret } = await tenants.createTenantKey(tenant.id, 'bench');
const header = `Bearer ${secret}`;

async function timePerCall(call: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call();
  return Number(process.hrtime.bigint() - start) / calls / 1000;
}

const variants: Record<string, () => Promise<unknown>> = {
  lookup: () => store.findApiKeyByHash(hashSecret(/^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] ?? '')),
  recorded: () => authenticate(store, header, now),
  every: () => authenticate(store, header, (now += 60_000)),
};
const samples: Record<string, number[]> = { lookup: [], recorded: [], every: [] };
await authenticate(store, header, now); // the key's first use: recorded from here
for (let r = 0; r < rounds + 1; r++) {
  for (const [name, call] of Object.entries(variants)) {
    const perCall = await timePerCall(call);
    if (r > 0) samples[name]?.push(perCall); // round 0 warms up
  }
}
await store.close();
rmSync(dir, { recursive: true, force: true });

const dataDir = mkdtempSync(join(tmpdir(), 'hourglass-bench-modes-'));
const logFiles = Number(values['log-files']);
mkdirSync(join(dataDir, 'logs'));
for (let i = 0; i < logFiles; i++) writeFileSync(join(dataDir, 'logs', `run_${i}.log`), '', { mode: 0o644 });
const timed = (dataDirWasLoose: boolean): number => {
  const start = process.hrtime.bigint();
  tightenDataFiles(dataDir, dataDirWasLoose);
  return Number(process.hrtime.bigint() - start) / 1e6;
};
const tighteningMs = {
  logsLoose: round(timed(true), 0),
  logsTightDirLoose: round(timed(true), 0),
  allTight: round(timed(false), 1),
};
rmSync(dataDir, { recursive: true, force: true });

const result = Object.fromEntries(Object.entries(samples).map(([name, s]) => [name, round(median(s), 2)]));
console.log(JSON.stringify({ rounds, calls, microsecondsPerCall: result, logFiles, tighteningMs }, null, 2));
