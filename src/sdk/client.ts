// HourglassClient: a typed client of the Hourglass REST API (v1). It knows only the HTTP contract: every
// method is one request (except waitForRun, which polls), and errors come back as HourglassApiError.

import { errorFromResponse, HourglassConnectionError } from './errors.js';
import {
  isTerminalStatus,
  type ApiKey,
  type ApiKeyInfo,
  type CreateJobInput,
  type CreateKeyInput,
  type CreateRunInput,
  type CreateRunOptions,
  type CreateScheduleInput,
  type CreateTenantInput,
  type ExplainTicksOptions,
  type Job,
  type ListRunsOptions,
  type ListSchedulesOptions,
  type Page,
  type PageOptions,
  type PreviewFire,
  type RegistryLogin,
  type RegistryLoginInput,
  type Run,
  type RunDetail,
  type Schedule,
  type ScheduleSelection,
  type Tenant,
  type TicksPage,
  type UpdateTenantInput,
  type UpdateJobInput,
  type UpdateScheduleInput,
  type CreatedWebhook,
  type CreateWebhookInput,
  type Webhook,
  type WebhookDelivery,
} from './types.js';

export interface HourglassClientOptions {
  /** Where the API listens, e.g. `http://127.0.0.1:7420` (without `/v1`). */
  baseUrl: string;
  /** An admin key (tenants, keys) or a tenant key (jobs, runs, logs). */
  apiKey: string;
  /** A fetch implementation; the global one by default. */
  fetch?: typeof fetch;
}

export interface SignalOptions {
  signal?: AbortSignal;
}

export interface WaitForRunOptions extends SignalOptions {
  /** Time between polls; 500 ms by default. */
  pollMs?: number;
}

type Query = Record<string, string | number | undefined>;

interface RequestOptions extends SignalOptions {
  query?: Query;
  body?: unknown;
  headers?: Record<string, string>;
  accept?: string;
}

const segment = encodeURIComponent;

export class HourglassClient {
  readonly baseUrl: string;
  readonly #apiKey: string;
  readonly #fetch: typeof fetch;

  constructor(options: HourglassClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    // Wrapped so that fetch is never called with the client as `this` (browsers reject that).
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  // Admin: tenants and keys.

  createTenant(input: CreateTenantInput): Promise<Tenant> {
    return this.#json('POST', '/v1/tenants', { body: input });
  }

  async listTenants(): Promise<Tenant[]> {
    const page = await this.#json<{ items: Tenant[] }>('GET', '/v1/tenants');
    return page.items;
  }

  /** Changes some of a tenant's limits (admin only), e.g. `{ limits: { allowHostCommands: true } }`. */
  updateTenant(tenantId: string, input: UpdateTenantInput): Promise<Tenant> {
    return this.#json('PATCH', `/v1/tenants/${segment(tenantId)}`, { body: input });
  }

  /** Creates an API key for a tenant. The secret (`key`) is in this answer only. */
  createKey(tenantId: string, input: CreateKeyInput = {}): Promise<ApiKey> {
    return this.#json('POST', `/v1/tenants/${segment(tenantId)}/keys`, { body: input });
  }

  /** Lists API keys (every one, or a tenant's): ids, names, scopes, created and last used. Never secrets. */
  async listKeys(filter: { tenantId?: string } = {}): Promise<ApiKeyInfo[]> {
    const page = await this.#json<{ items: ApiKeyInfo[] }>('GET', '/v1/keys', {
      query: { tenantId: filter.tenantId },
    });
    return page.items;
  }

  async revokeKey(keyId: string): Promise<void> {
    await this.#empty('DELETE', `/v1/keys/${segment(keyId)}`);
  }

  // Jobs.

  createJob(spec: CreateJobInput): Promise<Job> {
    return this.#json('POST', '/v1/jobs', { body: spec });
  }

  listJobs(options: PageOptions = {}): Promise<Page<Job>> {
    return this.#json('GET', '/v1/jobs', { query: { limit: options.limit, cursor: options.cursor } });
  }

  getJob(idOrName: string): Promise<Job> {
    return this.#json('GET', `/v1/jobs/${segment(idOrName)}`);
  }

  updateJob(idOrName: string, patch: UpdateJobInput): Promise<Job> {
    return this.#json('PATCH', `/v1/jobs/${segment(idOrName)}`, { body: patch });
  }

  async deleteJob(idOrName: string): Promise<void> {
    await this.#empty('DELETE', `/v1/jobs/${segment(idOrName)}`);
  }

  // Runs and logs.

  /** Starts a run of a job now, or at `input.runAt`. Replaying an idempotency key returns the run first created with it. */
  createRun(jobIdOrName: string, input: CreateRunInput = {}, options: CreateRunOptions = {}): Promise<Run> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    return this.#json('POST', `/v1/jobs/${segment(jobIdOrName)}/runs`, { body: input, headers });
  }

  listRuns(options: ListRunsOptions = {}): Promise<Page<Run>> {
    const { jobId, scheduleId, limit, cursor } = options;
    // An empty list filters nothing, as no status does.
    const status =
      typeof options.status === 'string' ? options.status : options.status?.join(',') || undefined;
    const instant = (at: string | Date | undefined) => (at instanceof Date ? at.toISOString() : at);
    const [from, to] = [instant(options.from), instant(options.to)];
    return this.#json('GET', '/v1/runs', { query: { jobId, scheduleId, status, from, to, limit, cursor } });
  }

  getRun(id: string, options: SignalOptions = {}): Promise<RunDetail> {
    return this.#json('GET', `/v1/runs/${segment(id)}`, options);
  }

  /** Asks for a run to stop; fails with code `run_already_finished` when it has ended. */
  cancelRun(id: string): Promise<Run> {
    return this.#json('POST', `/v1/runs/${segment(id)}/cancel`);
  }

  /** The run's whole log so far. */
  async getLogs(id: string, options: SignalOptions = {}): Promise<string> {
    const response = await this.#request('GET', `/v1/runs/${segment(id)}/logs`, {
      ...options,
      accept: 'text/plain',
    });
    return response.text();
  }

  /** The run's log from the start, as it is written, until the run ends (or `signal` aborts). */
  async *followLogs(id: string, options: SignalOptions = {}): AsyncGenerator<string, void, undefined> {
    const url = `/v1/runs/${segment(id)}/logs`;
    const response = await this.#request('GET', url, {
      ...options,
      query: { follow: 'true' },
      accept: 'text/plain',
    });
    if (response.body === null) return;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    try {
      for (;;) {
        const { done, value } = await reader.read().catch((error: unknown) => {
          throw options.signal?.aborted
            ? error
            : new HourglassConnectionError(this.baseUrl + url, error, 'lost the connection to');
        });
        if (done) break;
        const text = decoder.decode(value, { stream: true });
        if (text !== '') yield text;
      }
      const rest = decoder.decode();
      if (rest !== '') yield rest;
    } finally {
      // Closes the connection when the caller stops reading early; harmless after the end.
      await reader.cancel().catch(() => undefined);
    }
  }

  /** Polls the run until it reaches a terminal status, and returns it then. */
  async waitForRun(id: string, options: WaitForRunOptions = {}): Promise<RunDetail> {
    const { pollMs = 500, signal } = options;
    for (;;) {
      const run = await this.getRun(id, { signal });
      if (isTerminalStatus(run.status)) return run;
      await sleep(pollMs, signal);
    }
  }

  // Schedules.

  createSchedule(jobIdOrName: string, input: CreateScheduleInput): Promise<Schedule> {
    return this.#json('POST', `/v1/jobs/${segment(jobIdOrName)}/schedules`, { body: input });
  }

  listSchedules(options: ListSchedulesOptions = {}): Promise<Page<Schedule>> {
    const { jobId, limit, cursor } = options;
    return this.#json('GET', '/v1/schedules', { query: { jobId, limit, cursor } });
  }

  getSchedule(id: string): Promise<Schedule> {
    return this.#json('GET', `/v1/schedules/${segment(id)}`);
  }

  /** Changes the fields given; a change of timing takes effect from now. */
  updateSchedule(id: string, patch: UpdateScheduleInput): Promise<Schedule> {
    return this.#json('PATCH', `/v1/schedules/${segment(id)}`, { body: patch });
  }

  pauseSchedule(id: string): Promise<Schedule> {
    return this.#json('POST', `/v1/schedules/${segment(id)}/pause`);
  }

  /** Resumes from now on: ticks missed while it was paused are not caught up. */
  resumeSchedule(id: string): Promise<Schedule> {
    return this.#json('POST', `/v1/schedules/${segment(id)}/resume`);
  }

  /** Pauses every selected schedule, all or nothing; answers them in the order asked. */
  async pauseSchedules(selection: ScheduleSelection): Promise<Schedule[]> {
    const page = await this.#json<{ items: Schedule[] }>('POST', '/v1/schedules/pause', { body: selection });
    return page.items;
  }

  /** Resumes every selected schedule, all or nothing (refused whole if over the plan's runsPerSecond). */
  async resumeSchedules(selection: ScheduleSelection): Promise<Schedule[]> {
    const page = await this.#json<{ items: Schedule[] }>('POST', '/v1/schedules/resume', { body: selection });
    return page.items;
  }

  /**
   * Runs the schedule's job now with the schedule's args and env, by hand: outside its overlap policy, and
   * without moving its next tick. Rate-limited like createRun; an idempotency key replays the first run.
   */
  runScheduleNow(id: string, options: CreateRunOptions = {}): Promise<Run> {
    const headers: Record<string, string> = {};
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    return this.#json('POST', `/v1/schedules/${segment(id)}/runs`, { body: {}, headers });
  }

  /** Why each tick of a window did or did not run (by default the last hour). */
  explainScheduleTicks(id: string, options: ExplainTicksOptions = {}): Promise<TicksPage> {
    return this.#json('GET', `/v1/schedules/${segment(id)}/ticks`, {
      query: { from: options.from, to: options.to },
    });
  }

  async deleteSchedule(id: string): Promise<void> {
    await this.#empty('DELETE', `/v1/schedules/${segment(id)}`);
  }

  /** Its next `count` ticks (10 by default, at most 100), with daylight-saving effects noted. */
  async previewSchedule(id: string, options: { count?: number } = {}): Promise<PreviewFire[]> {
    const page = await this.#json<{ items: PreviewFire[] }>('GET', `/v1/schedules/${segment(id)}/preview`, {
      query: { count: options.count },
    });
    return page.items;
  }

  // Registry logins (the tenant's, for pulling its private images).

  /** Stores (or replaces) the login for `host` (`host[:port]`); the password is never returned. */
  loginRegistry(host: string, input: RegistryLoginInput): Promise<RegistryLogin> {
    return this.#json('PUT', `/v1/registries/${segment(host)}`, { body: input });
  }

  async listRegistryLogins(): Promise<RegistryLogin[]> {
    const page = await this.#json<{ items: RegistryLogin[] }>('GET', '/v1/registries');
    return page.items;
  }

  /** Removes the login for `host`; fails with `not_found` when there is none. */
  async logoutRegistry(host: string): Promise<void> {
    await this.#empty('DELETE', `/v1/registries/${segment(host)}`);
  }

  // Webhooks: run outcomes POSTed to the tenant's endpoints, signed per Standard Webhooks.

  /** Creates a webhook; the answer's `secret` (whsec_…) is shown this once and verifies its signatures. */
  createWebhook(input: CreateWebhookInput): Promise<CreatedWebhook> {
    return this.#json('POST', '/v1/webhooks', { body: input });
  }

  listWebhooks(options: PageOptions = {}): Promise<Page<Webhook>> {
    return this.#json('GET', '/v1/webhooks', { query: { limit: options.limit, cursor: options.cursor } });
  }

  getWebhook(id: string): Promise<Webhook> {
    return this.#json('GET', `/v1/webhooks/${segment(id)}`);
  }

  async deleteWebhook(id: string): Promise<void> {
    await this.#empty('DELETE', `/v1/webhooks/${segment(id)}`);
  }

  /** The webhook's deliveries, newest first. */
  listWebhookDeliveries(id: string, options: PageOptions = {}): Promise<Page<WebhookDelivery>> {
    return this.#json('GET', `/v1/webhooks/${segment(id)}/deliveries`, {
      query: { limit: options.limit, cursor: options.cursor },
    });
  }

  // Transport.

  async #json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const response = await this.#request(method, path, options);
    return (await response.json()) as T;
  }

  async #empty(method: string, path: string): Promise<void> {
    const response = await this.#request(method, path);
    await response.body?.cancel();
  }

  async #request(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    const url = this.baseUrl + path + queryString(options.query);
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.#apiKey}`,
      accept: options.accept ?? 'application/json',
      ...options.headers,
    };
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (options.signal !== undefined) init.signal = options.signal;
    let response: Response;
    try {
      response = await this.#fetch(url, init);
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw new HourglassConnectionError(url, error);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }
}

function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
