// Operations endpoints, unauthenticated: liveness, readiness and Prometheus metrics.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { problem, sendProblem } from '../problem.js';

const Health = Type.Object(
  { status: Type.Literal('ok') },
  { additionalProperties: false, description: 'The process is up' },
);
// Open to more fields: readiness may also describe what the server can run.
const Readiness = Type.Object(
  { status: Type.Literal('ready') },
  { additionalProperties: true, description: 'Ready to serve: the store answers' },
);

export function registerOpsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/healthz',
    {
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness',
        tags: ['operations'],
        security: [],
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        operationId: 'getReadiness',
        summary: 'Readiness: the store answers (503 while starting or shutting down)',
        tags: ['operations'],
        security: [],
        response: { 200: Readiness },
      },
    },
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
