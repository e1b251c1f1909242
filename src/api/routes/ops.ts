// Operations endpoints, unauthenticated: liveness, readiness (with what the process runtime isolates) and
// Prometheus metrics. Served by the API, and by the metrics port of any process (ops-app.ts): nothing here
// reads or shows a tenant's data.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../observability/metrics.js';
import type { ContainerRuntimeStatus, ProcessIsolation } from '../../ports/executor.js';
import type { MetaStore } from '../../ports/store/meta-store.js';
import { Nullable } from '../schemas.js';
import { problem, sendProblem } from '../problem.js';

const Health = Type.Object(
  { status: Type.Literal('ok') },
  { additionalProperties: false, description: 'The process is up' },
);
const ProcessRuntimeIsolation = Type.Union([
  Type.Object({
    separateUsers: Type.Boolean(),
    memoryLimit: Type.Union([Type.Literal('cgroup'), Type.Literal('address-space'), Type.Literal('none')]),
    filesystemIsolated: Type.Boolean(),
    networkIsolated: Type.Boolean(),
    summary: Type.String(),
  }),
  Type.Null(),
]);
const ContainerRuntime = Type.Union([
  Type.Object({
    runtime: Type.Literal('runc'),
    path: Type.String(),
    version: Nullable(Type.String()),
    available: Type.Boolean(),
    reason: Nullable(Type.String({ description: 'Why jobs with an image cannot run here' })),
  }),
  Type.Null(),
]);
// Open to more fields: readiness may also describe what else the server can run (the container runtime).
const Readiness = Type.Object(
  {
    status: Type.Literal('ready'),
    isolation: Type.Object(
      { processRuntime: ProcessRuntimeIsolation, containerRuntime: ContainerRuntime },
      {
        description:
          'What a host command is confined by here, and whether jobs with an image can run; both null without a worker',
      },
    ),
  },
  { additionalProperties: true, description: 'Ready to serve: the store answers' },
);

/** What the operations endpoints read: the API's dependencies have these, and so has a metrics port. */
export interface OpsDeps {
  store: MetaStore;
  metrics: Metrics;
  /** False while starting or shutting down: /readyz answers 503. */
  isReady(): boolean;
  processIsolation?: ProcessIsolation | null;
  containerRuntime?: ContainerRuntimeStatus | null;
}

export function registerOpsRoutes(app: FastifyInstance, deps: OpsDeps): void {
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
        summary:
          'Readiness: the store answers (503 while starting or shutting down); and what the process runtime isolates',
        tags: ['operations'],
        security: [],
        response: { 200: Readiness },
      },
    },
    async (_r, reply) => {
      if (!deps.isReady()) return sendProblem(reply, problem('unavailable', 'starting or shutting down'));
      await deps.store.getMeta('schema');
      return {
        status: 'ready',
        isolation: {
          processRuntime: describeProcessRuntime(deps.processIsolation),
          containerRuntime: describeContainerRuntime(deps.containerRuntime),
        },
      };
    },
  );

  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return deps.metrics.render();
  });
}

/**
 * What a host command is confined by on this server, in words as well as flags, so that an operator (or a
 * tenant) never takes the process runtime for a sandbox. Null when this server runs no worker.
 */
function describeProcessRuntime(isolation: ProcessIsolation | null | undefined) {
  if (isolation === null || isolation === undefined) return null;
  return {
    separateUsers: isolation.separateUsers,
    memoryLimit: isolation.memoryLimit,
    filesystemIsolated: false,
    networkIsolated: false,
    summary: [
      isolation.separateUsers
        ? 'each run has a uid of its own: it cannot read the data directory, signal the server or another run, or read their /proc entries'
        : "runs run as the server's own user: they can read what the server can, its data directory and /proc entries included",
      MEMORY_LIMIT_WORDS[isolation.memoryLimit],
      'not a sandbox: no filesystem or network isolation (a run reads what its uid may, and reaches the network as the host does)',
    ].join('; '),
  };
}

function describeContainerRuntime(status: ContainerRuntimeStatus | null | undefined) {
  if (status === null || status === undefined) return null;
  const { path, version, unavailableReason } = status;
  return {
    runtime: 'runc' as const,
    path,
    version,
    available: unavailableReason === null,
    reason: unavailableReason,
  };
}

const MEMORY_LIMIT_WORDS: Record<ProcessIsolation['memoryLimit'], string> = {
  cgroup: 'memory limit enforced by a cgroup per run, swap included (over it: oom_killed)',
  'address-space':
    'memory limit enforced only as an address-space rlimit (RLIMIT_AS): allocations past it fail, and programs that reserve much address space may not start',
  none: 'memory limit not enforced',
};
