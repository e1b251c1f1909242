// Tenant routes for jobs, and run creation (POST /v1/jobs/{job}/runs).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Job as JobModel } from '../../core/job.js';
import type { Tenant } from '../../core/tenant.js';
import { invalid, notFound } from '../../core/errors.js';
import { requireTenant } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import { renderJob, renderRun } from '../render.js';
import {
  CreateJobBody,
  CreateRunBody,
  IdParam,
  Job,
  ListJobsQuery,
  Page,
  Run,
  UpdateJobBody,
  type ListJobsQuery as ListJobsQueryT,
} from '../schemas.js';

const tags = ['jobs'];
const JobParam = IdParam('job', 'Job id or name');

/** The calling tenant, with its plan limits. */
export async function tenantOf(request: FastifyRequest, deps: Pick<ApiDeps, 'tenants'>): Promise<Tenant> {
  const tenantId = requireTenant(request.principal);
  const tenant = await deps.tenants.getTenant(tenantId);
  if (tenant === null) throw notFound('tenant', tenantId);
  return tenant;
}

export const IdempotencyHeader = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description: 'Replaying a request with the same key returns the first run instead of creating another.',
  schema: { type: 'string', maxLength: 200 },
};

/** The request's Idempotency-Key, or null; more than 200 characters is refused naming it. */
export function idempotencyKeyOf(request: FastifyRequest): string | null {
  const header = request.headers['idempotency-key'];
  const key = typeof header === 'string' && header.length > 0 ? header : null;
  if (key !== null && key.length > 200) throw invalid('Idempotency-Key', 'must be at most 200 characters');
  return key;
}

export function registerJobRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { jobs, runs } = deps;
  const render = (job: JobModel): ReturnType<typeof renderJob> =>
    renderJob(job, deps.processIsolation ?? null);

  app.post(
    '/v1/jobs',
    {
      schema: {
        operationId: 'createJob',
        summary: 'Create a job',
        tags,
        body: CreateJobBody,
        response: { 201: Job },
      },
    },
    async (request, reply) => {
      const tenant = await tenantOf(request, deps);
      const job = await jobs.createJob(tenant, request.body as CreateJobBody);
      return reply.code(201).send(render(job));
    },
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        operationId: 'listJobs',
        summary: 'List jobs',
        tags,
        querystring: ListJobsQuery,
        response: { 200: Page(Job) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const query = request.query as ListJobsQueryT;
      const page = await jobs.listJobs(tenantId, query.limit ?? 50, query.cursor);
      return { items: page.items.map(render), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/jobs/:job',
    {
      schema: {
        operationId: 'getJob',
        summary: 'Get a job by id or name',
        tags,
        params: JobParam,
        response: { 200: Job },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      return render(await jobs.getJob(tenantId, (request.params as { job: string }).job));
    },
  );

  app.patch(
    '/v1/jobs/:job',
    {
      schema: {
        operationId: 'updateJob',
        summary: 'Update a job',
        tags,
        params: JobParam,
        body: UpdateJobBody,
        response: { 200: Job },
      },
    },
    async (request) => {
      const tenant = await tenantOf(request, deps);
      const job = await jobs.updateJob(
        tenant,
        (request.params as { job: string }).job,
        request.body as UpdateJobBody,
      );
      return render(job);
    },
  );

  app.delete(
    '/v1/jobs/:job',
    {
      schema: {
        operationId: 'deleteJob',
        summary: 'Delete a job (its runs stay readable; queued runs are cancelled, running ones stopped)',
        tags,
        params: JobParam,
        response: { 204: {} },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      await jobs.deleteJob(tenantId, (request.params as { job: string }).job);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/jobs/:job/runs',
    {
      schema: {
        operationId: 'createRun',
        summary: 'Run a job now, or at `runAt`',
        tags: ['runs'],
        params: JobParam,
        body: CreateRunBody,
        'x-headers': [IdempotencyHeader],
        response: { 201: Run, 200: Type.Composite([Run], { description: 'An Idempotency-Key replay' }) },
      },
    },
    async (request, reply) => {
      const tenant = await tenantOf(request, deps);
      const key = idempotencyKeyOf(request);
      const { run, created } = await runs.createRun(
        tenant,
        (request.params as { job: string }).job,
        request.body as CreateRunBody,
        key,
      );
      if (created) deps.metrics.runsCreated.inc();
      return reply.code(created ? 201 : 200).send(renderRun(run));
    },
  );
}
