// `hourglass server`: parses flags, starts the configured roles, prints where to reach them (and, until the
// first-start credentials file is removed, the keys to use), and stops cleanly on SIGINT/SIGTERM (a second
// signal exits at once). Before anything else it sets the umask to 077, and once the configuration is read
// it deletes HOURGLASS_ADMIN_KEY from process.env, so that no child (the launcher, the runs) inherits it.

import { parseArgs } from 'node:util';
import { HourglassError } from '../core/errors.js';
import { DEFAULT_PRE_DISPATCH_LEAD_MS } from '../core/run.js';
import { ConfigError, resolveConfig } from './config.js';
import { startServer, type RunningServer } from './compose.js';
import { PortInUseError } from './listen.js';

const FLAGS = {
  port: { type: 'string' },
  'metrics-port': { type: 'string' },
  host: { type: 'string' },
  'data-dir': { type: 'string' },
  roles: { type: 'string' },
  store: { type: 'string' },
  queue: { type: 'string' },
  'retention-days': { type: 'string' },
  'nats-namespace': { type: 'string' },
  'admin-key': { type: 'string' }, // refused with its reason (config.ts)
  'admin-key-file': { type: 'string' },
  'credentials-key-file': { type: 'string' },
  'log-level': { type: 'string' },
  'worker-memory-mb': { type: 'string' },
  'worker-memory-overcommit': { type: 'string' },
  'worker-max-runs': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  'kill-grace-ms': { type: 'string' },
  'run-uid-base': { type: 'string' },
  'log-max-bytes': { type: 'string' },
  'scheduler-lead-ms': { type: 'string' },
  'scheduler-lease-ttl-ms': { type: 'string' },
  'scheduler-catchup-per-second': { type: 'string' },
  'max-log-follows': { type: 'string' },
  'max-log-follows-per-tenant': { type: 'string' },
  'runtime-path': { type: 'string' },
  'container-dir': { type: 'string' },
  'egress-pool': { type: 'string' },
  'image-cache-dir': { type: 'string' },
  'max-image-mb': { type: 'string' },
  'image-cache-mb': { type: 'string' },
  'image-tag-ttl-ms': { type: 'string' },
  'warm-containers': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HELP = `Usage: hourglass server [flags]

Runs Hourglass in one process: REST API, scheduler, worker and reaper, on a SQLite store and an in-process
queue.

  --port N              HOURGLASS_PORT         port to listen on (default 7420; 0 picks a free one)
  --host ADDR           HOURGLASS_HOST         address to listen on (default 127.0.0.1)
  --metrics-port N      HOURGLASS_METRICS_PORT  also serve GET /metrics, /healthz and /readyz on this port
                        of HOST, whatever the roles (0 picks a free one; default: none; the api role
                        serves them on --port as well)
  --data-dir DIR        HOURGLASS_DATA_DIR     store, logs and scratch space (default ./.hourglass)
  --roles LIST          HOURGLASS_ROLES        any of api, worker, scheduler (default all three); roles in
                        processes of their own need a shared store and queue (docs/operations.md)
  --store URL           HOURGLASS_STORE        sqlite:PATH (default: DATA_DIR/hourglass.db) or
                        postgres://user@host:port/database
  --queue URL           HOURGLASS_QUEUE        memory (default: in this process) or nats://host:port[,…]
                        (NATS JetStream; also carries cancel and schedule-change hints between processes)
  --retention-days N    HOURGLASS_RETENTION_DAYS  days runs stay readable in a PostgreSQL store (default 30)
  --nats-namespace NAME HOURGLASS_NATS_NAMESPACE  names the JetStream stream, consumer and subjects
                        (default hourglass: stream HOURGLASS_RUNS), so deployments can share a NATS server
  --admin-key-file PATH HOURGLASS_ADMIN_KEY_FILE  a file (mode 0600, owner only) holding the admin key, at
                        least 128 bits of entropy (openssl rand -hex 32 > key; chmod 600 key). Or give the key
                        in HOURGLASS_ADMIN_KEY (read, then removed from what children inherit). With either,
                        no default tenant is created. Without: an admin key and a default tenant are
                        generated at first start and kept in DIR/first-start-credentials.txt (0600).
  --credentials-key-file PATH  HOURGLASS_CREDENTIALS_KEY_FILE  a file (0600, owner only) holding 64 hex
                        digits (openssl rand -hex 32) that seal tenants' registry passwords. Default:
                        DIR/registry-credentials.key, generated at first start. Keep it apart from backups of
                        DIR: without it the stored passwords cannot be read (nor used).
  --log-level L         HOURGLASS_LOG_LEVEL    debug|info|warn|error|silent (default info; JSON on stderr)
  --worker-memory-mb N  HOURGLASS_WORKER_MEMORY_MB  memory handed out to runs (default 80% of the host's)
  --worker-memory-overcommit N  HOURGLASS_WORKER_MEMORY_OVERCOMMIT  the runs' memory limits may sum to N
                        times the worker's memory; their requests never pass it (default 4; 1: pack by limits)
  --worker-max-runs N   HOURGLASS_WORKER_MAX_RUNS   most runs at once (default 64)
  --heartbeat-ms N      HOURGLASS_HEARTBEAT_MS      worker heartbeat interval (default 2000)
  --kill-grace-ms N     HOURGLASS_KILL_GRACE_MS     SIGTERM → SIGKILL grace when stopping a run (default 10000)
  --log-max-bytes N     HOURGLASS_LOG_MAX_BYTES     output kept per run (default 10 MiB)
  --run-uid-base N      HOURGLASS_RUN_UID_BASE      as root, host commands run as uids N…N+65535, one per
                        run (default 2000000000)
  --scheduler-lead-ms N HOURGLASS_SCHEDULER_LEAD_MS  hand runs to workers this early (default ${DEFAULT_PRE_DISPATCH_LEAD_MS})
  --scheduler-lease-ttl-ms N  HOURGLASS_SCHEDULER_LEASE_TTL_MS  partition lease lifetime (default 10000)
  --scheduler-catchup-per-second N  HOURGLASS_SCHEDULER_CATCHUP_PER_SECOND  missed ticks fired per second
                        at most when catching up (default 10000)
  --max-log-follows N   HOURGLASS_MAX_LOG_FOLLOWS   open log follow streams at most (default 1000)
  --max-log-follows-per-tenant N  HOURGLASS_MAX_LOG_FOLLOWS_PER_TENANT  open log follow streams per tenant
                        at most (default 50); past either cap a new stream is refused with 429
  --runtime-path PATH   HOURGLASS_RUNTIME_PATH      the container runtime binary (default runc on PATH)
  --container-dir DIR   HOURGLASS_CONTAINER_DIR     bundles and runc state (default
                        /var/lib/hourglass/containers-<hash of the data dir>)
  --egress-pool CIDR    HOURGLASS_EGRESS_POOL       turns on network egress for containers, their /30s from
                        this private pool (e.g. 10.213.0.0/16; off by default: it sets ip_forward and
                        adds iptables chains)
  --image-cache-dir DIR HOURGLASS_IMAGE_CACHE_DIR   pulled images (default CONTAINER_DIR/images)
  --max-image-mb N      HOURGLASS_MAX_IMAGE_MB      largest image pulled, in MiB (default 1024)
  --image-cache-mb N    HOURGLASS_IMAGE_CACHE_MB    image cache size before eviction, in MiB (default 10240)
  --image-tag-ttl-ms N  HOURGLASS_IMAGE_TAG_TTL_MS  a tag's resolution to a digest is reused by its tenant
                        this long (default 10000; 0: the registry is asked at every run)
  --warm-containers N   HOURGLASS_WARM_CONTAINERS   containers created ahead for hot images, at most
                        (default 2; 0: none), so that a run-now skips creating one
                        HOURGLASS_INSECURE_REGISTRIES  host:port,… registries allowed on private addresses
                        and plain HTTP (every other registry: public, HTTPS, verified certificate)
`;

function printBanner(server: RunningServer): void {
  if (server.url === '') {
    // No API here: its keys are for the processes that serve one.
    const lines = [`Hourglass is running: ${server.roles.join(', ')} (no API in this process)`];
    if (server.metricsUrl !== '') lines.push(`  Metrics: ${server.metricsUrl}`);
    lines.push(`  ${server.backends}`, `  ${describeRuntimes(server)}`);
    process.stdout.write(lines.join('\n') + '\n');
    return;
  }
  const lines = [`Hourglass is listening on ${server.url}`];
  if (server.metricsUrl !== '') lines.push(`  Metrics: ${server.metricsUrl}`);
  const { operatorKey, credentials, credentialsPath, credentialsProblem } = server.bootstrap;
  if (credentialsProblem !== null)
    lines.push(`  could not read the first-start credentials: ${credentialsProblem}`);
  if (credentials !== null && operatorKey) {
    // Its admin key was revoked by the operator's; its tenant key may still work. Not printed.
    lines.push(
      `  ${credentialsPath} holds first-start credentials: store the tenant key elsewhere, then remove it`,
    );
  } else if (credentials !== null) {
    lines.push(
      `  First-start credentials (printed at every start until you remove ${credentialsPath}):`,
      `  admin key: ${credentials.adminKey}`,
      `  tenant "${credentials.tenantName}" (${credentials.tenantId}) key: ${credentials.tenantKey}`,
      '',
      '  Try it:',
      `    export HOURGLASS_URL=${server.url} HOURGLASS_API_KEY=${credentials.tenantKey}`,
      '    ./bin/hourglass.js jobs create hello -- echo "hello from hourglass"',
      '    ./bin/hourglass.js run hello --wait',
    );
  }
  lines.push(`  ${server.backends}`, `  ${describeRuntimes(server)}`);
  process.stdout.write(lines.join('\n') + '\n');
}

/** Which runtime runs what here: an operator must never take the process runtime for a sandbox. */
function describeRuntimes(server: RunningServer): string {
  const probe = server.containerRuntime;
  if (probe === null) return 'No worker in this process: runs are run elsewhere';
  const containers =
    probe.unavailableReason === null
      ? `Containers: runc ${probe.version ?? '(unknown version)'} (${probe.path})`
      : `Containers: unavailable (${probe.unavailableReason}); jobs with an image fail here`;
  return `${containers}. Host commands run unisolated (process runtime; docs/security.md)`;
}

export async function runServer(argv: string[]): Promise<void> {
  process.umask(0o077); // before anything is created: the data directory and its files are the owner's
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
  } finally {
    // Read once: gone from what the launcher and every run inherit. This process's own /proc/<pid>/environ
    // is fixed at exec and still shows it (docs/security.md): the key file avoids that.
    delete process.env['HOURGLASS_ADMIN_KEY'];
  }
  let server: RunningServer;
  try {
    server = await startServer(config);
  } catch (error) {
    if (error instanceof PortInUseError) {
      process.stderr.write(`hourglass server: ${error.message}\n`);
      process.exitCode = 1;
      return;
    }
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
