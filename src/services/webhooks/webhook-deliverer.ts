// The webhook deliverer: sends the deliveries the store made as runs ended, at least once, signed per
// Standard Webhooks. Its own loop, apart from firing and the worker: every pollIntervalMs it claims the due
// deliveries it has room for (at most `concurrency` in flight), each leased for leaseMs — longer than an
// attempt may take — so that another process (or this one after a crash) sends it again only once the lease
// is over. Each attempt's answer is read by core/webhook-retry.ts and recorded, fenced by the claim.
//
// States: idle ──start──▶ running ──stop──▶ stopped. Stop aborts the attempts in flight and records them as
// due again at once (the next start sends them); a crash leaves them to their lease.

import type { Run } from '../../core/run.js';
import { eventType } from '../../core/webhook.js';
import {
  decideAfterDeliveryAttempt,
  DEFAULT_RETRY_SCHEDULE,
  type AttemptAnswer,
  type RetrySchedule,
} from '../../core/webhook-retry.js';
import { signWebhook, type HmacSha256 } from '../../core/webhook-signature.js';
import type { Clock } from '../../ports/clock.js';
import type { RunStore } from '../../ports/store/run-store.js';
import type { ClaimedDelivery, DeliveryRecord, WebhookStore } from '../../ports/store/webhook-store.js';
import type { WebhookSender } from '../../ports/webhook-sender.js';
import type { Logger } from '../logger.js';

export interface WebhookDelivererOptions {
  store: Pick<WebhookStore, 'claimDeliveries' | 'recordDeliveryAttempt' | 'pruneDeliveries'> &
    Pick<RunStore, 'getRun'>;
  sender: WebhookSender;
  clock: Clock;
  logger: Logger;
  hmac: HmacSha256;
  /** The run as the API renders it: the payload's `data`. */
  renderRun: (run: Run) => unknown;
  /** Draws from [0, 1): the backoff's jitter. */
  random?: () => number;
  pollIntervalMs?: number;
  concurrency?: number;
  leaseMs?: number;
  schedule?: RetrySchedule;
  /** Told about each attempt recorded, by its outcome (a metric). */
  onAttempt?: (outcome: DeliveryRecord['kind']) => void;
  /** Settled deliveries are deleted this long after they were made (checked hourly); default 30 days. */
  keepSettledMs?: number;
}

export type DelivererState = 'idle' | 'running' | 'stopped';

export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_CONCURRENCY = 16;
/** Longer than an attempt may last (15 s), with room for a slow store. */
export const DEFAULT_LEASE_MS = 60_000;
export const DEFAULT_KEEP_SETTLED_MS = 30 * 86_400_000;
const PRUNE_INTERVAL_MS = 3_600_000;
const PRUNE_BATCH = 1000;

export class WebhookDeliverer {
  private readonly log: Logger;
  private readonly pollIntervalMs: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly schedule: RetrySchedule;
  private readonly random: () => number;
  private readonly keepSettledMs: number;
  /** Monotonic time of the last prune; null: not yet (the first poll prunes). */
  private prunedAt: number | null = null;
  private state: DelivererState = 'idle';
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stopping = new AbortController();

  constructor(private readonly options: WebhookDelivererOptions) {
    this.log = options.logger.child({ component: 'webhook-deliverer' });
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.schedule = options.schedule ?? DEFAULT_RETRY_SCHEDULE;
    this.random = options.random ?? Math.random;
    this.keepSettledMs = options.keepSettledMs ?? DEFAULT_KEEP_SETTLED_MS;
  }

  start(): void {
    if (this.state !== 'idle') throw new Error(`webhook deliverer cannot start: it is ${this.state}`);
    this.state = 'running';
    this.arm(0);
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.stopping.abort();
    await this.polling?.catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
    this.options.sender.close();
  }

  /** Claims what is due and has room, and starts sending it; resolves once claimed (not once sent). */
  async poll(): Promise<number> {
    await this.pruneHourly();
    const room = this.concurrency - this.inFlight.size;
    if (room <= 0) return 0;
    const now = this.options.clock.now();
    const claims = await this.options.store.claimDeliveries(now, now + this.leaseMs, room);
    for (const claim of claims) {
      const sending = this.deliver(claim).catch((error: unknown) =>
        this.log.error(
          { deliveryId: claim.delivery.id, err: error },
          'webhook delivery failed to be recorded',
        ),
      );
      this.inFlight.add(sending);
      void sending.finally(() => {
        this.inFlight.delete(sending);
        if (this.state === 'running') this.arm(0); // room again: look for more at once
      });
    }
    return claims.length;
  }

  /** Settled deliveries past keepSettledMs go, a batch at a time, at most once an hour. */
  private async pruneHourly(): Promise<void> {
    const at = this.options.clock.monotonic();
    if (this.prunedAt !== null && at - this.prunedAt < PRUNE_INTERVAL_MS) return;
    this.prunedAt = at;
    const before = this.options.clock.now() - this.keepSettledMs;
    let pruned = 0;
    try {
      for (;;) {
        const n = await this.options.store.pruneDeliveries(before, PRUNE_BATCH);
        pruned += n;
        if (n < PRUNE_BATCH || this.state !== 'running') break;
      }
    } catch (error) {
      // Sending matters more: the next hour tries again.
      this.log.warn({ err: error }, 'deleting old webhook deliveries failed');
    }
    if (pruned > 0) this.log.info({ pruned }, 'deleted settled webhook deliveries past their keep time');
  }

  private arm(delayMs: number): void {
    if (this.state !== 'running' || this.polling !== null) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.polling = this.poll()
        .then((claimed) => claimed)
        .catch((error: unknown) => {
          this.log.warn({ err: error }, 'claiming webhook deliveries failed; trying again');
          return 0;
        })
        .then(() => {
          this.polling = null;
          this.arm(this.pollIntervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }

  private async deliver(claim: ClaimedDelivery): Promise<void> {
    const { delivery } = claim;
    const run = await this.options.store.getRun(delivery.tenantId, delivery.runId);
    if (run === null) {
      await this.record(claim, { kind: 'failed', statusCode: null, error: 'the run is no longer kept' });
      return;
    }
    const body = JSON.stringify({
      type: eventType(delivery.event),
      timestamp: new Date(delivery.createdAt).toISOString(),
      data: this.options.renderRun(run),
    });
    const sentAt = this.options.clock.now();
    const headers = signWebhook(
      claim.secret,
      delivery.id,
      Math.floor(sentAt / 1000),
      body,
      this.options.hmac,
    );
    const answer = await this.options.sender.send({
      url: claim.url,
      headers: { ...headers },
      body,
      signal: this.stopping.signal,
    });
    await this.record(claim, this.recordOf(answer, delivery.attempts));
  }

  private recordOf(answer: AttemptAnswer, attempt: number): DeliveryRecord {
    const now = this.options.clock.now();
    const statusCode = answer.kind === 'response' ? answer.statusCode : null;
    if (this.stopping.signal.aborted && answer.kind === 'error') {
      return {
        kind: 'retry',
        statusCode: null,
        error: 'the server stopped during the attempt',
        nextAttemptAt: now,
      };
    }
    const decision = decideAfterDeliveryAttempt(answer, attempt, now, this.random, this.schedule);
    switch (decision.kind) {
      case 'succeeded':
        return { kind: 'succeeded', statusCode: statusCode ?? 0 };
      case 'disable':
        return { kind: 'disable', statusCode: statusCode ?? 410, reason: decision.reason };
      case 'retry':
        return { kind: 'retry', statusCode, error: decision.error, nextAttemptAt: decision.atMs };
      case 'failed':
        return { kind: 'failed', statusCode, error: decision.error };
    }
  }

  private async record(claim: ClaimedDelivery, record: DeliveryRecord): Promise<void> {
    const held = await this.options.store.recordDeliveryAttempt(claim, record, this.options.clock.now());
    if (held) this.options.onAttempt?.(record.kind);
    const fields = {
      deliveryId: claim.delivery.id,
      webhookId: claim.delivery.webhookId,
      runId: claim.delivery.runId,
      attempt: claim.delivery.attempts,
      outcome: record.kind,
    };
    if (!held) this.log.info(fields, 'webhook delivery attempt not recorded: its lease had passed');
    else if (record.kind === 'failed' || record.kind === 'disable')
      this.log.warn({ ...fields, record }, 'webhook delivery gave up');
    else this.log.debug({ ...fields, record }, 'webhook delivery attempt');
  }
}
