// The JSON shapes of the Hourglass HTTP API (v1), as the SDK sees them. Timestamps are ISO 8601 UTC strings
// with milliseconds; a field that is unset is null, never absent.

export const RUN_STATUSES = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'oom_killed',
  'cancelled',
  'lost',
  'skipped',
] as const;

/**
 * `queued → running → one terminal status`; a retry takes a running run back to `queued`. A tick of a schedule
 * that its overlap policy does not run is created `skipped`, with the reason.
 */
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'oom_killed',
  'cancelled',
  'lost',
  'skipped',
];

/** The statuses a run ends in when it went wrong: `listRuns({ status: FAILURE_RUN_STATUSES })`. */
export const FAILURE_RUN_STATUSES: readonly RunStatus[] = ['failed', 'timed_out', 'oom_killed', 'lost'];

export function isTerminalStatus(status: RunStatus): boolean {
  return TERMINAL_RUN_STATUSES.includes(status);
}

/** One page of a cursor-paginated list; pass `nextCursor` back as `cursor` for the next page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface PageOptions {
  limit?: number;
  cursor?: string;
}

export interface TenantLimits {
  maxMemoryMb: number;
  maxTimeoutSeconds: number;
  maxJobs: number;
  runsPerSecond: number;
  runBurst: number;
  maxSchedules: number;
  /** Shortest time between two ticks of one schedule. */
  minIntervalSeconds: number;
  /** Webhooks the tenant may have at once. */
  maxWebhooks: number;
  /** May the tenant create and run host commands (jobs without an image)? Only an admin sets it. */
  allowHostCommands: boolean;
}

export interface Tenant {
  id: string;
  name: string;
  limits: TenantLimits;
  createdAt: string;
}

export interface CreateTenantInput {
  name: string;
  limits?: Partial<TenantLimits>;
}

export interface UpdateTenantInput {
  /** The limits to change; the others keep their values. */
  limits: Partial<TenantLimits>;
}

export interface ApiKey {
  id: string;
  /** The secret itself: returned once, at creation, and never again. */
  key: string;
  tenantId: string;
  scope: 'tenant';
  prefix: string;
  name: string | null;
  createdAt: string;
}

/** A key as an admin lists it: never its secret. */
export interface ApiKeyInfo {
  id: string;
  name: string | null;
  scope: 'admin' | 'tenant';
  /** Null for admin keys. */
  tenantId: string | null;
  createdAt: string;
  /** When it last authenticated a request, to the minute; null if never. */
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface CreateKeyInput {
  name?: string;
}

export interface Job {
  id: string;
  name: string;
  /** OCI image reference; null means a host command run by the process runtime. */
  image: string | null;
  network: 'none' | 'egress';
  command: string[];
  args: string[];
  env: Record<string, string>;
  /** The memory limit, and what a run reserves on a worker (as set, or the default: a quarter of the limit). */
  resources: { memoryMb: number; memoryRequestMb: number };
  /**
   * How the server enforces `resources.memoryMb` for this host command: `cgroup` (over it the run ends
   * `oom_killed`), `address-space` (an RLIMIT_AS: allocations past it fail), `none`; null when it cannot say.
   */
  memoryLimit: 'cgroup' | 'address-space' | 'none' | null;
  timeoutSeconds: number;
  retry: { maxAttempts: number; backoffSeconds: number };
  createdAt: string;
  updatedAt: string;
}

export interface CreateJobInput {
  name: string;
  image?: string | null;
  /** A container's network: none (default) or egress. */
  network?: 'none' | 'egress';
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** `memoryRequestMb` at most `memoryMb`; null (on update) puts it back to the default. */
  resources?: { memoryMb?: number; memoryRequestMb?: number | null };
  timeoutSeconds?: number;
  retry?: { maxAttempts?: number; backoffSeconds?: number };
}

export type UpdateJobInput = Partial<CreateJobInput>;

export interface Run {
  id: string;
  jobId: string;
  scheduleId: string | null;
  status: RunStatus;
  attempt: number;
  exitCode: number | null;
  reason: string | null;
  createdAt: string;
  dispatchedAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** The tick it stands for: its creation for a run-now, `runAt` for a future run, a schedule's tick. */
  nominalTime: string;
  /** When its process should start: nominalTime plus its schedule's jitter. */
  dueAt: string;
  /** An earlier run of its schedule that it waits for (overlap policy buffer_one or replace). */
  blockedBy: string | null;
  /** startedAt − dueAt. */
  lagMs: number | null;
  /** The image manifest digest (sha256:…) it ran; null for host commands and before a pull. */
  imageDigest: string | null;
  args: string[] | null;
  env: Record<string, string> | null;
}

export interface RunEvent {
  at: string;
  type: string;
  attempt: number;
  status: RunStatus;
  detail: string | null;
}

/** A run as `GET /v1/runs/{id}` returns it: with its full timeline. */
export interface RunDetail extends Run {
  timeline: RunEvent[];
}

export interface CreateRunInput {
  /** Args for this run only. */
  args?: string[];
  /** Environment for this run only. */
  env?: Record<string, string>;
  /** ISO 8601: run at this time instead of now (at most 366 days ahead). */
  runAt?: string;
}

export interface CreateRunOptions {
  /** Replaying a key returns the run first created with it instead of creating another. */
  idempotencyKey?: string;
}

export interface ListRunsOptions extends PageOptions {
  /** A job id (a deleted job's too) or a live job's name; one the tenant does not have is a 404. */
  jobId?: string;
  scheduleId?: string;
  /** One status, or several: `['failed', 'timed_out', 'oom_killed', 'lost']` lists failures only. */
  status?: RunStatus | readonly RunStatus[];
  /** Runs created at or after this time (a scheduled run: its tick); ISO 8601 or a Date. */
  from?: string | Date;
  /** Runs created before this time; after `from`. */
  to?: string | Date;
}

export type OverlapPolicy = 'allow' | 'skip' | 'buffer_one' | 'replace';
export type CatchupMode = 'skip' | 'latest' | 'all';

export interface CatchupPolicy {
  mode: CatchupMode;
  windowSeconds: number;
  maxRuns: number;
}

export interface Schedule {
  id: string;
  jobId: string;
  /** A cron schedule: its expression (6 fields) and IANA zone; null for an interval. */
  cron: string | null;
  timezone: string | null;
  /** An interval schedule (`30s`, `5m`); null for a cron one. */
  every: string | null;
  startAt: string | null;
  endAt: string | null;
  paused: boolean;
  overlapPolicy: OverlapPolicy;
  catchup: CatchupPolicy;
  jitterSeconds: number;
  args: string[] | null;
  env: Record<string, string> | null;
  /** Its next tick; null while paused or once it has ended. */
  nextFireAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** Give exactly one of `cron` (with an optional `timezone`) and `every`. */
export interface CreateScheduleInput {
  cron?: string;
  timezone?: string;
  every?: string;
  startAt?: string | null;
  endAt?: string | null;
  paused?: boolean;
  overlapPolicy?: OverlapPolicy;
  catchup?: Partial<CatchupPolicy>;
  jitterSeconds?: number;
  args?: string[] | null;
  env?: Record<string, string> | null;
}

export type UpdateScheduleInput = CreateScheduleInput;

export interface ListSchedulesOptions extends PageOptions {
  /** A job id or a live job's name; one the tenant does not have is a 404. */
  jobId?: string;
}

export type DstNote = 'moved_out_of_gap' | 'repeated_time_first' | 'repeated_time_second';

export interface PreviewFire {
  /** The tick (the same as nominalTime). */
  at: string;
  nominalTime: string;
  /** The tick plus the schedule's jitter. */
  dueAt: string;
  /** The tick on the wall clock of the schedule's zone, with its offset: `2026-11-01T01:30:00-04:00`. */
  localTime: string;
  dst: DstNote | null;
}

/** What a bulk pause or resume acts on: listed schedule ids (1 to 500), or every schedule of one job. */
export type ScheduleSelection = { scheduleIds: string[] } | { jobId: string };

export type TickVerdict =
  | 'fired'
  | 'fired_late'
  | 'skipped'
  | 'outside_window'
  | 'paused'
  | 'not_yet_due'
  | 'pending'
  | 'unknown'
  | 'dropped'
  | 'manual';

/** Why one tick of a schedule did or did not run (or, verdict `manual`, a run of it made by hand). */
export interface TickExplanation {
  nominalTime: string;
  /** On the wall clock of the schedule's zone, with its offset. */
  localTime: string;
  verdict: TickVerdict;
  /** Why, in a sentence. */
  reason: string;
  runId: string | null;
  runStatus: RunStatus | null;
  dst: DstNote | null;
}

export interface TicksPage {
  from: string;
  to: string;
  items: TickExplanation[];
  /** When the window held more ticks than one answer: ask again from here. */
  nextFrom: string | null;
}

export interface ExplainTicksOptions {
  /** ISO 8601; default an hour before `to`. */
  from?: string;
  /** ISO 8601, exclusive; default now; at most 24 h after `from`. */
  to?: string;
}

/** An error body (`application/problem+json`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  field?: string;
  errors?: { field: string; message: string }[];
}

/** A tenant's login to a registry host, as listed: never its password. */
export interface RegistryLogin {
  /** Normalised: lower case, Docker Hub as `docker.io`. */
  host: string;
  username: string;
  createdAt: string;
  updatedAt: string;
}

export interface RegistryLoginInput {
  username: string;
  /** A password or access token: sealed by the server, never returned. */
  password: string;
}

/** The run outcomes a webhook can ask for. */
export type WebhookEvent =
  'succeeded' | 'failed' | 'timed_out' | 'oom_killed' | 'lost' | 'cancelled' | 'skipped';

export interface CreateWebhookInput {
  /** Absolute http(s) URL of a public host, without credentials. */
  url: string;
  events: WebhookEvent[];
  /** Only this job's runs (its id or name); absent: every job. */
  jobId?: string;
}

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  jobId: string | null;
  createdAt: string;
  /** True once the endpoint answered 410 Gone: nothing more is sent to it. */
  disabled: boolean;
  disabledAt: string | null;
  disabledReason: string | null;
}

export interface CreatedWebhook extends Webhook {
  /** `whsec_…`: in the create answer only. */
  secret: string;
}

export interface WebhookDelivery {
  /** The `webhook-id` header of every attempt. */
  id: string;
  runId: string;
  /** `run.succeeded`, `run.failed`, … */
  event: string;
  status: 'pending' | 'succeeded' | 'failed' | 'disabled';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export type StatsWindow = '1h' | '24h';

/** GET /v1/stats?window= (docs/api.md, "Stats"): the overview's numbers for one window. */
export interface RunStats {
  window: StatsWindow;
  from: string;
  to: string;
  bucketSeconds: number;
  series: { start: string; counts: Record<string, number> }[];
  lag: {
    count: number;
    p50Ms: number | null;
    p99Ms: number | null;
    maxMs: number | null;
    edgesMs: number[];
    counts: number[];
  };
  runningNow: number;
  recentFailures: {
    id: string;
    jobId: string;
    scheduleId: string | null;
    status: RunStatus;
    exitCode: number | null;
    reason: string | null;
    finishedAt: string;
  }[];
  upcoming: { id: string; jobId: string; scheduleId: string | null; availableAt: string; dueAt: string }[];
}
