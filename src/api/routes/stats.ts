// The overview's numbers: GET /v1/stats. A tenant key reads its own tenant; an admin key the whole fleet, or
// one tenant with `tenantId` (which a tenant key may not pass: 403, as for every admin-only use). What is
// counted, and how, is core/run-stats.ts.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { HourglassError, notFound } from '../../core/errors.js';
import {
  LAG_EDGES_MS,
  STATS_OUTCOMES,
  STATS_WINDOWS,
  type FailedRunSummary,
  type RunStats,
  type StatsWindowName,
  type UpcomingRunSummary,
} from '../../core/run-stats.js';
import { unauthorized } from '../../services/auth.js';
import { readRunStats } from '../../services/stats-service.js';
import type { ApiDeps } from '../app.js';
import { Nullable, RunStatus, Timestamp } from '../schemas.js';

const WINDOW_NAMES = Object.keys(STATS_WINDOWS) as StatsWindowName[];

const StatsQuery = Type.Object(
  {
    window: Type.Optional(
      Type.Union(
        WINDOW_NAMES.map((name) => Type.Literal(name)),
        { description: '1h: 1-minute buckets; 24h: 15-minute buckets. Default 1h.' },
      ),
    ),
    tenantId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Admin keys only: one tenant’s stats' }),
    ),
  },
  { additionalProperties: false },
);

const Counts = Type.Object(Object.fromEntries(STATS_OUTCOMES.map((o) => [o, Type.Integer()])));

const RunStatsBody = Type.Object({
  window: Type.String(),
  from: Timestamp,
  to: Timestamp,
  bucketSeconds: Type.Integer(),
  series: Type.Array(Type.Object({ start: Timestamp, counts: Counts }), {
    description: 'Runs finished in each bucket, by outcome, oldest bucket first; the last is still filling',
  }),
  lag: Type.Object(
    {
      count: Type.Integer(),
      p50Ms: Nullable(Type.Number()),
      p99Ms: Nullable(Type.Number()),
      maxMs: Nullable(Type.Number()),
      edgesMs: Type.Array(Type.Number(), {
        description: `Upper edges of the slots; counts has one more, for lags ≥ ${LAG_EDGES_MS.at(-1)} ms`,
      }),
      counts: Type.Array(Type.Integer()),
    },
    { description: 'Lag (start − due) of runs started in the window; percentiles are slot upper edges' },
  ),
  runningNow: Type.Integer(),
  recentFailures: Type.Array(
    Type.Object({
      id: Type.String(),
      tenantId: Type.String(),
      jobId: Type.String(),
      scheduleId: Nullable(Type.String()),
      status: RunStatus,
      exitCode: Nullable(Type.Integer()),
      reason: Nullable(Type.String()),
      finishedAt: Timestamp,
    }),
  ),
  upcoming: Type.Array(
    Type.Object({
      id: Type.String(),
      tenantId: Type.String(),
      jobId: Type.String(),
      scheduleId: Nullable(Type.String()),
      availableAt: Timestamp,
      dueAt: Timestamp,
    }),
    { description: 'Queued runs, soonest available first' },
  ),
});

const iso = (ms: number): string => new Date(ms).toISOString();

function renderStats(stats: RunStats) {
  const { window } = stats;
  return {
    window: window.name,
    from: iso(window.from),
    to: iso(window.to),
    bucketSeconds: window.bucketMs / 1000,
    series: stats.series.map((entry) => ({ start: iso(entry.start), counts: entry.counts })),
    lag: stats.lag,
    runningNow: stats.runningNow,
    recentFailures: stats.recentFailures.map((r: FailedRunSummary) => ({
      ...r,
      finishedAt: iso(r.finishedAt),
    })),
    upcoming: stats.upcoming.map((r: UpcomingRunSummary) => ({
      ...r,
      availableAt: iso(r.availableAt),
      dueAt: iso(r.dueAt),
    })),
  };
}

export function registerStatsRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get(
    '/v1/stats',
    {
      schema: {
        operationId: 'getStats',
        summary: 'Runs per bucket by outcome, lag distribution, running, recent failures, upcoming runs',
        tags: ['stats'],
        querystring: StatsQuery,
        response: { 200: RunStatsBody },
      },
    },
    async (request) => {
      const principal = request.principal;
      if (principal === null) throw unauthorized();
      const query = request.query as { window?: StatsWindowName; tenantId?: string };
      let tenantId: string | null;
      if (principal.scope === 'tenant') {
        if (query.tenantId !== undefined) {
          throw new HourglassError('forbidden', 'tenantId: only an admin key may name a tenant', {
            field: 'tenantId',
          });
        }
        tenantId = principal.tenantId;
      } else {
        tenantId = query.tenantId ?? null;
        if (tenantId !== null && (await deps.tenants.getTenant(tenantId)) === null) {
          throw notFound('tenant', tenantId, 'tenantId');
        }
      }
      return renderStats(await readRunStats(deps.store, deps.clock, tenantId, query.window ?? '1h'));
    },
  );
}
