// The HTTP API: a Fastify app over the services. Routes live in routes/, one file per resource; this file
// wires validation (strict for bodies, coercing for query strings), authentication, problem+json errors and
// the OpenAPI document built from the routes' own schemas.

import { Ajv } from 'ajv';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { HourglassError } from '../core/errors.js';
import type { Principal } from '../core/tenant.js';
import type { Metrics } from '../observability/metrics.js';
import type { Clock } from '../ports/clock.js';
import type { LogStore } from '../ports/log-store.js';
import type { RunSignals } from '../ports/run-events.js';
import type { ApiKeyStore } from '../ports/store/api-key-store.js';
import type { MetaStore } from '../ports/store/meta-store.js';
import type { RunStore } from '../ports/store/run-store.js';
import type { RunStatsStore } from '../ports/store/run-stats-store.js';
import { authenticate } from '../services/auth.js';
import type { JobService } from '../services/job-service.js';
import type { RunService } from '../services/run-service.js';
import type { RegistryCredentialService } from '../services/registry-credentials.js';
import type { ForecastService } from '../services/forecast-service.js';
import type { ScheduleService } from '../services/schedule-service.js';
import type { TenantService } from '../services/tenant-service.js';
import type { WebhookService } from '../services/webhook-service.js';
import { findUnsafeText } from './input-text.js';
import { LogFollowers, type LogFollowLimits } from './log-followers.js';
import { collectOpenApi } from './openapi.js';
import {
  answerClientError,
  answerExpectation,
  checkRequestHead,
  MAX_URL_CHARS,
  RouteMethods,
} from './http-edge.js';
import { errorHandler, problem, sendProblem, toProblem } from './problem.js';
import { DEFAULT_CONSOLE_DIR, registerConsoleRoutes } from './routes/console.js';
import { registerForecastRoutes } from './routes/forecast.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerOpsRoutes } from './routes/ops.js';
import type { ContainerRuntimeStatus, ProcessIsolation } from '../ports/executor.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerRegistryRoutes } from './routes/registries.js';
import { registerScheduleRoutes } from './routes/schedules.js';
import { registerStatsRoutes } from './routes/stats.js';
import { registerTenantRoutes } from './routes/tenants.js';
import { registerWebhookRoutes } from './routes/webhooks.js';

export interface ApiDeps {
  /** Readiness (meta), authentication (keys), log follows (keys, runs) and stats; the rest is in the services. */
  store: MetaStore & ApiKeyStore & RunStore & RunStatsStore;
  logs: LogStore;
  signals: RunSignals;
  clock: Clock;
  tenants: TenantService;
  jobs: JobService;
  runs: RunService;
  schedules: ScheduleService;
  forecast: ForecastService;
  registries: RegistryCredentialService;
  webhooks: WebhookService;
  metrics: Metrics;
  logger: Logger;
  bodyLimitBytes: number;
  /** Caps on open log follow streams, per tenant and in all (log-followers.ts). */
  followLimits: LogFollowLimits;
  version: string;
  /** False while starting or shutting down: /readyz answers 503. */
  isReady(): boolean;
  /** What this server's process runtime confines; null (or absent) when it runs no worker. */
  processIsolation?: ProcessIsolation | null;
  /** Whether this server's worker can run containers, and with which runtime; null (or absent) without one. */
  containerRuntime?: ContainerRuntimeStatus | null;
  /** The built web console (routes/console.ts); dist/console when absent. */
  consoleDir?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook on every /v1 route but the OpenAPI document. */
    principal: Principal | null;
  }
  interface FastifySchema {
    summary?: string;
    tags?: string[];
    /** Leaves the route out of the OpenAPI document. */
    hide?: boolean;
    'x-headers'?: Record<string, unknown>[];
    /** OpenAPI security requirements; `[]` for a route that needs no key. */
    security?: Record<string, string[]>[];
  }
}

const PUBLIC_PATHS = new Set(['/v1/openapi.json']);

function makeAjv(coerceTypes: boolean): Ajv {
  return new Ajv({
    coerceTypes,
    useDefaults: true,
    removeAdditional: false,
    allErrors: true,
    strict: false,
    formats: { 'date-time': true },
  });
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request lines would swamp the log at thousands of runs a second; failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // Closing is answered by the onRequest hook below, as problem+json like every other error.
    return503OnClosing: false,
    // A long path parameter is the schema's to refuse (400 naming it), not the router's (a bare 414).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_URL_CHARS },
    // Errors raised outside routing (parser, bad URL) leave as problem+json too: see http-edge.ts.
    clientErrorHandler: answerClientError,
    frameworkErrors: (error, _request, reply) => sendProblem(reply, toProblem(error)),
    http: { requireHostHeader: false },
  });
  app.server.on('checkExpectation', answerExpectation);
  const routeMethods = new RouteMethods();
  app.addHook('onRoute', (route) => routeMethods.add(route.method, route.url));
  const bodyAjv = makeAjv(false);
  const queryAjv = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? bodyAjv.compile(schema) : queryAjv.compile(schema),
  );
  app.setErrorHandler(errorHandler);
  // JSON only: a text/plain body is a mistake to report (415), not a string to validate.
  app.removeContentTypeParser('text/plain');
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routeMethods.allowed(path);
    if (allowed.length === 0) {
      return sendProblem(reply, problem('not_found', `no route for ${request.method} ${path}`));
    }
    reply.header('allow', allowed.join(', '));
    return sendProblem(
      reply,
      problem('method_not_allowed', `${path} answers ${allowed.join(', ')}, not ${request.method}`),
    );
  });
  app.decorateRequest<Principal | null>('principal', null);
  app.addHook('onRequest', async (request) => {
    checkRequestHead(request.url, request.raw.httpVersion, request.headers.host);
    // The route the router matched, not the raw URL: `/%761/jobs` is routed to /v1/jobs, and must be
    // authenticated like it. An unmatched request has no route and goes to the not-found handler.
    const route = request.routeOptions.url ?? '';
    if (!deps.isReady() && route !== '/healthz') {
      throw new HourglassError('unavailable', 'the server is starting or shutting down; try again shortly');
    }
    if (!route.startsWith('/v1/') || PUBLIC_PATHS.has(route)) return;
    request.principal = await authenticate(deps.store, request.headers.authorization, deps.clock.now());
  });
  // A POST with no body (say, `curl -X POST …/runs`) means an empty JSON object. No string of any request
  // may hold a NUL or a lone surrogate (input-text.ts).
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST' && request.body === undefined) request.body = {};
    const unsafe =
      findUnsafeText(request.params, 'path') ??
      findUnsafeText(request.query, 'query') ??
      findUnsafeText(request.body, 'body');
    if (unsafe !== null) throw unsafe;
  });

  const openapi = collectOpenApi(app, deps.version);
  registerOpsRoutes(app, deps);
  registerTenantRoutes(app, deps);
  registerJobRoutes(app, deps);
  // Open log streams end when the server closes, rather than holding the close until their runs end.
  const followers = new LogFollowers(deps);
  app.addHook('preClose', () => followers.closeAll());
  registerRunRoutes(app, deps, followers);
  registerScheduleRoutes(app, deps);
  registerForecastRoutes(app, deps);
  registerRegistryRoutes(app, deps);
  registerStatsRoutes(app, deps);
  registerWebhookRoutes(app, deps);
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => openapi.document());
  await registerConsoleRoutes(app, deps.consoleDir ?? DEFAULT_CONSOLE_DIR);
  await app.ready();
  return app;
}
