// `hourglass server`: parses flags, starts the configured roles, prints where to reach them (and, on first
// start, the keys to use), and stops cleanly on SIGINT/SIGTERM (a second signal exits at once).

import { parseArgs } from 'node:util';
import { HourglassError } from '../core/errors.js';
import { ConfigError, resolveConfig } from './config.js';
import { startServer, type RunningServer } from './compose.js';

const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  roles: { type: 'string' },
  'admin-key': { type: 'string' },
  'log-level': { type: 'string' },
  'worker-memory-mb': { type: 'string' },
  'worker-memory-overcommit': { type: 'string' },
  'worker-max-runs': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'kill-grace-ms': { type: 'string' },
  'log-max-bytes': { type: 'string' },
  'scheduler-lead-ms': { type: 'string' },
  'scheduler-lease-ttl-ms': { type: 'string' },
  'scheduler-catchup-per-second': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: hourglass server [flags]

Runs Hourglass in one process: REST API, scheduler, worker and reaper, on a SQLite store and an in-process
queue.

  --port N              HOURGLASS_PORT         port to listen on (default 7420; 0 picks a free one)
  --host ADDR           HOURGLASS_HOST         address to listen on (default 127.0.0.1)
  --data-dir DIR        HOURGLASS_DATA_DIR     store, logs and scratch space (default ./.hourglass)
  --roles LIST          HOURGLASS_ROLES        api plus any of worker, scheduler (default all three)
  --admin-key KEY       HOURGLASS_ADMIN_KEY    the admin key (default: generated at first start, printed once)
  --log-level L         HOURGLASS_LOG_LEVEL    debug|info|warn|error|silent (default info; JSON on stderr)
  --worker-memory-mb N  HOURGLASS_WORKER_MEMORY_MB  memory handed out to runs (default 80% of the host's)
  --worker-memory-overcommit N  HOURGLASS_WORKER_MEMORY_OVERCOMMIT  the runs' memory limits may sum to N
                        times the worker's memory; their requests never pass it (default 4; 1: pack by limits)
  --worker-max-runs N   HOURGLASS_WORKER_MAX_RUNS   most runs at once (default 64)
  --heartbeat-ms N      HOURGLASS_HEARTBEAT_MS      worker heartbeat interval (default 2000)
  --kill-grace-ms N     HOURGLASS_KILL_GRACE_MS     SIGTERM → SIGKILL grace when stopping a run (default 10000)
  --log-max-bytes N     HOURGLASS_LOG_MAX_BYTES     output kept per run (default 10 MiB)
  --scheduler-lead-ms N HOURGLASS_SCHEDULER_LEAD_MS  hand runs to workers this early (default 800)
  --scheduler-lease-ttl-ms N  HOURGLASS_SCHEDULER_LEASE_TTL_MS  partition lease lifetime (default 10000)
  --scheduler-catchup-per-second N  HOURGLASS_SCHEDULER_CATCHUP_PER_SECOND  missed ticks fired per second
                        at most when catching up (default 10000)
`;

function printBanner(server: RunningServer): void {
  const lines = [`Hourglass is listening on ${server.url}`];
  const { adminKey, firstTenant } = server.bootstrap;
  if (adminKey !== null) lines.push(`  admin key (shown once, keep it): ${adminKey}`);
  if (firstTenant !== null) {
    lines.push(`  tenant "${firstTenant.name}" (${firstTenant.id}) key (shown once): ${firstTenant.key}`);
    lines.push(
      '',
      '  Try it:',
      `    export HOURGLASS_URL=${server.url} HOURGLASS_API_KEY=${firstTenant.key}`,
    );
    lines.push('    ./bin/hourglass.js jobs create hello -- echo "hello from hourglass"');
    lines.push('    ./bin/hourglass.js run hello --wait');
  }
  process.stdout.write(lines.join('\n') + '\n');
}

export async function runServer(argv: string[]): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false });
  } catch (error) {
    process.stderr.write(`hourglass server: ${(error as Error).message}\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.values.help) {
    process.stdout.write(HELP);
    return;
  }
  let config;
  try {
    config = resolveConfig({ flags: parsed.values, env: process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`hourglass server: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (error) {
    if (!(error instanceof HourglassError)) throw error;
    process.stderr.write(`hourglass server: ${error.message}\n`);
    process.exitCode = 1;
    return;
  }
  printBanner(server);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(130);
    stopping = true;
    process.stdout.write(`received ${signal}, stopping (again to force)\n`);
    server.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error while stopping: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}
