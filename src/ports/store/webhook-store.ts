// Webhooks and their deliveries. Deliveries are never created through this port: the store makes them itself,
// in the transaction that moves a run to a terminal status (every path: an attempt's end, a cancel, the
// reaper's `lost`, a skipped tick, a replace, a job's deletion), one per webhook of the run's tenant whose
// events and job match — so no outcome is lost between the status change and its delivery (docs/architecture.md,
// "Webhook outbox"). The deliverer claims due ones with a lease and records each attempt, fenced by its claim.

import type { Webhook, WebhookDelivery } from '../../core/webhook.js';
import type { Page } from './page.js';

/** A delivery a sender holds until `leaseUntil`, with what it needs to send it. */
export interface ClaimedDelivery {
  delivery: WebhookDelivery;
  url: string;
  secret: string;
  /** Proves the claim when the attempt is recorded: a later claim of the same delivery replaces it. */
  claimToken: string;
}

export type DeliveryRecord =
  | { kind: 'succeeded'; statusCode: number }
  | { kind: 'retry'; statusCode: number | null; error: string; nextAttemptAt: number }
  | { kind: 'failed'; statusCode: number | null; error: string }
  /** The webhook is disabled with `reason`; this delivery and every pending one of it become `disabled`. */
  | { kind: 'disable'; statusCode: number; reason: string };

export interface WebhookStore {
  /**
   * Inserts the webhook if the tenant has fewer than `maxWebhooks`, checked in the same transaction; throws
   * `plan_limit_exceeded` (limit `maxWebhooks`) otherwise. Concurrency: never exceeded by concurrent inserts
   * of one tenant in any process (count and insert serialized per tenant).
   */
  insertWebhook(webhook: Webhook, maxWebhooks: number): Promise<void>;
  getWebhook(tenantId: string, webhookId: string): Promise<Webhook | null>;
  /** The tenant's webhooks in id (creation) order, after `cursor`. */
  listWebhooks(tenantId: string, limit: number, cursor?: string): Promise<Page<Webhook>>;
  /** Removes the webhook and its deliveries; false when the tenant has no such webhook. */
  deleteWebhook(tenantId: string, webhookId: string): Promise<boolean>;
  /** The webhook's deliveries, newest first; null when the tenant has no such webhook. */
  listDeliveries(
    tenantId: string,
    webhookId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<WebhookDelivery> | null>;
  /**
   * Claims up to `limit` pending deliveries due at `nowMs` (oldest due first): counts an attempt on each and
   * sets its nextAttemptAt to `leaseUntil`, when it is due again should the sender die. Concurrency: claims
   * from any number of processes never hand one delivery to two senders within its lease.
   */
  claimDeliveries(nowMs: number, leaseUntil: number, limit: number): Promise<ClaimedDelivery[]>;
  /**
   * Deletes up to `limit` settled (not pending) deliveries made before `before`, oldest first; returns how
   * many. Pending ones are kept however old: they are still to be sent.
   */
  pruneDeliveries(before: number, limit: number): Promise<number>;
  /** Records an attempt's outcome at `nowMs`; false (nothing written) when the claim is no longer held. */
  recordDeliveryAttempt(claim: ClaimedDelivery, record: DeliveryRecord, nowMs: number): Promise<boolean>;
}
