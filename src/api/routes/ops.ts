// Operations endpoints, unauthenticated: liveness, readiness and Prometheus metrics.

import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { problem, sendProblem } from '../problem.js';

export function registerOpsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['operations'], security: [] } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    { schema: { summary: 'Readiness: the store answers', tags: ['operations'], security: [] } },
    async (_r, reply) => {
      if (!deps.isReady()) return sendProblem(reply, problem('unavailable', 'starting or shutting down'));
      await deps.store.getMeta('schema');
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return deps.metrics.render();
  });
}
