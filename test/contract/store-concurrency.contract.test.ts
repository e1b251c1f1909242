// The Store's concurrency contract (docs/architecture.md): two connections opened on one durable location
// race each other — claims, cancels, plan limits, Idempotency-Keys, lease rounds, fired ticks, blocked
// runs, the schedule change sequence and rate-limit takes — and what comes out must be what the contract promises. Runs
// against every adapter in STORE_FACTORIES. A networked adapter serves the two sides' calls at the same
// time; SQLite's driver is synchronous, so in one process each call runs whole, and its races across two
// processes are test/contract/sqlite-store-processes.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { OverlapPolicy } from '../../src/core/schedule.js';
import type { Store, TickFire } from '../../src/ports/store.js';
import { seededRandom } from '../support/seeded-random.js';
import { STORE_FACTORIES, type StoreFactory } from '../support/store-factories.js';
import {
  raceClaims,
  raceFires,
  raceIdempotency,
  raceJobLimit,
  raceRateTokens,
  raceReleases,
  raceScheduleChanges,
  type LeaseEvent,
} from '../support/store-races.js';
import {
  leaseAll,
  makeSchedule,
  SECOND,
  seedBlockedRuns,
  seedSchedule,
  TEST_PARTITIONS,
  tickOf,
} from './schedule-fixtures.js';
import {
  checkClaims,
  checkFires,
  checkIdempotency,
  checkJobLimit,
  checkLeases,
  checkRateTokens,
  checkReleases,
  checkScheduleChanges,
} from './store-race-checks.js';
import { attemptResult, makeTenant, seedJob, seedRun, tick } from './store-fixtures.js';

/** Two connections to one new database: the same store as two processes (or two pool clients) see it. */
async function withTwoStores(
  factory: StoreFactory,
  body: (a: Store, b: Store) => Promise<void>,
): Promise<void> {
  const location = await factory.createLocation();
  const first = await location.open();
  const second = await location.open();
  try {
    assert.equal(second.migrationsApplied, 0, 'the second connection finds the schema in place');
    await body(first.store, second.store);
  } finally {
    await first.store.close();
    await second.store.close();
    await location.destroy();
  }
}

const T0 = Date.UTC(2026, 5, 1);

for (const factory of STORE_FACTORIES) {
  const race = (name: string, body: (a: Store, b: Store) => Promise<void>) =>
    it(name, () => withTwoStores(factory, body));

  describe(`Store concurrency contract (${factory.name}): two connections`, () => {
    race('claims of one run at one attempt: exactly one wins', async (a, b) => {
      const job = await seedJob(a);
      const runIds: string[] = [];
      for (let i = 0; i < 40; i++) runIds.push((await seedRun(a, job)).id);
      const [first, second] = await Promise.all([
        raceClaims(a, { runIds }, 'wrk_a'),
        raceClaims(b, { runIds }, 'wrk_b'),
      ]);
      await checkClaims(a, job.tenantId, runIds, [
        { side: 'wrk_a', ...first },
        { side: 'wrk_b', ...second },
      ]);
    });

    race('a claim of a stale attempt loses to the current attempt', async (a, b) => {
      const job = await seedJob(a);
      const runs = [];
      for (let i = 0; i < 20; i++) {
        const run = await seedRun(a, job);
        const claimed = await a.claimRun(run.id, 1, 'wrk_old', tick());
        assert.ok(claimed);
        // Retried: queued again as attempt 2, which a message for attempt 1 must not take.
        const retried = await a.finishAttempt(attemptResult(claimed.run, { outcome: 'failed', retryAt: T0 }));
        assert.equal(retried, 'requeued');
        runs.push(run);
      }
      const answers = await Promise.all(
        runs.flatMap((run) => [
          a.claimRun(run.id, 1, 'wrk_old', tick()),
          b.claimRun(run.id, 2, 'wrk_new', tick()),
        ]),
      );
      for (const [i, run] of runs.entries()) {
        assert.equal(answers[2 * i], null, 'attempt 1 is fenced off');
        assert.equal(answers[2 * i + 1]?.run.attempt, 2);
        const stored = await a.getRun(job.tenantId, run.id);
        assert.deepEqual([stored?.status, stored?.attempt, stored?.workerId], ['running', 2, 'wrk_new']);
      }
    });

    race('a cancel racing a claim: the answer is what the run became', async (a, b) => {
      const job = await seedJob(a);
      const runs = [];
      for (let i = 0; i < 30; i++) runs.push(await seedRun(a, job));
      // Every other pair is sent claim first, so that a store serving calls one by one sees both orders.
      const answers = await Promise.all(
        runs.map(async (run, i) => {
          const cancel = () => a.requestCancel(job.tenantId, run.id, tick());
          const claim = () => b.claimRun(run.id, 1, 'wrk_b', tick());
          if (i % 2 === 0) return Promise.all([cancel(), claim()]);
          const [claimed, cancelled] = await Promise.all([claim(), cancel()]);
          return [cancelled, claimed] as const;
        }),
      );
      for (const [i, [cancel, claim]] of answers.entries()) {
        const stored = await a.getRun(job.tenantId, runs[i]?.id ?? '');
        if (claim === null) {
          // The cancel came first: the run never ran.
          assert.equal(cancel.state, 'cancelled');
          assert.deepEqual([cancel.run.status, stored?.status], ['cancelled', 'cancelled']);
        } else {
          // The claim came first: the worker is asked to stop it.
          assert.equal(cancel.state, 'requested');
          assert.deepEqual([cancel.run.status, stored?.status], ['running', 'running']);
          assert.notEqual(stored?.cancelRequestedAt, null);
        }
      }
    });

    race('inserts at the plan limit never go past it', async (a, b) => {
      const tenantIds: string[] = [];
      for (let i = 0; i < 6; i++) {
        const tenant = makeTenant();
        await a.createTenant(tenant);
        tenantIds.push(tenant.id);
      }
      const plan = { tenantIds, tries: 5, maxJobs: 3 };
      const reports = await Promise.all([raceJobLimit(a, plan, 'a'), raceJobLimit(b, plan, 'b')]);
      await checkJobLimit(a, plan, reports);

      // Schedules too, all at once.
      const job = await seedJob(a);
      const maxSchedules = 4;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) =>
          (i % 2 === 0 ? a : b).insertSchedule(makeSchedule(job), maxSchedules),
        ),
      );
      assert.equal(outcomes.filter((outcome) => outcome.status === 'fulfilled').length, maxSchedules);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') {
          assert.equal((outcome.reason as { code?: string }).code, 'plan_limit_exceeded');
        }
      }
      const listed = await b.listSchedules(job.tenantId, { limit: 20 });
      assert.equal(listed.items.length, maxSchedules);
    });

    race('inserts with one Idempotency-Key create one run, and all get it back', async (a, b) => {
      const job = await seedJob(a);
      const plan = {
        tenantId: job.tenantId,
        jobId: job.id,
        keys: Array.from({ length: 30 }, (_, i) => `key-${i}`),
      };
      const reports = await Promise.all([raceIdempotency(a, plan, 'a'), raceIdempotency(b, plan, 'b')]);
      await checkIdempotency(a, plan, reports);
    });

    race('lease rounds of three nodes: never two unexpired leases, epochs rise', async (a, b) => {
      const step = SECOND;
      const ttlMs = 5 * step;
      const nodes: [string, Store][] = [
        ['node-a', a],
        ['node-b', b],
        ['node-c', b],
      ];
      const random = seededRandom(12);
      const stalledUntil = new Map<string, number>();
      const events: LeaseEvent[] = [];
      for (let now = T0; now < T0 + 150 * step; now += step) {
        // Every node acts at the same `now`, at once; a stalled node lets its leases expire.
        await Promise.all(
          nodes.map(async ([owner, store]) => {
            const roll = random();
            if ((stalledUntil.get(owner) ?? 0) > now) return;
            if (roll < 0.04) {
              stalledUntil.set(owner, now + ttlMs + 2 * step);
            } else if (roll < 0.08) {
              await store.releasePartitionLeases(owner);
              events.push({ owner, label: now, returnedAt: now, leases: null });
            } else {
              const leases = await store.syncPartitionLeases({ owner, partitionCount: 8, ttlMs, now });
              events.push({ owner, label: now, returnedAt: now, leases });
            }
          }),
        );
      }
      const handovers = checkLeases(events, ttlMs);
      assert.ok(handovers >= 10, `only ${handovers} handovers: the race proved little`);
    });

    race('one tick fired on two connections at once is one run', async (a, b) => {
      const job = await seedJob(a);
      // The only node: it holds every partition.
      const leases = await a.syncPartitionLeases({
        owner: 'node-a',
        partitionCount: TEST_PARTITIONS,
        ttlMs: 10 * SECOND,
        now: tick(),
      });
      assert.equal(leases.length, TEST_PARTITIONS);
      const ticks: TickFire[] = [];
      const policies: OverlapPolicy[] = ['allow', 'allow', 'skip', 'buffer_one', 'replace'];
      for (const [i, overlapPolicy] of policies.entries()) {
        const schedule = await seedSchedule(a, job, { overlapPolicy, partition: i % TEST_PARTITIONS });
        for (let k = 0; k < 6; k++) ticks.push(tickOf(schedule, T0 + k * SECOND));
      }
      const plan = { owner: 'node-a', leases, ticks, batchSize: 7 };
      const reports = await Promise.all([raceFires(a, plan), raceFires(b, plan)]);
      await checkFires(a, job.tenantId, plan, reports);
    });

    race('two batches of one partition at once still keep its overlap policies', async (a, b) => {
      // A batch retried while its first try still runs: each decides ticks of the same schedules.
      const job = await seedJob(a);
      const lease = await leaseAll(a, 'node-a');
      for (const policy of ['buffer_one', 'skip'] as const) {
        for (let i = 0; i < 15; i++) {
          const schedule = await seedSchedule(a, job, { overlapPolicy: policy, partition: lease.partition });
          const [first, second] = [tickOf(schedule, T0), tickOf(schedule, T0 + SECOND)];
          const results = await Promise.all([
            a.fireTicks('node-a', [lease], [first], tick()),
            b.fireTicks('node-a', [lease], [second], tick()),
          ]);
          const queued = results.flatMap((result) => result.queued.map((message) => message.runId));
          const heldBack = results.flatMap((result) => (policy === 'skip' ? result.skipped : result.blocked));
          assert.equal(queued.length, 1, `${policy}: ${queued.length} of two ticks queued to run at once`);
          assert.equal(heldBack.length, 1, `${policy}: the other tick is held back`);
        }
      }
    });

    race('an old owner firing while a new one takes over: each tick is one run', async (a, b) => {
      const job = await seedJob(a);
      const sync = (store: Store, owner: string, now: number) =>
        store.syncPartitionLeases({ owner, partitionCount: TEST_PARTITIONS, ttlMs: 10 * SECOND, now });
      const old = await sync(a, 'node-a', T0);
      const ticks: TickFire[] = [];
      for (let p = 0; p < TEST_PARTITIONS; p++) {
        const schedule = await seedSchedule(a, job, { partition: p });
        for (let k = 0; k < 5; k++) ticks.push(tickOf(schedule, T0 + k * SECOND));
      }
      // A stalled past its TTL and fires what it had; B takes everything over and fires the same ticks.
      const [olds, takeover] = await Promise.all([
        raceFires(a, { owner: 'node-a', leases: old, ticks, batchSize: 3 }),
        (async () => {
          const taken = await sync(b, 'node-b', T0 + 11 * SECOND);
          assert.equal(taken.length, TEST_PARTITIONS);
          assert.ok(taken.every((lease) => lease.epoch === 2));
          return raceFires(b, { owner: 'node-b', leases: taken, ticks, batchSize: 3 });
        })(),
      ]);
      assert.deepEqual([...olds.errors, ...takeover.errors], []);
      assert.deepEqual(takeover.fenced, []);
      const created = [...olds.queued, ...takeover.queued].sort();
      assert.deepEqual(created, ticks.map((t) => t.runId).sort(), 'each tick created once');
      // Once B holds a partition, A writes nothing more for it.
      assert.equal(await a.advanceWatermarks('node-a', old[0] ?? { partition: 0, epoch: 1 }, []), false);
    });

    race('a blocked run is released once, by one of two releasers', async (a, b) => {
      const job = await seedJob(a);
      const lease = await leaseAll(a, 'node-a');
      const { blockers, blocked } = await seedBlockedRuns(a, job, 'node-a', lease, 20);
      const plan = { blockers };
      const reports = await Promise.all([raceReleases(a, plan), raceReleases(b, plan)]);
      await checkReleases(a, job.tenantId, blocked, reports);
    });

    race('schedule changes of two writers reach a reader in commit order', async (a, b) => {
      const job = await seedJob(a);
      const plan = { tenantId: job.tenantId, jobId: job.id, count: 20, partitionCount: TEST_PARTITIONS };
      const reports = await Promise.all([
        raceScheduleChanges(a, plan, 'a'),
        raceScheduleChanges(b, plan, 'b'),
      ]);
      await checkScheduleChanges(a, plan, reports);
    });

    race('rate-limit takes of one key: never more than burst + rate × elapsed', async (a, b) => {
      // Four takes in flight on each connection, asking far faster than 20/s even on a loaded machine.
      const plan = { key: 'runs/ten_race', perSecond: 20, burst: 10, durationMs: 1_500, callers: 4 };
      const reports = await Promise.all([raceRateTokens(a, plan), raceRateTokens(b, plan)]);
      checkRateTokens(plan, reports);
    });
  });
}
