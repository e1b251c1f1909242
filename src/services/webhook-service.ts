// Tenants' webhooks: created (the URL and events checked, the job resolved, the secret made and shown once),
// read, listed, deleted, and their deliveries listed. Sending is the deliverer's (webhooks/webhook-deliverer.ts).

import { notFound } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { RunStatus } from '../core/run-state.js';
import type { Tenant } from '../core/tenant.js';
import {
  checkWebhookEvents,
  checkWebhookUrl,
  WEBHOOK_SECRET_BYTES,
  WEBHOOK_SECRET_PREFIX,
  type Webhook,
  type WebhookDelivery,
} from '../core/webhook.js';
import type { Clock } from '../ports/clock.js';
import type { Page } from '../ports/store/page.js';
import type { JobStore } from '../ports/store/job-store.js';
import type { WebhookStore } from '../ports/store/webhook-store.js';

export interface CreateWebhookInput {
  url: string;
  events: string[];
  /** A job's id or a live job's name; absent: every job of the tenant. */
  jobId?: string;
}

export class WebhookService {
  constructor(
    private readonly store: WebhookStore & Pick<JobStore, 'findJob'>,
    private readonly clock: Clock,
    private readonly randomBytes: (n: number) => Uint8Array,
    /** `host:port`s the operator allows whatever they are (HOURGLASS_WEBHOOK_ALLOW_HOSTS). */
    private readonly allowedHosts: ReadonlySet<string>,
  ) {}

  async createWebhook(tenant: Tenant, input: CreateWebhookInput): Promise<Webhook> {
    const url = checkWebhookUrl(input.url, this.allowedHosts);
    const events: RunStatus[] = checkWebhookEvents(input.events);
    let jobId: string | null = null;
    if (input.jobId !== undefined) {
      const job = await this.store.findJob(tenant.id, input.jobId);
      if (job === null) throw notFound('job', input.jobId, 'jobId');
      jobId = job.id;
    }
    const now = this.clock.now();
    const webhook: Webhook = {
      id: newId('webhook', now, this.randomBytes),
      tenantId: tenant.id,
      url,
      events,
      jobId,
      secret: WEBHOOK_SECRET_PREFIX + Buffer.from(this.randomBytes(WEBHOOK_SECRET_BYTES)).toString('base64'),
      createdAt: now,
      disabledAt: null,
      disabledReason: null,
    };
    await this.store.insertWebhook(webhook, tenant.limits.maxWebhooks);
    return webhook;
  }

  async getWebhook(tenantId: string, webhookId: string): Promise<Webhook> {
    const webhook = await this.store.getWebhook(tenantId, webhookId);
    if (webhook === null) throw notFound('webhook', webhookId);
    return webhook;
  }

  listWebhooks(tenantId: string, limit: number, cursor?: string): Promise<Page<Webhook>> {
    return this.store.listWebhooks(tenantId, limit, cursor);
  }

  async deleteWebhook(tenantId: string, webhookId: string): Promise<void> {
    if (!(await this.store.deleteWebhook(tenantId, webhookId))) throw notFound('webhook', webhookId);
  }

  async listDeliveries(
    tenantId: string,
    webhookId: string,
    limit: number,
    cursor?: string,
  ): Promise<Page<WebhookDelivery>> {
    const page = await this.store.listDeliveries(tenantId, webhookId, limit, cursor);
    if (page === null) throw notFound('webhook', webhookId);
    return page;
  }
}
