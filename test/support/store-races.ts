// One side of a race on a shared store: each function does its part of a contended workload on one
// connection, in a fixed order (both sides take the same order, so they collide on the same rows), and
// reports what the store answered as plain JSON. The concurrency contract suites run two sides at once — on
// two connections of one process (test/contract/store-concurrency.contract.test.ts), or in two processes
// (test/contract/sqlite-store-processes.test.ts, through store-race-child.ts) — and check the reports
// together (test/contract/store-race-checks.ts). A store error is reported, not thrown, so the other side
// still finishes and the check can name it.
//
// Two processes given one start time go in lockstep: step k of a race (a run to claim, a tenant to fill,
// a key, a batch) begins at start + k × slotMs in both, so they contend for the same row at the same moment
// instead of one running ahead of the other. In one process (no start given) steps begin at once.

import { randomBytes } from 'node:crypto';
import { HourglassError } from '../../src/core/errors.js';
import { newId } from '../../src/core/ids.js';
import type { Job } from '../../src/core/job.js';
import { newQueuedRun } from '../../src/core/run.js';
import { newScheduleBase, type Schedule } from '../../src/core/schedule.js';
import type { Store } from '../../src/ports/store.js';
import type { AttemptStore } from '../../src/ports/store/attempt-store.js';
import type { FireStore, TickFire } from '../../src/ports/store/fire-store.js';
import type { JobStore } from '../../src/ports/store/job-store.js';
import type { PartitionLease, PartitionLeaseStore } from '../../src/ports/store/partition-lease-store.js';
import type { RateLimitStore } from '../../src/ports/store/rate-limit-store.js';
import type { RunStore } from '../../src/ports/store/run-store.js';
import type { ScheduleStore } from '../../src/ports/store/schedule-store.js';
import type { ScheduleTimingStore } from '../../src/ports/store/schedule-timing-store.js';
import { seededRandom } from './seeded-random.js';

/**
 * Waits for step k, busy: a timer is a millisecond late, and a step lasts about one. Both processes read
 * one clock, so the step's millisecond starts it in both at once — as far as the CPUs are free to spin.
 */
function lockstep(start: number | undefined, slotMs: number): (step: number) => void {
  if (start === undefined) return () => undefined;
  return (step) => {
    const at = start + step * slotMs;
    while (Date.now() < at) {
      // Spin until the step begins.
    }
  };
}

/** How long each lockstep step lasts, in ms; a plan may set its own. */
interface Lockstep {
  slotMs?: number;
}

const fresh = (kind: 'job' | 'run' | 'schedule'): string => newId(kind, Date.now(), (n) => randomBytes(n));
const describeError = (error: unknown): string =>
  error instanceof HourglassError ? `${error.code}: ${error.message}` : String(error);

export interface ClaimRace extends Lockstep {
  /** Queued runs at attempt 1. */
  runIds: string[];
}

/** Claims every run at attempt 1 as `side`; reports the runs it won. */
export async function raceClaims(store: AttemptStore, plan: ClaimRace, side: string, start?: number) {
  const step = lockstep(start, plan.slotMs ?? 1);
  const won: string[] = [];
  const errors: string[] = [];
  for (const [i, runId] of plan.runIds.entries()) {
    step(i);
    try {
      if (await store.claimRun(runId, 1, side, Date.now())) won.push(runId);
    } catch (error) {
      errors.push(describeError(error));
    }
  }
  return { won, errors };
}

export interface CancelRace extends Lockstep {
  tenantId: string;
  /** Queued runs at attempt 1. */
  runIds: string[];
  /** The side that cancels each run; the other claims it. */
  canceller: string;
}

/** Cancels every run, or claims it (the other side's part); reports each answer by run. */
export async function raceCancels(
  store: RunStore & AttemptStore,
  plan: CancelRace,
  side: string,
  start?: number,
) {
  const step = lockstep(start, plan.slotMs ?? 1);
  const cancels: Record<string, string> = {};
  const claims: Record<string, boolean> = {};
  const errors: string[] = [];
  for (const [i, runId] of plan.runIds.entries()) {
    step(i);
    try {
      if (side === plan.canceller) {
        cancels[runId] = (await store.requestCancel(plan.tenantId, runId, Date.now())).state;
      } else {
        claims[runId] = (await store.claimRun(runId, 1, side, Date.now())) !== null;
      }
    } catch (error) {
      errors.push(describeError(error));
    }
  }
  return { cancels, claims, errors };
}

export interface JobLimitRace extends Lockstep {
  tenantIds: string[];
  /** Inserts each side tries per tenant. */
  tries: number;
  maxJobs: number;
}

/** Inserts jobs into each tenant up to (and past) its plan limit; reports how many the store took. */
export async function raceJobLimit(store: JobStore, plan: JobLimitRace, side: string, start?: number) {
  const step = lockstep(start, plan.slotMs ?? 10);
  let inserted = 0;
  let refused = 0;
  const errors: string[] = [];
  for (const [t, tenantId] of plan.tenantIds.entries()) {
    step(t);
    for (let i = 0; i < plan.tries; i++) {
      try {
        await store.insertJob(raceJob(tenantId, `${side}-${i}`), plan.maxJobs);
        inserted++;
      } catch (error) {
        if (error instanceof HourglassError && error.code === 'plan_limit_exceeded') refused++;
        else errors.push(describeError(error));
      }
    }
  }
  return { inserted, refused, errors };
}

export function raceJob(tenantId: string, name: string): Job {
  const at = Date.now();
  return {
    id: fresh('job'),
    tenantId,
    name,
    image: null,
    command: ['true'],
    args: [],
    env: {},
    resources: { memoryMb: 64 },
    timeoutSeconds: 60,
    retry: { maxAttempts: 1, backoffSeconds: 1 },
    createdAt: at,
    updatedAt: at,
  };
}

export interface IdempotencyRace extends Lockstep {
  tenantId: string;
  jobId: string;
  keys: string[];
}

/** Creates one run per Idempotency-Key, each side under run ids of its own; reports what each key gave. */
export async function raceIdempotency(store: RunStore, plan: IdempotencyRace, side: string, start?: number) {
  const step = lockstep(start, plan.slotMs ?? 3);
  const answers: { key: string; tried: string; inserted: boolean; runId: string; sameRequest: boolean }[] =
    [];
  const errors: string[] = [];
  for (const [i, key] of plan.keys.entries()) {
    step(i);
    const run = newQueuedRun({
      id: fresh('run'),
      tenantId: plan.tenantId,
      jobId: plan.jobId,
      createdAt: Date.now(),
      idempotencyKey: key,
    });
    try {
      const result = await store.insertRun({ run, requestHash: `hash-of-${key}` });
      answers.push({
        key,
        tried: run.id,
        inserted: result.inserted,
        runId: result.run.id,
        sameRequest: result.inserted || result.sameRequest,
      });
    } catch (error) {
      errors.push(`${side} ${key}: ${describeError(error)}`);
    }
  }
  return { answers, errors };
}

export interface ScheduleChangeRace extends Lockstep {
  tenantId: string;
  jobId: string;
  /** Schedules each side creates; it then changes each once and deletes every third. */
  count: number;
  partitionCount: number;
}

/** One change a reader saw, as listScheduleChanges gave it. */
export interface SeenChange {
  seq: number;
  scheduleId: string;
  version: number;
}

export type ScheduleChangeRaceStore = ScheduleStore & ScheduleTimingStore;

/**
 * Writes schedule changes and, after each, reads the changes after the last one it saw (reconciliation's
 * read); reports what it read, its cursor, and each of its schedules' last version.
 */
export async function raceScheduleChanges(
  store: ScheduleChangeRaceStore,
  plan: ScheduleChangeRace,
  side: string,
  start?: number,
) {
  const step = lockstep(start, plan.slotMs ?? 3);
  let steps = 0;
  const partitions = Array.from({ length: plan.partitionCount }, (_, p) => p);
  const seen: SeenChange[] = [];
  const finalVersions: Record<string, number> = {};
  const errors: string[] = [];
  let cursor = 0;
  const read = async () => {
    for (;;) {
      const page = await store.listScheduleChanges(partitions, cursor, 100);
      for (const timing of page) {
        seen.push({ seq: timing.changeSeq, scheduleId: timing.id, version: timing.version });
        cursor = timing.changeSeq;
      }
      if (page.length < 100) return;
    }
  };
  const write = async (change: () => Promise<unknown>) => {
    step(steps++);
    try {
      await change();
    } catch (error) {
      errors.push(`${side}: ${describeError(error)}`);
    }
    await read();
  };

  const mine: Schedule[] = [];
  for (let i = 0; i < plan.count; i++) {
    const schedule = raceSchedule(plan, i % plan.partitionCount);
    mine.push(schedule);
    await write(() => store.insertSchedule(schedule, Number.MAX_SAFE_INTEGER));
    finalVersions[schedule.id] = schedule.version;
  }
  for (const [i, schedule] of mine.entries()) {
    const next = { ...schedule, paused: true, version: schedule.version + 1, updatedAt: Date.now() };
    await write(async () => {
      if (!(await store.updateSchedule(next))) throw new Error(`update of ${schedule.id} refused`);
      finalVersions[schedule.id] = next.version;
    });
    if (i % 3 === 0) {
      await write(async () => {
        if (!(await store.deleteSchedule(plan.tenantId, schedule.id, Date.now()))) {
          throw new Error(`delete of ${schedule.id} refused`);
        }
        finalVersions[schedule.id] = next.version + 1;
      });
    }
  }
  return { seen, cursor, finalVersions, errors };
}

function raceSchedule(plan: ScheduleChangeRace, partition: number): Schedule {
  const at = Date.now();
  const ids = { id: fresh('schedule'), tenantId: plan.tenantId, jobId: plan.jobId, partition };
  return {
    ...newScheduleBase(ids, at),
    spec: { kind: 'every', every: '1m', intervalMs: 60_000, anchorAt: at },
    nextFireAt: at + 60_000,
  };
}

export interface LeaseRace {
  partitionCount: number;
  ttlMs: number;
  durationMs: number;
  /** Seeds the side's pauses and releases. */
  seed: number;
}

/** One lease round (or a release) as a node saw it: `label` is the `now` it passed, `returnedAt` when it
 * had the answer. */
export interface LeaseEvent {
  owner: string;
  label: number;
  returnedAt: number;
  /** The leases held after the round; null for releasePartitionLeases. */
  leases: PartitionLease[] | null;
}

/**
 * A scheduler node that renews on the wall clock for `durationMs`, sometimes stalls past its TTL (another
 * takes its partitions) and sometimes stops gracefully and comes back; reports every round.
 */
export async function raceLeases(store: PartitionLeaseStore, plan: LeaseRace, side: string) {
  const random = seededRandom(plan.seed);
  const events: LeaseEvent[] = [];
  const errors: string[] = [];
  const until = Date.now() + plan.durationMs;
  while (Date.now() < until) {
    const roll = random();
    const label = Date.now();
    try {
      if (roll < 0.05) {
        await store.releasePartitionLeases(side);
        events.push({ owner: side, label, returnedAt: Date.now(), leases: null });
      } else {
        const round = { owner: side, partitionCount: plan.partitionCount, ttlMs: plan.ttlMs, now: label };
        const leases = await store.syncPartitionLeases(round);
        events.push({ owner: side, label, returnedAt: Date.now(), leases });
      }
    } catch (error) {
      errors.push(describeError(error));
    }
    const pause = roll > 0.9 ? plan.ttlMs * 1.5 : random() * (plan.ttlMs / 5);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  return { events, errors };
}

export interface ReleaseRace extends Lockstep {
  /** Runs that ended, each blocking one queued run. */
  blockers: string[];
}

/** Releases what each blocker held back, and every fifth step sweeps (null) instead; reports what it got. */
export async function raceReleases(store: RunStore, plan: ReleaseRace, start?: number) {
  const step = lockstep(start, plan.slotMs ?? 2);
  const released: string[] = [];
  const errors: string[] = [];
  for (const [i, blocker] of plan.blockers.entries()) {
    step(i);
    try {
      const messages = await store.releaseBlockedRuns(i % 5 === 4 ? null : blocker, Date.now());
      released.push(...messages.map((message) => message.runId));
    } catch (error) {
      errors.push(describeError(error));
    }
  }
  return { released, errors };
}

export interface FireRace extends Lockstep {
  owner: string;
  leases: PartitionLease[];
  ticks: TickFire[];
  batchSize: number;
}

/** Fires every tick in batches, as one node on this connection; reports the runs it created. */
export async function raceFires(store: FireStore, plan: FireRace, start?: number) {
  const step = lockstep(start, plan.slotMs ?? 5);
  const queued: string[] = [];
  const duplicates: string[] = [];
  const fenced: number[] = [];
  const errors: string[] = [];
  for (let at = 0; at < plan.ticks.length; at += plan.batchSize) {
    step(at / plan.batchSize);
    const batch = plan.ticks.slice(at, at + plan.batchSize);
    try {
      const result = await store.fireTicks(plan.owner, plan.leases, batch, Date.now());
      queued.push(...result.queued.map((message) => message.runId), ...result.skipped, ...result.blocked);
      duplicates.push(...result.duplicates);
      fenced.push(...result.fenced);
    } catch (error) {
      errors.push(describeError(error));
    }
  }
  return { queued, duplicates, fenced, errors };
}

export interface RateTokenRace {
  key: string;
  perSecond: number;
  burst: number;
  /** How long each side keeps taking, from its start. */
  durationMs: number;
  /** Takes each side has in flight at once. */
  callers: number;
}

/**
 * Takes tokens for one key as fast as the store answers, `callers` at a time, for `durationMs`; reports how
 * many it was allowed and refused, and the window the takes were judged in: from before the first was sent to
 * after the last answer.
 */
export async function raceRateTokens(store: RateLimitStore, plan: RateTokenRace, start?: number) {
  let allowed = 0;
  let refused = 0;
  const errors: string[] = [];
  const firstSentAt = Date.now();
  const until = (start ?? firstSentAt) + plan.durationMs;
  const limit = { perSecond: plan.perSecond, burst: plan.burst };
  const caller = async () => {
    while (Date.now() < until) {
      try {
        const decision = await store.takeRateToken(plan.key, limit, Date.now());
        if (decision.allowed) allowed++;
        else refused++;
      } catch (error) {
        errors.push(describeError(error));
      }
    }
  };
  await Promise.all(Array.from({ length: plan.callers }, caller));
  return { allowed, refused, firstSentAt, lastAnsweredAt: Date.now(), errors };
}

/** Resolves at the wall-clock time `at`, so that two processes told the same time start together. */
export async function startAt(at: number): Promise<void> {
  const wait = at - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/** Every race by name, for the child process. */
export const RACES = {
  claims: (store: Store, plan: ClaimRace, side: string, start: number) =>
    raceClaims(store, plan, side, start),
  cancels: (store: Store, plan: CancelRace, side: string, start: number) =>
    raceCancels(store, plan, side, start),
  jobLimit: (store: Store, plan: JobLimitRace, side: string, start: number) =>
    raceJobLimit(store, plan, side, start),
  idempotency: (store: Store, plan: IdempotencyRace, side: string, start: number) =>
    raceIdempotency(store, plan, side, start),
  scheduleChanges: (store: Store, plan: ScheduleChangeRace, side: string, start: number) =>
    raceScheduleChanges(store, plan, side, start),
  // Its own pace: stalls past the TTL are the point.
  leases: (store: Store, plan: LeaseRace, side: string) => raceLeases(store, plan, side),
  fires: (store: Store, plan: FireRace, _side: string, start: number) => raceFires(store, plan, start),
  releases: (store: Store, plan: ReleaseRace, _side: string, start: number) =>
    raceReleases(store, plan, start),
  rateTokens: (store: Store, plan: RateTokenRace, _side: string, start: number) =>
    raceRateTokens(store, plan, start),
} as const;

export type RaceName = keyof typeof RACES;
