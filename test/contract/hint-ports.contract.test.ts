// The latency-hint ports, RunSignals and ScheduleChanges, against every transport (test/support/
// hint-factories.ts): a hint reaches the emitter's own listeners at once and every other process's exactly
// once, an unsubscribed listener hears nothing more, and a message that is not a hint is dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunSignal } from '../../src/ports/run-events.js';
import type { ScheduleChange } from '../../src/ports/schedule-changes.js';
import { HINT_BUS_FACTORIES, type HintBus, type HintNode } from '../support/hint-factories.js';

/** A port of a node, seen the same way for both kinds of hint. */
interface Channel<T> {
  emit(hint: T): void;
  on(listener: (hint: T) => void): () => void;
}

const CHANNELS = [
  {
    name: 'RunSignals',
    of: (node: HintNode): Channel<unknown> => node.signals as Channel<unknown>,
    hint: (n: number): RunSignal => ({ type: 'cancel_requested', runId: `run_${n}` }),
    subject: (node: HintNode) => node.subjects?.signals,
  },
  {
    name: 'ScheduleChanges',
    of: (node: HintNode): Channel<unknown> => node.changes as Channel<unknown>,
    hint: (n: number): ScheduleChange => ({ scheduleId: `sched_${n}`, partition: n % 64 }),
    subject: (node: HintNode) => node.subjects?.changes,
  },
];

async function until(condition: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition() && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 5));
}

for (const factory of HINT_BUS_FACTORIES) {
  describe(`hint ports on ${factory.name}`, { skip: factory.skip }, () => {
    async function withBus(test: (bus: HintBus) => Promise<void>): Promise<void> {
      const bus = await factory.create();
      try {
        await test(bus);
      } finally {
        await bus.close();
      }
    }

    for (const channel of CHANNELS) {
      it(`${channel.name}: the emitter's own listeners hear a hint at once, and once`, () =>
        withBus(async (bus) => {
          const node = await bus.node();
          const heard: unknown[] = [];
          channel.of(node).on((hint) => heard.push(hint));
          channel.of(node).emit(channel.hint(1));
          assert.deepEqual(heard, [channel.hint(1)], 'synchronously');
          await new Promise((resolve) => setTimeout(resolve, 100)); // an echo from the server would be here
          assert.deepEqual(heard, [channel.hint(1)]);
        }));

      // The in-process bus has one process: the tests of what crosses between processes are not its.
      if (factory.crossesProcesses)
        it(`${channel.name}: another process hears each hint exactly once, in order`, async (t) => {
          await withBus(async (bus) => {
            const [sender, receiver] = [await bus.node(), await bus.node()];
            const heard: unknown[] = [];
            const latencies: number[] = [];
            let sentAt = 0;
            channel.of(receiver).on((hint) => {
              heard.push(hint);
              latencies.push(performance.now() - sentAt);
            });
            for (let n = 0; n < 50; n++) {
              sentAt = performance.now();
              channel.of(sender).emit(channel.hint(n));
              await until(() => heard.length === n + 1);
            }
            assert.deepEqual(
              heard,
              Array.from({ length: 50 }, (_, n) => channel.hint(n)),
            );
            latencies.sort((a, b) => a - b);
            t.diagnostic(
              `cross-process hint latency p50 ${latencies[25]!.toFixed(2)} ms, max ${latencies[49]!.toFixed(2)} ms`,
            );
          });
        });

      it(`${channel.name}: an unsubscribed listener hears nothing more, here or elsewhere`, () =>
        withBus(async (bus) => {
          const [sender, receiver] = [await bus.node(), await bus.node()];
          const here: unknown[] = [];
          const there: unknown[] = [];
          const offHere = channel.of(sender).on((hint) => here.push(hint));
          const offThere = channel.of(receiver).on((hint) => there.push(hint));
          channel.of(sender).emit(channel.hint(1));
          await until(() => there.length >= 1);
          offHere();
          offThere();
          channel.of(sender).emit(channel.hint(2));
          await new Promise((resolve) => setTimeout(resolve, 100));
          assert.deepEqual(here, [channel.hint(1)]);
          assert.deepEqual(there, [channel.hint(1)]);
        }));

      if (factory.crossesProcesses)
        it(`${channel.name}: drops a message on its subject that is not a hint`, async () => {
          await withBus(async (bus) => {
            const [sender, receiver] = [await bus.node(), await bus.node()];
            const subject = channel.subject(sender);
            assert.ok(sender.connection !== null && subject !== undefined, 'a wire to send on');
            const heard: unknown[] = [];
            channel.of(receiver).on((hint) => heard.push(hint));
            for (const junk of [
              'not json',
              '{}',
              '{"type":"explode","runId":"x"}',
              '{"scheduleId":"","partition":-1}',
              'null',
            ])
              sender.connection.publish(subject, new TextEncoder().encode(junk));
            channel.of(sender).emit(channel.hint(7));
            await until(() => heard.length >= 1);
            await new Promise((resolve) => setTimeout(resolve, 50));
            assert.deepEqual(heard, [channel.hint(7)]);
          });
        });
    }
  });
}
