// Lease expiry on PostgreSQL is judged by the database's clock (leaseClock `database`, the default): scheduler
// hosts whose clocks are an hour apart still agree on when a lease has expired. Each test runs the same
// rounds with the callers' clocks skewed, once on the database's clock and once on the callers' (the
// contract suite's setting), so that it shows the difference the option makes rather than a coincidence.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LeaseClock } from '../../src/adapters/postgres/postgres-options.js';
import { PostgresStore } from '../../src/adapters/postgres/postgres-store.js';
import { createPostgresDatabase, POSTGRES_SKIP, postgresUrlOf } from '../support/store-factories.js';

const PARTITIONS = 8;
const HOUR = 3_600_000;

interface Pair {
  behind: PostgresStore;
  ahead: PostgresStore;
  drop(): Promise<void>;
}

async function openPair(leaseClock: LeaseClock): Promise<Pair> {
  const database = await createPostgresDatabase();
  const options = { connectionString: postgresUrlOf(database.name), maintenanceIntervalMs: 0, leaseClock };
  const behind = await PostgresStore.open(options);
  const ahead = await PostgresStore.open(options);
  return {
    behind,
    ahead,
    async drop() {
      await behind.close();
      await ahead.close();
      await database.drop();
    },
  };
}

const round = (store: PostgresStore, owner: string, now: number, ttlMs: number) =>
  store.syncPartitionLeases({ owner, partitionCount: PARTITIONS, ttlMs, now });

describe('PostgreSQL store: lease expiry by the database clock', { skip: POSTGRES_SKIP }, () => {
  const pairs: Pair[] = [];
  const pair = async (clock: LeaseClock) => {
    const opened = await openPair(clock);
    pairs.push(opened);
    return opened;
  };
  after(async () => {
    for (const opened of pairs) await opened.drop();
  });

  it('a node whose clock runs an hour ahead takes none of the leases another node holds', async () => {
    const takenBy = async (clock: LeaseClock) => {
      const { behind, ahead } = await pair(clock);
      assert.equal((await round(behind, 'node-behind', Date.now() - HOUR, 30_000)).length, PARTITIONS);
      return (await round(ahead, 'node-ahead', Date.now() + HOUR, 30_000)).length;
    };
    assert.equal(await takenBy('database'), 0, 'the database clock: every lease is still unexpired');
    assert.equal(await takenBy('caller'), PARTITIONS, 'the callers clocks: the ahead node sees all expired');
  });

  it('a silent node loses its leases after its TTL of real time, whatever the callers clocks say', async () => {
    const TTL = 2_000; // long enough that the second round surely comes before it, on a loaded machine
    const frozen = Date.now() - HOUR; // both callers' clocks stand still, an hour behind
    const takenAfterSilence = async (clock: LeaseClock) => {
      const { behind, ahead } = await pair(clock);
      assert.equal((await round(behind, 'node-silent', frozen, TTL)).length, PARTITIONS);
      assert.equal((await round(ahead, 'node-live', frozen, TTL)).length, 0, 'nothing taken while unexpired');
      await sleep(TTL + 500);
      return (await round(ahead, 'node-live', frozen, TTL)).length;
    };
    assert.equal(await takenAfterSilence('database'), PARTITIONS, 'expired by the database clock');
    assert.equal(await takenAfterSilence('caller'), 0, 'the callers clocks never moved: nothing expires');
  });

  it('rejects an unknown lease clock naming the field', async () => {
    await assert.rejects(
      PostgresStore.open({ connectionString: postgresUrlOf('postgres'), leaseClock: 'host' as LeaseClock }),
      /leaseClock/,
    );
  });
});
