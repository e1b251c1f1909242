// The HTTP contract as JSON Schemas (TypeBox). The same objects validate requests, shape responses and
// make up the OpenAPI document at /v1/openapi.json, so the three cannot drift apart.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { RUN_STATUSES } from '../core/run-state.js';

const strict = { additionalProperties: false } as const;

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 UTC, milliseconds' });
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const JOB_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,62}$';
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';

const Argv = Type.Array(Type.String({ maxLength: 4096 }), { maxItems: 256 });
const Env = Type.Record(Type.String(), Type.String({ maxLength: 32_768 }), {
  propertyNames: { pattern: ENV_NAME_PATTERN },
  maxProperties: 128,
  description: 'Environment variables: names are letters, digits and underscores, not starting with a digit.',
});

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String({ description: 'Stable machine-readable error code (see docs/api.md).' }),
    detail: Type.String(),
    field: Type.Optional(Type.String({ description: 'The request field at fault, as a dotted path.' })),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: 'Problem' },
);

// ── Tenants and keys ──────────────────────────────────────────────────────────────────────────────

export const PlanLimits = Type.Object({
  maxMemoryMb: Type.Integer({ minimum: 64, maximum: 1_048_576 }),
  maxTimeoutSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  maxJobs: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  runsPerSecond: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }),
  runBurst: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
});

export const Tenant = Type.Object({
  id: Type.String(),
  name: Type.String(),
  limits: PlanLimits,
  createdAt: Timestamp,
});

export const CreateTenantBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    limits: Type.Optional(Type.Partial(PlanLimits, strict)),
  },
  strict,
);

export const CreateKeyBody = Type.Object({ name: Type.Optional(Type.String({ maxLength: 100 })) }, strict);

export const CreatedKey = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'The secret. Shown only in this response.' }),
  tenantId: Type.String(),
  scope: Type.Literal('tenant'),
  prefix: Type.String(),
  name: Nullable(Type.String()),
  createdAt: Timestamp,
});

// ── Jobs ──────────────────────────────────────────────────────────────────────────────────────────

const jobFields = {
  name: Type.String({ pattern: JOB_NAME_PATTERN, description: 'Unique per tenant: a-z, 0-9, . _ -' }),
  image: Type.String({ minLength: 1, maxLength: 512, description: 'OCI image reference.' }),
  command: Type.Array(Type.String({ maxLength: 4096 }), {
    minItems: 1,
    maxItems: 256,
    description: 'argv[0] and its first arguments; required without an image.',
  }),
  args: Argv,
  env: Env,
  resources: Type.Object(
    { memoryMb: Type.Optional(Type.Integer({ minimum: 16, maximum: 1_048_576 })) },
    strict,
  ),
  timeoutSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  retry: Type.Object(
    {
      maxAttempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 20 })),
      backoffSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
    },
    strict,
  ),
};

export const CreateJobBody = Type.Object(
  {
    name: jobFields.name,
    image: Type.Optional(jobFields.image),
    command: Type.Optional(jobFields.command),
    args: Type.Optional(jobFields.args),
    env: Type.Optional(jobFields.env),
    resources: Type.Optional(jobFields.resources),
    timeoutSeconds: Type.Optional(jobFields.timeoutSeconds),
    retry: Type.Optional(jobFields.retry),
  },
  strict,
);

export const UpdateJobBody = Type.Object(
  {
    name: Type.Optional(jobFields.name),
    image: Type.Optional(Nullable(jobFields.image)),
    command: Type.Optional(jobFields.command),
    args: Type.Optional(jobFields.args),
    env: Type.Optional(jobFields.env),
    resources: Type.Optional(jobFields.resources),
    timeoutSeconds: Type.Optional(jobFields.timeoutSeconds),
    retry: Type.Optional(jobFields.retry),
  },
  { ...strict, minProperties: 1 },
);

export const Job = Type.Object({
  id: Type.String(),
  name: Type.String(),
  image: Nullable(Type.String()),
  command: Type.Array(Type.String()),
  args: Type.Array(Type.String()),
  env: Type.Record(Type.String(), Type.String()),
  resources: Type.Object({ memoryMb: Type.Integer() }),
  timeoutSeconds: Type.Integer(),
  retry: Type.Object({ maxAttempts: Type.Integer(), backoffSeconds: Type.Integer() }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

// ── Runs ──────────────────────────────────────────────────────────────────────────────────────────

export const RunStatus = Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)));

export const CreateRunBody = Type.Object(
  { args: Type.Optional(Argv), env: Type.Optional(Env) },
  { ...strict, description: 'Overrides for this run; omitted fields take the job’s own.' },
);

export const Run = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
  scheduleId: Nullable(Type.String()),
  status: RunStatus,
  attempt: Type.Integer(),
  exitCode: Nullable(Type.Integer()),
  reason: Nullable(Type.String()),
  args: Nullable(Type.Array(Type.String())),
  env: Nullable(Type.Record(Type.String(), Type.String())),
  createdAt: Timestamp,
  dispatchedAt: Nullable(Timestamp),
  startedAt: Nullable(Timestamp),
  finishedAt: Nullable(Timestamp),
  nominalTime: Timestamp,
  lagMs: Nullable(Type.Integer({ description: 'startedAt − nominalTime, in milliseconds' })),
});

export const RunEvent = Type.Object({
  at: Timestamp,
  type: Type.String(),
  attempt: Type.Integer(),
  status: RunStatus,
  detail: Nullable(Type.String()),
});

export const RunWithTimeline = Type.Composite([Run, Type.Object({ timeline: Type.Array(RunEvent) })]);

export const ListRunsQuery = Type.Object(
  {
    jobId: Type.Optional(Type.String({ maxLength: 64 })),
    status: Type.Optional(RunStatus),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  strict,
);

export const ListJobsQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  strict,
);

export const EmptyBody = Type.Object({}, { ...strict, description: 'No fields; the body may be omitted.' });

export const LogsQuery = Type.Object({ follow: Type.Optional(Type.Boolean({ default: false })) }, strict);

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const IdParam = (name: string, description: string) =>
  Type.Object({ [name]: Type.String({ minLength: 1, maxLength: 128, description }) }, strict);

export type CreateTenantBody = Static<typeof CreateTenantBody>;
export type CreateKeyBody = Static<typeof CreateKeyBody>;
export type CreateJobBody = Static<typeof CreateJobBody>;
export type UpdateJobBody = Static<typeof UpdateJobBody>;
export type CreateRunBody = Static<typeof CreateRunBody>;
export type ListRunsQuery = Static<typeof ListRunsQuery>;
export type ListJobsQuery = Static<typeof ListJobsQuery>;
export type JobJson = Static<typeof Job>;
export type RunJson = Static<typeof Run>;
export type TenantJson = Static<typeof Tenant>;
