// The WebhookStore contract (src/ports/store/webhook-store.ts), run against every adapter in STORE_FACTORIES:
// a run reaching a terminal status makes one delivery per matching webhook in the same write, on every path
// that ends a run (an attempt's end, a cancel of a queued run, the reaper's lost — its finishAttempt with
// outcome lost —, a skipped tick, a replace-policy cancel, a job's
// deletion), and none for a retry, another tenant's webhook, another job or event, or a disabled webhook;
// claims are leased and fenced; 410 disables the webhook with its pending deliveries; the plan limit; lists
// are tenant-scoped and page newest first.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HourglassError } from '../../src/core/errors.js';
import type { Job } from '../../src/core/job.js';
import type { RunStatus } from '../../src/core/run-state.js';
import type { Webhook, WebhookDelivery } from '../../src/core/webhook.js';
import type { Store } from '../../src/ports/store.js';
import { STORE_FACTORIES } from '../support/store-factories.js';
import { leaseAll, seedSchedule, SECOND, tickOf } from './schedule-fixtures.js';
import { attemptResult, id, seedJob, seedRun, seedRunning, tick, withStore } from './store-fixtures.js';

const FAR_FUTURE = Date.UTC(2100, 0, 1);
const NO_LIMIT = 1000;

function makeWebhook(tenantId: string, overrides: Partial<Webhook> = {}): Webhook {
  return {
    id: id('webhook'),
    tenantId,
    url: 'https://hooks.example.com/hourglass',
    events: ['succeeded', 'failed', 'cancelled', 'lost', 'skipped'],
    jobId: null,
    secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    createdAt: tick(),
    disabledAt: null,
    disabledReason: null,
    ...overrides,
  };
}

async function seedWebhook(
  store: Store,
  tenantId: string,
  overrides: Partial<Webhook> = {},
): Promise<Webhook> {
  const webhook = makeWebhook(tenantId, overrides);
  await store.insertWebhook(webhook, NO_LIMIT);
  return webhook;
}

async function deliveriesOf(store: Store, webhook: Webhook): Promise<WebhookDelivery[]> {
  const page = await store.listDeliveries(webhook.tenantId, webhook.id, 500);
  assert.ok(page, 'the webhook is listed');
  return page.items;
}

const summary = (deliveries: WebhookDelivery[]) => deliveries.map((d) => [d.runId, d.event, d.status]);

async function finish(store: Store, job: Job, outcome: RunStatus & ('succeeded' | 'failed' | 'lost')) {
  const run = await seedRunning(store, job);
  const result = await store.finishAttempt(
    attemptResult(run, { outcome, exitCode: outcome === 'succeeded' ? 0 : 1 }),
  );
  assert.equal(result, 'finished');
  return run;
}

for (const factory of STORE_FACTORIES) {
  const test = (name: string, body: (store: Store) => Promise<void>) =>
    it(name, () => withStore(factory, body));

  describe(`Store contract (${factory.name}): webhooks`, () => {
    test('an attempt’s end makes one delivery per matching webhook, in the same write', async (store) => {
      const job = await seedJob(store);
      const other = await seedJob(store, { name: 'other-job' });
      const all = await seedWebhook(store, job.tenantId);
      const onlyFailed = await seedWebhook(store, job.tenantId, { events: ['failed'] });
      const ofJob = await seedWebhook(store, job.tenantId, { jobId: job.id });
      const foreign = await seedWebhook(store, other.tenantId);
      const run = await finish(store, job, 'succeeded');
      const [delivery] = await deliveriesOf(store, all);
      assert.deepEqual(summary(await deliveriesOf(store, all)), [[run.id, 'succeeded', 'pending']]);
      assert.deepEqual(await deliveriesOf(store, onlyFailed), []);
      assert.deepEqual(summary(await deliveriesOf(store, ofJob)), [[run.id, 'succeeded', 'pending']]);
      assert.deepEqual(await deliveriesOf(store, foreign), [], "another tenant's run never reaches it");
      assert.ok(delivery);
      assert.match(delivery.id, /^msg_[0-9a-f]{32}$/);
      assert.deepEqual(
        [delivery.attempts, delivery.lastStatusCode, delivery.deliveredAt, delivery.tenantId],
        [0, null, null, job.tenantId],
      );
      assert.ok(delivery.nextAttemptAt !== null && delivery.nextAttemptAt === delivery.createdAt);
    });

    test('a retry is no outcome; the last attempt’s end is', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId);
      const run = await seedRunning(store, job);
      await store.finishAttempt(attemptResult(run, { outcome: 'failed', exitCode: 1, retryAt: tick() }));
      assert.deepEqual(await deliveriesOf(store, webhook), []);
      const again = await store.claimRun(run.id, 2, 'wrk_b', tick());
      assert.ok(again);
      await store.finishAttempt(attemptResult(again.run, { outcome: 'failed', exitCode: 1 }));
      assert.deepEqual(summary(await deliveriesOf(store, webhook)), [[run.id, 'failed', 'pending']]);
    });

    test('a queued run cancelled, and the reaper’s lost, make deliveries', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId);
      const queued = await seedRun(store, job);
      assert.equal((await store.requestCancel(job.tenantId, queued.id, tick())).state, 'cancelled');
      const lost = await finish(store, job, 'lost');
      assert.deepEqual(summary(await deliveriesOf(store, webhook)), [
        [lost.id, 'lost', 'pending'],
        [queued.id, 'cancelled', 'pending'],
      ]);
    });

    test('a tick skipped by its overlap policy makes a delivery as it is inserted', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId, { events: ['skipped'] });
      const lease = await leaseAll(store, 'node-a');
      const schedule = await seedSchedule(store, job, { overlapPolicy: 'skip', partition: lease.partition });
      const n = Date.UTC(2026, 0, 1);
      const t1 = tickOf(schedule, n);
      await store.fireTicks('node-a', [lease], [t1], tick());
      assert.ok(await store.claimRun(t1.runId, 1, 'wrk_a', tick()));
      const t2 = tickOf(schedule, n + SECOND);
      const result = await store.fireTicks('node-a', [lease], [t2], tick());
      assert.deepEqual(result.skipped, [t2.runId]);
      assert.deepEqual(summary(await deliveriesOf(store, webhook)), [[t2.runId, 'skipped', 'pending']]);
    });

    test('a replace-policy tick cancelling a queued run makes its delivery', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId, { events: ['cancelled'] });
      const lease = await leaseAll(store, 'node-a');
      const schedule = await seedSchedule(store, job, {
        overlapPolicy: 'replace',
        partition: lease.partition,
      });
      const n = Date.UTC(2026, 0, 1);
      const t1 = tickOf(schedule, n);
      await store.fireTicks('node-a', [lease], [t1], tick());
      const t2 = tickOf(schedule, n + SECOND);
      const result = await store.fireTicks('node-a', [lease], [t2], tick());
      assert.deepEqual(result.cancelled, [t1.runId]);
      assert.deepEqual(summary(await deliveriesOf(store, webhook)), [[t1.runId, 'cancelled', 'pending']]);
    });

    test('deleting a job cancels its queued runs, each with its delivery', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId, { events: ['cancelled'] });
      const a = await seedRun(store, job);
      const b = await seedRun(store, job);
      await store.deleteJob(job.tenantId, job.id, tick());
      const runs = (await deliveriesOf(store, webhook)).map((d) => d.runId).sort();
      assert.deepEqual(runs, [a.id, b.id].sort());
    });

    test('claims are leased and fenced; an attempt is counted at each claim', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId);
      await finish(store, job, 'failed');
      const now = FAR_FUTURE;
      const [first, ...rest] = await store.claimDeliveries(now, now + 30_000, 10);
      assert.ok(first);
      assert.deepEqual(rest, []);
      assert.deepEqual([first.url, first.secret, first.delivery.attempts], [webhook.url, webhook.secret, 1]);
      assert.deepEqual(
        await store.claimDeliveries(now + 29_999, now + 60_000, 10),
        [],
        'held within the lease',
      );
      const [second] = await store.claimDeliveries(now + 30_000, now + 60_000, 10);
      assert.ok(second, 'a crashed claimer’s delivery is claimed again after its lease');
      assert.equal(second.delivery.attempts, 2);
      assert.equal(second.delivery.id, first.delivery.id);
      const late = await store.recordDeliveryAttempt(first, { kind: 'succeeded', statusCode: 200 }, now + 1);
      assert.equal(late, false, 'the first claim no longer holds it');
      const retry = {
        kind: 'retry',
        statusCode: 500,
        error: 'the endpoint answered 500',
        nextAttemptAt: now + 90_000,
      } as const;
      assert.equal(await store.recordDeliveryAttempt(second, retry, now + 2), true);
      let [shown] = await deliveriesOf(store, webhook);
      assert.deepEqual(
        [shown?.status, shown?.attempts, shown?.lastStatusCode, shown?.lastError, shown?.nextAttemptAt],
        ['pending', 2, 500, 'the endpoint answered 500', now + 90_000],
      );
      assert.deepEqual(await store.claimDeliveries(now + 89_999, now + 100_000, 10), []);
      const [third] = await store.claimDeliveries(now + 90_000, now + 120_000, 10);
      assert.ok(third);
      assert.equal(
        await store.recordDeliveryAttempt(third, { kind: 'succeeded', statusCode: 204 }, now + 91_000),
        true,
      );
      [shown] = await deliveriesOf(store, webhook);
      assert.deepEqual(
        [
          shown?.status,
          shown?.attempts,
          shown?.lastStatusCode,
          shown?.lastError,
          shown?.deliveredAt,
          shown?.nextAttemptAt,
        ],
        ['succeeded', 3, 204, null, now + 91_000, null],
      );
      assert.deepEqual(await store.claimDeliveries(FAR_FUTURE * 2, FAR_FUTURE * 2, 10), [], 'settled');
    });

    test('410 disables the webhook and its pending deliveries; later outcomes make none', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId);
      await finish(store, job, 'succeeded');
      await finish(store, job, 'failed');
      const claims = await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 1000, 1);
      const [claim] = claims;
      assert.ok(claim);
      const reason = 'the endpoint answered 410 Gone';
      assert.equal(
        await store.recordDeliveryAttempt(claim, { kind: 'disable', statusCode: 410, reason }, FAR_FUTURE),
        true,
      );
      const stored = await store.getWebhook(job.tenantId, webhook.id);
      assert.deepEqual([stored?.disabledAt, stored?.disabledReason], [FAR_FUTURE, reason]);
      assert.deepEqual(
        (await deliveriesOf(store, webhook)).map((d) => d.status),
        ['disabled', 'disabled'],
      );
      await finish(store, job, 'succeeded');
      assert.equal((await deliveriesOf(store, webhook)).length, 2, 'nothing more for a disabled webhook');
      assert.deepEqual(await store.claimDeliveries(FAR_FUTURE * 2, FAR_FUTURE * 2, 10), []);
    });

    test('a failed delivery is settled and not claimed again', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId);
      await finish(store, job, 'succeeded');
      const [claim] = await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 1000, 10);
      assert.ok(claim);
      const failed = { kind: 'failed', statusCode: 400, error: 'the endpoint answered 400' } as const;
      assert.equal(await store.recordDeliveryAttempt(claim, failed, FAR_FUTURE), true);
      const [shown] = await deliveriesOf(store, webhook);
      assert.deepEqual([shown?.status, shown?.nextAttemptAt, shown?.lastStatusCode], ['failed', null, 400]);
      assert.deepEqual(await store.claimDeliveries(FAR_FUTURE * 2, FAR_FUTURE * 2, 10), []);
    });

    test('the plan limit holds; lists are the tenant’s and page, deliveries newest first', async (store) => {
      const job = await seedJob(store);
      const mine = [];
      for (let i = 0; i < 3; i++) mine.push(await seedWebhook(store, job.tenantId));
      await assert.rejects(
        store.insertWebhook(makeWebhook(job.tenantId), 3),
        (e: unknown) =>
          e instanceof HourglassError &&
          e.code === 'plan_limit_exceeded' &&
          e.context['limit'] === 'maxWebhooks',
      );
      const other = await seedJob(store, { name: 'theirs' });
      await seedWebhook(store, other.tenantId);
      const first = await store.listWebhooks(job.tenantId, 2);
      assert.deepEqual(
        first.items.map((w) => w.id),
        mine.slice(0, 2).map((w) => w.id),
      );
      assert.ok(first.nextCursor);
      const second = await store.listWebhooks(job.tenantId, 2, first.nextCursor);
      assert.deepEqual(
        second.items.map((w) => w.id),
        [mine[2]?.id],
      );
      assert.equal(second.nextCursor, null);
      const webhook = mine[0]!;
      assert.deepEqual(webhook.events, (await store.getWebhook(job.tenantId, webhook.id))?.events);
      assert.equal(
        await store.getWebhook(other.tenantId, webhook.id),
        null,
        "another tenant's id is not found",
      );
      assert.equal(await store.listDeliveries(other.tenantId, webhook.id, 10), null);
      const runs = [];
      for (let i = 0; i < 3; i++) runs.push(await finish(store, job, 'succeeded'));
      const page1 = await store.listDeliveries(job.tenantId, webhook.id, 2);
      assert.deepEqual(
        page1?.items.map((d) => d.runId),
        [runs[2]?.id, runs[1]?.id],
      );
      assert.ok(page1?.nextCursor);
      const page2 = await store.listDeliveries(job.tenantId, webhook.id, 2, page1.nextCursor);
      assert.deepEqual(
        page2?.items.map((d) => d.runId),
        [runs[0]?.id],
      );
      assert.equal(page2?.nextCursor, null);
      assert.equal(await store.deleteWebhook(other.tenantId, webhook.id), false);
      assert.equal(await store.deleteWebhook(job.tenantId, webhook.id), true);
      assert.equal(await store.getWebhook(job.tenantId, webhook.id), null);
      assert.equal(await store.listDeliveries(job.tenantId, webhook.id, 10), null);
      // Its deliveries went with it: only the other webhooks' are left to claim (two each, of three runs).
      const claimable = await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 1000, 100);
      assert.ok(claimable.every((c) => c.delivery.webhookId !== webhook.id));
      assert.equal(claimable.length, 6);
    });

    test('pruning deletes old settled deliveries only, never a pending one', async (store) => {
      const job = await seedJob(store);
      const webhook = await seedWebhook(store, job.tenantId);
      for (let i = 0; i < 3; i++) await finish(store, job, 'succeeded');
      const claims = await store.claimDeliveries(FAR_FUTURE, FAR_FUTURE + 1000, 2);
      assert.equal(claims.length, 2);
      const [done, failed] = claims;
      assert.ok(done && failed);
      await store.recordDeliveryAttempt(done, { kind: 'succeeded', statusCode: 200 }, FAR_FUTURE);
      await store.recordDeliveryAttempt(failed, { kind: 'failed', statusCode: 500, error: 'x' }, FAR_FUTURE);
      const all = await deliveriesOf(store, webhook);
      const newest = Math.max(...all.map((d) => d.createdAt));
      assert.equal(
        await store.pruneDeliveries(Math.min(...all.map((d) => d.createdAt)), 100),
        0,
        'none older',
      );
      assert.equal(await store.pruneDeliveries(newest + 1, 1), 1, 'a batch at a time');
      assert.equal(await store.pruneDeliveries(newest + 1, 100), 1);
      assert.deepEqual(
        (await deliveriesOf(store, webhook)).map((d) => d.status),
        ['pending'],
      );
      assert.equal(await store.pruneDeliveries(FAR_FUTURE * 2, 100), 0, 'pending is kept however old');
    });
  });
}
