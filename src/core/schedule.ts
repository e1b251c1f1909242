// A schedule makes runs of a job at the ticks of a time spec (schedule-time.ts): a cron expression in a time
// zone, or a fixed interval. It carries the policies for ticks that overlap a still-unfinished run, and for
// ticks missed while no scheduler was running (catch-up), and the args/env of its runs.
//
// Each schedule belongs to one of PARTITION_COUNT virtual partitions (a hash of its id); scheduler nodes hold
// leases on partitions and fire only the schedules of the partitions they hold. A tick's run id is derived from
// (schedule id, nominal time), so however often a tick is fired, it is one run.

import { encodeTime, ID_PREFIXES, writeLowDigits } from './ids.js';
import type { TimeSpec } from './schedule-time.js';

/** Fixed for the life of a deployment: schedules are hashed to partitions with it. */
export const PARTITION_COUNT = 256;

export const OVERLAP_POLICIES = ['allow', 'skip', 'buffer_one', 'replace'] as const;
/**
 * What a tick does while an earlier run of the same schedule has not finished:
 * - allow: it runs anyway, alongside;
 * - skip: it is recorded as a `skipped` run with the reason, and does not run;
 * - buffer_one: it waits for the earlier run to end, then runs; a further tick while one waits is skipped;
 * - replace: the earlier run is cancelled, and the new one runs once it has ended.
 */
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

export const CATCHUP_MODES = ['skip', 'latest', 'all'] as const;
/**
 * Ticks missed while no scheduler held the schedule's partition (downtime, failover):
 * - skip: none of them run;
 * - latest: the most recent one within the window runs, once;
 * - all: each of them within the window runs, the most recent `maxRuns` at most, spread out in time.
 */
export type CatchupMode = (typeof CATCHUP_MODES)[number];

export interface CatchupPolicy {
  mode: CatchupMode;
  /** Only ticks at most this old (when the scheduler catches up) are caught up. */
  windowSeconds: number;
  /** For `all`: at most this many missed ticks per schedule, the most recent ones. */
  maxRuns: number;
}

export const DEFAULT_CATCHUP: Readonly<CatchupPolicy> = Object.freeze({
  mode: 'latest',
  windowSeconds: 86_400,
  maxRuns: 10,
});

export const CATCHUP_BOUNDS = Object.freeze({ maxWindowSeconds: 7 * 86_400, maxRuns: 1000 });
export const MAX_JITTER_SECONDS = 3600;

export type ScheduleSpec =
  /** `cron` is kept normalized to 6 fields (a 5-field expression gets second 0). */
  | { kind: 'cron'; cron: string; timezone: string }
  /** Ticks at anchorAt + k × intervalMs; `every` is the text the user gave ("30s", "1h30m"). */
  | { kind: 'every'; every: string; intervalMs: number; anchorAt: number };

export interface Schedule {
  id: string;
  tenantId: string;
  jobId: string;
  partition: number;
  spec: ScheduleSpec;
  /** No tick before this, none after `endAt` (inclusive bounds); null for unbounded. */
  startAt: number | null;
  endAt: number | null;
  paused: boolean;
  overlapPolicy: OverlapPolicy;
  catchup: CatchupPolicy;
  /** Each run is due this schedule's fixed offset in [0, jitterSeconds) after its tick. */
  jitterSeconds: number;
  /** Overrides for its runs; null means the job's own. */
  args: string[] | null;
  env: Record<string, string> | null;
  createdAt: number;
  updatedAt: number;
  /** 1 at creation, raised by every change; a tick computed from an older version is not fired. */
  version: number;
  /** Watermark: the nominal time of the next tick not fired yet; null when it will never fire again. */
  nextFireAt: number | null;
}

export function timeSpecOf(spec: ScheduleSpec): TimeSpec {
  return spec.kind === 'cron'
    ? { kind: 'cron', expression: spec.cron, timezone: spec.timezone }
    : { kind: 'every', intervalMs: spec.intervalMs, anchorMs: spec.anchorAt };
}

/** FNV-1a over the id's characters: stable across processes and versions, which the partitioning needs. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function partitionOf(id: string, partitions = PARTITION_COUNT): number {
  return fnv1a(id) % partitions;
}

/** The schedule's fixed jitter: the same offset for every tick, spread evenly across schedules. */
export function jitterOffsetMs(scheduleId: string, jitterSeconds: number): number {
  if (jitterSeconds <= 0) return 0;
  return fnv1a(`jitter:${scheduleId}`) % (jitterSeconds * 1000);
}

/**
 * Orders anything carrying a run id by it: for scheduled runs, by tick (the nominal time leads the id), then by
 * the id's hash. Ticks written in this order land beside each other in every index that ends with the run id.
 */
export function byRunId(a: { runId: string }, b: { runId: string }): number {
  return a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0;
}

/** Whether the list is in byRunId order already (one pass, where sorting a copy would allocate). */
export function isSortedByRunId(items: readonly { runId: string }[]): boolean {
  for (let i = 1; i < items.length; i++) {
    if ((items[i - 1] as { runId: string }).runId > (items[i] as { runId: string }).runId) return false;
  }
  return true;
}

/**
 * The id of the run of a schedule's tick: the nominal time (so runs sort by tick) and 16 characters of a hash of
 * (schedule id, nominal time). Firing a tick twice inserts the same id, which the store ignores. The id must
 * never change for a given tick (a run fired before an upgrade and one after would both stand).
 */
export function scheduledRunId(scheduleId: string, nominalTime: number): string {
  // Computed once per firing of many ticks, not per tick: a burst shares its nominal time.
  if (nominalTime !== lastNominal.time) {
    lastNominal = {
      time: nominalTime,
      text: `@${nominalTime}`,
      prefix: `${ID_PREFIXES.run}_${encodeTime(nominalTime)}`,
    };
  }
  // Two independent 53-bit hashes of `${scheduleId}@${nominalTime}`: 80 of their bits fill the 16 characters.
  // Schedule ids are random and server-made, so only accidental collisions matter, and at 2^-80 per pair there
  // are none to expect.
  cyrb53Pair(scheduleId, lastNominal.text, 0x9e3779b9, 0x85ebca6b);
  writeLowDigits(hashes[0] ?? 0, 8, digits, 0);
  writeLowDigits(hashes[1] ?? 0, 8, digits, 8);
  return lastNominal.prefix + String.fromCharCode(...digits);
}

/** The last nominal time's parts of an id (a pure memo: the same input always gives the same id). */
let lastNominal = { time: NaN, text: '', prefix: '' };
/** Scratch for scheduledRunId, which runs for every tick fired: the two hashes, then the id's 16 characters. */
const hashes = new Float64Array(2);
const digits: number[] = new Array<number>(16).fill(0);

/**
 * cyrb53 of the text `head + tail` (not cryptographic; none is needed here) under two seeds at once, into
 * `hashes`: one pass over the characters, and the text is never joined.
 */
function cyrb53Pair(head: string, tail: string, seedA: number, seedB: number): void {
  let a1 = 0xdeadbeef ^ seedA;
  let a2 = 0x41c6ce57 ^ seedA;
  let b1 = 0xdeadbeef ^ seedB;
  let b2 = 0x41c6ce57 ^ seedB;
  const length = head.length + tail.length;
  for (let i = 0; i < length; i++) {
    const ch = i < head.length ? head.charCodeAt(i) : tail.charCodeAt(i - head.length);
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  hashes[0] = cyrb53Finish(a1, a2);
  hashes[1] = cyrb53Finish(b1, b2);
}

function cyrb53Finish(h1: number, h2: number): number {
  const f1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  const f2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(f1 ^ (f1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & f2) + (f1 >>> 0);
}

/** Fields a new schedule gets when the request leaves them out. */
export function newScheduleBase(
  ids: Pick<Schedule, 'id' | 'tenantId' | 'jobId' | 'partition'>,
  now: number,
): Omit<Schedule, 'spec'> {
  return {
    ...ids,
    startAt: null,
    endAt: null,
    paused: false,
    overlapPolicy: 'allow',
    catchup: { ...DEFAULT_CATCHUP },
    jitterSeconds: 0,
    args: null,
    env: null,
    createdAt: now,
    updatedAt: now,
    version: 1,
    nextFireAt: null,
  };
}

/** Whether the scheduler has anything to fire for it. */
export function isActive(schedule: Pick<Schedule, 'paused' | 'nextFireAt'>): boolean {
  return !schedule.paused && schedule.nextFireAt !== null;
}
