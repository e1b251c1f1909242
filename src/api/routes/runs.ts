// Tenant routes for runs: list, get (with timeline), cancel, and logs (whole, or followed live).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { requireTenant } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import type { LogFollowers } from '../log-followers.js';
import { renderRun, renderRunEvent } from '../render.js';
import {
  EmptyBody,
  IdParam,
  ListRunsQuery,
  LogsQuery,
  Page,
  Run,
  RunWithTimeline,
  type ListRunsQuery as Q,
} from '../schemas.js';

const tags = ['runs'];
const RunParam = IdParam('runId', 'Run id');

export function registerRunRoutes(app: FastifyInstance, deps: ApiDeps, followers: LogFollowers): void {
  const { runs } = deps;

  app.get(
    '/v1/runs',
    {
      schema: {
        operationId: 'listRuns',
        summary: 'List runs, newest first',
        tags,
        querystring: ListRunsQuery,
        response: { 200: Page(Run) },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const query = request.query as Q;
      const page = await runs.listRuns(tenantId, { ...query, limit: query.limit ?? 50 });
      return { items: page.items.map(renderRun), nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/runs/:runId',
    {
      schema: {
        operationId: 'getRun',
        summary: 'Get a run with its timeline',
        tags,
        params: RunParam,
        response: { 200: RunWithTimeline },
      },
    },
    async (request) => {
      const tenantId = requireTenant(request.principal);
      const { run, timeline } = await runs.getTimeline(tenantId, (request.params as { runId: string }).runId);
      return { ...renderRun(run), timeline: timeline.map(renderRunEvent) };
    },
  );

  app.post(
    '/v1/runs/:runId/cancel',
    {
      schema: {
        operationId: 'cancelRun',
        summary: 'Cancel a run (a queued run is cancelled at once; a running one is stopped by its worker)',
        tags,
        params: RunParam,
        body: EmptyBody,
        response: { 202: Run },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      const run = await runs.cancelRun(tenantId, (request.params as { runId: string }).runId);
      return reply.code(202).send(renderRun(run));
    },
  );

  app.get(
    '/v1/runs/:runId/logs',
    {
      schema: {
        operationId: 'getRunLogs',
        summary: 'The run’s combined stdout and stderr; with follow=true, streamed until the run ends',
        tags,
        params: RunParam,
        querystring: LogsQuery,
        response: { 200: Type.String({ 'x-content-type': 'text/plain' }) },
      },
    },
    async (request, reply) => {
      const tenantId = requireTenant(request.principal);
      const { runId } = request.params as { runId: string };
      await runs.getRun(tenantId, runId);
      const { follow } = request.query as { follow?: boolean };
      if (follow) {
        const keyId = request.principal?.keyId ?? '';
        return followers.follow(request, reply, { tenantId, keyId }, runId);
      }
      // Streamed from the store as the client reads it (up to the log cap, 10 MiB by default): a slow client
      // holds a chunk or two in memory, never its whole log.
      const log = await deps.logs.snapshot(runId);
      reply.type('text/plain; charset=utf-8').header('content-length', log.size);
      return reply.send(log.stream);
    },
  );
}
