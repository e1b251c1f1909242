// What the concurrency contract (docs/architecture.md, "The Store's concurrency contract") says must come out
// of a race, checked on the reports of both sides (test/support/store-races.ts) and on the store afterwards.
// Shared by the suite that races two connections of one process and the one that races two processes.

import assert from 'node:assert/strict';
import type { PartitionLease, Store } from '../../src/ports/store.js';
import type {
  FireRace,
  IdempotencyRace,
  JobLimitRace,
  LeaseEvent,
  RateTokenRace,
  ScheduleChangeRace,
  SeenChange,
} from '../support/store-races.js';

type Reports<T> = readonly (T & { errors: string[] })[];

function noErrors(reports: Reports<object>): void {
  assert.deepEqual(
    reports.flatMap((report) => report.errors),
    [],
    'no side of the race may see a store error',
  );
}

/** One winner per (run, attempt): each run claimed by exactly one side, and stored as that side's. */
export async function checkClaims(
  store: Store,
  tenantId: string,
  runIds: readonly string[],
  reports: Reports<{ side: string; won: string[] }>,
): Promise<void> {
  noErrors(reports);
  for (const runId of runIds) {
    const winners = reports.filter((report) => report.won.includes(runId)).map((report) => report.side);
    assert.equal(winners.length, 1, `run ${runId} was claimed by ${winners.length} sides`);
    const run = await store.getRun(tenantId, runId);
    assert.equal(run?.status, 'running');
    assert.equal(run?.workerId, winners[0]);
    const claims = (await store.getRunEvents(runId)).filter((event) => event.type === 'claimed');
    assert.equal(claims.length, 1, `run ${runId} has ${claims.length} claimed events`);
  }
}

/**
 * A cancel racing a claim answers what the run became: `cancelled` only if the claim lost (and the run is
 * cancelled), `requested` only if it won (and the run is running with its cancel requested).
 */
export async function checkCancels(
  store: Store,
  tenantId: string,
  runIds: readonly string[],
  reports: Reports<{ cancels: Record<string, string>; claims: Record<string, boolean> }>,
): Promise<{ cancelled: number; requested: number }> {
  noErrors(reports);
  const tally = { cancelled: 0, requested: 0 };
  for (const runId of runIds) {
    const cancel = reports.map((report) => report.cancels[runId]).find((state) => state !== undefined);
    const claimed = reports.map((report) => report.claims[runId]).find((won) => won !== undefined);
    const run = await store.getRun(tenantId, runId);
    if (claimed === true) {
      assert.equal(cancel, 'requested', `run ${runId} was claimed, and its cancel answered ${cancel}`);
      assert.equal(run?.status, 'running');
      assert.notEqual(run?.cancelRequestedAt, null);
      tally.requested++;
    } else {
      assert.equal(claimed, false);
      assert.equal(cancel, 'cancelled', `run ${runId} was not claimed, and its cancel answered ${cancel}`);
      assert.equal(run?.status, 'cancelled');
      tally.cancelled++;
    }
  }
  return tally;
}

/** Never above the plan limit: every tenant ends with exactly maxJobs live jobs, the rest refused. */
export async function checkJobLimit(
  store: Store,
  plan: JobLimitRace,
  reports: Reports<{ inserted: number; refused: number }>,
): Promise<void> {
  noErrors(reports);
  for (const tenantId of plan.tenantIds) {
    const jobs = await store.listJobs(tenantId, plan.tries * reports.length + 1);
    assert.equal(jobs.items.length, plan.maxJobs, `tenant ${tenantId} has ${jobs.items.length} jobs`);
  }
  const inserted = reports.reduce((sum, report) => sum + report.inserted, 0);
  const refused = reports.reduce((sum, report) => sum + report.refused, 0);
  assert.equal(inserted, plan.tenantIds.length * plan.maxJobs);
  assert.equal(inserted + refused, plan.tenantIds.length * plan.tries * reports.length);
}

/** One run per Idempotency-Key: one side inserts it, every other gets that run back (not an error). */
export async function checkIdempotency(
  store: Store,
  plan: IdempotencyRace,
  reports: Reports<{
    answers: { key: string; tried: string; inserted: boolean; runId: string; sameRequest: boolean }[];
  }>,
): Promise<void> {
  noErrors(reports);
  for (const key of plan.keys) {
    const answers = reports.flatMap((report) => report.answers.filter((answer) => answer.key === key));
    assert.equal(answers.length, reports.length);
    const inserted = answers.filter((answer) => answer.inserted);
    assert.equal(inserted.length, 1, `key ${key} inserted ${inserted.length} runs`);
    const winner = inserted[0]?.tried;
    for (const answer of answers) {
      assert.equal(answer.runId, winner, `key ${key} answered another run`);
      assert.equal(answer.sameRequest, true);
    }
    assert.equal((await store.findRunByIdempotencyKey(plan.tenantId, key))?.run.id, winner);
  }
  const runs = await store.listRuns(plan.tenantId, { jobId: plan.jobId, limit: plan.keys.length + 1 });
  assert.equal(runs.items.length, plan.keys.length);
}

async function readChanges(store: Store, partitionCount: number, after: number): Promise<SeenChange[]> {
  const partitions = Array.from({ length: partitionCount }, (_, p) => p);
  const seen: SeenChange[] = [];
  for (let cursor = after; ;) {
    const page = await store.listScheduleChanges(partitions, cursor, 100);
    for (const timing of page) {
      seen.push({ seq: timing.changeSeq, scheduleId: timing.id, version: timing.version });
      cursor = timing.changeSeq;
    }
    if (page.length < 100) return seen;
  }
}

function assertIncreasing(seen: readonly SeenChange[], who: string): void {
  for (let i = 1; i < seen.length; i++) {
    const [before, after] = [seen[i - 1], seen[i]];
    assert.ok(
      before !== undefined && after !== undefined && after.seq > before.seq,
      `${who} saw change ${after?.seq} after ${before?.seq}`,
    );
  }
}

/**
 * Changes in commit order: each reader that followed its cursor during the race, and went on after it, saw
 * the sequence strictly increase and missed no schedule's last change; read afterwards from 0, the sequence
 * strictly increases, holds every schedule once at its last version, and ends at latestScheduleChange.
 */
export async function checkScheduleChanges(
  store: Store,
  plan: ScheduleChangeRace,
  reports: Reports<{ seen: SeenChange[]; cursor: number; finalVersions: Record<string, number> }>,
): Promise<void> {
  noErrors(reports);
  const finalVersions = new Map(reports.flatMap((report) => Object.entries(report.finalVersions)));
  assert.equal(finalVersions.size, plan.count * reports.length);
  for (const [i, report] of reports.entries()) {
    const tail = [...report.seen, ...(await readChanges(store, plan.partitionCount, report.cursor))];
    assertIncreasing(tail, `reader ${i}`);
    const seen = new Set(tail.map((change) => `${change.scheduleId}@${change.version}`));
    for (const [scheduleId, version] of finalVersions) {
      assert.ok(
        seen.has(`${scheduleId}@${version}`),
        `reader ${i} missed ${scheduleId} at version ${version}`,
      );
    }
  }
  const all = await readChanges(store, plan.partitionCount, 0);
  assertIncreasing(all, 'a reader from 0');
  assert.deepEqual(
    new Map(all.map((change) => [change.scheduleId, change.version])),
    finalVersions,
    'every schedule once, at its last version',
  );
  assert.equal(await store.latestScheduleChange(), all.at(-1)?.seq);
}

interface Holding {
  owner: string;
  epoch: number;
  from: number;
  until: number;
}

/**
 * When each owner held each partition, from its rounds: from the moment a round answered (its commit is
 * before that) until the lease's expiry (the round's `now` + TTL), or until the `now` of the owner's next
 * round that gave it back or of its release (both before that commit), whichever is first.
 */
function holdingsOf(events: readonly LeaseEvent[], ttlMs: number): Map<number, Holding[]> {
  const byPartition = new Map<number, Holding[]>();
  const owners = new Set(events.map((event) => event.owner));
  for (const owner of owners) {
    const own = events.filter((event) => event.owner === owner);
    for (const [i, event] of own.entries()) {
      for (const lease of event.leases ?? []) {
        const next = own.slice(i + 1).find((later) => !holds(later.leases, lease.partition));
        const until = Math.min(event.label + ttlMs, next?.label ?? Infinity);
        if (until <= event.returnedAt) continue;
        const list = byPartition.get(lease.partition) ?? [];
        list.push({ owner, epoch: lease.epoch, from: event.returnedAt, until });
        byPartition.set(lease.partition, list);
      }
    }
  }
  return byPartition;
}

const holds = (leases: PartitionLease[] | null, partition: number): boolean =>
  leases?.some((lease) => lease.partition === partition) ?? false;

/**
 * Lease rounds: never two unexpired leases on one partition (no two owners' holdings overlap in time), one
 * owner per epoch, and each handover to another owner at a higher epoch. Returns how many handovers there
 * were, so a test can make sure its race had some.
 */
export function checkLeases(
  events: readonly LeaseEvent[],
  ttlMs: number,
  reports: Reports<object> = [],
): number {
  noErrors(reports);
  let handovers = 0;
  for (const [partition, holdings] of holdingsOf(events, ttlMs)) {
    const ownerOfEpoch = new Map<number, string>();
    for (const holding of holdings) {
      const owner = ownerOfEpoch.get(holding.epoch) ?? holding.owner;
      assert.equal(owner, holding.owner, `partition ${partition} epoch ${holding.epoch} has two owners`);
      ownerOfEpoch.set(holding.epoch, owner);
    }
    const sorted = [...holdings].sort((x, y) => x.from - y.from);
    for (const [i, later] of sorted.entries()) {
      for (const earlier of sorted.slice(0, i)) {
        if (earlier.owner === later.owner) continue;
        assert.ok(
          earlier.until <= later.from,
          `partition ${partition}: ${earlier.owner} (epoch ${earlier.epoch}) held it until ${earlier.until}, ` +
            `${later.owner} (epoch ${later.epoch}) from ${later.from}`,
        );
        assert.ok(
          later.epoch > earlier.epoch,
          `partition ${partition}: epoch ${later.epoch} after ${earlier.epoch}`,
        );
      }
      const previous = sorted[i - 1];
      if (previous !== undefined && previous.owner !== later.owner) handovers++;
    }
  }
  return handovers;
}

/** A tick fires once: every tick's run created by exactly one side, the other told it was a duplicate. */
export async function checkFires(
  store: Store,
  tenantId: string,
  plan: FireRace,
  reports: Reports<{ queued: string[]; duplicates: string[]; fenced: number[] }>,
): Promise<void> {
  noErrors(reports);
  assert.deepEqual(
    reports.flatMap((report) => report.fenced),
    [],
  );
  const created = reports.flatMap((report) => report.queued).sort();
  assert.deepEqual(created, plan.ticks.map((tick) => tick.runId).sort(), 'each tick created once');
  // Every side fired every tick: the ones that did not create its run were told it was a duplicate.
  const duplicates = reports.flatMap((report) => report.duplicates);
  for (const runId of created) {
    const times = duplicates.filter((duplicate) => duplicate === runId).length;
    assert.equal(times, reports.length - 1, `run ${runId} reported a duplicate ${times} times`);
  }
  const schedules = new Set(plan.ticks.map((tick) => tick.scheduleId));
  for (const scheduleId of schedules) {
    const ticks = plan.ticks.filter((tick) => tick.scheduleId === scheduleId).length;
    const runs = await store.listRuns(tenantId, { scheduleId, limit: ticks + 1 });
    assert.equal(runs.items.length, ticks, `schedule ${scheduleId} has ${runs.items.length} runs`);
  }
}

/** A blocked run is released once: each by exactly one side, and none left blocked. */
export async function checkReleases(
  store: Store,
  tenantId: string,
  blocked: readonly string[],
  reports: Reports<{ released: string[] }>,
): Promise<void> {
  noErrors(reports);
  const released = reports.flatMap((report) => report.released).sort();
  assert.deepEqual(released, [...blocked].sort(), 'each blocked run released once');
  for (const runId of blocked) {
    const run = await store.getRun(tenantId, runId);
    assert.deepEqual([run?.status, run?.blockedBy], ['queued', null]);
    assert.notEqual(run?.dispatchedAt, null);
  }
}

/**
 * Takes of one key from every side never allow more than burst + perSecond × the window they were judged in
 * (from the first send to the last answer, on one host's clock), and the race was a real one: every side
 * took some, and tokens refilled during it (more than the burst was allowed in all). Returns the tally.
 */
export function checkRateTokens(
  plan: RateTokenRace,
  reports: Reports<{ allowed: number; refused: number; firstSentAt: number; lastAnsweredAt: number }>,
): { allowed: number; bound: number } {
  noErrors(reports);
  const allowed = reports.reduce((sum, report) => sum + report.allowed, 0);
  const from = Math.min(...reports.map((report) => report.firstSentAt));
  const to = Math.max(...reports.map((report) => report.lastAnsweredAt));
  const bound = Math.floor(plan.burst + (plan.perSecond * (to - from)) / 1000);
  assert.ok(allowed <= bound, `${allowed} takes allowed in ${to - from} ms: more than ${bound}`);
  assert.ok(allowed > plan.burst, `only ${allowed} allowed: tokens never refilled during the race`);
  for (const report of reports) {
    assert.ok(report.allowed > 0, 'every side was allowed some takes');
    assert.ok(report.refused > 0, 'every side was refused some: the sides asked faster than the rate');
  }
  return { allowed, bound };
}
