// `npm run cluster` end to end: nginx in front of 2 api processes, 3 schedulers and 2 workers on the local
// PostgreSQL and NATS, in a cluster directory and on ports of the test's own. The CLI works through the load
// balancer unchanged, schedulers and workers answer on their metrics ports, a schedule fires on it, and
// `--stop` leaves no process behind.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { deleteNamespaceStream, dropDatabase, POSTGRES_AVAILABLE } from '../support/distributed-services.js';
import { NATS_AVAILABLE, NATS_URL } from '../support/hint-factories.js';
import { commandWorks } from '../support/container-fixtures.js';
import { skipUnless } from '../support/required-services.js';
import { runCli } from '../support/server-process.js';

/** Eight free ports in a row (nginx, api-1, api-2, then the metrics ports of 3 schedulers and 2 workers). */
async function freePortRun(): Promise<number> {
  const taken = async (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(true));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
    });
  next: for (let base = 17_430 + Math.floor(Math.random() * 2_000); ; base += 8) {
    for (let port = base; port < base + 8; port++) if (await taken(port)) continue next;
    return base;
  }
}

describe(
  'npm run cluster',
  {
    skip: skipUnless(
      POSTGRES_AVAILABLE && NATS_AVAILABLE && commandWorks('nginx', ['-v']),
      'PostgreSQL, NATS JetStream and nginx',
    ),
  },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'hourglass-cluster-'));
    let basePort = 0;
    const cluster = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['scripts/cluster.mjs', '--dir', dir, '--base-port', String(basePort), ...args],
        {
          encoding: 'utf8',
          env: { ...process.env, HOURGLASS_CLUSTER_NATS: NATS_URL },
          timeout: 120_000,
        },
      );
    /** The cluster's processes: its pid files, and nginx's master. */
    const pids = (): number[] => {
      const files = existsSync(join(dir, 'pids'))
        ? readdirSync(join(dir, 'pids')).map((file) => join(dir, 'pids', file))
        : [];
      if (existsSync(join(dir, 'nginx.pid'))) files.push(join(dir, 'nginx.pid'));
      return files.map((file) => Number(readFileSync(file, 'utf8').trim()));
    };
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };

    after(async () => {
      if (basePort !== 0) cluster('--stop');
      await dropDatabase(`hourglass_cluster_${basePort}`);
      await deleteNamespaceStream(`hourglass-cluster-${basePort}`);
      rmSync(dir, { recursive: true, force: true });
    });

    it('starts, serves the CLI through nginx, fires a schedule, and stops leaving nothing', async (t) => {
      basePort = await freePortRun();
      const startedAt = Date.now();
      const started = cluster();
      assert.equal(started.status, 0, started.stderr + started.stdout);
      t.diagnostic(`cluster started in ${Date.now() - startedAt} ms`);
      assert.match(started.stdout, new RegExp(`Hourglass cluster on http://127.0.0.1:${basePort}`));
      assert.equal(pids().filter(alive).length, 8, '7 hourglass processes and nginx');
      // Every scheduler and worker can be scraped, on the metrics port the script gave it and printed.
      for (const [name, offset] of [
        ['scheduler-1', 3],
        ['worker-2', 7],
      ] as const) {
        const url = `http://127.0.0.1:${basePort + offset}/metrics`;
        assert.ok(started.stdout.includes(`${name} ${url}`), started.stdout);
        assert.match(await (await fetch(url)).text(), /^hourglass_scheduler_partitions \d+/m);
      }
      const env = {
        ...process.env,
        HOURGLASS_URL: `http://127.0.0.1:${basePort}`,
        HOURGLASS_API_KEY: readFileSync(join(dir, 'tenant.key'), 'utf8').trim(),
      };
      assert.equal(
        (await runCli(['jobs', 'create', 'hello', '--', 'echo', 'hello from the cluster'], env)).code,
        0,
      );
      const run = await runCli(['run', 'hello', '--wait'], env);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /hello from the cluster/);
      assert.equal((await runCli(['schedules', 'create', 'hello', '--every', '1s'], env)).code, 0);
      await new Promise((resolve) => setTimeout(resolve, 3_500));
      const list = await runCli(['runs', 'list', '--job', 'hello'], env);
      assert.ok((list.stdout.match(/succeeded/g) ?? []).length >= 3, list.stdout);
      const before = pids();
      const stopped = cluster('--stop');
      assert.equal(stopped.status, 0, stopped.stderr);
      assert.deepEqual(before.filter(alive), [], 'every process stopped');
    });
  },
);
