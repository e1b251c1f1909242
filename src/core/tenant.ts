// Tenants and their plan limits, and API keys. Every object belongs to exactly one tenant.

import { HourglassError } from './errors.js';

export interface PlanLimits {
  /** Largest `resources.memoryMb` a job may ask for. */
  maxMemoryMb: number;
  /** Largest `timeoutSeconds` a job may ask for (never above 86,400). */
  maxTimeoutSeconds: number;
  /** Jobs a tenant may have at once. */
  maxJobs: number;
  /** Sustained run creations per second through the API, and the burst allowed above it. */
  runsPerSecond: number;
  runBurst: number;
  /** Live schedules a tenant may have at once. */
  maxSchedules: number;
  /** Shortest time between two ticks of one schedule (an `every`, or the closest ticks of a cron). */
  minIntervalSeconds: number;
  /** Webhooks a tenant may have at once. */
  maxWebhooks: number;
  /**
   * Whether the tenant may run host commands (jobs without an image, run by the process runtime on the
   * worker's host). A privilege only an admin grants: a host command is not sandboxed the way a container is.
   */
  allowHostCommands: boolean;
}

export const DEFAULT_PLAN_LIMITS: Readonly<PlanLimits> = Object.freeze({
  maxMemoryMb: 4096,
  maxTimeoutSeconds: 86_400,
  maxJobs: 1000,
  runsPerSecond: 10,
  runBurst: 50,
  maxSchedules: 1000,
  minIntervalSeconds: 1,
  maxWebhooks: 10,
  // Off unless an admin grants it; also what a tenant stored before this limit existed reads as.
  allowHostCommands: false,
});

/** A plan with every limit set: a tenant stored before a limit existed gets that limit's default. */
export function withPlanDefaults(limits: Partial<PlanLimits>): PlanLimits {
  return { ...DEFAULT_PLAN_LIMITS, ...limits };
}

/** Why a host command is refused to a tenant without `limits.allowHostCommands`; the limit is named. */
export const HOST_COMMANDS_NOT_ALLOWED =
  'host commands (jobs without an image) are not allowed for this tenant: an admin must set limits.allowHostCommands';

/** Refuses (403) a host command, a job without an image, to a tenant whose plan does not allow them. */
export function checkHostCommandsAllowed(limits: Pick<PlanLimits, 'allowHostCommands'>, field: string): void {
  if (limits.allowHostCommands === true) return;
  throw new HourglassError('forbidden', `${field}: ${HOST_COMMANDS_NOT_ALLOWED}`, {
    field,
    limit: 'allowHostCommands',
  });
}

export interface Tenant {
  id: string;
  name: string;
  limits: PlanLimits;
  createdAt: number;
}

export type KeyScope = 'admin' | 'tenant';

export interface ApiKey {
  id: string;
  /** Null for admin keys. */
  tenantId: string | null;
  scope: KeyScope;
  /** The first characters of the secret, kept so a person can tell keys apart. */
  prefix: string;
  /** SHA-256 of the secret, hex. The secret itself is never stored. */
  secretHash: string;
  name: string | null;
  createdAt: number;
  revokedAt: number | null;
  /** When the key last authenticated a request, to the minute (written at most once a minute per key). */
  lastUsedAt: number | null;
}

/** Who is calling: resolved from the bearer key on every request. */
export type Principal =
  { scope: 'admin'; keyId: string } | { scope: 'tenant'; keyId: string; tenantId: string };
