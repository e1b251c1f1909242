// bench/queue-jetstream: the run queue's own cost, in-process against NATS JetStream, in the same invocation
// with rounds interleaved (docs/benchmarks.md).
//
//   npm run build && node dist/bench/queue-jetstream.js [--messages 20000] [--batch 1000] [--pullers 4]
//     [--max 4] [--handovers 200] [--rounds 3] [--nats nats://127.0.0.1:4222] [--out FILE]
//
// Per round and system, on a fresh queue (for JetStream a stream of its own, deleted after):
//   publish: `messages` messages in batches of `batch` (as a scheduler fires them), messages/s;
//   pull + ack: `pullers` handles (JetStream: each its own connection, as separate workers) pulling at most
//     `max` at a time (the worker's batch) and acking each, until all are gone, messages/s;
//   handover: one message published while a puller waits, `handovers` times: publish call → delivery, ms.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { connect } from 'nats';
import { InProcessQueue } from '../src/adapters/in-process/in-process-queue.js';
import { JetStreamRunQueue } from '../src/adapters/nats/jetstream-run-queue.js';
import { systemClock } from '../src/adapters/system/system-clock.js';
import type { QueueMessage, RunQueue } from '../src/ports/queue.js';
import { median, round, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '1000' },
    pullers: { type: 'string', default: '4' },
    max: { type: 'string', default: '4' },
    handovers: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    out: { type: 'string' },
  },
});
const MESSAGES = Number(values.messages);
const BATCH = Number(values.batch);
const PULLERS = Number(values.pullers);
const MAX = Number(values.max);
const HANDOVERS = Number(values.handovers);
const ROUNDS = Number(values.rounds);
const NATS_URL = values.nats;

/** A queue location: handles on one queue, and how to remove it. */
interface System {
  name: string;
  create(): Promise<{ open(): Promise<RunQueue>; destroy(): Promise<void> }>;
}

const memory: System = {
  name: 'in-process',
  async create() {
    const queue = new InProcessQueue({ clock: systemClock });
    return { open: async () => queue, destroy: () => queue.close() };
  },
};

const jetstream: System = {
  name: 'jetstream',
  async create() {
    const unique = randomBytes(4).toString('hex');
    const options = {
      servers: NATS_URL,
      stream: `HOURGLASS_BENCH_${unique}`,
      consumer: `bench_${unique}`,
      subjectPrefix: `hourglass_bench.${unique}`,
      maxAckPending: 100_000,
    };
    return {
      open: () => JetStreamRunQueue.open(options, { clock: systemClock }),
      async destroy() {
        const nc = await connect({ servers: NATS_URL });
        await (await nc.jetstreamManager()).streams.delete(options.stream);
        await nc.close();
      },
    };
  },
};

let serial = 0;
const message = (): QueueMessage => ({
  runId: `run_${++serial}`,
  tenantId: `ten_${serial % 10}`,
  attempt: 1,
  memoryMb: 64,
  memoryRequestMb: 16,
  availableAt: 0,
});

interface RoundResult {
  publishPerSecond: number;
  pullAckPerSecond: number;
  handoverMs: { p50: number; p99: number; max: number };
}

async function runRound(system: System): Promise<RoundResult> {
  const location = await system.create();
  const handles: RunQueue[] = [];
  try {
    for (let i = 0; i < PULLERS; i++) handles.push(await location.open());
    const publisher = handles[0] as RunQueue;

    const published = performance.now();
    for (let from = 0; from < MESSAGES; from += BATCH) {
      await publisher.publish(Array.from({ length: Math.min(BATCH, MESSAGES - from) }, message));
    }
    const publishSeconds = (performance.now() - published) / 1000;

    let left = MESSAGES;
    const pulled = performance.now();
    await Promise.all(
      handles.map(async (queue) => {
        while (left > 0) {
          const deliveries = await queue.pull(MAX, 200);
          left -= deliveries.length;
          await Promise.all(deliveries.map((d) => d.ack()));
        }
      }),
    );
    const pullSeconds = (performance.now() - pulled) / 1000;

    const handovers: number[] = [];
    const puller = handles[handles.length - 1] as RunQueue;
    for (let i = 0; i < HANDOVERS; i++) {
      const waiting = puller.pull(1, 5000);
      await new Promise((resolve) => setTimeout(resolve, 2)); // let the pull reach its wait
      const sent = performance.now();
      await publisher.publish([message()]);
      const [delivery] = await waiting;
      handovers.push(performance.now() - sent);
      await delivery?.ack();
    }
    const handover = summarize(handovers);
    return {
      publishPerSecond: Math.round(MESSAGES / publishSeconds),
      pullAckPerSecond: Math.round(MESSAGES / pullSeconds),
      handoverMs: { p50: round(handover.p50), p99: round(handover.p99), max: round(handover.max) },
    };
  } finally {
    for (const queue of handles) await queue.close();
    await location.destroy();
  }
}

const systems = [memory, jetstream];
const rounds: Record<string, RoundResult[]> = { 'in-process': [], jetstream: [] };
for (let r = 0; r < ROUNDS; r++) {
  for (const system of r % 2 === 0 ? systems : [...systems].reverse()) {
    const result = await runRound(system);
    rounds[system.name]?.push(result);
    console.log(`round ${r + 1} ${system.name}: ${JSON.stringify(result)}`);
  }
}

const summary = Object.fromEntries(
  Object.entries(rounds).map(([name, results]) => [
    name,
    {
      publishPerSecond: median(results.map((x) => x.publishPerSecond)),
      pullAckPerSecond: median(results.map((x) => x.pullAckPerSecond)),
      handoverP50Ms: median(results.map((x) => x.handoverMs.p50)),
      handoverP99Ms: median(results.map((x) => x.handoverMs.p99)),
    },
  ]),
);
const report = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, node: process.version },
  settings: { MESSAGES, BATCH, PULLERS, MAX, HANDOVERS, ROUNDS },
  summary,
  rounds,
};
console.log(JSON.stringify(summary, null, 2));
if (values.out) writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
