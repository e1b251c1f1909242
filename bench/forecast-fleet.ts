// The fleet bench/forecast seeds: N schedules over D distinct specs (each fifth: hourly crons with seconds in
// UTC, the same in Europe/Berlin, minute-step crons, weekday crons that croner enumerates in three zones, and
// intervals of 30 s up), distinct for D up to 10,000, the i-th schedule taking spec i mod D and one of ten
// jobs of different memory. Specs are parsed, not put through the service's rules: checking each one would
// take longer than the bench. Ids are made in order (their random part a counter), so a bulk insert appends
// to every index instead of writing all over them.

import { newId } from '../src/core/ids.js';
import type { Job } from '../src/core/job.js';
import { newScheduleBase, partitionOf, type Schedule, type ScheduleSpec } from '../src/core/schedule.js';
import { parseCron, parseEvery } from '../src/core/schedule-time.js';
import type { ScheduleInput } from '../src/services/schedule-input.js';

const ZONES = ['UTC', 'Europe/Berlin', 'America/New_York'];

const STEPS = [1, 2, 5, 10, 15, 30];
/** Every (second, zone, step, offset) of a minute-step cron: 60 × 3 × 63 = 11,340 of them. */
const MINUTE_STEPS = STEPS.flatMap((step) =>
  Array.from({ length: 60 * ZONES.length * step }, (_, k) => ({
    second: k % 60,
    zone: ZONES[Math.floor(k / 60) % ZONES.length] ?? 'UTC',
    step,
    offset: Math.floor(k / (60 * ZONES.length)),
  })),
);

/** The i-th spec: for i < 10,000 no two alike (n < 2,000 below, and the pairs it picks are distinct). */
function specInput(i: number): ScheduleInput {
  const n = Math.floor(i / 5);
  const second = n % 60;
  const minute = Math.floor(n / 60) % 60;
  switch (i % 5) {
    case 0:
    case 1:
      return { cron: `${second} ${minute} * * * *`, timezone: i % 5 === 0 ? 'UTC' : 'Europe/Berlin' };
    case 2: {
      // A stride coprime with the count spreads the steps and seconds over the first 2,000.
      const pick = MINUTE_STEPS[(n * 7919) % MINUTE_STEPS.length] ?? {
        second,
        zone: 'UTC',
        step: 5,
        offset: 0,
      };
      return { cron: `${pick.second} ${pick.offset}/${pick.step} * * * *`, timezone: pick.zone };
    }
    case 3:
      return { cron: `${second} ${minute} ${n % 24} * * 1-5`, timezone: ZONES[n % ZONES.length] ?? 'UTC' };
    default:
      return { every: `${30 + n}s` };
  }
}

function specOf(i: number, now: number): ScheduleSpec {
  const input = specInput(i);
  if (input.every !== undefined) {
    const spec = parseEvery(input.every, now);
    const intervalMs = spec.kind === 'every' ? spec.intervalMs : 0;
    return { kind: 'every', every: input.every, intervalMs, anchorAt: now };
  }
  const spec = parseCron(input.cron ?? '', input.timezone);
  return {
    kind: 'cron',
    cron: spec.kind === 'cron' ? spec.expression : '',
    timezone: input.timezone ?? 'UTC',
  };
}

/** Ten jobs' resources: limits of 64 MiB to 1 GiB, half with an explicit request. */
export function benchJobResources(j: number): Job['resources'] {
  const memoryMb = 64 * 2 ** (j % 5);
  return j % 2 === 0 ? { memoryMb } : { memoryMb, memoryRequestMb: Math.ceil(memoryMb / 2) };
}

/** The i-th id of the seeding: ordered by i. */
export function orderedScheduleId(i: number, now: number): string {
  const bytes = new Uint8Array(16);
  for (let k = 15, rest = i; k >= 0 && rest > 0; k--, rest = Math.floor(rest / 32)) bytes[k] = rest % 32;
  return newId('schedule', now, () => bytes);
}

export class BenchFleet {
  private readonly templates: Schedule[];

  constructor(
    readonly tenantId: string,
    readonly jobs: readonly Job[],
    readonly specs: number,
    readonly now: number,
  ) {
    const base = newScheduleBase({ id: '', tenantId, jobId: '', partition: 0 }, now);
    this.templates = Array.from({ length: specs }, (_, i) => ({ ...base, spec: specOf(i, now) }));
  }

  /** The i-th schedule: spec i mod D, job ⌊i / D⌋ mod 10, its watermark now. */
  schedule(i: number): Schedule {
    const id = orderedScheduleId(i, this.now);
    const template = this.templates[i % this.specs] as Schedule;
    const job = this.jobs[Math.floor(i / this.specs) % this.jobs.length] as Job;
    return { ...template, id, jobId: job.id, partition: partitionOf(id), nextFireAt: this.now };
  }
}
