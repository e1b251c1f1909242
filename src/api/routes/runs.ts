// Tenant routes for runs: list, get (with timeline), cancel, and logs (whole, or followed live).

import { once } from 'node:events';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { isTerminal } from '../../core/run-state.js';
import { requireTenant } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import { renderRun, renderRunEvent } from '../render.js';
import {
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
const LOG_CHUNK_BYTES = 64 * 1024;
const FOLLOW_POLL_MS = 250;

export function registerRunRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { runs } = deps;

  app.get(
    '/v1/runs',
    {
      schema: {
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
        summary: 'Cancel a run (a queued run is cancelled at once; a running one is stopped by its worker)',
        tags,
        params: RunParam,
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
      reply.type('text/plain; charset=utf-8');
      if (!follow) {
        const chunks: Buffer[] = [];
        for (let offset = 0; ;) {
          const chunk = await deps.logs.read(runId, offset, LOG_CHUNK_BYTES);
          if (chunk.data.length === 0) break;
          chunks.push(chunk.data);
          offset = chunk.nextOffset;
        }
        return reply.send(Buffer.concat(chunks));
      }
      // Streamed by hand: the response stays open until the run ends or the client goes away.
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
      const closed = new AbortController();
      res.on('close', () => closed.abort());
      try {
        for await (const chunk of followLogs(deps, tenantId, runId, closed.signal)) {
          if (!res.write(chunk)) await once(res, 'drain', { signal: closed.signal });
        }
        res.end();
      } catch (error) {
        if (!closed.signal.aborted) request.log.error({ err: error, runId }, 'log follow failed');
        res.destroy();
      }
    },
  );
}

/** Yields the log as it grows, until the run has ended and everything written has been sent. */
async function* followLogs(deps: ApiDeps, tenantId: string, runId: string, closed: AbortSignal) {
  let offset = 0;
  let wake: (() => void) | null = null;
  const unsubscribe = deps.signals.on((signal) => {
    if (signal.runId === runId && signal.type === 'finished') wake?.();
  });
  try {
    while (!closed.aborted) {
      const chunk = await deps.logs.read(runId, offset, LOG_CHUNK_BYTES);
      if (chunk.data.length > 0) {
        offset = chunk.nextOffset;
        yield chunk.data;
        continue;
      }
      const run = await deps.store.getRun(tenantId, runId);
      if (run === null || isTerminal(run.status)) {
        // The worker closes the log before recording the end, so reading on now sees the last bytes.
        for (;;) {
          const last = await deps.logs.read(runId, offset, LOG_CHUNK_BYTES);
          if (last.data.length === 0) return;
          offset = last.nextOffset;
          yield last.data;
        }
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FOLLOW_POLL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  } finally {
    unsubscribe();
  }
}
