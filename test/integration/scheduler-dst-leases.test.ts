// The engine through real DST transitions (the rule is in src/core/schedule-time.ts), and several engines
// sharing one store through partition leases: shared fairly, never a tick twice, taken over after a crash.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { PARTITION_COUNT } from '../../src/core/schedule.js';
import { SchedulerWorld, step } from '../support/scheduler-fixtures.js';
import { SQLITE_MEMORY } from '../support/adapter-pairs.js';

describe('DST through the engine', () => {
  let world: SchedulerWorld;
  afterEach(() => world.close());

  async function ticks(start: string, input: { cron: string; timezone: string }, days: number) {
    world = await SchedulerWorld.open(start, SQLITE_MEMORY);
    world.node('n1');
    const schedule = await world.addSchedule(input);
    await world.runFor(days * 86_400_000, 10 * 60_000);
    return world.ticksOf(schedule.id);
  }

  it('America/New_York spring forward: 02:30 does not exist on 2026-03-08 and fires at 03:00 EDT', async () => {
    assert.deepEqual(
      await ticks('2026-03-07T12:00:00Z', { cron: '0 30 2 * * *', timezone: 'America/New_York' }, 2),
      ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
    );
  });

  it('America/New_York fall back: 01:30 on 2026-11-01 fires once, at its first occurrence (EDT)', async () => {
    assert.deepEqual(
      await ticks('2026-10-31T12:00:00Z', { cron: '30 1 * * *', timezone: 'America/New_York' }, 2),
      ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    );
  });

  it('America/New_York fall back: a stepped minute fires in both occurrences of the repeated hour', async () => {
    const fired = await ticks(
      '2026-11-01T04:00:00Z',
      { cron: '0 */30 1 * * *', timezone: 'America/New_York' },
      0.2,
    );
    assert.deepEqual(fired, [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
    ]);
  });

  it('America/New_York fall back in steps shorter than the lease TTL: the in-memory next tick fires once', async () => {
    // Steps of 5 s under a 10 s lease TTL: the engine keeps its leases and chains each schedule's next tick
    // itself (compileNextFire) instead of reloading it from the store, as the 10-minute steps above do.
    world = await SchedulerWorld.open('2026-11-01T04:50:00Z', SQLITE_MEMORY);
    world.node('n1', { leaseTtlMs: 10_000 });
    const fixed = await world.addSchedule({ cron: '30 1 * * *', timezone: 'America/New_York' });
    const stepped = await world.addSchedule({ cron: '0 */30 1 * * *', timezone: 'America/New_York' });
    await world.runFor(2.5 * 3_600_000, 5000);
    assert.deepEqual(await world.ticksOf(fixed.id), ['2026-11-01T05:30:00.000Z']);
    assert.deepEqual(await world.ticksOf(stepped.id), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:30:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T06:30:00.000Z',
    ]);
  });

  it('Australia/Lord_Howe: a tick in the 30-minute gap of 2026-10-04 fires at the end of the gap', async () => {
    assert.deepEqual(
      await ticks('2026-10-03T00:00:00Z', { cron: '15 2 * * *', timezone: 'Australia/Lord_Howe' }, 1),
      ['2026-10-03T15:30:00.000Z'],
    );
  });

  it('Asia/Kolkata has no DST: 02:30 IST every day', async () => {
    assert.deepEqual(
      await ticks('2026-03-07T00:00:00Z', { cron: '30 2 * * *', timezone: 'Asia/Kolkata' }, 2),
      ['2026-03-07T21:00:00.000Z', '2026-03-08T21:00:00.000Z'],
    );
  });
});

describe('several engines on one store', () => {
  let world: SchedulerWorld;
  afterEach(() => world.close());

  it('share the partitions, never fire a tick twice, and take over a crashed node within the lease TTL', async () => {
    world = await SchedulerWorld.open('2026-06-01T12:00:00.000Z', SQLITE_MEMORY);
    const ttl = 3000;
    const a = world.node('node-a', { leaseTtlMs: ttl });
    const b = world.node('node-b', { leaseTtlMs: ttl });
    const schedules = await Promise.all(
      Array.from({ length: 100 }, () =>
        world.addSchedule({ every: '1s', catchup: { mode: 'all', windowSeconds: 3600, maxRuns: 100 } }),
      ),
    );
    await step(a.engine);
    assert.equal(a.engine.stats().partitions, PARTITION_COUNT, 'the first node takes every partition');
    await world.runFor(5000, 250, [a, b]);
    const half = PARTITION_COUNT / 2;
    assert.equal(a.engine.stats().partitions, half, 'the first node gave back its share above half');
    assert.equal(b.engine.stats().partitions, half);
    assert.deepEqual(
      a.engine.ownedPartitions().filter((p) => b.engine.ownedPartitions().includes(p)),
      [],
      'no partition is held twice',
    );

    // node-a crashes: it neither renews nor gives anything back.
    const crashedAt = world.clock.now();
    let takenOverAt: number | null = null;
    while (world.clock.now() < crashedAt + 3 * ttl) {
      world.clock.advance(250);
      await step(b.engine);
      if (takenOverAt === null && b.engine.stats().partitions === PARTITION_COUNT)
        takenOverAt = world.clock.now();
    }
    assert.ok(takenOverAt !== null, 'node-b took every partition');
    assert.ok(
      takenOverAt - crashedAt <= ttl + 1000,
      `taken over ${takenOverAt - crashedAt} ms after the crash`,
    );

    // node-a wakes up (a long pause, not a crash): its leases are past their safe time, so it fires nothing.
    assert.equal(await a.engine.fireDue(), 0);

    const published = (await world.drain()).map((m) => m.runId);
    assert.equal(new Set(published).size, published.length, 'no tick was published twice');
    const end = world.clock.now();
    for (const schedule of schedules) {
      const ticks = (await world.runsOf(schedule.id)).map((r) => r.nominalTime);
      assert.equal(new Set(ticks).size, ticks.length, 'no tick has two runs');
      // Every second from the start to the end has its run: the takeover's gap was caught up (mode all).
      const expected = Math.floor((end - Date.parse('2026-06-01T12:00:00.000Z')) / 1000) + 1;
      assert.equal(ticks.length, expected, `schedule ${schedule.id} has every tick`);
    }
  });
});
