// The load forecast: the runs a tenant's schedules and its runs queued for later will start in each step of a
// window, with the memory they request; an admin key sees the whole fleet.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { unauthorized } from '../../services/auth.js';
import type { ApiDeps } from '../app.js';
import { ForecastQuery, ForecastStep, type ForecastQuery as Query } from '../schemas.js';

export function registerForecastRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/v1/forecast',
    {
      schema: {
        operationId: 'getForecast',
        summary:
          'Runs due to start per step, from the schedules (ticks at their nominal time) and runs queued for later',
        tags: ['forecast'],
        querystring: ForecastQuery,
        response: { 200: Type.Object({ items: Type.Array(ForecastStep) }) },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal === null) throw unauthorized();
      const tenantId = principal.scope === 'admin' ? null : principal.tenantId;
      const steps = await deps.forecast.forecast(tenantId, request.query as Query);
      return {
        items: steps.map((step) => ({
          at: new Date(step.at).toISOString(),
          runs: step.runs,
          memoryMb: step.memoryMb,
        })),
      };
    },
  );
}
