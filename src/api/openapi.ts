// Builds the OpenAPI 3.1 document from the routes as they are registered, using the very schemas Fastify
// validates with. Route schemas carry `operationId`, `summary`, `tags` and `security` for it; `hide: true`
// leaves a route out. A route without an operationId gets one from its method and path, so that every
// operation has one (client generators name their methods after it).

import type { FastifyInstance, RouteOptions } from 'fastify';
import { Problem } from './schemas.js';

type JsonObject = Record<string, unknown>;

const ERROR_STATUSES = ['400', '401', '403', '404', '409', '413', '415', '422', '429', '500', '503'];

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
  for (const status of ERROR_STATUSES) {
    responses[status] ??= {
      description: 'Problem',
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    };
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
            description: 'Run jobs now, later or on a schedule. Errors are application/problem+json.',
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
