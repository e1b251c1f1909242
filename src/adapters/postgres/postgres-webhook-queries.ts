// The webhooks and webhook_deliveries tables. Deliveries are inserted only by the triggers on runs
// (postgres-migrations.ts, migration 11); here they are listed, claimed by the deliverer with a lease
// (FOR UPDATE SKIP LOCKED, so concurrent claimers in several processes take different rows), and settled,
// each write fenced by the claim's token so a sender whose lease ran out cannot overwrite a later claim.
// Every tenant-facing read takes the tenant id.

import { randomBytes } from 'node:crypto';
import { HourglassError } from '../../core/errors.js';
import type { RunStatus } from '../../core/run-state.js';
import type { DeliveryStatus, Webhook, WebhookDelivery } from '../../core/webhook.js';
import type { ClaimedDelivery, DeliveryRecord, Page } from '../../ports/store.js';
import type { Sql } from './postgres-database.js';
import { lockTenantLimits } from './postgres-locks.js';
import { BEFORE_ALL_IDS, toPage } from './postgres-rows.js';

interface WebhookRow {
  id: string;
  tenant_id: string;
  url: string;
  events: string[];
  job_id: string | null;
  secret: string;
  created_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
}

interface DeliveryRow {
  seq: number;
  id: string;
  tenant_id: string;
  webhook_id: string;
  run_id: string;
  event: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: number | null;
  claim_token: string | null;
  created_at: number;
  delivered_at: number | null;
}

const rowToWebhook = (row: WebhookRow): Webhook => ({
  id: row.id,
  tenantId: row.tenant_id,
  url: row.url,
  events: row.events as RunStatus[],
  jobId: row.job_id,
  secret: row.secret,
  createdAt: row.created_at,
  disabledAt: row.disabled_at,
  disabledReason: row.disabled_reason,
});

const rowToDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  tenantId: row.tenant_id,
  webhookId: row.webhook_id,
  runId: row.run_id,
  event: row.event as RunStatus,
  status: row.status as DeliveryStatus,
  attempts: row.attempts,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  nextAttemptAt: row.next_attempt_at,
  createdAt: row.created_at,
  deliveredAt: row.delivered_at,
});

const DELIVERY_COLUMNS = `seq, id, tenant_id, webhook_id, run_id, event, status, attempts, last_status_code,
  last_error, next_attempt_at, claim_token, created_at, delivered_at`;

/** In a transaction: counted and inserted under the tenant's plan-limit lock (postgres-locks.ts). */
export async function insertWebhook(sql: Sql, webhook: Webhook, maxWebhooks: number): Promise<void> {
  await lockTenantLimits(sql, webhook.tenantId);
  const counted = await sql.first<{ n: number }>('SELECT COUNT(*) AS n FROM webhooks WHERE tenant_id = $1', [
    webhook.tenantId,
  ]);
  if ((counted?.n ?? 0) >= maxWebhooks) {
    throw new HourglassError(
      'plan_limit_exceeded',
      `the plan allows at most ${maxWebhooks} webhooks (limit maxWebhooks); delete one first`,
      {
        limit: 'maxWebhooks',
      },
    );
  }
  await sql.changes(
    `INSERT INTO webhooks (id, tenant_id, url, events, job_id, secret, created_at, disabled_at, disabled_reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      webhook.id,
      webhook.tenantId,
      webhook.url,
      webhook.events,
      webhook.jobId,
      webhook.secret,
      webhook.createdAt,
      webhook.disabledAt,
      webhook.disabledReason,
    ],
  );
}

export async function getWebhook(sql: Sql, tenantId: string, webhookId: string): Promise<Webhook | null> {
  const row = await sql.first<WebhookRow>('SELECT * FROM webhooks WHERE tenant_id = $1 AND id = $2', [
    tenantId,
    webhookId,
  ]);
  return row === undefined ? null : rowToWebhook(row);
}

export async function listWebhooks(
  sql: Sql,
  tenantId: string,
  limit: number,
  cursor?: string,
): Promise<Page<Webhook>> {
  const rows = await sql.rows<WebhookRow>(
    'SELECT * FROM webhooks WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3',
    [tenantId, cursor ?? BEFORE_ALL_IDS, limit + 1],
  );
  return toPage(rows, limit, rowToWebhook);
}

/** In a transaction: the webhook and its deliveries go together. */
export async function deleteWebhook(sql: Sql, tenantId: string, webhookId: string): Promise<boolean> {
  await sql.changes('DELETE FROM webhook_deliveries WHERE tenant_id = $1 AND webhook_id = $2', [
    tenantId,
    webhookId,
  ]);
  return (
    (await sql.changes('DELETE FROM webhooks WHERE tenant_id = $1 AND id = $2', [tenantId, webhookId])) > 0
  );
}

/** A deliveries cursor: the seq it stopped at. */
function seqOf(cursor: string): number {
  if (!/^\d{1,15}$/.test(cursor)) {
    throw new HourglassError('validation_failed', 'cursor: not a cursor of this list', { field: 'cursor' });
  }
  return Number(cursor);
}

export async function listDeliveries(
  sql: Sql,
  tenantId: string,
  webhookId: string,
  limit: number,
  cursor?: string,
): Promise<Page<WebhookDelivery> | null> {
  if ((await getWebhook(sql, tenantId, webhookId)) === null) return null;
  const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : seqOf(cursor);
  const rows = await sql.rows<DeliveryRow>(
    `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries
     WHERE tenant_id = $1 AND webhook_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4`,
    [tenantId, webhookId, before, limit + 1],
  );
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map(rowToDelivery),
    nextCursor: rows.length > limit && last !== undefined ? String(last.seq) : null,
  };
}

/** One statement: the due rows are locked (skipping those another claimer holds) and leased together. */
export async function claimDeliveries(
  sql: Sql,
  nowMs: number,
  leaseUntil: number,
  limit: number,
): Promise<ClaimedDelivery[]> {
  const token = randomBytes(12).toString('hex');
  const rows = await sql.rows<DeliveryRow & { url: string; secret: string }>(
    // Only deliveries of a live webhook: one made by a run ending while its webhook was being deleted or
    // disabled (READ COMMITTED lets the trigger see the webhook a moment longer) is never claimed, so it
    // cannot keep taking the oldest places of every claim; pruning removes it.
    `WITH due AS (
       SELECT d.seq FROM webhook_deliveries d
         JOIN webhooks w ON w.id = d.webhook_id AND w.disabled_at IS NULL
       WHERE d.status = 'pending' AND d.next_attempt_at <= $1
       ORDER BY d.next_attempt_at, d.seq LIMIT $3 FOR UPDATE OF d SKIP LOCKED
     )
     UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $2, claim_token = $4
     FROM due, webhooks w WHERE d.seq = due.seq AND w.id = d.webhook_id
     RETURNING ${DELIVERY_COLUMNS.split(',')
       .map((column) => `d.${column.trim()}`)
       .join(', ')}, w.url, w.secret`,
    [nowMs, leaseUntil, limit, token],
  );
  return rows.map((row) => ({
    delivery: rowToDelivery(row),
    url: row.url,
    secret: row.secret,
    claimToken: token,
  }));
}

const SETTLE = `UPDATE webhook_deliveries SET status = $1, last_status_code = $2, last_error = $3,
    next_attempt_at = $4, delivered_at = $5, claim_token = NULL
  WHERE id = $6 AND claim_token = $7 AND status = 'pending'`;

/** In a transaction (a disable writes the webhook and its pending deliveries too). */
export async function recordDeliveryAttempt(
  sql: Sql,
  claimed: ClaimedDelivery,
  outcome: DeliveryRecord,
  nowMs: number,
): Promise<boolean> {
  const { id, webhookId } = claimed.delivery;
  const token = claimed.claimToken;
  const settle = (
    status: string,
    code: number | null,
    error: string | null,
    next: number | null,
    at: number | null,
  ) => sql.changes(SETTLE, [status, code, error, next, at, id, token]).then((n) => n > 0);
  switch (outcome.kind) {
    case 'succeeded':
      return settle('succeeded', outcome.statusCode, null, null, nowMs);
    case 'retry':
      return settle('pending', outcome.statusCode, outcome.error, outcome.nextAttemptAt, null);
    case 'failed':
      return settle('failed', outcome.statusCode, outcome.error, null, null);
    case 'disable': {
      if (!(await settle('disabled', outcome.statusCode, outcome.reason, null, null))) return false;
      await sql.changes(
        'UPDATE webhooks SET disabled_at = $1, disabled_reason = $2 WHERE id = $3 AND disabled_at IS NULL',
        [nowMs, outcome.reason, webhookId],
      );
      await sql.changes(
        `UPDATE webhook_deliveries SET status = 'disabled', last_error = $1, next_attempt_at = NULL,
           claim_token = NULL
         WHERE webhook_id = $2 AND status = 'pending'`,
        [outcome.reason, webhookId],
      );
      return true;
    }
  }
}

/** Old settled deliveries, and pending ones left without a live webhook (see claimDeliveries). */
export async function pruneDeliveries(sql: Sql, before: number, limit: number): Promise<number> {
  return sql.changes(
    `DELETE FROM webhook_deliveries WHERE seq IN (
       SELECT seq FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1 ORDER BY created_at LIMIT $2)
     OR seq IN (
       SELECT seq FROM webhook_deliveries d WHERE status = 'pending' AND next_attempt_at < $1
         AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id AND w.disabled_at IS NULL)
       LIMIT $2)`,
    [before, limit],
  );
}
