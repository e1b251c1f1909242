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
] as const;

/** `queued → running → one terminal status`; a retry takes a running run back to `queued`. */
export type RunStatus = (typeof RUN_STATUSES)[number];

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = [
  'succeeded',
  'failed',
  'timed_out',
  'oom_killed',
  'cancelled',
  'lost',
];

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

export interface CreateKeyInput {
  name?: string;
}

export interface Job {
  id: string;
  name: string;
  /** OCI image reference; null means a host command run by the process runtime. */
  image: string | null;
  command: string[];
  args: string[];
  env: Record<string, string>;
  resources: { memoryMb: number };
  timeoutSeconds: number;
  retry: { maxAttempts: number; backoffSeconds: number };
  createdAt: string;
  updatedAt: string;
}

export interface CreateJobInput {
  name: string;
  image?: string | null;
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  resources?: { memoryMb?: number };
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
  nominalTime: string | null;
  lagMs: number | null;
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
}

export interface CreateRunOptions {
  /** Replaying a key returns the run first created with it instead of creating another. */
  idempotencyKey?: string;
}

export interface ListRunsOptions extends PageOptions {
  /** A job id (not a name). */
  jobId?: string;
  status?: RunStatus;
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
