// Data at rest: the real server makes its data directory 0700 and the files holding tenants' data or secrets
// 0600 (database, WAL, SHM, run logs, first-start credentials), runs with umask 077, and tightens what it finds
// looser at start (an older version's files, a copy, a restore).

import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ServerProcess } from '../support/server-process.js';

const modeOf = (path: string): string => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

/** Every file and directory Hourglass keeps secret in `dataDir`, with the mode it must have. */
function expectedModes(dataDir: string): [string, string][] {
  const db = join(dataDir, 'hourglass.db');
  const logs = join(dataDir, 'logs');
  const files = [db, `${db}-wal`, `${db}-shm`, join(dataDir, 'first-start-credentials.txt')];
  const logFiles = readdirSync(logs).map((name) => join(logs, name));
  assert.ok(logFiles.length > 0, 'a run wrote a log');
  return [
    [dataDir, '0700'],
    [logs, '0700'],
    ...[...files, ...logFiles].map((path): [string, string] => [path, '0600']),
  ];
}

async function runOneJob(server: ServerProcess): Promise<void> {
  const { key } = await server.createTenant('modes');
  const job = { name: 'speaks', command: ['sh', '-c', 'echo something private'] };
  await server.create(key, '/v1/jobs', job);
  const run = await server.create(key, '/v1/jobs/speaks/runs');
  assert.equal((await server.waitForRun(key, run.id)).status, 'succeeded');
}

describe('file modes of the data directory', () => {
  it('are owner-only on a fresh start, and the server runs with umask 077', async () => {
    // No operator key: the first start writes its credentials file too.
    const server = await ServerProcess.start({ generatedAdminKey: true });
    try {
      await runOneJob(server);
      for (const [path, mode] of expectedModes(server.dataDir)) {
        assert.ok(existsSync(path), path);
        assert.equal(modeOf(path), mode, path);
      }
      const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
      assert.match(status, /^Umask:\s+0077$/m);
    } finally {
      await server.stop();
    }
  });

  it('are tightened at start when an existing data directory has loose ones', async () => {
    const first = await ServerProcess.start({ generatedAdminKey: true });
    await runOneJob(first);
    await first.stop({ kill: true, cleanup: false }); // a crash: the WAL and SHM files stay
    // A log from before, world-readable, and every mode loosened.
    writeFileSync(join(first.dataDir, 'logs', 'run_0older.log'), 'an older run\n', { mode: 0o644 });
    const loosened = expectedModes(first.dataDir);
    for (const [path, mode] of loosened) chmodSync(path, mode === '0700' ? 0o777 : 0o666);
    chmodSync(join(first.dataDir, 'logs', 'run_0older.log'), 0o644);

    const second = await ServerProcess.start({ dataDir: first.dataDir, generatedAdminKey: true });
    try {
      for (const [path, mode] of expectedModes(second.dataDir)) assert.equal(modeOf(path), mode, path);
    } finally {
      await second.stop({ cleanup: true });
    }
  });
});
