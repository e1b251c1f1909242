// Server configuration: read from flags and the environment in this one place, validated, filled with
// defaults, frozen, and passed down. Durations are resolved to milliseconds (`…Ms`).

import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_MEMORY_OVERCOMMIT } from '../core/job.js';

export type Role = 'api' | 'worker' | 'scheduler';
export const ALL_ROLES: readonly Role[] = ['api', 'worker', 'scheduler'];

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  roles: readonly Role[];
  /** When set, this is the admin key; otherwise one is generated on first start and printed once. */
  adminKey: string | null;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  bodyLimitBytes: number;
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
  };
  reaper: {
    intervalMs: number;
    /** A running run whose heartbeat is older than this is lost. */
    staleAfterMs: number;
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

export function resolveConfig(input: ConfigInput): Readonly<ServerConfig> {
  const rolesRaw = pick(input, 'roles', 'HOURGLASS_ROLES') ?? ALL_ROLES.join(',');
  const roles = rolesRaw.split(',').map((r) => r.trim());
  for (const role of roles) {
    if (!ALL_ROLES.includes(role as Role)) {
      throw new ConfigError(`--roles: unknown role ${JSON.stringify(role)} (known: ${ALL_ROLES.join(', ')})`);
    }
  }
  if (!roles.includes('api')) {
    // The in-process queue lives in the API's process: a worker or scheduler elsewhere would not share it.
    throw new ConfigError(
      '--roles: embedded mode needs the api role in the process (for example api,worker,scheduler or api,scheduler)',
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
  const defaultWorkerMemory = Math.floor((availableMemoryBytes() / 1024 / 1024) * 0.8);
  const config: ServerConfig = {
    host: pick(input, 'host', 'HOURGLASS_HOST') ?? '127.0.0.1',
    port: integer('--port / HOURGLASS_PORT', pick(input, 'port', 'HOURGLASS_PORT'), 7420, 0, 65535),
    dataDir: resolve(pick(input, 'data-dir', 'HOURGLASS_DATA_DIR') ?? '.hourglass'),
    roles: Object.freeze(roles as Role[]),
    adminKey: pick(input, 'admin-key', 'HOURGLASS_ADMIN_KEY') ?? null,
    logLevel: logLevel as ServerConfig['logLevel'],
    bodyLimitBytes: 256 * 1024,
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
    }),
    reaper: Object.freeze({
      intervalMs: heartbeatIntervalMs,
      staleAfterMs: heartbeatIntervalMs * 3 + 1000,
    }),
    scheduler: Object.freeze({
      leadMs: integer(
        '--scheduler-lead-ms / HOURGLASS_SCHEDULER_LEAD_MS',
        pick(input, 'scheduler-lead-ms', 'HOURGLASS_SCHEDULER_LEAD_MS'),
        800,
        0,
        60_000,
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
  if (config.adminKey !== null && config.adminKey.length < 24) {
    throw new ConfigError('HOURGLASS_ADMIN_KEY must be at least 24 characters');
  }
  return Object.freeze(config);
}
