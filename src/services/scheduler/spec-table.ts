// Interned time specs. Schedules that share a spec share one entry here — one parsed cron and one remembered
// "next tick" answer — and the timing table keeps only the spec's index. Intervals are interned by length
// alone: a schedule's next tick is its current one plus the interval, whatever its anchor.
//
// Entries are never removed: a node sees few distinct specs compared to schedules, and an index must stay
// valid while any schedule might use it.

import { compileNextFire, type TimeSpec } from '../../core/schedule-time.js';
import type { ScheduleSpec } from '../../core/schedule.js';

interface InternedSpec {
  /** The first tick strictly after `nominal`, given that `nominal` is a tick. */
  next(nominal: number): number | null;
}

export class SpecTable {
  private readonly indexByKey = new Map<string, number>();
  private readonly specs: InternedSpec[] = [];

  get size(): number {
    return this.specs.length;
  }

  intern(spec: ScheduleSpec): number {
    const key = spec.kind === 'cron' ? `c|${spec.timezone}|${spec.cron}` : `e|${spec.intervalMs}`;
    let index = this.indexByKey.get(key);
    if (index === undefined) {
      index = this.specs.length;
      this.specs.push(compile(spec));
      this.indexByKey.set(key, index);
    }
    return index;
  }

  next(index: number, nominal: number): number | null {
    const spec = this.specs[index];
    if (spec === undefined) throw new Error(`no interned spec ${index}`);
    return spec.next(nominal);
  }
}

function compile(spec: ScheduleSpec): InternedSpec {
  if (spec.kind === 'every') {
    const intervalMs = spec.intervalMs;
    return { next: (nominal) => nominal + intervalMs };
  }
  const timeSpec: TimeSpec = { kind: 'cron', expression: spec.cron, timezone: spec.timezone };
  return { next: compileNextFire(timeSpec) };
}
