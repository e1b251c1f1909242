// Schedules as the API sees them: create, read, list, change (PATCH, pause, resume), delete, and preview their
// next ticks. The rules live in schedule-input.ts; this module does the reads and writes around them.
//
// Changes are optimistic: a write carries the version it read + 1, and a store that has moved on refuses it.
// A refused write is redone once over a fresh read (a scheduler's watermark move does not raise the version,
// so only another API change races), then answered 409 `schedule_conflict`. After every committed change the
// scheduler node that owns the schedule's partition hears of it at once (ScheduleChanges); its periodic
// reconciliation from the store covers a lost hint.

import { randomBytes } from 'node:crypto';
import { HourglassError, invalid, notFound } from '../core/errors.js';
import { isId, newId } from '../core/ids.js';
import { jitterOffsetMs, newScheduleBase, partitionOf, timeSpecOf, type Schedule } from '../core/schedule.js';
import { previewFires, type DstNote } from '../core/schedule-time.js';
import { runtimeOf } from '../core/job.js';
import { checkHostCommandsAllowed, type Tenant } from '../core/tenant.js';
import type { Clock } from '../ports/clock.js';
import type { ScheduleChanges } from '../ports/schedule-changes.js';
import type { Page, Store } from '../ports/store.js';
import type { JobService } from './job-service.js';
import { resolveJobFilter } from './job-filter.js';
import { applyScheduleInput, type ScheduleInput } from './schedule-input.js';

export type { ScheduleInput } from './schedule-input.js';

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

export class ScheduleService {
  constructor(
    private readonly store: Store,
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
    return this.change(tenant.id, scheduleId, (current, now) =>
      applyScheduleInput(current, input, tenant.limits, now),
    );
  }

  /** Stops its ticks until resumed. Pausing a paused schedule changes nothing. */
  pause(tenant: Tenant, scheduleId: string): Promise<Schedule> {
    return this.change(tenant.id, scheduleId, (current, now) =>
      current.paused ? null : applyScheduleInput(current, { paused: true }, tenant.limits, now),
    );
  }

  /** Ticks again from now on; those missed while it was paused are not caught up. */
  resume(tenant: Tenant, scheduleId: string): Promise<Schedule> {
    return this.change(tenant.id, scheduleId, (current, now) =>
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
   * Reads, edits and writes back under the version read; redone once if another change came in between.
   * `edit` returns null when there is nothing to change (the current schedule is the answer).
   */
  private async change(
    tenantId: string,
    scheduleId: string,
    edit: (current: Schedule, now: number) => Schedule | null,
  ): Promise<Schedule> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(tenantId, scheduleId);
      const edited = edit(current, this.clock.now());
      if (edited === null) return current;
      const next: Schedule = { ...edited, version: current.version + 1 };
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

  private announce(schedule: Pick<Schedule, 'id' | 'partition'>): void {
    this.changes.emit({ scheduleId: schedule.id, partition: schedule.partition });
  }
}
