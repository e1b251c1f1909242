// Tenant routes for schedules: create one on a job, list, read, change (PATCH, pause, resume), delete, and
// preview its next ticks with their DST notes, and explain its recent ones (why each did or did not run).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireTenant } from '../../services/auth.js';
import { bulkTargetOf, type ScheduleInput } from '../../services/schedule-service.js';
import type { ApiDeps } from '../app.js';
import { iso, renderPreviewFire, renderRun, renderSchedule, renderTickExplanation } from '../render.js';
import { TicksPage, TicksQuery } from '../tick-schemas.js';
import {
  BulkSchedulesBody,
  CreateScheduleBody,
  EmptyBody,
  IdParam,
  ListSchedulesQuery,
  Page,
  PreviewFire,
  PreviewQuery,
  Run,
  Schedule,
  UpdateScheduleBody,
  type BulkSchedulesBody as BulkBody,
  type ListSchedulesQuery as ListQuery,
  type PreviewQuery as PreviewQueryT,
} from '../schemas.js';
import { IdempotencyHeader, idempotencyKeyOf, tenantOf } from './jobs.js';

const tags = ['schedules'];
const ScheduleParam = IdParam('scheduleId', 'Schedule id');
type Params = { scheduleId: string };

export function registerScheduleRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { schedules } = deps;

  // Static segments: they win over /v1/schedules/:scheduleId, and no id is `pause` or `resume` (ids are
  // `sch_…`), so neither shadows the other; a GET of /v1/schedules/pause is a schedule not found.
  for (const action of ['pause', 'resume'] as const) {
    app.post(
      `/v1/schedules/${action}`,
      {
        schema: {
          operationId: action === 'pause' ? 'pauseSchedules' : 'resumeSchedules',
          summary:
            action === 'pause'
              ? 'Pause many schedules at once (listed, or all of a job’s), all or nothing'
              : 'Resume many schedules at once, all or nothing (refused whole over the plan’s runsPerSecond)',
          tags,
          body: BulkSchedulesBody,
          response: { 200: Type.Object({ items: Type.Array(Schedule) }) },
        },
      },
      async (request) => {
        const tenant = await tenantOf(request, deps);
        const target = bulkTargetOf(request.body as BulkBody);
        const changed =
          action === 'pause'
            ? await schedules.pauseAll(tenant, target)
            : await schedules.resumeAll(tenant, target);
        return { items: changed.map(renderSchedule) };
      },
    );
  }

  app.post(
    '/v1/schedules/:scheduleId/runs',
    {
      schema: {
        operationId: 'runScheduleNow',
        summary:
          'Run this schedule’s job now, by hand, with the schedule’s args and env (outside its overlap policy; its next tick stays)',
        tags,
        params: ScheduleParam,
        body: EmptyBody,
        'x-headers': [IdempotencyHeader],
        response: { 201: Run, 200: Type.Composite([Run], { description: 'An Idempotency-Key replay' }) },
      },
    },
    async (request, reply) => {
      const tenant = await tenantOf(request, deps);
      const key = idempotencyKeyOf(request);
      const schedule = await schedules.get(tenant.id, (request.params as Params).scheduleId);
      const { run, created } = await deps.runs.createScheduleRun(tenant, schedule, key);
      if (created) deps.metrics.runsCreated.inc();
      return reply.code(created ? 201 : 200).send(renderRun(run));
    },
  );

  app.post(
    '/v1/jobs/:job/schedules',
    {
      schema: {
        operationId: 'createSchedule',
        summary: 'Create a schedule of a job: a cron expression in a time zone, or a fixed interval',
        tags,
        params: IdParam('job', 'Job id or name'),
        body: CreateScheduleBody,
        response: { 201: Schedule },
      },
    },
    async (request, reply) => {
      const tenant = await tenantOf(request, deps);
      const { job } = request.params as { job: string };
      const schedule = await schedules.create(tenant, job, request.body as ScheduleInput);
      return reply.code(201).send(renderSchedule(schedule));
    },
  );

  app.get(
    '/v1/schedules',
    {
      schema: {
        operationId: 'listSchedules',
        summary: 'List schedules, oldest first',
        tags,
        querystring: ListSchedulesQuery,
        response: { 200: Page(Schedule) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const query = request.query as ListQuery;
      const page = await schedules.list(tenantId, { ...query, limit: query.limit ?? 50 });
      return { items: page.items.map(renderSchedule), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/schedules/:scheduleId',
    {
      schema: {
        operationId: 'getSchedule',
        summary: 'Get a schedule',
        tags,
        params: ScheduleParam,
        response: { 200: Schedule },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      return renderSchedule(await schedules.get(tenantId, (request.params as Params).scheduleId));
    },
  );

  app.patch(
    '/v1/schedules/:scheduleId',
    {
      schema: {
        operationId: 'updateSchedule',
        summary: 'Change a schedule (a change of timing takes effect from now)',
        tags,
        params: ScheduleParam,
        body: UpdateScheduleBody,
        response: { 200: Schedule },
      },
    },
    async (request) => {
      const tenant = await tenantOf(request, deps);
      const { scheduleId } = request.params as Params;
      return renderSchedule(await schedules.update(tenant, scheduleId, request.body as ScheduleInput));
    },
  );

  app.delete(
    '/v1/schedules/:scheduleId',
    {
      schema: {
        operationId: 'deleteSchedule',
        summary: 'Delete a schedule (its runs stay readable)',
        tags,
        params: ScheduleParam,
        response: { 204: {} },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      await schedules.delete(tenantId, (request.params as Params).scheduleId);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/schedules/:scheduleId/pause',
    {
      schema: {
        operationId: 'pauseSchedule',
        summary: 'Pause a schedule: no ticks until it is resumed',
        tags,
        params: ScheduleParam,
        body: EmptyBody,
        response: { 200: Schedule },
      },
    },
    async (request) => {
      const tenant = await tenantOf(request, deps);
      return renderSchedule(await schedules.pause(tenant, (request.params as Params).scheduleId));
    },
  );

  app.post(
    '/v1/schedules/:scheduleId/resume',
    {
      schema: {
        operationId: 'resumeSchedule',
        summary: 'Resume a schedule from now on (ticks missed while paused are not caught up)',
        tags,
        params: ScheduleParam,
        body: EmptyBody,
        response: { 200: Schedule },
      },
    },
    async (request) => {
      const tenant = await tenantOf(request, deps);
      return renderSchedule(await schedules.resume(tenant, (request.params as Params).scheduleId));
    },
  );

  app.get(
    '/v1/schedules/:scheduleId/preview',
    {
      schema: {
        operationId: 'previewSchedule',
        summary: 'The next ticks of a schedule, with daylight-saving effects noted',
        tags,
        params: ScheduleParam,
        querystring: PreviewQuery,
        response: { 200: Type.Object({ items: Type.Array(PreviewFire) }) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const { scheduleId } = request.params as Params;
      const { count } = request.query as PreviewQueryT;
      const { schedule, fires } = await schedules.preview(tenantId, scheduleId, count);
      const timezone = schedule.spec.kind === 'cron' ? schedule.spec.timezone : 'UTC';
      return { items: fires.map((fire) => renderPreviewFire(fire, timezone)) };
    },
  );

  app.get(
    '/v1/schedules/:scheduleId/ticks',
    {
      schema: {
        operationId: 'explainScheduleTicks',
        summary: 'Why each tick of a window did or did not run (default: the last hour)',
        tags,
        params: ScheduleParam,
        querystring: TicksQuery,
        response: { 200: TicksPage },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const { scheduleId } = request.params as Params;
      const window = request.query as TicksQuery;
      const { schedule, from, to, ticks, nextFrom } = await schedules.explainTicks(
        tenantId,
        scheduleId,
        window,
      );
      const timezone = schedule.spec.kind === 'cron' ? schedule.spec.timezone : 'UTC';
      return {
        from: iso(from),
        to: iso(to),
        items: ticks.map((tick) => renderTickExplanation(tick, timezone)),
        nextFrom: nextFrom === null ? null : iso(nextFrom),
      };
    },
  );
}
