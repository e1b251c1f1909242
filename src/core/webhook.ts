// Webhooks: a tenant's HTTP endpoint told about run outcomes, and the deliveries made to it. A delivery is
// created in the same transaction as the run status change it reports (the store's trigger on runs; see
// docs/architecture.md, "Webhook outbox"), then sent at least once by the deliverer.
//
// Delivery states:  pending ──2xx──▶ succeeded
//                      │  └──410──▶ disabled (and its webhook, and every pending delivery of it)
//                      └──(attempts run out)──▶ failed
// A pending delivery being sent is leased: its nextAttemptAt is the lease's end, when another sender (or this
// one, restarted) may send it again.

import { invalid } from './errors.js';
import { hostRefusal } from './ip-address.js';
import { TERMINAL_STATUSES, type RunStatus } from './run-state.js';

/** The events a webhook can ask for: every terminal run status (a run's outcome), `run.<status>`. */
export const WEBHOOK_EVENTS: readonly RunStatus[] = TERMINAL_STATUSES;

export const MAX_WEBHOOK_URL_CHARS = 2000;

/** `whsec_` and the base64 of this many random bytes (Standard Webhooks: 24 to 64). */
export const WEBHOOK_SECRET_BYTES = 32;
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed', 'disabled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Webhook {
  id: string;
  tenantId: string;
  url: string;
  events: RunStatus[];
  /** Only this job's runs; null: every job of the tenant. */
  jobId: string | null;
  /** `whsec_…`: shown to the tenant once, at creation; kept to sign every delivery. */
  secret: string;
  createdAt: number;
  /** Set when the endpoint answered 410 Gone: nothing more is sent to it. */
  disabledAt: number | null;
  disabledReason: string | null;
}

export interface WebhookDelivery {
  /** The `webhook-id` header: the same on every attempt. */
  id: string;
  tenantId: string;
  webhookId: string;
  runId: string;
  event: RunStatus;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  /** When it is (re)sent; while an attempt is in flight, when its lease ends. Null once settled. */
  nextAttemptAt: number | null;
  createdAt: number;
  deliveredAt: number | null;
}

/** The event type of a run outcome in a payload: `run.succeeded`, `run.timed_out`, … */
export const eventType = (status: RunStatus): string => `run.${status}`;

/** Checks a webhook's `events`: non-empty, unique, each a run outcome. */
export function checkWebhookEvents(events: readonly string[]): RunStatus[] {
  if (events.length === 0) throw invalid('events', 'name at least one run outcome');
  const seen = new Set<string>();
  for (const event of events) {
    if (!(WEBHOOK_EVENTS as readonly string[]).includes(event)) {
      throw invalid('events', `${JSON.stringify(event)} is not a run outcome (${WEBHOOK_EVENTS.join(', ')})`);
    }
    if (seen.has(event)) throw invalid('events', `${JSON.stringify(event)} is listed twice`);
    seen.add(event);
  }
  return [...seen] as RunStatus[];
}

/** `host:port` of a URL, with the scheme's default port filled in: what the operator's allow-list names. */
export function hostPortOf(url: URL): string {
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  return `${url.hostname.toLowerCase()}:${port}`;
}

/**
 * Checks a webhook URL: absolute http(s), at most MAX_WEBHOOK_URL_CHARS, no credentials, and a host that is
 * not a literal loopback, private, link-local or otherwise non-public address (nor `localhost`) — unless the
 * operator allows its `host:port`. Returns the URL as parsed (normalised).
 */
export function checkWebhookUrl(raw: string, allowedHosts: ReadonlySet<string>): string {
  if (raw.length > MAX_WEBHOOK_URL_CHARS) {
    throw invalid('url', `must be at most ${MAX_WEBHOOK_URL_CHARS} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('url', 'must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid('url', 'must be an http:// or https:// URL');
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('url', 'must not carry credentials (user:password@); check the signature instead');
  }
  if (url.hostname === '') throw invalid('url', 'must name a host');
  if (!allowedHosts.has(hostPortOf(url))) {
    const refusal = hostRefusal(url.hostname);
    if (refusal !== null)
      throw invalid('url', `${url.hostname} is ${refusal}: webhooks go to public addresses`);
  }
  if (url.href.length > MAX_WEBHOOK_URL_CHARS) {
    throw invalid('url', `must be at most ${MAX_WEBHOOK_URL_CHARS} characters`);
  }
  return url.href;
}
