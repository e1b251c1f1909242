// The warm pool's policy (warm-containers.ts) with entries of the test's own: which key gets a container,
// when, how many in all, and what is discarded. The containers themselves are tested with runc in
// test/security/warm-containers.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WarmContainers, type WarmEntry } from '../../src/adapters/container/warm-containers.js';

interface Entry extends WarmEntry {
  key: string;
  dead: boolean;
}

function pool(options: { max?: number; idleMs?: number } = {}) {
  let now = 1_000;
  const discarded: string[] = [];
  const made: string[] = [];
  const warm = new WarmContainers<Entry>(
    {
      max: options.max ?? 2,
      idleMs: options.idleMs ?? 60_000,
      discard: async (entry) => void discarded.push(entry.key),
    },
    () => now,
  );
  const make = (key: string) => async (): Promise<Entry> => {
    made.push(key);
    const entry: Entry = { key, dead: false, alive: () => !entry.dead };
    return entry;
  };
  const ran = async (key: string): Promise<void> => {
    warm.ran(key, make(key));
    await new Promise((resolve) => setImmediate(resolve)); // the make settles
  };
  return { warm, made, discarded, ran, advance: (ms: number) => (now += ms) };
}

describe('warm containers', () => {
  it('makes one for a key run a second time within the idle time, and hands it out once', async () => {
    const { warm, made, ran, advance } = pool();
    await ran('a');
    assert.deepEqual(made, [], 'a first run makes none');
    advance(1_000);
    await ran('a');
    assert.deepEqual(made, ['a']);
    await ran('a');
    assert.deepEqual(made, ['a'], 'one waits already');
    assert.equal(warm.take('a')?.key, 'a');
    assert.equal(warm.take('a'), null);
    assert.deepEqual(warm.size(), { ready: 0, making: 0, taken: 1 });
    await ran('a');
    assert.deepEqual(made, ['a', 'a'], 'taken, so made again');
  });

  it('makes none for a key whose runs are further apart than the idle time', async () => {
    const { made, ran, advance } = pool({ idleMs: 5_000 });
    await ran('a');
    advance(5_001);
    await ran('a');
    assert.deepEqual(made, []);
  });

  it('keeps at most max, giving up the one of the key run least recently', async () => {
    const { warm, made, discarded, ran } = pool({ max: 2 });
    for (const key of ['a', 'a', 'b', 'b']) await ran(key);
    assert.deepEqual(made, ['a', 'b']);
    await ran('c');
    await ran('c');
    assert.deepEqual(discarded, ['a']);
    assert.deepEqual(made, ['a', 'b', 'c']);
    assert.equal(warm.size().ready, 2);
    assert.equal(warm.take('a'), null);
  });

  it('discards one not taken within the idle time, and all at close', async () => {
    const { warm, discarded, ran } = pool({ idleMs: 50 });
    await ran('a');
    await ran('a');
    assert.equal(warm.size().ready, 1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.deepEqual(discarded, ['a']);
    assert.equal(warm.size().ready, 0);
    const closing = pool();
    for (const key of ['a', 'a', 'b', 'b']) await closing.ran(key);
    await closing.warm.close();
    assert.deepEqual(closing.discarded.sort(), ['a', 'b']);
    await closing.ran('a');
    assert.equal(closing.made.length, 2, 'none made after close');
  });

  it('does not hand out a container that died while it waited', async () => {
    const { warm, discarded, ran } = pool();
    await ran('a');
    await ran('a');
    const entry = warm.take('a')!;
    await ran('a');
    entry.dead = true; // the first one is the run's; kill the second
    const second = (warm as unknown as { ready: Map<string, { entry: Entry }> }).ready.get('a')!.entry;
    second.dead = true;
    assert.equal(warm.take('a'), null);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(discarded, ['a']);
  });

  it('makes none with max 0', async () => {
    const { made, ran } = pool({ max: 0 });
    await ran('a');
    await ran('a');
    assert.deepEqual(made, []);
  });
});
