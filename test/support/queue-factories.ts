// Every RunQueue adapter the contract suite runs against. Each factory makes a fresh, empty queue location
// for one test, opens handles on it (for JetStream, each its own connection to the same durable consumer, as
// separate workers are) and removes what it left behind. HOURGLASS_TEST_QUEUES (comma-separated names)
// narrows the list, e.g. `memory` where no NATS server runs; NATS is probed only when selected, and
// with HOURGLASS_REQUIRE_SERVICES=1 a missing one fails instead of skipping.

import { randomBytes } from 'node:crypto';
import { connect } from 'nats';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { JetStreamRunQueue } from '../../src/adapters/nats/jetstream-run-queue.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { Clock } from '../../src/ports/clock.js';
import type { RunQueue } from '../../src/ports/queue.js';
import { skipUnless } from './required-services.js';

export const NATS_URL = process.env['HOURGLASS_TEST_NATS_URL'] ?? 'nats://127.0.0.1:4222';

export interface QueueLocation {
  /** A handle on the queue: a second one pulls from the same queue, as a second worker does. */
  open(): Promise<RunQueue>;
  /** Removes the queue; every handle must be closed first. */
  destroy(): Promise<void>;
}

export interface QueueLocationOptions {
  /** How long an unsettled delivery is kept from other pullers, where the queue redelivers at all. */
  ackWaitMs?: number;
  /**
   * The clock its handles read (availableAt, nak delays, pull deadlines); the system's unless a test drives
   * time. A broker's own timers (redelivery, the ack wait) run in real time whatever this clock says.
   */
  clock?: Clock;
}

export interface QueueFactory {
  name: string;
  /** The test runner's `skip`: false, or why this adapter cannot run here. */
  skip: false | string;
  /**
   * Capability: whether an unsettled delivery comes back after the ack wait. The in-process queue lives and
   * dies with its workers, so it never has to.
   */
  redeliversUnsettled: boolean;
  /** Capability: how long an acked (run, attempt) is still refused when published again; 0: not at all. */
  dedupWindowMs: number;
  /** Capability: whether messages outlive the handles (closed and opened again). */
  durable: boolean;
  createLocation(options?: QueueLocationOptions): Promise<QueueLocation>;
}

/** The embedded queue: what tests whose subject is not the queue use (also where NATS is selected out). */
export const MEMORY_QUEUE: QueueFactory = {
  name: 'memory',
  skip: false,
  redeliversUnsettled: false,
  dedupWindowMs: 0,
  durable: false,
  async createLocation(options = {}) {
    // One queue in this process: every handle is the same object, as every worker in one server shares it.
    const queue = new InProcessQueue({ clock: options.clock ?? systemClock });
    return { open: async () => queue, destroy: () => queue.close() };
  },
};

/** The ack wait of the JetStream tests unless one asks for less: long enough for a loaded machine. */
const TEST_ACK_WAIT_MS = 5_000;
const TEST_DEDUP_WINDOW_MS = 60_000;

async function natsReachable(): Promise<boolean> {
  try {
    const nc = await connect({ servers: NATS_URL, timeout: 1000, reconnect: false });
    const jsm = await nc.jetstreamManager();
    await jsm.getAccountInfo();
    await nc.close();
    return true;
  } catch {
    return false;
  }
}

function nats(skip: false | string): QueueFactory {
  return {
    name: 'nats',
    skip,
    redeliversUnsettled: true,
    dedupWindowMs: TEST_DEDUP_WINDOW_MS,
    durable: true,
    async createLocation(options = {}) {
      const unique = `${process.pid}_${randomBytes(4).toString('hex')}`;
      const settings = {
        servers: NATS_URL,
        stream: `HOURGLASS_TEST_${unique}`,
        consumer: `workers_${unique}`,
        subjectPrefix: `hourglass_test.${unique}`,
        ackWaitMs: options.ackWaitMs ?? TEST_ACK_WAIT_MS,
        duplicateWindowMs: TEST_DEDUP_WINDOW_MS,
      };
      return {
        open: () => JetStreamRunQueue.open(settings, { clock: options.clock ?? systemClock }),
        async destroy() {
          const nc = await connect({ servers: NATS_URL });
          try {
            const jsm = await nc.jetstreamManager();
            await jsm.streams.delete(settings.stream);
          } finally {
            await nc.close();
          }
        },
      };
    },
  };
}

const selected = process.env['HOURGLASS_TEST_QUEUES']?.split(',').map((name) => name.trim());
const wanted = (name: string): boolean => selected === undefined || selected.includes(name);

const factories: QueueFactory[] = [];
if (wanted('memory')) factories.push(MEMORY_QUEUE);
/** Whether NATS with JetStream answers at NATS_URL (asked once per test process). */
export const NATS_AVAILABLE = await natsReachable();

if (wanted('nats')) factories.push(nats(skipUnless(NATS_AVAILABLE, `NATS JetStream at ${NATS_URL}`)));

export const QUEUE_FACTORIES: readonly QueueFactory[] = factories;
