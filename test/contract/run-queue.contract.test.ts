// The RunQueue contract: what every adapter of src/ports/queue.ts must do, run against each adapter in
// QUEUE_FACTORIES. It uses only the RunQueue interface (and the factory's locations), so a new adapter joins
// by adding a factory. Where adapters differ by design (redelivery of an unsettled delivery, the dedup window
// after an ack, durability), a test asks the factory's capability flags. Time here is real: a broker's
// timers cannot be driven by a test clock.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Delivery, QueueMessage, RunQueue } from '../../src/ports/queue.js';
import { QUEUE_FACTORIES, type QueueFactory, type QueueLocationOptions } from '../support/queue-factories.js';

type Open = () => Promise<RunQueue>;

let serial = 0;
/** A message for a run id unique to this process, due now unless told otherwise. */
function message(fields: Partial<QueueMessage> = {}): QueueMessage {
  serial += 1;
  return {
    runId: `run_${process.pid}_${serial}`,
    tenantId: 'ten_a',
    attempt: 1,
    memoryMb: 256,
    memoryRequestMb: 64,
    availableAt: 0,
    ...fields,
  };
}

async function withQueue(
  factory: QueueFactory,
  options: QueueLocationOptions,
  body: (open: Open) => Promise<void>,
): Promise<void> {
  const location = await factory.createLocation(options);
  const handles: RunQueue[] = [];
  const open: Open = async () => {
    const queue = await location.open();
    handles.push(queue);
    return queue;
  };
  try {
    await body(open);
  } finally {
    for (const queue of handles) await queue.close();
    await location.destroy();
  }
}

/** Pulls until `count` deliveries have come or `withinMs` passes. */
async function pullAll(queue: RunQueue, count: number, withinMs: number): Promise<Delivery[]> {
  const deadline = Date.now() + withinMs;
  const out: Delivery[] = [];
  while (out.length < count && Date.now() < deadline) {
    out.push(...(await queue.pull(count - out.length, Math.max(1, deadline - Date.now()))));
  }
  return out;
}

/** Waits until `read` gives `expected` (a broker may count an ack a moment after confirming it). */
async function eventually<T>(read: () => Promise<T>, expected: T, withinMs = 2000): Promise<void> {
  const deadline = Date.now() + withinMs;
  let value = await read();
  while (value !== expected && Date.now() < deadline) {
    await sleep(20);
    value = await read();
  }
  assert.equal(value, expected);
}

const runIds = (deliveries: readonly Delivery[]): string[] => deliveries.map((d) => d.message.runId);

for (const factory of QUEUE_FACTORIES) {
  const test = (
    name: string,
    body: (open: Open) => Promise<void>,
    options: QueueLocationOptions & { skip?: false | string } = {},
  ): void => {
    // A test of a capability this queue does not have is not its test: not registered, so that a skip in
    // the output always means a missing service (test/support/required-services.ts).
    if (typeof options.skip === 'string') return;
    it(name, () => withQueue(factory, options, body));
  };
  const unless = (capable: boolean, what: string): false | string =>
    capable ? false : `${factory.name}: ${what}`;

  describe(`RunQueue contract (${factory.name})`, { skip: factory.skip }, () => {
    test('a published message is delivered as published, from every tenant', async (open) => {
      const queue = await open();
      const a = message({ tenantId: 'ten_a', attempt: 3, memoryMb: 512, memoryRequestMb: 128 });
      const b = message({ tenantId: 'ten_b', availableAt: Date.now() - 1000 });
      await queue.publish([a, b]);
      const deliveries = await pullAll(queue, 2, 3000);
      const byRun = new Map(deliveries.map((d) => [d.message.runId, d.message]));
      assert.deepEqual(byRun.get(a.runId), a);
      assert.deepEqual(byRun.get(b.runId), b);
      assert.equal(deliveries.length, 2);
      for (const d of deliveries) await d.ack();
    });

    test('the same (run, attempt) published twice is delivered once; the next attempt is new', async (open) => {
      const queue = await open();
      const first = message();
      await queue.publish([first, { ...first }]);
      await queue.publish([{ ...first }]);
      const deliveries = await queue.pull(10, 2000);
      assert.deepEqual(runIds(deliveries), [first.runId]);
      assert.deepEqual(await queue.pull(10, 300), [], 'no second copy');
      await eventually(() => queue.depth(), 1);
      await deliveries[0]?.ack();
      await queue.publish([{ ...first, attempt: 2 }]);
      const [retry] = await queue.pull(10, 2000);
      assert.equal(retry?.message.runId, first.runId);
      assert.equal(retry?.message.attempt, 2);
      await retry?.ack();
    });

    test(
      'an acked (run, attempt) published again within the dedup window is dropped',
      async (open) => {
        const queue = await open();
        const m = message();
        await queue.publish([m]);
        const [delivery] = await queue.pull(1, 2000);
        await delivery?.ack();
        await queue.publish([{ ...m }]);
        assert.deepEqual(await queue.pull(1, 500), []);
        await eventually(() => queue.depth(), 0);
      },
      { skip: unless(factory.dedupWindowMs > 0, 'forgets a run once acked') },
    );

    test(
      'an acked run published again is a new message',
      async (open) => {
        const queue = await open();
        const m = message();
        await queue.publish([m]);
        const [delivery] = await queue.pull(1, 2000);
        await delivery?.ack();
        await queue.publish([{ ...m }]);
        const [again] = await queue.pull(1, 2000);
        assert.equal(again?.message.runId, m.runId);
        await again?.ack();
      },
      { skip: unless(factory.dedupWindowMs === 0, 'remembers acked messages for its dedup window') },
    );

    test('a pull returns at most max, and what is ready up to max', async (open) => {
      const queue = await open();
      const published = [message(), message(), message(), message(), message()];
      await queue.publish(published);
      const two = await queue.pull(2, 2000);
      assert.equal(two.length, 2);
      const rest = await queue.pull(10, 2000);
      assert.equal(rest.length, 3, 'all that is ready, in one pull');
      assert.deepEqual([...runIds(two), ...runIds(rest)].sort(), published.map((m) => m.runId).sort());
      for (const d of [...two, ...rest]) await d.ack();
    });

    test('a pull on an empty queue waits up to waitMs, then returns nothing', async (open) => {
      const queue = await open();
      const started = performance.now();
      assert.deepEqual(await queue.pull(3, 400), []);
      const waited = performance.now() - started;
      assert.ok(waited >= 390, `returned after ${waited.toFixed(0)} ms, before its 400 ms`);
      assert.ok(waited < 1900, `returned after ${waited.toFixed(0)} ms`);
    });

    test('a waiting pull returns as soon as a message is published', async (open) => {
      const queue = await open();
      const publisher = await open();
      const m = message();
      const pulled = queue.pull(3, 10_000);
      await sleep(200);
      const published = performance.now();
      await publisher.publish([m]);
      const deliveries = await pulled;
      const after = performance.now() - published;
      assert.deepEqual(runIds(deliveries), [m.runId]);
      assert.ok(after < 1000, `delivered ${after.toFixed(0)} ms after the publish`);
      for (const d of deliveries) await d.ack();
    });

    test('an aborted pull returns at once, and what comes after it goes to the next pull', async (open) => {
      const queue = await open();
      const controller = new AbortController();
      const pulled = queue.pull(1, 10_000, controller.signal);
      await sleep(200);
      const aborted = performance.now();
      controller.abort();
      assert.deepEqual(await pulled, []);
      assert.ok(performance.now() - aborted < 500, 'returned promptly');
      const m = message();
      await queue.publish([m]);
      const started = performance.now();
      const [delivery] = await queue.pull(1, 3000);
      assert.equal(delivery?.message.runId, m.runId);
      // Far less than the ack wait: the aborted request did not keep it.
      assert.ok(performance.now() - started < 1500, 'delivered promptly');
      await delivery?.ack();
    });

    test(
      'an acked message is gone',
      async (open) => {
        const queue = await open();
        const m = message();
        await queue.publish([m]);
        const [delivery] = await queue.pull(1, 2000);
        assert.ok(delivery);
        await delivery.ack();
        await delivery.ack(); // settling twice is harmless
        await eventually(() => queue.depth(), 0);
        // Past the ack wait (where there is one): not redelivered.
        assert.deepEqual(await queue.pull(1, factory.redeliversUnsettled ? 2000 : 200), []);
      },
      { ackWaitMs: 1000 },
    );

    test('nak(0) gives a delivery back at once, nak(delay) not before the delay', async (open) => {
      const queue = await open();
      const m = message();
      await queue.publish([m]);
      const [first] = await queue.pull(1, 2000);
      assert.ok(first);
      await first.nak(0);
      const [second] = await queue.pull(1, 1000);
      assert.equal(second?.message.runId, m.runId);
      const nakedAt = Date.now();
      await second?.nak(700);
      const [third] = await queue.pull(1, 5000);
      const after = Date.now() - nakedAt;
      assert.equal(third?.message.runId, m.runId);
      assert.ok(after >= 695, `redelivered ${after} ms after nak(700)`);
      assert.ok(after < 2200, `redelivered ${after} ms after nak(700)`);
      await third?.ack();
    });

    test(
      'a delivery neither acked nor nak-ed comes back after the ack wait, to another puller',
      async (open) => {
        const worker = await open();
        const other = await open();
        const m = message();
        await worker.publish([m]);
        const [held] = await worker.pull(1, 2000);
        const deliveredAt = performance.now();
        assert.ok(held);
        const [again] = await other.pull(1, 5000);
        const after = performance.now() - deliveredAt;
        assert.equal(again?.message.runId, m.runId);
        assert.ok(after >= 950, `redelivered ${after.toFixed(0)} ms after delivery, ack wait 1000 ms`);
        assert.ok(after < 3000, `redelivered ${after.toFixed(0)} ms after delivery, ack wait 1000 ms`);
        await again?.ack();
        await held.ack(); // the late ack of the first delivery does no harm
        await eventually(() => other.depth(), 0);
      },
      { ackWaitMs: 1000, skip: unless(factory.redeliversUnsettled, 'lives and dies with its pullers') },
    );

    test('a message is not delivered before its availableAt; one due now goes first', async (open) => {
      const queue = await open();
      const later = message({ availableAt: Date.now() + 800 });
      const now = message();
      await queue.publish([later, now]);
      const started = performance.now();
      const first = await queue.pull(2, 3000);
      assert.deepEqual(runIds(first), [now.runId]);
      assert.ok(performance.now() - started < 500, 'the ready one did not wait for the later one');
      const second = await queue.pull(2, 3000);
      const deliveredAt = Date.now();
      assert.deepEqual(runIds(second), [later.runId]);
      assert.ok(deliveredAt >= later.availableAt, `${later.availableAt - deliveredAt} ms early`);
      assert.ok(deliveredAt < later.availableAt + 1500, `${deliveredAt - later.availableAt} ms late`);
      for (const d of [...first, ...second]) await d.ack();
    });

    test('two pullers never hold the same message at once', async (open) => {
      const a = await open();
      const b = await open();
      const published = Array.from({ length: 40 }, () => message());
      await a.publish(published);
      const held: Delivery[] = [];
      const drain = async (queue: RunQueue): Promise<void> => {
        const deadline = Date.now() + 3000;
        while (held.length < published.length && Date.now() < deadline) {
          held.push(...(await queue.pull(4, 200)));
        }
      };
      await Promise.all([drain(a), drain(b)]);
      const ids = runIds(held);
      assert.equal(new Set(ids).size, ids.length, 'a message was held by both pullers');
      assert.deepEqual(ids.sort(), published.map((m) => m.runId).sort());
      for (const d of held) await d.ack();
    });

    test('depth counts messages waiting, in flight and not yet due, until acked', async (open) => {
      const queue = await open();
      assert.equal(await queue.depth(), 0);
      const ready = message();
      const notYet = message({ availableAt: Date.now() + 60_000 });
      await queue.publish([ready, notYet]);
      await eventually(() => queue.depth(), 2);
      const deliveries = await queue.pull(5, 300);
      assert.deepEqual(runIds(deliveries), [ready.runId]);
      assert.equal(await queue.depth(), 2, 'in flight and not yet due still count');
      for (const d of deliveries) await d.ack();
      await eventually(() => queue.depth(), 1);
    });

    test('close ends a waiting pull; closing twice is harmless', async (open) => {
      const queue = await open();
      const pulled = queue.pull(1, 10_000);
      await sleep(200);
      const closedAt = performance.now();
      await queue.close();
      assert.deepEqual(await pulled, []);
      assert.ok(performance.now() - closedAt < 1000, 'the pull ended with the queue');
      await queue.close();
      assert.deepEqual(await queue.pull(1, 100), [], 'a closed queue delivers nothing');
    });

    test(
      'a message outlives the handle that published it',
      async (open) => {
        const publisher = await open();
        const m = message();
        await publisher.publish([m]);
        await publisher.close();
        const worker = await open();
        const [delivery] = await worker.pull(1, 2000);
        assert.equal(delivery?.message.runId, m.runId);
        await delivery?.ack();
      },
      { skip: unless(factory.durable, 'is not durable') },
    );
  });
}
