import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessQueue } from '../../src/adapters/in-process/in-process-queue.js';
import { systemClock } from '../../src/adapters/system/system-clock.js';
import type { QueueMessage } from '../../src/ports/queue.js';

function message(runId: string, availableAt = 0, attempt = 1): QueueMessage {
  return { runId, tenantId: 'ten_a', attempt, memoryMb: 64, memoryRequestMb: 16, availableAt };
}

async function withQueue(fn: (queue: InProcessQueue) => Promise<void>): Promise<void> {
  const queue = new InProcessQueue({ clock: systemClock });
  try {
    await fn(queue);
  } finally {
    await queue.close();
  }
}

describe('InProcessQueue', () => {
  it('delivers ready messages in publish order, at most max per pull', async () => {
    await withQueue(async (queue) => {
      await queue.publish([message('r1'), message('r2'), message('r3')]);
      const first = await queue.pull(2, 0);
      assert.deepEqual(
        first.map((d) => d.message.runId),
        ['r1', 'r2'],
      );
      const second = await queue.pull(5, 0);
      assert.deepEqual(
        second.map((d) => d.message.runId),
        ['r3'],
      );
      assert.equal(await queue.depth(), 3, 'in flight still counts');
      for (const d of [...first, ...second]) await d.ack();
      assert.equal(await queue.depth(), 0);
    });
  });

  it('ignores a run id that is waiting or in flight, and accepts it again after ack', async () => {
    await withQueue(async (queue) => {
      await queue.publish([message('r1'), message('r1')]);
      assert.equal(await queue.depth(), 1);
      const [delivery] = await queue.pull(10, 0);
      assert.ok(delivery);
      await queue.publish([message('r1', 0, 2)]);
      assert.equal(await queue.depth(), 1, 'in flight: the duplicate is ignored');
      await delivery.ack();
      await queue.publish([message('r1', 0, 2)]);
      const [retry] = await queue.pull(10, 0);
      assert.equal(retry?.message.attempt, 2);
      await retry?.ack();
    });
  });

  it('discards a delayed message at once, and leaves ready and in-flight ones to the worker', async () => {
    await withQueue(async (queue) => {
      const later = Date.now() + 3_600_000;
      await queue.publish([
        message('r1', later),
        message('r2', later),
        message('r3', later + 1),
        message('r4'),
      ]);
      await queue.discard([message('r2').runId, 'unknown']);
      assert.equal(await queue.depth(), 3);
      await queue.discard(['r3', 'r4']);
      assert.equal(await queue.depth(), 2, 'r4 is ready: it stays');
      const [ready] = await queue.pull(10, 0);
      assert.equal(ready?.message.runId, 'r4');
      await queue.discard(['r4']);
      assert.equal(await queue.depth(), 2, 'in flight: it stays until acked');
      await ready?.ack();
      await queue.discard(['r1']);
      assert.equal(await queue.depth(), 0);
      await queue.publish([message('r2')]);
      const [again] = await queue.pull(10, 0);
      assert.equal(again?.message.runId, 'r2', 'a discarded run id can be published again');
      await again?.ack();
    });
  });

  it("keeps its own copy: the publisher's object stays the publisher's", async () => {
    await withQueue(async (queue) => {
      const published = message('r1');
      await queue.publish([published]);
      published.attempt = 9;
      const [delivery] = await queue.pull(1, 0);
      assert.equal(delivery?.message.attempt, 1);
      assert.notEqual(delivery?.message, published);
      await delivery?.nak(0);
      const [again] = await queue.pull(1, 100);
      assert.equal(again?.message.attempt, 1);
      await again?.ack();
    });
  });

  it('holds a delayed message until its time, then wakes a waiting puller', async () => {
    await withQueue(async (queue) => {
      const dueAt = Date.now() + 80;
      await queue.publish([message('later', dueAt)]);
      assert.deepEqual(await queue.pull(1, 0), []);
      assert.equal(await queue.depth(), 1);
      const pulled = await queue.pull(1, 2000);
      assert.ok(Date.now() >= dueAt);
      assert.equal(pulled[0]?.message.runId, 'later');
      await pulled[0]?.ack();
    });
  });

  it('orders delayed messages by time and puts ready ones first', async () => {
    await withQueue(async (queue) => {
      const now = Date.now();
      await queue.publish([
        message('c', now + 60),
        message('a', now + 20),
        message('b', now + 40),
        message('now'),
      ]);
      const seen: string[] = [];
      while (seen.length < 4) {
        for (const d of await queue.pull(4, 1000)) {
          seen.push(d.message.runId);
          await d.ack();
        }
      }
      assert.deepEqual(seen, ['now', 'a', 'b', 'c']);
    });
  });

  it('nak puts the message back after the delay', async () => {
    await withQueue(async (queue) => {
      await queue.publish([message('r1')]);
      const [first] = await queue.pull(1, 0);
      const nakAt = Date.now();
      await first?.nak(60);
      assert.equal(await queue.depth(), 1);
      await queue.publish([message('r1')]);
      assert.equal(await queue.depth(), 1, 'still known while delayed');
      assert.deepEqual(await queue.pull(1, 0), []);
      const [again] = await queue.pull(1, 2000);
      assert.equal(again?.message.runId, 'r1');
      assert.ok(Date.now() - nakAt >= 55);
      await first?.ack(); // a settled delivery does nothing
      assert.equal(await queue.depth(), 1);
      await again?.ack();
      assert.equal(await queue.depth(), 0);
    });
  });

  it('wakes a waiting puller as soon as a message is published', async () => {
    await withQueue(async (queue) => {
      const started = Date.now();
      const pulling = queue.pull(1, 5000);
      setTimeout(() => void queue.publish([message('r1')]), 30);
      const pulled = await pulling;
      assert.equal(pulled[0]?.message.runId, 'r1');
      assert.ok(Date.now() - started < 1000);
      await pulled[0]?.ack();
    });
  });

  it('serves several waiting pullers in order', async () => {
    await withQueue(async (queue) => {
      const p1 = queue.pull(1, 5000);
      const p2 = queue.pull(1, 5000);
      await queue.publish([message('r1'), message('r2')]);
      assert.equal((await p1)[0]?.message.runId, 'r1');
      assert.equal((await p2)[0]?.message.runId, 'r2');
    });
  });

  it('returns [] after waitMs, on abort, and on close', async () => {
    const queue = new InProcessQueue({ clock: systemClock });
    const started = Date.now();
    assert.deepEqual(await queue.pull(1, 50), []);
    assert.ok(Date.now() - started >= 45);

    const controller = new AbortController();
    const aborted = queue.pull(1, 5000, controller.signal);
    setTimeout(() => controller.abort(), 20);
    assert.deepEqual(await aborted, []);

    const closing = queue.pull(1, 5000);
    await queue.close();
    assert.deepEqual(await closing, []);
    assert.deepEqual(await queue.pull(1, 5000), []);
  });
});
