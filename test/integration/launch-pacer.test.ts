// The launch pacer on real time (it exists to beat the timers' precision, so a fake clock would test nothing):
// releases never run before their time and run within a few ms after it, same-time releases run together in
// order, a cancelled entry never runs, and a spawn is held back while a release is imminent.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LaunchPacer } from '../../src/adapters/process/launch-pacer.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** How late a release may run on a busy 2-core test machine. */
const RELEASE_SLACK_MS = 10;

describe('LaunchPacer', () => {
  it('runs each release at its time: never before, within a few ms after', async () => {
    const pacer = new LaunchPacer({ now: () => Date.now() });
    const base = Date.now() + 50;
    const lateness: number[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const at = base + Math.floor(Math.random() * 300);
      done.push(
        new Promise<void>((resolve) =>
          pacer.release(at, () => {
            // performance-based epoch ms: finer than Date.now(), so "before" cannot hide in a rounding
            lateness.push(performance.timeOrigin + performance.now() - at);
            resolve();
          }),
        ),
      );
    }
    await Promise.all(done);
    const sorted = [...lateness].sort((a, b) => a - b);
    // Date.now() and timeOrigin + now() may disagree by a fraction of a ms.
    assert.ok((sorted[0] ?? -1) >= -0.5, `a release ran ${-(sorted[0] ?? 0)} ms early`);
    const p90 = sorted[Math.floor(sorted.length * 0.9)] ?? Infinity;
    assert.ok(p90 < RELEASE_SLACK_MS, `releases ran late: p90 ${p90} ms`);
  });

  it('runs releases due at the same time together, in the order given, and never a cancelled one', async () => {
    const pacer = new LaunchPacer({ now: () => Date.now() });
    const at = Date.now() + 30;
    const ran: string[] = [];
    pacer.release(at, () => ran.push('a'));
    const cancelB = pacer.release(at, () => ran.push('b'));
    pacer.release(at, () => ran.push('c'));
    pacer.release(at + 1000, () => ran.push('late'));
    const cancelLate = pacer.release(at + 1000, () => ran.push('late'));
    cancelB();
    cancelB(); // twice is harmless
    await sleep(100);
    assert.deepEqual(ran, ['a', 'c']);
    cancelLate();
  });

  it('holds a spawn back while a release is imminent, and runs it right after that release', async () => {
    const pacer = new LaunchPacer({ now: () => Date.now(), initialSpawnMs: 10 });
    const order: string[] = [];
    const releaseAt = Date.now() + 12; // inside the spawn guard (2 × 10 ms)
    pacer.release(releaseAt, () => order.push('release'));
    // A spawn for a later start: it must not delay the release.
    await new Promise<void>((resolve) =>
      pacer.spawn(releaseAt + 500, () => {
        order.push('spawn');
        resolve();
      }),
    );
    assert.deepEqual(order, ['release', 'spawn']);
  });

  it('lets a spawn go first when its own start comes before the imminent release', async () => {
    const pacer = new LaunchPacer({ now: () => Date.now(), initialSpawnMs: 10 });
    const order: string[] = [];
    const releaseAt = Date.now() + 15;
    const cancel = pacer.release(releaseAt, () => order.push('release'));
    await new Promise<void>((resolve) =>
      pacer.spawn(releaseAt - 5, () => {
        order.push('spawn');
        resolve();
      }),
    );
    assert.deepEqual(order, ['spawn']);
    cancel();
  });

  it('never runs a cancelled spawn', async () => {
    const pacer = new LaunchPacer({ now: () => Date.now() });
    let ran = false;
    const cancel = pacer.spawn(Date.now() + 100, () => {
      ran = true;
    });
    cancel();
    await sleep(20);
    assert.equal(ran, false);
  });
});
