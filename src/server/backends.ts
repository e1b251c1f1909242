// The store, the queue and the hint channels of this process, from the configuration (`--store`, `--queue`):
// the only place, with compose.ts, that constructs them. Embedded: a SQLite file, the in-process queue and
// in-process hints. Distributed: PostgreSQL and NATS — JetStream for the queue, core publish/subscribe for the
// hints (cancels and schedule changes reaching other processes at once), on a connection of their own.

import { connect, type NatsConnection } from 'nats';
import { InProcessQueue } from '../adapters/in-process/in-process-queue.js';
import { InProcessRunSignals } from '../adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../adapters/in-process/in-process-schedule-changes.js';
import { JetStreamRunQueue } from '../adapters/nats/jetstream-run-queue.js';
import { NatsRunSignals } from '../adapters/nats/nats-run-signals.js';
import { NatsScheduleChanges } from '../adapters/nats/nats-schedule-changes.js';
import { PostgresStore } from '../adapters/postgres/postgres-store.js';
import { SqliteStore } from '../adapters/sqlite/sqlite-store.js';
import { HourglassError } from '../core/errors.js';
import type { Clock } from '../ports/clock.js';
import type { RunQueue } from '../ports/queue.js';
import type { RunSignals } from '../ports/run-events.js';
import type { ScheduleChanges } from '../ports/schedule-changes.js';
import type { Store } from '../ports/store.js';
import type { ServerConfig } from './config.js';

export interface Backends {
  store: Store;
  queue: RunQueue;
  signals: RunSignals;
  scheduleChanges: ScheduleChanges;
  /** Closes the queue, the hint channels and the store, in that order. */
  close(): Promise<void>;
}

export async function openBackends(
  config: Readonly<Pick<ServerConfig, 'store' | 'queue' | 'retentionDays'>>,
  clock: Clock,
  onMaintenanceError: (error: unknown) => void,
): Promise<Backends> {
  const store: Store =
    config.store.kind === 'sqlite'
      ? SqliteStore.open(config.store.path)
      : await PostgresStore.open({
          connectionString: config.store.url,
          retentionDays: config.retentionDays,
          onMaintenanceError,
        });
  try {
    if (config.queue.kind === 'memory') {
      const queue = new InProcessQueue({ clock });
      return {
        store,
        queue,
        signals: new InProcessRunSignals(),
        scheduleChanges: new InProcessScheduleChanges(),
        async close() {
          await queue.close();
          await store.close();
        },
      };
    }
    const servers = [...config.queue.servers];
    const { namespace } = config.queue;
    const queue = await JetStreamRunQueue.open(
      {
        servers,
        stream: `${namespace.toUpperCase().replace(/-/g, '_')}_RUNS`,
        consumer: `${namespace}-workers`,
        subjectPrefix: `${namespace}.runs`,
      },
      { clock },
    );
    let hints: NatsConnection;
    try {
      hints = await connect({ servers, name: 'hourglass-hints' });
    } catch (error) {
      await queue.close();
      throw new HourglassError(
        'unavailable',
        `cannot connect to NATS at ${servers.join(',')}: ${String(error)}`,
      );
    }
    const signals = new NatsRunSignals(hints, `${namespace}.run-signals`);
    const scheduleChanges = new NatsScheduleChanges(hints, `${namespace}.schedule-changes`);
    return {
      store,
      queue,
      signals,
      scheduleChanges,
      async close() {
        await queue.close();
        signals.close();
        scheduleChanges.close();
        await hints.drain();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** The store's location for messages and logs: a PostgreSQL URL without its password. */
export function describeStore(location: ServerConfig['store']): string {
  if (location.kind === 'sqlite') return `sqlite:${location.path}`;
  const url = new URL(location.url);
  if (url.password !== '') url.password = '***';
  return url.toString();
}
