// The webhooks and webhook_deliveries tables. Deliveries are inserted only by the triggers on runs
// (sqlite-migrations.ts, migration 17); here they are listed, claimed by the deliverer with a lease, and
// settled, each write fenced by the claim's token so a sender whose lease ran out cannot overwrite a later
// claim. Every tenant-facing read takes the tenant id.

import { randomBytes } from 'node:crypto';
import type Database from 'better-sqlite3';
import { HourglassError } from '../../core/errors.js';
import type { RunStatus } from '../../core/run-state.js';
import type { DeliveryStatus, Webhook, WebhookDelivery } from '../../core/webhook.js';
import type { ClaimedDelivery, DeliveryRecord, Page } from '../../ports/store.js';
import { BEFORE_ALL_IDS, toPage } from './sqlite-rows.js';

interface WebhookRow {
  id: string;
  tenant_id: string;
  url: string;
  events_json: string;
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
  events: JSON.parse(row.events_json) as RunStatus[],
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

/** Deliveries page by seq, newest first; the cursor is the last seq shown. */
const SEQ_CURSOR = /^\d{1,15}$/;

export function compileWebhookQueries(db: Database.Database) {
  const count = db.prepare<[string], number>('SELECT COUNT(*) FROM webhooks WHERE tenant_id = ?').pluck();
  const insert = db.prepare<[WebhookRow]>(`INSERT INTO webhooks (id, tenant_id, url, events_json, job_id,
      secret, created_at, disabled_at, disabled_reason)
    VALUES (@id, @tenant_id, @url, @events_json, @job_id, @secret, @created_at, @disabled_at, @disabled_reason)`);
  const get = db.prepare<[string, string], WebhookRow>(
    'SELECT * FROM webhooks WHERE tenant_id = ? AND id = ?',
  );
  const page = db.prepare<[string, string, number], WebhookRow>(
    'SELECT * FROM webhooks WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?',
  );
  const removeDeliveries = db.prepare<[string, string]>(
    'DELETE FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?',
  );
  const remove = db.prepare<[string, string]>('DELETE FROM webhooks WHERE tenant_id = ? AND id = ?');
  const deliveries = db.prepare<
    [string, string, number, number],
    DeliveryRow
  >(`SELECT * FROM webhook_deliveries
    WHERE tenant_id = ? AND webhook_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`);
  const due = db
    .prepare<[number, number], number>(
      // Only deliveries of a live webhook, as on PostgreSQL (where a race can leave others behind).
      `SELECT d.seq FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.disabled_at IS NULL
      WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.seq LIMIT ?`,
    )
    .pluck();
  const claim = db.prepare<[number, string, number], DeliveryRow>(`UPDATE webhook_deliveries
    SET attempts = attempts + 1, next_attempt_at = ?, claim_token = ? WHERE seq = ? RETURNING *`);
  const target = db.prepare<[string], Pick<WebhookRow, 'url' | 'secret'>>(
    'SELECT url, secret FROM webhooks WHERE id = ?',
  );
  const settle = db.prepare<
    [string, number | null, string | null, number | null, number | null, string, string]
  >(
    `UPDATE webhook_deliveries SET status = ?, last_status_code = ?, last_error = ?, next_attempt_at = ?,
       delivered_at = ?, claim_token = NULL
     WHERE id = ? AND claim_token = ? AND status = 'pending'`,
  );
  const disable = db.prepare<[number, string, string]>(
    'UPDATE webhooks SET disabled_at = ?, disabled_reason = ? WHERE id = ? AND disabled_at IS NULL',
  );
  const disablePending = db.prepare<[string, string]>(`UPDATE webhook_deliveries
    SET status = 'disabled', last_error = ?, next_attempt_at = NULL, claim_token = NULL
    WHERE webhook_id = ? AND status = 'pending'`);

  // Old settled deliveries, and pending ones left without a live webhook (none here: writes are serial).
  const prune = db.prepare<[{ before: number; limit: number }]>(`DELETE FROM webhook_deliveries WHERE seq IN (
    SELECT seq FROM webhook_deliveries WHERE status <> 'pending' AND created_at < @before ORDER BY created_at LIMIT @limit)
    OR seq IN (
      SELECT seq FROM webhook_deliveries d WHERE status = 'pending' AND next_attempt_at < @before
        AND NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id AND w.disabled_at IS NULL)
      LIMIT @limit)`);

  const insertWithinLimit = db.transaction((webhook: Webhook, maxWebhooks: number): void => {
    if ((count.get(webhook.tenantId) ?? 0) >= maxWebhooks) {
      throw new HourglassError(
        'plan_limit_exceeded',
        `the plan allows at most ${maxWebhooks} webhooks (limit maxWebhooks); delete one first`,
        {
          limit: 'maxWebhooks',
        },
      );
    }
    insert.run({
      id: webhook.id,
      tenant_id: webhook.tenantId,
      url: webhook.url,
      events_json: JSON.stringify(webhook.events),
      job_id: webhook.jobId,
      secret: webhook.secret,
      created_at: webhook.createdAt,
      disabled_at: webhook.disabledAt,
      disabled_reason: webhook.disabledReason,
    });
  });

  const deleteWithDeliveries = db.transaction((tenantId: string, webhookId: string): boolean => {
    removeDeliveries.run(tenantId, webhookId);
    return remove.run(tenantId, webhookId).changes > 0;
  });

  const claimDue = db.transaction((nowMs: number, leaseUntil: number, limit: number): ClaimedDelivery[] => {
    const claimed: ClaimedDelivery[] = [];
    for (const seq of due.all(nowMs, limit)) {
      const token = randomBytes(12).toString('hex');
      const row = claim.get(leaseUntil, token, seq);
      const hook = row === undefined ? undefined : target.get(row.webhook_id);
      if (row === undefined || hook === undefined) continue;
      claimed.push({ delivery: rowToDelivery(row), url: hook.url, secret: hook.secret, claimToken: token });
    }
    return claimed;
  });

  const record = db.transaction(
    (claimed: ClaimedDelivery, outcome: DeliveryRecord, nowMs: number): boolean => {
      const { id } = claimed.delivery;
      const token = claimed.claimToken;
      switch (outcome.kind) {
        case 'succeeded':
          return settle.run('succeeded', outcome.statusCode, null, null, nowMs, id, token).changes > 0;
        case 'retry':
          return (
            settle.run('pending', outcome.statusCode, outcome.error, outcome.nextAttemptAt, null, id, token)
              .changes > 0
          );
        case 'failed':
          return settle.run('failed', outcome.statusCode, outcome.error, null, null, id, token).changes > 0;
        case 'disable': {
          if (
            settle.run('disabled', outcome.statusCode, outcome.reason, null, null, id, token).changes === 0
          ) {
            return false;
          }
          disable.run(nowMs, outcome.reason, claimed.delivery.webhookId);
          disablePending.run(outcome.reason, claimed.delivery.webhookId);
          return true;
        }
      }
    },
  );

  return {
    insertWebhook: (webhook: Webhook, maxWebhooks: number) =>
      insertWithinLimit.immediate(webhook, maxWebhooks),
    getWebhook(tenantId: string, webhookId: string): Webhook | null {
      const row = get.get(tenantId, webhookId);
      return row === undefined ? null : rowToWebhook(row);
    },
    listWebhooks: (tenantId: string, limit: number, cursor?: string): Page<Webhook> =>
      toPage(page.all(tenantId, cursor ?? BEFORE_ALL_IDS, limit + 1), limit, rowToWebhook),
    deleteWebhook: (tenantId: string, webhookId: string) =>
      deleteWithDeliveries.immediate(tenantId, webhookId),
    listDeliveries(
      tenantId: string,
      webhookId: string,
      limit: number,
      cursor?: string,
    ): Page<WebhookDelivery> | null {
      if (get.get(tenantId, webhookId) === undefined) return null;
      const before = cursor === undefined ? Number.MAX_SAFE_INTEGER : seqOf(cursor);
      const rows = deliveries.all(tenantId, webhookId, before, limit + 1);
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return {
        items: items.map(rowToDelivery),
        nextCursor: rows.length > limit && last !== undefined ? String(last.seq) : null,
      };
    },
    claimDeliveries: (nowMs: number, leaseUntil: number, limit: number) =>
      claimDue.immediate(nowMs, leaseUntil, limit),
    pruneDeliveries: (before: number, limit: number) => prune.run({ before, limit }).changes,
    recordDeliveryAttempt: (claimed: ClaimedDelivery, outcome: DeliveryRecord, nowMs: number) =>
      record.immediate(claimed, outcome, nowMs),
  };
}

/** A deliveries cursor: the seq it stopped at. */
function seqOf(cursor: string): number {
  if (!SEQ_CURSOR.test(cursor))
    throw new HourglassError('validation_failed', 'cursor: not a cursor of this list', { field: 'cursor' });
  return Number(cursor);
}

export type WebhookQueries = ReturnType<typeof compileWebhookQueries>;
