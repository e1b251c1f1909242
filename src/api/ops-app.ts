// The metrics port (`--metrics-port`): a second, small HTTP server in any process, whatever its roles, serving
// only the operations endpoints (GET /metrics, /healthz, /readyz: routes/ops.ts) so that a scheduler or a
// worker with no API can be scraped and probed. No /v1 route, no key, nothing of a tenant's: everything else
// answers 404 as problem+json.
//
// Fastify rather than node:http: the operations routes are Fastify routes already (their schemas, the
// readiness problem+json), so the same code answers on both ports, and a scrape here cannot drift from one
// on the API.

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { errorHandler, problem, sendProblem } from './problem.js';
import { registerOpsRoutes, type OpsDeps } from './routes/ops.js';

export async function buildOpsApi(deps: OpsDeps & { logger: Logger }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // A scrape every few seconds is not worth a log line each.
    logController: new LogController({ disableRequestLogging: true }),
    // No route here takes a body.
    bodyLimit: 1024,
    http: { requireHostHeader: false },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    return sendProblem(
      reply,
      problem(
        'not_found',
        `no route for ${request.method} ${path} on the metrics port (GET /metrics, /healthz, /readyz)`,
      ),
    );
  });
  registerOpsRoutes(app, deps);
  await app.ready();
  return app;
}
