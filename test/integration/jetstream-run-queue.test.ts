// What the JetStream run queue does beyond the RunQueue contract (test/contract/run-queue.contract.test.ts):
// the stream and consumer it sets up or refuses, and its errors — each a HourglassError saying what failed
// and why, never a driver error. Runs on the real NATS server, on streams of its own that it deletes.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import {
  AckPolicy,
  RetentionPolicy,
  StorageType,
  connect,
  type ConsumerConfig,
  type NatsConnection,
} from 'nats';
import { JetStreamRunQueue } from '../../src/adapters/nats/jetstream-run-queue.js';
import type { JetStreamQueueOptions } from '../../src/adapters/nats/jetstream-queue-options.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import { HourglassError } from '../../src/core/errors.js';
import type { QueueMessage } from '../../src/ports/queue.js';
import { NATS_URL, QUEUE_FACTORIES } from '../support/queue-factories.js';

const nats = QUEUE_FACTORIES.find((factory) => factory.name === 'nats');
const skip = nats === undefined ? 'nats is not in HOURGLASS_TEST_QUEUES' : nats.skip;

function names(): Required<Pick<JetStreamQueueOptions, 'stream' | 'consumer' | 'subjectPrefix'>> {
  const unique = `${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    stream: `HOURGLASS_TEST_${unique}`,
    consumer: `w_${unique}`,
    subjectPrefix: `hourglass_test.${unique}`,
  };
}

const message = (fields: Partial<QueueMessage> = {}): QueueMessage => ({
  runId: `run_${randomBytes(6).toString('hex')}`,
  tenantId: 'ten_a',
  attempt: 1,
  memoryMb: 64,
  memoryRequestMb: 16,
  availableAt: 0,
  ...fields,
});

/** Rejects with a HourglassError of `code` whose message matches `pattern`. */
async function rejectsWith(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof HourglassError, `not a HourglassError: ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('JetStreamRunQueue', { skip }, () => {
  let admin: NatsConnection | null = null;
  const streams: string[] = [];
  const manager = async () => {
    admin ??= await connect({ servers: NATS_URL });
    return admin.jetstreamManager();
  };
  /** Every queue opened, closed at the end even where a test expected the open to fail. */
  const opened: JetStreamRunQueue[] = [];
  const open = async (options: Partial<JetStreamQueueOptions> & { stream: string }) => {
    streams.push(options.stream);
    const queue = await JetStreamRunQueue.open({ servers: NATS_URL, ...options }, { clock: systemClock });
    opened.push(queue);
    return queue;
  };

  after(async () => {
    for (const queue of opened) await queue.close();
    const jsm = await manager();
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await admin?.close();
  });

  it('creates a work-queue stream on file storage with its dedup window, and a durable pull consumer', async () => {
    const n = names();
    const queue = await open({ ...n, ackWaitMs: 7000, duplicateWindowMs: 30_000, maxAckPending: 500 });
    await queue.close();
    const jsm = await manager();
    const stream = (await jsm.streams.info(n.stream)).config;
    assert.equal(stream.retention, RetentionPolicy.Workqueue);
    assert.equal(stream.storage, StorageType.File);
    assert.deepEqual(stream.subjects, [`${n.subjectPrefix}.*`]);
    assert.equal(stream.duplicate_window, 30_000 * 1e6);
    const consumer = (await jsm.consumers.info(n.stream, n.consumer)).config;
    assert.equal(consumer.durable_name, n.consumer);
    assert.equal(consumer.ack_policy, AckPolicy.Explicit);
    assert.equal(consumer.ack_wait, 7000 * 1e6);
    assert.equal(consumer.max_ack_pending, 500);
    assert.equal(consumer.max_deliver, -1);
  });

  it("puts each tenant's messages on its own subject", async () => {
    const n = names();
    const queue = await open(n);
    try {
      await queue.publish([message({ tenantId: 'ten_a' }), message({ tenantId: 'ten_b' })]);
      const info = await (await manager()).streams.info(n.stream, { subjects_filter: '>' });
      assert.deepEqual(Object.keys(info.state.subjects ?? {}).sort(), [
        `${n.subjectPrefix}.ten_a`,
        `${n.subjectPrefix}.ten_b`,
      ]);
    } finally {
      await queue.close();
    }
  });

  it('refuses a stream that is not a work queue, naming the fix', async () => {
    const n = names();
    streams.push(n.stream);
    await (await manager()).streams.add({ name: n.stream, subjects: [`${n.subjectPrefix}.*`] });
    await rejectsWith(open(n), 'internal', /retention "limits"; the run queue needs "workqueue"/);
  });

  const badConsumers: [string, (prefix: string) => Partial<ConsumerConfig>, RegExp][] = [
    [
      'filters other subjects',
      (prefix) => ({ filter_subject: `${prefix}.ten_a` }),
      /filters ".*\.ten_a", not/,
    ],
    ['gives up after some deliveries', () => ({ max_deliver: 5 }), /gives up after 5 deliveries/],
  ];
  for (const [what, config, pattern] of badConsumers) {
    it(`refuses a consumer that ${what}`, async () => {
      const n = names();
      const jsm = await manager();
      streams.push(n.stream);
      await jsm.streams.add({
        name: n.stream,
        subjects: [`${n.subjectPrefix}.*`],
        retention: RetentionPolicy.Workqueue,
      });
      await jsm.consumers.add(n.stream, {
        durable_name: n.consumer,
        ack_policy: AckPolicy.Explicit,
        filter_subject: `${n.subjectPrefix}.*`,
        ...config(n.subjectPrefix),
      });
      await rejectsWith(open(n), 'internal', new RegExp(`consumer ${n.consumer} .*${pattern.source}`));
    });
  }

  it('says the server is unreachable when it is', async () => {
    const n = names();
    await rejectsWith(
      JetStreamRunQueue.open({ servers: 'nats://127.0.0.1:1', ...n }, { clock: systemClock }),
      'unavailable',
      /connecting to NATS at nats:\/\/127\.0\.0\.1:1: NATS refused the connection/,
    );
  });

  it('refuses bad options before connecting', async () => {
    await rejectsWith(
      JetStreamRunQueue.open({ servers: NATS_URL, stream: 'runs.all' }, { clock: systemClock }),
      'validation_failed',
      /option stream/,
    );
  });

  it('publishes nothing of a batch with a tenant id that cannot be a subject', async () => {
    const n = names();
    const queue = await open(n);
    try {
      await rejectsWith(
        queue.publish([message(), message({ tenantId: 'ten.a' })]),
        'internal',
        /tenant id "ten\.a" cannot be a NATS subject token/,
      );
      assert.equal(await queue.depth(), 0);
    } finally {
      await queue.close();
    }
  });

  it('removes a message that is not a run, and delivers the runs after it', async () => {
    const n = names();
    const queue = await open(n);
    try {
      await admin?.jetstream().publish(`${n.subjectPrefix}.ten_a`, '{"not":"a run"}');
      const run = message();
      await queue.publish([run]);
      const deliveries = await queue.pull(2, 1000);
      assert.deepEqual(
        deliveries.map((d) => d.message.runId),
        [run.runId],
      );
      for (const d of deliveries) await d.ack();
      assert.equal(await queue.depth(), 0, 'the stray message was terminated, not left to come back');
    } finally {
      await queue.close();
    }
  });

  it('says so when its consumer is deleted under it', async () => {
    const n = names();
    const queue = await open({ ...n, requestTimeoutMs: 300 });
    try {
      await (await manager()).consumers.delete(n.stream, n.consumer);
      await rejectsWith(
        queue.pull(1, 200),
        'internal',
        new RegExp(`consumer ${n.consumer} on stream ${n.stream} is gone`),
      );
    } finally {
      await queue.close();
    }
  });

  it('fails a publish after close instead of dropping it', async () => {
    const n = names();
    const queue = await open(n);
    await queue.close();
    await rejectsWith(queue.publish([message()]), 'unavailable', /closed/);
  });
});
