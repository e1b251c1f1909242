// Builds the OpenAPI 3.1 document from the routes as they are registered, using the very schemas Fastify
// validates with. Route schemas carry `operationId`, `summary`, `tags` and `security` for it; `hide: true`
// leaves a route out. A route without an operationId gets one from its method and path, so that every
// operation has one (client generators name their methods after it).

import type { FastifyInstance, RouteOptions } from 'fastify';
import { ERROR_CODES } from '../core/errors.js';
import { Problem } from './schemas.js';

type JsonObject = Record<string, unknown>;

// The errors any operation may answer: its own (validation, a missing object, limits, …) and those the HTTP
// edge answers before any route (src/api/http-edge.ts: 408, 414, 417, 431, and 400 for a request that is not
// HTTP). 401 and 403 only where a key is needed. 405 belongs to no operation (it answers a method a path does
// not list), so the document's description says it instead.
const ERROR_STATUSES = [400, 401, 403, 404, 408, 409, 413, 414, 415, 417, 422, 429, 431, 500, 503];
const KEY_STATUSES = new Set([401, 403]);

/** One response object per status, shared by every operation: `Problem`, with the codes of that status. */
const PROBLEM_RESPONSES = new Map(
  ERROR_STATUSES.map((status) => {
    const codes = Object.entries(ERROR_CODES).flatMap(([code, s]) => (s === status ? [code] : []));
    return [
      String(status),
      {
        description: `Problem: ${codes.join(', ')}`,
        content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
      },
    ] as const;
  }),
);

function toOpenApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function parametersOf(schema: JsonObject, location: 'path' | 'query'): JsonObject[] {
  const props = (schema['properties'] ?? {}) as Record<string, JsonObject>;
  const required = new Set((schema['required'] ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: location,
    required: location === 'path' || required.has(name),
    schema: s,
    ...(typeof s['description'] === 'string' ? { description: s['description'] } : {}),
  }));
}

/** `GET /v1/runs/:runId/logs` → `get_v1_runs_runId_logs`: unique per method and path, if not pretty. */
function derivedOperationId(method: string, url: string): string {
  return [
    method.toLowerCase(),
    ...url
      .split('/')
      .filter(Boolean)
      .map((part) => part.replace(/^:/, '')),
  ].join('_');
}

function operationOf(route: RouteOptions, method: string): JsonObject | null {
  const schema = (route.schema ?? {}) as JsonObject;
  if (schema['hide'] === true) return null;
  const responses: JsonObject = {};
  for (const [status, s] of Object.entries((schema['response'] ?? {}) as Record<string, JsonObject>)) {
    const contentType = (s['x-content-type'] as string | undefined) ?? 'application/json';
    responses[status] =
      status === '204'
        ? { description: 'No Content' }
        : {
            description: (s['description'] as string | undefined) ?? 'OK',
            content: { [contentType]: { schema: s } },
          };
  }
  const isPublic = Array.isArray(schema['security']) && schema['security'].length === 0;
  for (const [status, response] of PROBLEM_RESPONSES) {
    if (isPublic && KEY_STATUSES.has(Number(status))) continue;
    responses[status] ??= response;
  }
  const parameters = [
    ...(schema['params'] ? parametersOf(schema['params'] as JsonObject, 'path') : []),
    ...(schema['querystring'] ? parametersOf(schema['querystring'] as JsonObject, 'query') : []),
    ...((schema['x-headers'] as JsonObject[] | undefined) ?? []),
  ];
  return {
    operationId: (schema['operationId'] as string | undefined) ?? derivedOperationId(method, route.url),
    summary: schema['summary'],
    tags: schema['tags'],
    ...(schema['security'] ? { security: schema['security'] } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(schema['body']
      ? { requestBody: { required: true, content: { 'application/json': { schema: schema['body'] } } } }
      : {}),
    responses,
  };
}

export function collectOpenApi(app: FastifyInstance, version: string): { document(): JsonObject } {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/v1/') || route.url.startsWith('/healthz') || route.url.startsWith('/readyz')) {
      routes.push(route);
    }
  });
  let cached: JsonObject | null = null;
  return {
    document() {
      if (cached) return cached;
      const paths: Record<string, JsonObject> = {};
      for (const route of routes) {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        for (const method of methods) {
          if (method === 'HEAD') continue;
          const op = operationOf(route, method);
          if (op === null) continue;
          const path = (paths[toOpenApiPath(route.url)] ??= {});
          path[method.toLowerCase()] = op;
        }
      }
      cached = JSON.parse(
        JSON.stringify({
          openapi: '3.1.0',
          info: {
            title: 'Hourglass API',
            version,
            description:
              'Run jobs now, later or on a schedule. Errors are application/problem+json. A path called with a method it does not list answers 405 (method_not_allowed) with an Allow header.',
          },
          servers: [{ url: '/' }],
          security: [{ bearer: [] }],
          components: {
            securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key (hg_…)' } },
            schemas: { Problem },
          },
          paths,
        }),
      ) as JsonObject;
      return cached;
    },
  };
}
