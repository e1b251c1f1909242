import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fairShare, planLeaseRound, type LeaseHolding } from '../../src/core/lease-share.js';

const NOW = 1_000_000;
const TTL = 5000;
const held = (partition: number, owner: string, expiresAt = NOW + TTL): LeaseHolding => ({
  partition,
  owner,
  expiresAt,
});
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe('fairShare', () => {
  it('gives a lone node every partition', () => {
    assert.equal(fairShare(256, 1), 256);
    assert.equal(fairShare(7, 1), 7);
  });

  it('rounds up, so a remainder still fits', () => {
    assert.equal(fairShare(256, 2), 128);
    assert.equal(fairShare(256, 3), 86);
    assert.equal(fairShare(256, 5), 52);
    assert.equal(fairShare(10, 3), 4);
    assert.equal(fairShare(10, 7), 2);
  });

  it('is the smallest share with which the nodes together hold every partition', () => {
    for (const partitions of [1, 7, 10, 256]) {
      for (let nodes = 1; nodes <= 12; nodes++) {
        const share = fairShare(partitions, nodes);
        assert.ok(share * nodes >= partitions, `${partitions}/${nodes}: ${share} leaves some unheld`);
        assert.ok((share - 1) * nodes < partitions, `${partitions}/${nodes}: ${share} is more than needed`);
      }
    }
  });

  it('gives at least one each to more nodes than partitions, and counts no live node as one', () => {
    assert.equal(fairShare(4, 9), 1);
    assert.equal(fairShare(4, 0), 4);
  });
});

describe('planLeaseRound', () => {
  const round = (owner: string, liveNodes: number, leases: LeaseHolding[], partitionCount = 10) =>
    planLeaseRound({ owner, partitionCount, liveNodes, now: NOW, leases });

  it('a lone node on an empty table takes every partition, lowest first', () => {
    assert.deepEqual(round('a', 1, []), { giveBack: [], take: range(0, 10) });
  });

  it('over its share a node gives back its highest partitions and keeps the lowest', () => {
    const leases = range(0, 10).map((p) => held(p, 'a'));
    assert.deepEqual(round('a', 2, leases), { giveBack: range(5, 10), take: [] });
    assert.deepEqual(round('a', 3, leases), { giveBack: range(4, 10), take: [] });
  });

  it('below its share a node takes the never-taken, given-back and expired partitions, lowest first', () => {
    const leases = [
      held(0, 'b'), // live: not free
      held(1, 'b', NOW), // expires now: free
      { partition: 2, owner: null, expiresAt: NOW + TTL }, // given back: free, whatever its expiry says
      held(3, 'b', NOW + 1), // live by a millisecond
      // 4: never taken
      held(5, 'b', NOW - 1),
      held(6, 'b', NOW - 1),
    ];
    assert.deepEqual(round('a', 2, leases), { giveBack: [], take: [1, 2, 4, 5, 6] });
    assert.deepEqual(round('a', 4, leases), { giveBack: [], take: [1, 2, 4] }, 'stops at a share of 3');
  });

  it('counts its own partitions, expired or not, towards its share and never takes them again', () => {
    const leases = [held(0, 'a', NOW - 1), held(1, 'a'), held(2, 'b', 0)];
    assert.deepEqual(round('a', 2, leases, 6), { giveBack: [], take: [2] });
  });

  it('takes nothing when nothing is free, even below its share', () => {
    const leases = range(0, 10).map((p) => held(p, 'a'));
    assert.deepEqual(round('b', 2, leases), { giveBack: [], take: [] });
  });

  it('ignores lease rows at or past the partition count', () => {
    const leases = [held(0, 'a'), held(4, 'a'), held(5, 'a'), { partition: 6, owner: null, expiresAt: 0 }];
    assert.deepEqual(round('a', 1, leases, 4), { giveBack: [], take: [1, 2, 3] });
    assert.deepEqual(round('a', 4, leases, 4), { giveBack: [], take: [] });
  });

  it('nodes joining one by one end up holding every partition once, within their share', () => {
    const leases = new Map<number, LeaseHolding>();
    const sync = (owner: string, liveNodes: number): void => {
      const plan = round(owner, liveNodes, [...leases.values()]);
      for (const p of plan.giveBack) leases.set(p, { partition: p, owner: null, expiresAt: 0 });
      for (const p of plan.take) leases.set(p, held(p, owner));
    };
    const holdings = (owner: string) =>
      [...leases.values()].filter((l) => l.owner === owner).map((l) => l.partition);
    sync('a', 1);
    assert.deepEqual(holdings('a'), range(0, 10));
    sync('b', 2); // nothing free yet
    sync('a', 2); // gives back 5–9
    sync('b', 2); // takes them
    assert.deepEqual([holdings('a'), holdings('b')], [range(0, 5), range(5, 10)]);
    sync('c', 3);
    sync('a', 3);
    sync('b', 3);
    sync('c', 3);
    assert.deepEqual([holdings('a'), holdings('b'), holdings('c')], [range(0, 4), range(5, 9), [4, 9]]);
  });
});
