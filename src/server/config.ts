// Server configuration: read from flags and the environment in this one place, validated, filled with
// defaults, frozen, and passed down. Durations are resolved to milliseconds (`…Ms`).

import { createHash } from 'node:crypto';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_MEMORY_OVERCOMMIT } from '../core/job.js';
import { DEFAULT_PRE_DISPATCH_LEAD_MS, MAX_PRE_DISPATCH_LEAD_MS } from '../core/run.js';
import { AdminKeyError, checkAdminKey, readAdminKeyFile } from './admin-key.js';
import { DEFAULT_RUN_UID_BASE, DEFAULT_RUN_UID_COUNT, MAX_RUN_UID } from '../adapters/process/run-users.js';

export type Role = 'api' | 'worker' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'worker', 'scheduler'];

/** Where the store lives: a SQLite file (embedded) or a PostgreSQL database shared by many processes. */
export type StoreLocation = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };
/** The run queue: in this process's memory (embedded) or a NATS JetStream stream shared by many processes. */
export type QueueLocation =
  | { kind: 'memory' }
  /** `namespace` names the stream, consumer and subjects: deployments sharing a NATS server stay apart. */
  | { kind: 'nats'; servers: readonly string[]; namespace: string };

export interface ServerConfig {
  host: string;
  port: number;
  /**
   * `--metrics-port`: a port of its own (on `host`) serving /metrics, /healthz and /readyz whatever the roles,
   * so that a scheduler or worker without the API can be scraped; null serves none (0 picks a free one).
   */
  metricsPort: number | null;
  dataDir: string;
  roles: readonly Role[];
  /** `--store sqlite:PATH | postgres://…` (default: sqlite in the data directory). */
  store: StoreLocation;
  /** `--queue memory | nats://host:port[,…]` (default memory). */
  queue: QueueLocation;
  /** Days runs stay readable in a PostgreSQL store (its day partitions older than that are dropped). */
  retentionDays: number;
  /**
   * The operator's admin key (from HOURGLASS_ADMIN_KEY or the key file): an operator's deployment, with no
   * `default` tenant. When null, one is generated on first start and kept in the first-start credentials file.
   */
  adminKey: string | null;
  /** Where adminKey came from, for messages. */
  adminKeySource: 'HOURGLASS_ADMIN_KEY' | 'admin key file' | null;
  /**
   * The key file sealing tenants' registry passwords (`--credentials-key-file`, owner-only); null: the data
   * directory's registry-credentials.key, created at first start (server/credentials-key.ts).
   */
  credentialsKeyFile: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  bodyLimitBytes: number;
  /** Open log follow streams (`?follow=true`) this API process serves at most, per tenant and in all. */
  logFollows: { perTenant: number; total: number };
  worker: {
    /** Memory the worker may hand out to runs; a run reserves its job's request (`resources.memoryRequestMb`). */
    memoryMb: number;
    /** The runs' limits (`resources.memoryMb`) sum to at most `memoryMb` × this; 1 packs by limits. */
    memoryOvercommit: number;
    /** Most runs at once, whatever their memory. */
    maxRuns: number;
    heartbeatIntervalMs: number;
    /** Time between SIGTERM and SIGKILL when a run is stopped (timeout, cancel, shutdown). */
    killGraceMs: number;
    logMaxBytes: number;
    /**
     * When the server runs as root, each run of a host command runs under a uid of its own from
     * runUidBase … runUidBase + 65,535 (and the gid of the same number): uids no one else on the host uses.
     */
    runUidBase: number;
  };
  reaper: {
    intervalMs: number;
    /** A running run whose heartbeat is older than this is lost. */
    staleAfterMs: number;
  };
  /** The container runtime (runc) and its image cache; used only when the worker can run containers. */
  container: {
    /**
     * Bundles, runc's state and (by default) the image cache. Not under the data directory: that is 0700, and
     * a container's root (an unprivileged uid of the host) must pass through these directories to its rootfs.
     * One per data directory, so that servers on one host never share (or clean up) each other's containers.
     */
    dir: string;
    /** The runtime binary (`--runtime-path`): a newer runc than the distribution's, say (docs/security.md). */
    runtimePath: string;
    /** Pulled and unpacked images, shared by runs (content-addressed by digest). */
    imageCacheDir: string;
    /** An image larger than this (its layers, compressed or unpacked) is refused as too large. */
    maxImageMb: number;
    /** Unpinned images are evicted, least recently used first, past this total. */
    imageCacheMb: number;
    /** A tag's resolution to a digest is reused for its tenant this long (0: resolved at every run). */
    imageTagTtlMs: number;
    /** Containers created ahead for hot images, at most (warm-containers.ts); 0 makes none. */
    warmContainers: number;
    /**
     * Registry hosts (`host:port`) the operator allows whatever they resolve to, and over plain HTTP
     * (HOURGLASS_INSECURE_REGISTRIES): every other registry must be public and HTTPS with a verified certificate.
     */
    insecureRegistries: readonly string[];
    /**
     * The address pool (IPv4 CIDR) of `egress` runs' networks, which turns egress on; null leaves it off (jobs
     * that ask for it fail with the reason). Off by default: it sets ip_forward and adds iptables chains.
     */
    egressPool: string | null;
  };
  webhooks: {
    /**
     * `host:port`s webhook deliveries may reach whatever address they resolve to
     * (HOURGLASS_WEBHOOK_ALLOW_HOSTS): every other URL must reach a public unicast address, checked at connect.
     * Only the operator sets it; nothing a tenant sends changes it.
     */
    allowHosts: readonly string[];
  };
  scheduler: {
    /** Ticks (and future runs) go to a worker this long before they are due; the process starts on time. */
    leadMs: number;
    /** Partition leases last this long unless renewed (every third of it). */
    leaseTtlMs: number;
    /** Missed ticks fired per second at most when catching up. */
    catchupPerSecond: number;
  };
}

export interface ConfigInput {
  flags: Record<string, string | boolean | undefined>;
  env: NodeJS.ProcessEnv;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** The host's memory, or the cgroup's limit on this process when that is lower. */
function availableMemoryBytes(): number {
  const limit = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.();
  return limit !== undefined && limit > 0 && limit < totalmem() ? limit : totalmem();
}

function pick(input: ConfigInput, flag: string, envName: string): string | undefined {
  const fromFlag = input.flags[flag];
  if (typeof fromFlag === 'string') return fromFlag;
  const fromEnv = input.env[envName];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * The operator's admin key, from the environment or a key file (never both), checked for strength. A flag is
 * refused: a command line is readable by every user of the host (ps, /proc/<pid>/cmdline).
 */
function resolveAdminKey(input: ConfigInput): Pick<ServerConfig, 'adminKey' | 'adminKeySource'> {
  if (input.flags['admin-key'] !== undefined) {
    throw new ConfigError(
      '--admin-key is not accepted: every user of the host can read a command line (ps, /proc/<pid>/cmdline). ' +
        'Use --admin-key-file PATH (mode 0600) or HOURGLASS_ADMIN_KEY',
    );
  }
  const fromEnv = input.env['HOURGLASS_ADMIN_KEY'] === '' ? undefined : input.env['HOURGLASS_ADMIN_KEY'];
  const file = pick(input, 'admin-key-file', 'HOURGLASS_ADMIN_KEY_FILE');
  if (fromEnv !== undefined && file !== undefined) {
    throw new ConfigError(
      'set either HOURGLASS_ADMIN_KEY or --admin-key-file / HOURGLASS_ADMIN_KEY_FILE, not both',
    );
  }
  try {
    if (file !== undefined) {
      const key = readAdminKeyFile(resolve(file));
      checkAdminKey(key, `the admin key in ${file}`);
      return { adminKey: key, adminKeySource: 'admin key file' };
    }
    if (fromEnv === undefined) return { adminKey: null, adminKeySource: null };
    checkAdminKey(fromEnv, 'HOURGLASS_ADMIN_KEY');
    return { adminKey: fromEnv, adminKeySource: 'HOURGLASS_ADMIN_KEY' };
  } catch (error) {
    if (error instanceof AdminKeyError) throw new ConfigError(error.message);
    throw error;
  }
}

function resolveOptionalPath(raw: string | undefined): string | null {
  return raw === undefined ? null : resolve(raw);
}

/** HOURGLASS_WEBHOOK_ALLOW_HOSTS: exact `host:port`s (lower case; IPv6 in brackets), comma-separated. */
function resolveWebhookAllowHosts(raw: string | undefined): readonly string[] {
  const hosts = (raw ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
  for (const host of hosts) {
    const port = Number(host.slice(host.lastIndexOf(':') + 1));
    if (
      !/^[a-z0-9.-]+:\d{1,5}$|^\[[0-9a-f:.]+\]:\d{1,5}$/.test(host) ||
      !Number.isInteger(port) ||
      port < 1 ||
      port > 65535
    ) {
      throw new ConfigError(
        `HOURGLASS_WEBHOOK_ALLOW_HOSTS: ${JSON.stringify(host)} is not host:port (list them as host:port,host:port)`,
      );
    }
  }
  return Object.freeze(hosts);
}

function resolveContainer(input: ConfigInput, dataDir: string): Readonly<ServerConfig['container']> {
  const insecure = (pick(input, 'insecure-registries', 'HOURGLASS_INSECURE_REGISTRIES') ?? '')
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
  for (const host of insecure) {
    if (!/^[a-z0-9.-]+:\d{1,5}$|^\[[0-9a-f:.]+\]:\d{1,5}$/.test(host)) {
      throw new ConfigError(
        `HOURGLASS_INSECURE_REGISTRIES: ${JSON.stringify(host)} is not host:port (list them as host:port,host:port)`,
      );
    }
  }
  const dir = resolve(
    pick(input, 'container-dir', 'HOURGLASS_CONTAINER_DIR') ??
      join(
        '/var/lib/hourglass',
        `containers-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`,
      ),
  );
  return Object.freeze({
    dir,
    runtimePath: pick(input, 'runtime-path', 'HOURGLASS_RUNTIME_PATH') ?? 'runc',
    imageCacheDir: resolve(
      pick(input, 'image-cache-dir', 'HOURGLASS_IMAGE_CACHE_DIR') ?? join(dir, 'images'),
    ),
    maxImageMb: integer(
      '--max-image-mb / HOURGLASS_MAX_IMAGE_MB',
      pick(input, 'max-image-mb', 'HOURGLASS_MAX_IMAGE_MB'),
      1024,
      1,
      64 * 1024,
    ),
    imageCacheMb: integer(
      '--image-cache-mb / HOURGLASS_IMAGE_CACHE_MB',
      pick(input, 'image-cache-mb', 'HOURGLASS_IMAGE_CACHE_MB'),
      10 * 1024,
      64,
      16 * 1024 * 1024,
    ),
    imageTagTtlMs: integer(
      '--image-tag-ttl-ms / HOURGLASS_IMAGE_TAG_TTL_MS',
      pick(input, 'image-tag-ttl-ms', 'HOURGLASS_IMAGE_TAG_TTL_MS'),
      10_000,
      0,
      3_600_000,
    ),
    warmContainers: integer(
      '--warm-containers / HOURGLASS_WARM_CONTAINERS',
      pick(input, 'warm-containers', 'HOURGLASS_WARM_CONTAINERS'),
      2,
      0,
      64,
    ),
    insecureRegistries: Object.freeze(insecure),
    egressPool: resolveEgressPool(pick(input, 'egress-pool', 'HOURGLASS_EGRESS_POOL')),
  });
}

function resolveStore(raw: string | undefined, dataDir: string): StoreLocation {
  if (raw === undefined) return { kind: 'sqlite', path: join(dataDir, 'hourglass.db') };
  if (raw.startsWith('sqlite:')) {
    const path = raw.slice('sqlite:'.length);
    if (path === '')
      throw new ConfigError(
        '--store / HOURGLASS_STORE: sqlite: needs a path (sqlite:/var/lib/hourglass/hourglass.db)',
      );
    return { kind: 'sqlite', path: resolve(path) };
  }
  if (/^postgres(ql)?:\/\//.test(raw)) {
    try {
      new URL(raw);
    } catch {
      throw new ConfigError('--store / HOURGLASS_STORE: the postgres:// URL does not parse');
    }
    return { kind: 'postgres', url: raw };
  }
  throw new ConfigError(
    '--store / HOURGLASS_STORE must be sqlite:PATH or postgres://user@host:port/database',
  );
}

function resolveQueue(raw: string | undefined, namespace = 'hourglass'): QueueLocation {
  if (!/^[a-z][a-z0-9_-]{0,31}$/.test(namespace)) {
    throw new ConfigError(
      '--nats-namespace / HOURGLASS_NATS_NAMESPACE: lowercase letters, digits, _ and -, starting with a letter (up to 32)',
    );
  }
  if (raw === undefined || raw === 'memory') return { kind: 'memory' };
  const servers = raw.split(',').map((server) => server.trim());
  if (servers.length > 0 && servers.every((server) => /^nats:\/\/[^\s/]+$/.test(server)))
    return { kind: 'nats', servers: Object.freeze(servers), namespace };
  throw new ConfigError(
    '--queue / HOURGLASS_QUEUE must be memory or nats://host:port (several: nats://a:4222,nats://b:4222)',
  );
}

function resolveEgressPool(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(raw);
  const octets = match?.slice(1, 5).map(Number) ?? [];
  const bits = Number(match?.[5]);
  if (match === null || octets.some((o) => o > 255) || bits < 8 || bits > 30) {
    throw new ConfigError(
      `--egress-pool / HOURGLASS_EGRESS_POOL must be an IPv4 CIDR from /8 to /30, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

function resolveMetricsPort(
  raw: string | undefined,
  apiPort: number,
  roles: readonly string[],
): number | null {
  if (raw === undefined) return null;
  const port = integer('--metrics-port / HOURGLASS_METRICS_PORT', raw, 0, 0, 65535);
  if (roles.includes('api') && port !== 0 && port === apiPort) {
    throw new ConfigError(
      `--metrics-port / HOURGLASS_METRICS_PORT must differ from --port (both ${port}): the API already serves /metrics on its port`,
    );
  }
  return port;
}

export function resolveConfig(input: ConfigInput): Readonly<ServerConfig> {
  const rolesRaw = pick(input, 'roles', 'HOURGLASS_ROLES') ?? ALL_ROLES.join(',');
  const roles = rolesRaw.split(',').map((r) => r.trim());
  for (const role of roles) {
    if (!ALL_ROLES.includes(role as Role)) {
      throw new ConfigError(`--roles: unknown role ${JSON.stringify(role)} (known: ${ALL_ROLES.join(', ')})`);
    }
  }
  const dataDir = resolve(pick(input, 'data-dir', 'HOURGLASS_DATA_DIR') ?? '.hourglass');
  const store = resolveStore(pick(input, 'store', 'HOURGLASS_STORE'), dataDir);
  const queue = resolveQueue(
    pick(input, 'queue', 'HOURGLASS_QUEUE'),
    pick(input, 'nats-namespace', 'HOURGLASS_NATS_NAMESPACE'),
  );
  if (queue.kind === 'memory' && !roles.includes('api')) {
    // The in-process queue lives in the API's process: a worker or scheduler elsewhere would not share it.
    throw new ConfigError(
      '--roles: with the in-process queue the api role must be in the process (for example api,worker,scheduler); roles in processes of their own share a queue: --queue nats://…',
    );
  }
  if (queue.kind === 'memory' && roles.length < ALL_ROLES.length && store.kind === 'postgres') {
    throw new ConfigError(
      `--roles ${roles.join(',')} with --store postgres needs a shared queue too (--queue nats://…): the in-process queue reaches only this process`,
    );
  }
  const logLevel = pick(input, 'log-level', 'HOURGLASS_LOG_LEVEL') ?? 'info';
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new ConfigError(`--log-level must be one of debug, info, warn, error, silent`);
  }
  const heartbeatIntervalMs = integer(
    '--heartbeat-ms / HOURGLASS_HEARTBEAT_MS',
    pick(input, 'heartbeat-ms', 'HOURGLASS_HEARTBEAT_MS'),
    2000,
    100,
    60_000,
  );
  const port = integer('--port / HOURGLASS_PORT', pick(input, 'port', 'HOURGLASS_PORT'), 7420, 0, 65535);
  const metricsPort = resolveMetricsPort(pick(input, 'metrics-port', 'HOURGLASS_METRICS_PORT'), port, roles);
  const defaultWorkerMemory = Math.floor((availableMemoryBytes() / 1024 / 1024) * 0.8);
  const config: ServerConfig = {
    host: pick(input, 'host', 'HOURGLASS_HOST') ?? '127.0.0.1',
    port,
    metricsPort,
    dataDir,
    roles: Object.freeze(roles as Role[]),
    store: Object.freeze(store),
    queue: Object.freeze(queue),
    retentionDays: integer(
      '--retention-days / HOURGLASS_RETENTION_DAYS',
      pick(input, 'retention-days', 'HOURGLASS_RETENTION_DAYS'),
      30,
      1,
      3650,
    ),
    ...resolveAdminKey(input),
    credentialsKeyFile: resolveOptionalPath(
      pick(input, 'credentials-key-file', 'HOURGLASS_CREDENTIALS_KEY_FILE'),
    ),
    logLevel: logLevel as ServerConfig['logLevel'],
    bodyLimitBytes: 256 * 1024,
    logFollows: Object.freeze({
      perTenant: integer(
        '--max-log-follows-per-tenant / HOURGLASS_MAX_LOG_FOLLOWS_PER_TENANT',
        pick(input, 'max-log-follows-per-tenant', 'HOURGLASS_MAX_LOG_FOLLOWS_PER_TENANT'),
        50,
        1,
        1_000_000,
      ),
      total: integer(
        '--max-log-follows / HOURGLASS_MAX_LOG_FOLLOWS',
        pick(input, 'max-log-follows', 'HOURGLASS_MAX_LOG_FOLLOWS'),
        1000,
        1,
        1_000_000,
      ),
    }),
    worker: Object.freeze({
      memoryMb: integer(
        '--worker-memory-mb / HOURGLASS_WORKER_MEMORY_MB',
        pick(input, 'worker-memory-mb', 'HOURGLASS_WORKER_MEMORY_MB'),
        defaultWorkerMemory,
        64,
        16 * 1024 * 1024,
      ),
      memoryOvercommit: integer(
        '--worker-memory-overcommit / HOURGLASS_WORKER_MEMORY_OVERCOMMIT',
        pick(input, 'worker-memory-overcommit', 'HOURGLASS_WORKER_MEMORY_OVERCOMMIT'),
        DEFAULT_MEMORY_OVERCOMMIT,
        1,
        64,
      ),
      maxRuns: integer(
        '--worker-max-runs / HOURGLASS_WORKER_MAX_RUNS',
        pick(input, 'worker-max-runs', 'HOURGLASS_WORKER_MAX_RUNS'),
        64,
        1,
        100_000,
      ),
      heartbeatIntervalMs,
      killGraceMs: integer(
        '--kill-grace-ms / HOURGLASS_KILL_GRACE_MS',
        pick(input, 'kill-grace-ms', 'HOURGLASS_KILL_GRACE_MS'),
        10_000,
        0,
        600_000,
      ),
      logMaxBytes: integer(
        '--log-max-bytes / HOURGLASS_LOG_MAX_BYTES',
        pick(input, 'log-max-bytes', 'HOURGLASS_LOG_MAX_BYTES'),
        10 * 1024 * 1024,
        1024,
        1024 ** 3,
      ),
      runUidBase: integer(
        '--run-uid-base / HOURGLASS_RUN_UID_BASE',
        pick(input, 'run-uid-base', 'HOURGLASS_RUN_UID_BASE'),
        DEFAULT_RUN_UID_BASE,
        1000,
        MAX_RUN_UID - DEFAULT_RUN_UID_COUNT + 1,
      ),
    }),
    // A worker killed just after a heartbeat has its runs recorded lost within 3 heartbeat intervals:
    // stale after two and a half missed, found by a sweep every half interval.
    reaper: Object.freeze({
      intervalMs: Math.ceil(heartbeatIntervalMs / 2),
      staleAfterMs: Math.ceil(heartbeatIntervalMs * 2.5),
    }),
    container: resolveContainer(input, dataDir),
    webhooks: Object.freeze({
      allowHosts: resolveWebhookAllowHosts(input.env['HOURGLASS_WEBHOOK_ALLOW_HOSTS']),
    }),
    scheduler: Object.freeze({
      leadMs: integer(
        '--scheduler-lead-ms / HOURGLASS_SCHEDULER_LEAD_MS',
        pick(input, 'scheduler-lead-ms', 'HOURGLASS_SCHEDULER_LEAD_MS'),
        DEFAULT_PRE_DISPATCH_LEAD_MS,
        0,
        MAX_PRE_DISPATCH_LEAD_MS,
      ),
      leaseTtlMs: integer(
        '--scheduler-lease-ttl-ms / HOURGLASS_SCHEDULER_LEASE_TTL_MS',
        pick(input, 'scheduler-lease-ttl-ms', 'HOURGLASS_SCHEDULER_LEASE_TTL_MS'),
        10_000,
        1_000,
        300_000,
      ),
      catchupPerSecond: integer(
        '--scheduler-catchup-per-second / HOURGLASS_SCHEDULER_CATCHUP_PER_SECOND',
        pick(input, 'scheduler-catchup-per-second', 'HOURGLASS_SCHEDULER_CATCHUP_PER_SECOND'),
        10_000,
        1,
        1_000_000,
      ),
    }),
  };
  return Object.freeze(config);
}
