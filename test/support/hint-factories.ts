// Every transport of the latency-hint ports (RunSignals, ScheduleChanges) the contract suite runs against.
// A bus is one deployment; each node() is one process on it (the in-process bus has only one process).
// HOURGLASS_TEST_QUEUES (comma-separated: memory, nats) narrows the list, as it does for the queues.

import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from 'nats';
import { InProcessRunSignals } from '../../src/adapters/in-process/in-process-run-signals.js';
import { InProcessScheduleChanges } from '../../src/adapters/in-process/in-process-schedule-changes.js';
import { NatsRunSignals } from '../../src/adapters/nats/nats-run-signals.js';
import { NatsScheduleChanges } from '../../src/adapters/nats/nats-schedule-changes.js';
import type { RunSignals } from '../../src/ports/run-events.js';
import type { ScheduleChanges } from '../../src/ports/schedule-changes.js';
import { NATS_AVAILABLE, NATS_URL } from './queue-factories.js';
import { skipUnless } from './required-services.js';

export { NATS_AVAILABLE, NATS_URL };

export interface HintNode {
  signals: RunSignals;
  changes: ScheduleChanges;
  /** The node's own connection, when it has one (to send it raw messages in a test). */
  connection: NatsConnection | null;
  subjects: { signals: string; changes: string } | null;
}

export interface HintBus {
  /** Whether node() gives other processes (each with its own connection) or the same one. */
  crossesProcesses: boolean;
  node(): Promise<HintNode>;
  close(): Promise<void>;
}

export interface HintBusFactory {
  name: string;
  /** Whether its buses have more than one process (node() gives each its own connection). */
  crossesProcesses: boolean;
  /** False, or the reason to skip (skipUnless). */
  skip: false | string;
  create(): Promise<HintBus>;
}

const memory: HintBusFactory = {
  name: 'memory',
  crossesProcesses: false,
  skip: false,
  async create() {
    const node: HintNode = {
      signals: new InProcessRunSignals(),
      changes: new InProcessScheduleChanges(),
      connection: null,
      subjects: null,
    };
    return { crossesProcesses: false, node: async () => node, close: async () => undefined };
  },
};

const nats: HintBusFactory = {
  name: 'nats',
  crossesProcesses: true,
  skip: skipUnless(NATS_AVAILABLE, `NATS at ${NATS_URL}`),
  async create() {
    // Subjects of this bus alone, so that parallel tests never hear each other.
    const prefix = `hourglass-test.${randomBytes(6).toString('hex')}`;
    const subjects = { signals: `${prefix}.run-signals`, changes: `${prefix}.schedule-changes` };
    const connections: NatsConnection[] = [];
    const closers: (() => void)[] = [];
    return {
      crossesProcesses: true,
      async node() {
        const connection = await connect({ servers: NATS_URL });
        connections.push(connection);
        const signals = new NatsRunSignals(connection, subjects.signals);
        const changes = new NatsScheduleChanges(connection, subjects.changes);
        closers.push(
          () => signals.close(),
          () => changes.close(),
        );
        // The subscriptions are registered with the server before a test emits (a flush round-trips).
        await connection.flush();
        return { signals, changes, connection, subjects };
      },
      async close() {
        for (const close of closers) close();
        await Promise.all(connections.map((connection) => connection.close()));
      },
    };
  },
};

const selected = process.env['HOURGLASS_TEST_QUEUES']?.split(',').map((name) => name.trim());

export const HINT_BUS_FACTORIES: readonly HintBusFactory[] = [memory, nats].filter(
  (factory) => selected === undefined || selected.includes(factory.name),
);
