// The HTTP contract as JSON Schemas (TypeBox). The same objects validate requests, shape responses and
// make up the OpenAPI document at /v1/openapi.json, so the three cannot drift apart.

import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { JOB_MEMORY_MB } from '../core/job.js';
import { RUN_STATUSES } from '../core/run-state.js';
import { DELIVERY_STATUSES, MAX_WEBHOOK_URL_CHARS, WEBHOOK_EVENTS } from '../core/webhook.js';
import { REGISTRY_PASSWORD_MAX_CHARS, REGISTRY_USERNAME_MAX_CHARS } from '../core/registry-credential.js';
import {
  CATCHUP_BOUNDS,
  CATCHUP_MODES,
  DEFAULT_CATCHUP,
  MAX_JITTER_SECONDS,
  OVERLAP_POLICIES,
} from '../core/schedule.js';

const strict = { additionalProperties: false } as const;

export const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601 UTC, milliseconds' });
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

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
  maxSchedules: Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'Live schedules at once' }),
  minIntervalSeconds: Type.Integer({
    minimum: 1,
    maximum: 86_400,
    description: 'Shortest time between two ticks of a schedule',
  }),
  maxWebhooks: Type.Integer({ minimum: 0, maximum: 1000, description: 'Webhooks at once' }),
  allowHostCommands: Type.Boolean({
    description:
      'Whether the tenant may create and run host commands (jobs without an image). Set only by an admin; ' +
      'off by default, on for the first-start `default` tenant.',
  }),
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

export const UpdateTenantBody = Type.Object(
  { limits: Type.Partial(PlanLimits, strict) },
  { ...strict, description: 'The limits to change; the others keep their values.' },
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

export const ApiKeyInfo = Type.Object({
  id: Type.String(),
  name: Nullable(Type.String()),
  scope: Type.Union([Type.Literal('admin'), Type.Literal('tenant')]),
  tenantId: Nullable(Type.String({ description: 'Null for admin keys.' })),
  createdAt: Timestamp,
  lastUsedAt: Nullable({ ...Timestamp, description: 'When it last authenticated a request, to the minute' }),
  revokedAt: Nullable(Timestamp),
});

export const ListKeysQuery = Type.Object(
  { tenantId: Type.Optional(Type.String({ minLength: 1, description: 'Only this tenant’s keys' })) },
  strict,
);

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
    {
      memoryMb: Type.Optional(
        Type.Integer({
          minimum: JOB_MEMORY_MB.min,
          maximum: JOB_MEMORY_MB.max,
          description:
            'Memory limit in MB; a run over it is OOM-killed where the runtime enforces it. Default 1024',
        }),
      ),
      memoryRequestMb: Type.Optional(
        Nullable(
          Type.Integer({
            minimum: JOB_MEMORY_MB.min,
            maximum: JOB_MEMORY_MB.max,
            description:
              'Memory a run reserves on a worker, which packs runs by it; at most memoryMb. Default (or null): a quarter of memoryMb, at least 16',
          }),
        ),
      ),
    },
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

const NetworkField = Type.Union([Type.Literal('none'), Type.Literal('egress')], {
  description:
    "A container's network: none (default; its own loopback only) or egress (out to public addresses; never " +
    "the host, private ranges or metadata). Only for jobs with an image: a host command shares the host's network.",
});

export const CreateJobBody = Type.Object(
  {
    name: jobFields.name,
    image: Type.Optional(jobFields.image),
    network: Type.Optional(NetworkField),
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
    network: Type.Optional(NetworkField),
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
  network: NetworkField,
  command: Type.Array(Type.String()),
  args: Type.Array(Type.String()),
  env: Type.Record(Type.String(), Type.String()),
  resources: Type.Object({
    memoryMb: Type.Integer({ description: 'Memory limit in MB' }),
    memoryRequestMb: Type.Integer({
      description: 'What a run reserves on a worker: as set, or the default (a quarter of memoryMb)',
    }),
  }),
  memoryLimit: Nullable(
    Type.Union([Type.Literal('cgroup'), Type.Literal('address-space'), Type.Literal('none')], {
      description:
        'How this server enforces resources.memoryMb for this host command: cgroup (over it, the run is ' +
        'killed: oom_killed), address-space (an RLIMIT_AS: allocations past it fail, the run fails as its ' +
        'program reports it), none; null when it cannot say (a job with an image, or no worker here). ' +
        'See /readyz and docs/security.md.',
    }),
  ),
  timeoutSeconds: Type.Integer(),
  retry: Type.Object({ maxAttempts: Type.Integer(), backoffSeconds: Type.Integer() }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

// ── Runs ──────────────────────────────────────────────────────────────────────────────────────────

export const RunStatus = Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)));

export const CreateRunBody = Type.Object(
  {
    args: Type.Optional(Argv),
    env: Type.Optional(Env),
    runAt: Type.Optional(
      Type.String({
        format: 'date-time',
        maxLength: 64,
        description: 'Run at this time instead of now: at most 366 days ahead, at most 5 s ago.',
      }),
    ),
  },
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
  dueAt: Type.String({
    format: 'date-time',
    description: 'When its process should start: nominalTime plus the schedule’s jitter',
  }),
  blockedBy: Nullable(
    Type.String({ description: 'An earlier run of its schedule it waits for (overlap policy)' }),
  ),
  lagMs: Nullable(Type.Integer({ description: 'startedAt − dueAt, in milliseconds' })),
  imageDigest: Nullable(
    Type.String({
      description: 'The image manifest digest (sha256:…) it ran; null for host commands and before a pull',
    }),
  ),
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
    jobId: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'A job id (a deleted job’s too) or a job name; 404 if none',
      }),
    ),
    scheduleId: Type.Optional(Type.String({ maxLength: 64, description: 'A schedule id; 404 if none' })),
    status: Type.Optional(
      Type.String({
        maxLength: 200,
        description: `A run status, or several comma-separated (failed,timed_out,oom_killed,lost): ${RUN_STATUSES.join(', ')}`,
      }),
    ),
    from: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'ISO 8601 with an offset: runs created at or after it (a scheduled run: its tick)',
      }),
    ),
    to: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'ISO 8601 with an offset: runs created before it; after from',
      }),
    ),
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

// ── Schedules ─────────────────────────────────────────────────────────────────────────────────────

const Instant = (description: string) =>
  Type.String({ format: 'date-time', maxLength: 64, description: `ISO 8601 with an offset. ${description}` });

const scheduleFields = {
  cron: Type.String({
    minLength: 1,
    maxLength: 256,
    description: '6 fields with seconds (`*/5 * * * * *`) or the classic 5; give this or `every`',
  }),
  timezone: Type.String({ minLength: 1, maxLength: 64, description: 'IANA zone of `cron`; default UTC' }),
  every: Type.String({
    minLength: 1,
    maxLength: 32,
    description: 'A fixed interval: `30s`, `5m`, `1h`, `1h30m`, `1d`; give this or `cron`',
  }),
  startAt: Nullable(Instant('No tick before it.')),
  endAt: Nullable(Instant('No tick after it; after startAt.')),
  paused: Type.Boolean({ description: 'Default false' }),
  overlapPolicy: Type.Union(
    OVERLAP_POLICIES.map((p) => Type.Literal(p)),
    { description: 'A tick while an earlier run still runs: allow (default), skip, buffer_one, replace' },
  ),
  catchup: Type.Object(
    {
      mode: Type.Optional(Type.Union(CATCHUP_MODES.map((m) => Type.Literal(m)))),
      windowSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: CATCHUP_BOUNDS.maxWindowSeconds })),
      maxRuns: Type.Optional(Type.Integer({ minimum: 1, maximum: CATCHUP_BOUNDS.maxRuns })),
    },
    {
      ...strict,
      description: `Ticks missed while no scheduler ran; default mode ${DEFAULT_CATCHUP.mode}, windowSeconds ${DEFAULT_CATCHUP.windowSeconds}, maxRuns ${DEFAULT_CATCHUP.maxRuns}`,
    },
  ),
  jitterSeconds: Type.Integer({
    minimum: 0,
    maximum: MAX_JITTER_SECONDS,
    description: 'Each run is due a fixed offset in [0, jitterSeconds) after its tick; default 0',
  }),
  args: Nullable(Argv),
  env: Nullable(Env),
};

const scheduleBodyFields = {
  cron: Type.Optional(scheduleFields.cron),
  timezone: Type.Optional(scheduleFields.timezone),
  every: Type.Optional(scheduleFields.every),
  startAt: Type.Optional(scheduleFields.startAt),
  endAt: Type.Optional(scheduleFields.endAt),
  paused: Type.Optional(scheduleFields.paused),
  overlapPolicy: Type.Optional(scheduleFields.overlapPolicy),
  catchup: Type.Optional(scheduleFields.catchup),
  jitterSeconds: Type.Optional(scheduleFields.jitterSeconds),
  args: Type.Optional(scheduleFields.args),
  env: Type.Optional(scheduleFields.env),
};

export const CreateScheduleBody = Type.Object(scheduleBodyFields, {
  ...strict,
  description: 'Exactly one of `cron` (with an optional `timezone`) and `every`.',
});

export const UpdateScheduleBody = Type.Object(scheduleBodyFields, {
  ...strict,
  minProperties: 1,
  description:
    'Only the fields given change; a change of timing places nextFireAt at the first tick from now.',
});

export const Schedule = Type.Object({
  id: Type.String(),
  jobId: Type.String(),
  cron: Nullable(Type.String({ description: 'Normalized to 6 fields' })),
  timezone: Nullable(Type.String()),
  every: Nullable(Type.String()),
  startAt: Nullable(Timestamp),
  endAt: Nullable(Timestamp),
  paused: Type.Boolean(),
  overlapPolicy: scheduleFields.overlapPolicy,
  catchup: Type.Object({
    mode: Type.Union(CATCHUP_MODES.map((m) => Type.Literal(m))),
    windowSeconds: Type.Integer(),
    maxRuns: Type.Integer(),
  }),
  jitterSeconds: Type.Integer(),
  args: Nullable(Type.Array(Type.String())),
  env: Nullable(Type.Record(Type.String(), Type.String())),
  nextFireAt: Nullable(
    Type.String({
      format: 'date-time',
      description: 'Its next tick; null while paused or once it has ended',
    }),
  ),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  version: Type.Integer({ description: 'Raised by every change' }),
});

export const ListSchedulesQuery = Type.Object(
  {
    jobId: Type.Optional(
      Type.String({
        maxLength: 64,
        description: 'A job id or a job name; 404 if the tenant has no such job',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    cursor: Type.Optional(Type.String({ maxLength: 64 })),
  },
  strict,
);

export const PreviewQuery = Type.Object(
  { count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })) },
  strict,
);

export const DstNote = Type.Union(
  [
    Type.Literal('moved_out_of_gap'),
    Type.Literal('repeated_time_first'),
    Type.Literal('repeated_time_second'),
    Type.Null(),
  ],
  {
    description:
      'moved_out_of_gap: its wall-clock time does not exist that day (spring forward), so it fires at the end of the gap; repeated_time_first/second: its wall-clock time occurs twice that day (fall back), and this is the first/second',
  },
);

export const PreviewFire = Type.Object({
  at: Timestamp,
  nominalTime: Timestamp,
  dueAt: Type.String({ format: 'date-time', description: 'nominalTime plus the schedule’s jitter' }),
  localTime: Type.String({
    description: 'The tick on the wall clock of the schedule’s zone, with its offset',
  }),
  dst: DstNote,
});

// ── Forecast ──────────────────────────────────────────────────────────────────────────────────────

export const ForecastQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 with an offset; default now' })),
    to: Type.Optional(
      Type.String({ maxLength: 64, description: 'ISO 8601 with an offset; default an hour after from' }),
    ),
    stepSeconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 604_800, default: 60, description: 'Length of each step' }),
    ),
  },
  strict,
);

export const ForecastStep = Type.Object({
  at: Timestamp,
  runs: Type.Integer({ description: 'Runs due to start in [at, at + stepSeconds)' }),
  memoryMb: Type.Integer({ description: 'The memory those runs request, in MiB' }),
});

// ── Registry logins ──────────────────────────────────────────────────────────────────────────────

export const RegistryHostParam = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      maxLength: 259,
      description: 'host[:port]: a DNS name or IP address (IPv6 in brackets), as in image references',
    }),
  },
  strict,
);

export const PutRegistryBody = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: REGISTRY_USERNAME_MAX_CHARS }),
    password: Type.String({
      minLength: 1,
      maxLength: REGISTRY_PASSWORD_MAX_CHARS,
      description: 'A password or access token. Stored sealed; never returned or logged.',
    }),
  },
  strict,
);

export const RegistryLogin = Type.Object({
  host: Type.String({ description: 'Normalised: lower case; Docker Hub as docker.io' }),
  username: Type.String(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const BulkSchedulesBody = Type.Object(
  {
    scheduleIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 128 }), {
        minItems: 1,
        maxItems: 500,
        uniqueItems: true,
        description: 'The schedules to change: 1 to 500 distinct ids of the tenant’s schedules',
      }),
    ),
    jobId: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        description: 'Instead of scheduleIds: every schedule of this job (its id or a live job’s name)',
      }),
    ),
  },
  {
    ...strict,
    description:
      'Exactly one of scheduleIds and jobId. All or nothing: if any schedule cannot change, none does.',
  },
);

export const EmptyBody = Type.Object({}, { ...strict, description: 'No fields; the body may be omitted.' });

export const LogsQuery = Type.Object({ follow: Type.Optional(Type.Boolean({ default: false })) }, strict);

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

export const IdParam = (name: string, description: string) =>
  Type.Object({ [name]: Type.String({ minLength: 1, maxLength: 128, description }) }, strict);

export type CreateTenantBody = Static<typeof CreateTenantBody>;
export type UpdateTenantBody = Static<typeof UpdateTenantBody>;
export type CreateKeyBody = Static<typeof CreateKeyBody>;
export type ListKeysQuery = Static<typeof ListKeysQuery>;
export type CreateJobBody = Static<typeof CreateJobBody>;
export type UpdateJobBody = Static<typeof UpdateJobBody>;
export type CreateRunBody = Static<typeof CreateRunBody>;
export type ListRunsQuery = Static<typeof ListRunsQuery>;
export type ListJobsQuery = Static<typeof ListJobsQuery>;
export type JobJson = Static<typeof Job>;
export type RunJson = Static<typeof Run>;
export type TenantJson = Static<typeof Tenant>;
export type CreateScheduleBody = Static<typeof CreateScheduleBody>;
export type BulkSchedulesBody = Static<typeof BulkSchedulesBody>;
export type UpdateScheduleBody = Static<typeof UpdateScheduleBody>;
export type ListSchedulesQuery = Static<typeof ListSchedulesQuery>;
export type PreviewQuery = Static<typeof PreviewQuery>;
export type ForecastQuery = Static<typeof ForecastQuery>;
export type PutRegistryBody = Static<typeof PutRegistryBody>;

// ── Webhooks ─────────────────────────────────────────────────────────────────────────────────────

export const CreateWebhookBody = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      maxLength: MAX_WEBHOOK_URL_CHARS,
      description: 'Absolute http(s) URL without credentials, of a public host',
    }),
    events: Type.Array(Type.String({ maxLength: 32 }), {
      minItems: 1,
      maxItems: WEBHOOK_EVENTS.length,
      description: `Run outcomes to be told about: ${WEBHOOK_EVENTS.join(', ')}`,
    }),
    jobId: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'Only this job’s runs (its id or name)' }),
    ),
  },
  strict,
);

const webhookFields = {
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  jobId: Nullable(Type.String()),
  createdAt: Timestamp,
  disabled: Type.Boolean({ description: 'True once the endpoint answered 410 Gone: nothing more is sent' }),
  disabledAt: Nullable(Timestamp),
  disabledReason: Nullable(Type.String()),
};

export const Webhook = Type.Object(webhookFields);

export const CreatedWebhook = Type.Object({
  ...webhookFields,
  secret: Type.String({ description: 'whsec_…: verifies the signatures; shown here only, never again' }),
});

export const WebhookDelivery = Type.Object({
  id: Type.String({ description: 'The webhook-id header of every attempt of this delivery' }),
  runId: Type.String(),
  event: Type.String({ description: 'run.succeeded, run.failed, …' }),
  status: Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  lastStatusCode: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  nextAttemptAt: Nullable(Timestamp),
  createdAt: Timestamp,
  deliveredAt: Nullable(Timestamp),
});

export type CreateWebhookBody = Static<typeof CreateWebhookBody>;
