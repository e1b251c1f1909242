// Schedules as the API sees them: create, read, list, change (PATCH, pause, resume), delete, and preview their
// next ticks. The rules live in schedule-input.ts; this module does the reads and writes around them.
//
// Changes are optimistic: a write carries the version it read + 1, and a store that has moved on refuses it.
// A refused write is redone once over a fresh read (a scheduler's watermark move does not raise the version,
// so only another API change races), then answered 409 `schedule_conflict`. After every committed change the
// scheduler node that owns the schedule's partition hears of it at once (ScheduleChanges); its periodic
// reconciliation from the store covers a lost hint.
//
// A tenant's live schedules may together make at most the plan's runsPerSecond on average (schedule-rate.ts):
// a create, a resume, or a change to a faster timing is refused with 422 while the sum would not fit. The sum
// is read before the write, not in its transaction: two such requests at the same instant can both fit alone
// and together overshoot, by one schedule's rate each.
//
// Bulk pause and resume (schedule-bulk.ts reads the target) change a set of schedules in one store write,
// all or nothing: an id that is not the tenant's, a resume whose set does not fit the run rate, or a
// conflict that persists changes none of them.

import { randomBytes } from 'node:crypto';
import { HourglassError, invalid, notFound } from '../core/errors.js';
import { isId, newId } from '../core/ids.js';
import {
  isActive,
  jitterOffsetMs,
  newScheduleBase,
  partitionOf,
  scheduledRunId,
  timeSpecOf,
  type Schedule,
} from '../core/schedule.js';
import { averageTicksPerSecond, fitsRunRate } from '../core/schedule-rate.js';
import { previewFires, type DstNote } from '../core/schedule-time.js';
import { explainTicks, type TickExplanation } from '../core/tick-explanation.js';
import { runtimeOf } from '../core/job.js';
import { checkHostCommandsAllowed, type Tenant } from '../core/tenant.js';
import type { Clock } from '../ports/clock.js';
import type { ScheduleChanges } from '../ports/schedule-changes.js';
import type { JobStore } from '../ports/store/job-store.js';
import type { Page } from '../ports/store/page.js';
import type { ScheduleHistoryStore } from '../ports/store/schedule-history-store.js';
import type { ScheduleStore } from '../ports/store/schedule-store.js';
import type { JobService } from './job-service.js';
import { resolveJobFilter } from './job-filter.js';
import { parseInstant } from './input-time.js';
import { applyScheduleInput, type ScheduleInput } from './schedule-input.js';
import { readBulkTarget, type BulkTarget, type ListOfJob } from './schedule-bulk.js';

export type { ScheduleInput } from './schedule-input.js';
export { BULK_MAX, bulkTargetOf, type BulkTarget } from './schedule-bulk.js';

export interface ListSchedulesInput {
  jobId?: string;
  limit: number;
  cursor?: string;
}

export interface PreviewFire {
  /** The tick (nominal time). */
  nominalTime: number;
  /** When its run's process is due: the tick plus the schedule's fixed jitter. */
  dueAt: number;
  dst: DstNote | null;
}

export const PREVIEW_MAX = 100;
/** The widest window of ticks explained at once, and the most ticks in one answer. */
export const TICKS_WINDOW_MAX_MS = 24 * 3600_000;
export const TICKS_MAX = 1000;
const TICKS_DEFAULT_WINDOW_MS = 3600_000;
/**
 * The scheduler's default late grace (scheduler-engine.ts): a run created later than this after its tick was
 * caught up, when its row does not say (runs fired tick by tick by an overlap policy).
 */
const LATE_GRACE_MS = 1_000;

export interface TicksWindow {
  from?: string;
  to?: string;
}

export interface ExplainedTicks {
  schedule: Schedule;
  from: number;
  to: number;
  ticks: TickExplanation[];
  /** When the window held more than TICKS_MAX ticks: the first one left out, to ask again from. */
  nextFrom: number | null;
}
/** Schedules read per page when summing a tenant's run rate. */
const RATE_PAGE = 500;

/** A rate as a person reads it: 10, 0.5, 0.0167. */
function perSecond(rate: number): string {
  return String(Number(rate.toPrecision(3)));
}

export class ScheduleService {
  constructor(
    private readonly store: ScheduleStore & ScheduleHistoryStore & JobStore,
    private readonly jobs: JobService,
    private readonly changes: ScheduleChanges,
    private readonly clock: Clock,
  ) {}

  async create(tenant: Tenant, jobIdOrName: string, input: ScheduleInput): Promise<Schedule> {
    const job = await this.jobs.getJob(tenant.id, jobIdOrName);
    if (runtimeOf(job) === 'process') checkHostCommandsAllowed(tenant.limits, 'job');
    const now = this.clock.now();
    const id = newId('schedule', now, randomBytes);
    const base = newScheduleBase({ id, tenantId: tenant.id, jobId: job.id, partition: partitionOf(id) }, now);
    const schedule = applyScheduleInput({ ...base, spec: null }, input, tenant.limits, now);
    await this.checkRunRate(tenant, schedule, null);
    await this.store.insertSchedule(schedule, tenant.limits.maxSchedules);
    this.announce(schedule);
    return schedule;
  }

  async get(tenantId: string, scheduleId: string): Promise<Schedule> {
    const schedule = isId('schedule', scheduleId) ? await this.store.getSchedule(tenantId, scheduleId) : null;
    if (schedule === null) throw notFound('schedule', scheduleId, 'scheduleId');
    return schedule;
  }

  /**
   * The tenant's live schedules, oldest first. `jobId` is a job's id or a live job's name, as for the run
   * list; a job the tenant does not have answers 404, never an empty page.
   */
  async list(tenantId: string, input: ListSchedulesInput): Promise<Page<Schedule>> {
    if (input.cursor !== undefined && !isId('schedule', input.cursor)) {
      throw invalid('cursor', 'is not a cursor returned by this endpoint');
    }
    const jobId = await resolveJobFilter(this.store, tenantId, input.jobId);
    return this.store.listSchedules(tenantId, { ...input, jobId });
  }

  update(tenant: Tenant, scheduleId: string, input: ScheduleInput): Promise<Schedule> {
    return this.change(tenant, scheduleId, (current, now) =>
      applyScheduleInput(current, input, tenant.limits, now),
    );
  }

  /** Stops its ticks until resumed. Pausing a paused schedule changes nothing. */
  pause(tenant: Tenant, scheduleId: string): Promise<Schedule> {
    return this.change(tenant, scheduleId, (current, now) =>
      current.paused ? null : applyScheduleInput(current, { paused: true }, tenant.limits, now),
    );
  }

  /** Ticks again from now on; those missed while it was paused are not caught up. */
  resume(tenant: Tenant, scheduleId: string): Promise<Schedule> {
    return this.change(tenant, scheduleId, (current, now) =>
      current.paused ? applyScheduleInput(current, { paused: false }, tenant.limits, now) : null,
    );
  }

  /**
   * Pauses every schedule of the target at once, all or nothing (see changeAll). Already paused ones are
   * left as they are and answered too.
   */
  pauseAll(tenant: Tenant, target: BulkTarget): Promise<Schedule[]> {
    return this.changeAll(tenant, target, (current, now) =>
      current.paused ? null : applyScheduleInput(current, { paused: true }, tenant.limits, now),
    );
  }

  /**
   * Resumes every schedule of the target at once, all or nothing: refused whole (422) when together they
   * would take the tenant past the plan's runsPerSecond.
   */
  resumeAll(tenant: Tenant, target: BulkTarget): Promise<Schedule[]> {
    return this.changeAll(tenant, target, (current, now) =>
      current.paused ? applyScheduleInput(current, { paused: false }, tenant.limits, now) : null,
    );
  }

  async delete(tenantId: string, scheduleId: string): Promise<Schedule> {
    const schedule = await this.get(tenantId, scheduleId);
    if (!(await this.store.deleteSchedule(tenantId, schedule.id, this.clock.now()))) {
      throw notFound('schedule', scheduleId, 'scheduleId');
    }
    this.announce(schedule);
    return schedule;
  }

  /** Its next `count` ticks from max(now, startAt) up to endAt, each with its DST note. */
  async preview(
    tenantId: string,
    scheduleId: string,
    count = 10,
  ): Promise<{ schedule: Schedule; fires: PreviewFire[] }> {
    if (!Number.isInteger(count) || count < 1 || count > PREVIEW_MAX) {
      throw invalid('count', `must be a whole number from 1 to ${PREVIEW_MAX}`);
    }
    const schedule = await this.get(tenantId, scheduleId);
    const from = Math.max(this.clock.now(), schedule.startAt ?? -Infinity);
    const end = schedule.endAt === null ? Infinity : schedule.endAt + 1;
    const jitter = jitterOffsetMs(schedule.id, schedule.jitterSeconds);
    const fires = previewFires(timeSpecOf(schedule.spec), from - 1, count, end).map((fire) => ({
      nominalTime: fire.at,
      dueAt: fire.at + jitter,
      dst: fire.dst,
    }));
    return { schedule, fires };
  }

  /**
   * Why each tick in [from, to) did or did not run (core/tick-explanation.ts); by default the last hour. At
   * most TICKS_WINDOW_MAX_MS wide and TICKS_MAX ticks, the oldest first; `nextFrom` pages on.
   */
  async explainTicks(tenantId: string, scheduleId: string, window: TicksWindow): Promise<ExplainedTicks> {
    const now = this.clock.now();
    const to = window.to === undefined ? now : parseInstant('to', window.to);
    const from = window.from === undefined ? to - TICKS_DEFAULT_WINDOW_MS : parseInstant('from', window.from);
    if (from >= to) throw invalid('from', 'must be before to');
    if (to - from > TICKS_WINDOW_MAX_MS) throw invalid('to', 'must be at most 24 hours after from');
    const schedule = await this.get(tenantId, scheduleId);
    const first = Math.max(from, schedule.createdAt);
    const fires = previewFires(timeSpecOf(schedule.spec), first - 1, TICKS_MAX + 1, to);
    const left = fires.length > TICKS_MAX ? fires.splice(TICKS_MAX) : [];
    const nextFrom = left[0]?.at ?? null;
    const end = nextFrom ?? to;
    const [runs, pauses] = await Promise.all([
      this.store.listTickRuns(tenantId, schedule.id, from, end, TICKS_MAX),
      this.store.listSchedulePauses(tenantId, schedule.id, from, end),
    ]);
    const ticks = explainTicks({
      fires,
      runs: runs.map((run) => ({ ...run, manual: run.id !== scheduledRunId(schedule.id, run.nominalTime) })),
      pauses,
      schedule: { ...schedule, catchupMode: schedule.catchup.mode },
      now,
      lateGraceMs: LATE_GRACE_MS,
    });
    return { schedule, from, to: end, ticks, nextFrom };
  }

  /**
   * Reads, edits and writes back under the version read; redone once if another change came in between.
   * `edit` returns null when there is nothing to change (the current schedule is the answer).
   */
  private async change(
    tenant: Tenant,
    scheduleId: string,
    edit: (current: Schedule, now: number) => Schedule | null,
  ): Promise<Schedule> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(tenant.id, scheduleId);
      const edited = edit(current, this.clock.now());
      if (edited === null) return current;
      const next: Schedule = { ...edited, version: current.version + 1 };
      await this.checkRunRate(tenant, next, current);
      if (await this.store.updateSchedule(next)) {
        this.announce(next);
        return next;
      }
      if (attempt >= 2) {
        throw new HourglassError(
          'schedule_conflict',
          `scheduleId: schedule ${scheduleId} was changed by another request at the same time; read it and retry`,
          { field: 'scheduleId' },
        );
      }
    }
  }

  /**
   * change() for a set of schedules, in one store write: every one of them changes, or none does. An id that
   * is not the tenant's live schedule is 404 naming `scheduleIds` before anything is written; a conflict
   * with another change is redone once over fresh reads, then 409. Answers in the order asked (a job's
   * schedules oldest first).
   */
  private async changeAll(
    tenant: Tenant,
    target: BulkTarget,
    edit: (current: Schedule, now: number) => Schedule | null,
  ): Promise<Schedule[]> {
    for (let attempt = 1; ; attempt++) {
      const listOfJob: ListOfJob = (jobId, limit, cursor) =>
        this.list(tenant.id, { jobId, limit, ...(cursor === undefined ? {} : { cursor }) });
      const currents = await readBulkTarget(listOfJob, this.store, tenant.id, target);
      const now = this.clock.now();
      const answers = currents.map((current) => {
        const edited = edit(current, now);
        return edited === null ? current : { ...edited, version: current.version + 1 };
      });
      const changed = answers.filter((next, i) => next !== currents[i]);
      await this.checkRunRateOfAll(tenant, changed, 'scheduleIds' in target ? 'scheduleIds' : 'jobId');
      if (await this.store.updateSchedules(changed)) {
        for (const next of changed) this.announce(next);
        return answers;
      }
      if (attempt >= 2) {
        throw new HourglassError(
          'schedule_conflict',
          'scheduleIds: one of the schedules was changed by another request at the same time; retry',
          { field: 'scheduleIds' },
        );
      }
    }
  }

  /**
   * checkRunRate for schedules resumed together: what they add between them must fit beside the tenant's
   * other live schedules. Only resumes add (a pause never makes more runs).
   */
  private async checkRunRateOfAll(tenant: Tenant, nexts: Schedule[], field: string): Promise<void> {
    const added = nexts.filter(isActive).map((next) => averageTicksPerSecond(timeSpecOf(next.spec)));
    if (added.length === 0) return;
    const { maxSchedules, minIntervalSeconds, runsPerSecond } = tenant.limits;
    if (fitsRunRate(maxSchedules / minIntervalSeconds, runsPerSecond)) return;
    const adding = added.reduce((sum, rate) => sum + rate, 0);
    const others = await this.liveRunRate(tenant.id, new Set(nexts.map((next) => next.id)));
    if (fitsRunRate(others + adding, runsPerSecond)) return;
    throw new HourglassError(
      'plan_limit_exceeded',
      `${field}: these schedules make ${perSecond(adding)} runs/s on average, and the tenant's other live ` +
        `schedules ${perSecond(others)} runs/s; together over the plan's runsPerSecond of ${runsPerSecond}`,
      { field, limit: 'runsPerSecond' },
    );
  }

  /**
   * Refuses `next` when it would take the tenant's live schedules past the plan's run rate. Only a schedule
   * that makes more runs than before is checked: pausing, slowing down or editing anything but the timing
   * always passes, even for a tenant over its plan (one whose plan was lowered, or whose schedules predate it).
   */
  private async checkRunRate(tenant: Tenant, next: Schedule, current: Schedule | null): Promise<void> {
    if (!isActive(next)) return;
    // No schedule ticks faster than the plan's minimum interval: a plan whose every schedule at that pace fits
    // needs no sum (which reads all the tenant's schedules).
    const { maxSchedules, minIntervalSeconds, runsPerSecond } = tenant.limits;
    if (fitsRunRate(maxSchedules / minIntervalSeconds, runsPerSecond)) return;
    const added = averageTicksPerSecond(timeSpecOf(next.spec));
    const before =
      current !== null && isActive(current) ? averageTicksPerSecond(timeSpecOf(current.spec)) : 0;
    if (added <= before) return;
    const others = await this.liveRunRate(tenant.id, new Set([next.id]));
    if (fitsRunRate(others + added, runsPerSecond)) return;
    const field = next.spec.kind;
    throw new HourglassError(
      'plan_limit_exceeded',
      `${field}: this schedule makes ${perSecond(added)} runs/s on average, and the tenant's other live ` +
        `schedules ${perSecond(others)} runs/s; together over the plan's runsPerSecond of ${runsPerSecond}`,
      { field, limit: 'runsPerSecond' },
    );
  }

  /** The average runs per second of the tenant's live (unpaused, still ticking) schedules but `except`. */
  private async liveRunRate(tenantId: string, except: ReadonlySet<string>): Promise<number> {
    let total = 0;
    for (let cursor: string | undefined; ;) {
      const page = await this.store.listSchedules(tenantId, {
        limit: RATE_PAGE,
        ...(cursor ? { cursor } : {}),
      });
      for (const schedule of page.items) {
        if (!except.has(schedule.id) && isActive(schedule))
          total += averageTicksPerSecond(timeSpecOf(schedule.spec));
      }
      if (page.nextCursor === null) return total;
      cursor = page.nextCursor;
    }
  }

  private announce(schedule: Pick<Schedule, 'id' | 'partition'>): void {
    this.changes.emit({ scheduleId: schedule.id, partition: schedule.partition });
  }
}
