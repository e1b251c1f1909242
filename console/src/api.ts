// The console's client of the REST API: same origin, `Authorization: Bearer <key>`, and problem+json errors
// turned into an ApiError carrying the API's own message. A 401 tells the app the key no longer works.

import { TERMINAL_RUN_STATUSES } from '../../src/sdk/types';

// The API's shapes are the SDK's (src/sdk/types.ts has no imports and no Node code), so the console and the
// SDK cannot drift apart.
export * from '../../src/sdk/types';

/** Statuses a run never leaves: a page stops polling and following its log there. */
export const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_RUN_STATUSES);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The request field at fault, as the problem's `field` names it (`resources.memoryMb`); null if none. */
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type UnauthorizedListener = (message: string) => void;
let onUnauthorized: UnauthorizedListener = () => {};

/** Called with the API's message when a request is refused with 401 (a revoked or expired key). */
export function setUnauthorizedListener(listener: UnauthorizedListener): void {
  onUnauthorized = listener;
}

async function errorOf(response: Response): Promise<ApiError> {
  const text = await response.text();
  let message = `${response.status} ${response.statusText}`;
  let field: string | null = null;
  try {
    const body = JSON.parse(text) as { detail?: string; title?: string; field?: string };
    message = body.detail ?? body.title ?? message;
    field = body.field ?? null;
  } catch {
    if (text.trim() !== '') message = text.trim();
  }
  return new ApiError(response.status, message, field);
}

/** Sends a request with `key`; throws ApiError on any answer but 2xx. */
export async function send(key: string, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (error) {
    throw new ApiError(0, `the server cannot be reached (${(error as Error).message})`);
  }
  if (response.ok) return response;
  const error = await errorOf(response);
  if (response.status === 401) onUnauthorized(error.message);
  throw error;
}

export async function getJson<T>(key: string, path: string): Promise<T> {
  return (await (await send(key, 'GET', path)).json()) as T;
}

export async function postJson<T>(key: string, path: string, body: unknown = {}): Promise<T> {
  return (await (await send(key, 'POST', path, body)).json()) as T;
}

export type KeyKind = 'tenant' | 'admin';

/**
 * Checks a key before keeping it, and says which kind it is: a tenant key lists its jobs; an admin key
 * (refused there with 403) lists tenants. Throws the API's error for a key it does not accept, without
 * reporting a 401 to the app.
 */
export async function checkKey(key: string): Promise<KeyKind> {
  const headers = { authorization: `Bearer ${key}` };
  const jobs = await fetch('/v1/jobs?limit=1', { headers });
  if (jobs.ok) return 'tenant';
  if (jobs.status === 403) {
    const tenants = await fetch('/v1/tenants?limit=1', { headers });
    if (tenants.ok) return 'admin';
    throw await errorOf(tenants);
  }
  throw await errorOf(jobs);
}

/**
 * Streams a run's log (GET /v1/runs/{id}/logs?follow=true) into `onText` until the run ends or `signal`
 * aborts; resolves when the stream is over.
 */
export async function followLog(
  key: string,
  runId: string,
  onText: (text: string) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await fetch(`/v1/runs/${encodeURIComponent(runId)}/logs?follow=true`, {
    headers: { authorization: `Bearer ${key}` },
    signal,
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401) onUnauthorized(error.message);
    throw error;
  }
  if (response.body === null) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    onText(value);
  }
}
