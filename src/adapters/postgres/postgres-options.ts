// The PostgreSQL store's options: given by the composition root, resolved once (defaults filled, checked)
// and frozen. Retention is a deployment's choice: how long runs and their timelines stay readable.

import { invalid } from '../../core/errors.js';

export interface PostgresStoreOptions {
  /** postgres://user[:password]@host[:port]/database[?…] — what pg's connectionString takes. */
  connectionString: string;
  /** Connections per process (default 10). */
  poolSize?: number;
  /**
   * Days a run and its timeline are kept, counted from the UTC day its id carries (default 30): older days
   * are dropped by partition maintenance, except runs still queued or running.
   */
  retentionDays?: number;
  /** Day partitions made ahead of today (default 7), so that a missed maintenance or two costs nothing. */
  partitionDaysAhead?: number;
  /** How often this process runs partition maintenance (default hourly); 0: never after the open's. */
  maintenanceIntervalMs?: number;
  /** A periodic maintenance that failed (it is tried again at the next interval); default: a warning. */
  onMaintenanceError?: (error: unknown) => void;
  /** Attempts of a transaction that keeps hitting serialization failures or deadlocks (default 5). */
  maxTransactionAttempts?: number;
  /**
   * Whose clock judges partition-lease and scheduler-membership expiry (postgres-lease-queries.ts):
   * `database` (the default) — the server's clock, one for every scheduler node whatever their hosts' clocks
   * say; `caller` — the round's own `now`, as the port passes it (tests that move time by hand).
   */
  leaseClock?: LeaseClock;
}

export type LeaseClock = 'database' | 'caller';

export type ResolvedPostgresOptions = Readonly<Required<PostgresStoreOptions>>;

const HOUR_MS = 3_600_000;

function wholeNumber(field: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min)
    throw invalid(field, `must be a whole number of at least ${min}`);
  return value;
}

function leaseClockOf(value: string): LeaseClock {
  if (value !== 'database' && value !== 'caller') throw invalid('leaseClock', 'must be database or caller');
  return value;
}

export function resolvePostgresOptions(options: PostgresStoreOptions): ResolvedPostgresOptions {
  return Object.freeze({
    connectionString: options.connectionString,
    poolSize: wholeNumber('poolSize', options.poolSize ?? 10, 1),
    retentionDays: wholeNumber('retentionDays', options.retentionDays ?? 30, 1),
    partitionDaysAhead: wholeNumber('partitionDaysAhead', options.partitionDaysAhead ?? 7, 1),
    maintenanceIntervalMs: wholeNumber('maintenanceIntervalMs', options.maintenanceIntervalMs ?? HOUR_MS, 0),
    onMaintenanceError:
      options.onMaintenanceError ??
      ((error: unknown) => process.emitWarning(`partition maintenance failed: ${String(error)}`)),
    maxTransactionAttempts: wholeNumber('maxTransactionAttempts', options.maxTransactionAttempts ?? 5, 1),
    leaseClock: leaseClockOf(options.leaseClock ?? 'database'),
  });
}
